from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import services
        from catalog.references import CatalogReferences
        from generations import extensions
        from studio import inputs, media

        # Catalog ids in generation requests become reference images and prompt text.
        extensions.register_references(CatalogReferences())
        # Catalog links (`/c/…`) given as an image source read the team's catalog image.
        inputs.register_owner(media.CATALOG_LINKS, services.read_own_link)

        from studio.accounts import storage_quota

        # manage.py reconcile_storage counts the bytes the team's catalog files hold.
        storage_quota.register_holder("catalog", services.bytes_per_team)
