from django.apps import AppConfig


class StudioConfig(AppConfig):
    """The project's own pieces that belong to no feature app: the sidebar navigation
    (templatetags/studio_nav), `manage.py run_studio`, and the API's rate counters."""

    name = "studio"
    label = "studio"
    verbose_name = "Studio"

    def ready(self) -> None:
        from studio import dbpool

        dbpool.install()
