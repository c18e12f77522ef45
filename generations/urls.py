from django.urls import path

from generations import views

urlpatterns = [
    path("m/<uuid:asset_uuid>/<str:variant>/<str:filename>", views.media_file, name="media_file"),
]
