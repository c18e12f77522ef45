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
