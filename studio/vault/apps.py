from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "studio.vault"
    label = "vault"
    verbose_name = "Vault"

    def ready(self) -> None:
        from django.core.exceptions import ImproperlyConfigured

        from studio.vault import checks

        # A malformed key stops every process at start, not the first credential's use.
        problem = checks.keys_problem()
        if problem:
            raise ImproperlyConfigured(problem)
