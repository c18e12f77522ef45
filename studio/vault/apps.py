from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "studio.vault"
    label = "vault"
    verbose_name = "Vault"
