"""What a generation takes from the catalog: reference images and prompt text.

Generations calls `resolve_references` (through `CatalogReferences`, registered as its
reference resolver in CatalogConfig.ready) once, while it gathers a job's inputs. Products
contribute their transparent cut-out (the offline engine composites it into the scene;
upstream adapters pass it as a reference image), each Visual DNA its first image and its
system prompt, a moodboard one image and its style guide, a style preset its
prompt text. Ids are checked against the generation's team again here: an id that is not
the team's (or global) fails the job with NOT_FOUND, and the job is refunded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from django.db.models import Q

from catalog.models import CatalogImage, Moodboard, Product, StylePreset, VisualDNA
from generations.extensions import PickableImage, PickableProduct, ProductFacts
from studio.errors import InvalidFields, NotFound

# The offline engine lays references side by side; more than this is noise.
MAX_CATALOG_REFERENCES = 6


def _ordered(queryset: Any, ids: list[str], what: str, field: str) -> list[Any]:
    """The objects with `ids`, in that order; NotFound names the first id that is unknown
    (or malformed, or another team's: the same answer, so nothing leaks)."""
    wanted: list[UUID] = []
    for value in ids:
        try:
            wanted.append(UUID(str(value)))
        except ValueError:
            raise NotFound(f"{what} not found: {value}", field=field) from None
    found = {obj.pk: obj for obj in queryset.filter(pk__in=wanted)}
    for value, key in zip(ids, wanted, strict=True):
        if key not in found:
            raise NotFound(f"{what} not found: {value}", field=field)
    return [found[key] for key in wanted]


def team_products(team: Any, ids: list[str]) -> list[Product]:
    """The team's products with these ids, in order; NotFound names the first missing one."""
    return _ordered(
        Product.objects.filter(team=team).select_related("original", "cutout"),
        ids,
        "Product",
        "product_ids",
    )


def team_visual_dnas(team: Any, ids: list[str]) -> list[VisualDNA]:
    return _ordered(
        VisualDNA.objects.filter(Q(team=team) | Q(team__isnull=True)),
        ids,
        "Visual DNA",
        "visual_dna_ids",
    )


def team_moodboard(team: Any, moodboard_id: str) -> Moodboard:
    return _ordered(
        Moodboard.objects.filter(Q(team=team) | Q(team__isnull=True)),
        [moodboard_id],
        "Moodboard",
        "moodboard_id",
    )[0]


def style_preset(preset_id: str) -> StylePreset:
    preset = StylePreset.objects.filter(slug=preset_id).first()
    if preset is None:
        known = ", ".join(StylePreset.objects.values_list("slug", flat=True))
        raise InvalidFields(
            f"Unknown preset_id {preset_id!r}; use one of: {known}", field="preset_id"
        )
    return preset


def check_catalog_ids(team: Any, validated: dict[str, Any]) -> None:
    """Raise NotFound/InvalidFields unless every catalog id in the request is usable."""
    team_products(team, validated.get("product_ids") or [])
    team_visual_dnas(team, validated.get("visual_dna_ids") or [])
    if validated.get("moodboard_id"):
        team_moodboard(team, validated["moodboard_id"])
    if validated.get("preset_id"):
        style_preset(validated["preset_id"])


def _copy(image: CatalogImage, target: Path) -> Path:
    with image.file.open("rb") as handle:
        target.write_bytes(handle.read())
    return target


def resolve_references(
    generation: Any, directory: Path, first_index: int
) -> tuple[dict[str, Path], str]:
    """({"ref<N>": local file}, text for the prompt) for the generation's catalog ids."""
    from catalog.services import dna_images

    params = generation.params
    if not any(
        params.get(k) for k in ("product_ids", "visual_dna_ids", "moodboard_id", "preset_id")
    ):
        return {}, ""
    team = generation.team
    pictures: list[CatalogImage] = []
    texts: list[str] = []
    if params.get("preset_id"):
        texts.append(style_preset(params["preset_id"]).prompt)
    for product in team_products(team, params.get("product_ids") or []):
        pictures.append(product.reference_image)
    for dna in team_visual_dnas(team, params.get("visual_dna_ids") or []):
        pictures.extend(dna_images(dna)[:1])
        if dna.system_prompt:
            texts.append(dna.system_prompt)
    if params.get("moodboard_id"):
        board = team_moodboard(team, params["moodboard_id"])
        first = board.images.order_by("pk").first()
        if first is not None:
            pictures.append(first)
        if board.style_guide or board.master_prompt:
            texts.append(board.style_guide or board.master_prompt)
    inputs: dict[str, Path] = {}
    if pictures:
        directory.mkdir(parents=True, exist_ok=True)
    for offset, image in enumerate(pictures[:MAX_CATALOG_REFERENCES]):
        name = f"ref{first_index + offset}"
        suffix = Path(image.file.name or "").suffix
        inputs[name] = _copy(image, directory / f"input-{name}{suffix}")
    style = " ".join(t.strip() for t in texts if t.strip())
    return inputs, style


class CatalogReferences:
    """The catalog as generations' reference resolver (generations/extensions.py)."""

    def check(self, team: Any, validated: dict[str, Any]) -> None:
        check_catalog_ids(team, validated)

    def resolve(
        self, generation: Any, directory: Path, first_index: int
    ) -> tuple[dict[str, Path], str]:
        return resolve_references(generation, directory, first_index)

    def add_pickers(self, form: Any, team: Any, generation_type: str) -> None:
        from catalog.forms import add_catalog_pickers

        add_catalog_pickers(form, team, generation_type)

    def picked(self, form: Any) -> dict[str, Any]:
        from catalog.forms import catalog_request

        return catalog_request(form)

    def images(self, team: Any, limit: int) -> list[PickableImage]:
        from catalog.presenters import image_path

        products = Product.objects.filter(team=team).select_related("original")[:limit]
        return [
            PickableImage(label=p.name or "Product photo", url=image_path(p.original))
            for p in products
        ]

    def products(self, team: Any, ids: list[str]) -> list[ProductFacts]:
        return [product_facts(p) for p in team_products(team, ids)]

    def describe(self, team: Any, field: str, ids: list[str]) -> list[tuple[str, str]]:
        """(name, link) per catalog id for a job's detail page; gone ones say so."""
        from django.urls import reverse

        if field == "preset_id":
            names = dict(StylePreset.objects.filter(slug__in=ids).values_list("slug", "name"))
            return [(names.get(i, "(deleted)"), "") for i in ids]
        shared = Q(team=team) | Q(team__isnull=True)
        kinds: dict[str, tuple[Any, str, str]] = {
            "product_ids": (Product.objects.filter(team=team), "catalog_product", "product_id"),
            "visual_dna_ids": (VisualDNA.objects.filter(shared), "catalog_dna_detail", "dna_id"),
            "moodboard_id": (
                Moodboard.objects.filter(shared),
                "catalog_moodboard_detail",
                "moodboard_id",
            ),
        }
        if field not in kinds:
            return [(i, "") for i in ids]
        queryset, url_name, kwarg = kinds[field]
        valid = []
        for value in ids:
            try:
                valid.append(str(UUID(value)))
            except ValueError:
                continue
        found = {str(o.pk): o for o in queryset.filter(pk__in=valid)}
        rows = []
        for value in ids:
            obj = found.get(value)
            if obj is None:
                rows.append(("(deleted)", ""))
                continue
            url = reverse(url_name, kwargs={"team_uuid": team.uuid, kwarg: obj.pk})
            rows.append((str(getattr(obj, "name", "") or obj), url))
        return rows

    def product_choices(self, team: Any, limit: int) -> list[PickableProduct]:
        from catalog.presenters import image_path

        products = (
            Product.objects.filter(team=team)
            .select_related("original", "cutout")
            .order_by("name")[:limit]
        )
        return [
            PickableProduct(
                id=str(p.pk), label=p.name or "Unnamed product", url=image_path(p.reference_image)
            )
            for p in products
        ]


def _words(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())[:4]


def product_facts(product: Product) -> ProductFacts:
    meta = product.metadata if isinstance(product.metadata, dict) else {}
    return ProductFacts(
        id=str(product.pk),
        name=product.name or "",
        brand_name=str(meta.get("brandName") or "").strip(),
        product_name=str(meta.get("productName") or "").strip(),
        product_type=str(meta.get("productType") or "").strip(),
        colors=_words(meta.get("colors")),
        materials=_words(meta.get("materials")),
    )
