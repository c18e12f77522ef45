from django.urls import path

from studio.integrations import views

urlpatterns = [
    path("t/<uuid:team_uuid>/integrations/", views.integrations, name="integrations"),
    path(
        "t/<uuid:team_uuid>/integrations/do/",
        views.integrations_action,
        name="integrations_action",
    ),
]
