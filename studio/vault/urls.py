from django.urls import path

from studio.vault import views

urlpatterns = [
    path("t/<uuid:team_uuid>/api-keys/", views.api_keys, name="api_keys"),
    path(
        "t/<uuid:team_uuid>/api-keys/<uuid:key_uuid>/revoke/",
        views.api_key_revoke,
        name="api_key_revoke",
    ),
    path("t/<uuid:team_uuid>/providers/", views.provider_credentials, name="provider_credentials"),
    path(
        "t/<uuid:team_uuid>/providers/<uuid:credential_uuid>/test/",
        views.provider_credential_test,
        name="provider_credential_test",
    ),
    path(
        "t/<uuid:team_uuid>/providers/<uuid:credential_uuid>/disable/",
        views.provider_credential_toggle,
        {"enabled": False},
        name="provider_credential_disable",
    ),
    path(
        "t/<uuid:team_uuid>/providers/<uuid:credential_uuid>/enable/",
        views.provider_credential_toggle,
        {"enabled": True},
        name="provider_credential_enable",
    ),
    path(
        "t/<uuid:team_uuid>/providers/<uuid:credential_uuid>/delete/",
        views.provider_credential_delete,
        name="provider_credential_delete",
    ),
]
