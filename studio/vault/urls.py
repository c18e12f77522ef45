from django.urls import path

from studio.vault import views

urlpatterns = [
    path("t/<uuid:team_uuid>/api-keys/", views.api_keys, name="api_keys"),
    path(
        "t/<uuid:team_uuid>/api-keys/<uuid:key_uuid>/revoke/",
        views.api_key_revoke,
        name="api_key_revoke",
    ),
]
