from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "studio.integrations"
    label = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Each kind of delivery registers how it is sent.
        from studio.integrations import meta, webhooks  # noqa: F401
