from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "studio.integrations"
    label = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Each kind of delivery registers how it is sent.
        from studio.integrations import meta, webhooks  # noqa: F401
        from studio.integrations.models import MetaPixel, WebhookEndpoint
        from studio.vault import crypto

        # `manage.py rotate_vault_keys` re-encrypts these secrets too.
        crypto.register_sealed_column(WebhookEndpoint, "secret_encrypted")
        crypto.register_sealed_column(WebhookEndpoint, "previous_secret_encrypted")
        crypto.register_sealed_column(MetaPixel, "access_token_encrypted")
