from django.urls import path

from generations import views

urlpatterns = [
    path("m/<uuid:asset_uuid>/<str:variant>/<str:filename>", views.media_file, name="media_file"),
    path("t/<uuid:team_uuid>/studio/", views.studio, name="studio"),
    path("t/<uuid:team_uuid>/studio/cost/", views.studio_quote, name="studio_quote"),
    path("t/<uuid:team_uuid>/studio/poll/", views.studio_poll, name="studio_poll"),
    path("t/<uuid:team_uuid>/gallery/", views.gallery, name="gallery"),
    path(
        "t/<uuid:team_uuid>/gallery/<uuid:generation_uuid>/",
        views.generation_detail,
        name="gallery_detail",
    ),
    path(
        "t/<uuid:team_uuid>/gallery/<uuid:generation_uuid>/cancel/",
        views.generation_cancel,
        name="gallery_cancel",
    ),
    path(
        "t/<uuid:team_uuid>/gallery/<uuid:generation_uuid>/delete/",
        views.generation_delete,
        name="gallery_delete",
    ),
    path(
        "t/<uuid:team_uuid>/gallery/<uuid:generation_uuid>/rerun/",
        views.generation_rerun,
        name="gallery_rerun",
    ),
]
