"""Catalog use cases: the only code that changes products, Visual DNAs and moodboards.

Uploads are checked completely (size, type by content, pixel count, decodability, the
team's storage) before a file is written; a refused upload leaves no row, no file and no
storage charge. Storage is charged with a conditional UPDATE, so two uploads racing for
the last megabytes cannot both win.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from catalog import images as pixels
from catalog.models import (
    AnalysisStatus,
    CatalogImage,
    DnaType,
    Moodboard,
    Product,
    ProductSource,
    VisualDNA,
)
from studio import images as policy
from studio import inputs
from studio.accounts import storage_quota
from studio.accounts.models import Team, User
from studio.errors import Forbidden, InvalidFields, MissingFields
from studio.media import OwnLink

log = logging.getLogger(__name__)

MAX_NAME = 100
MAX_PRODUCT_NAME = 200
MAX_DNA_IMAGES = 4
MAX_MOODBOARD_IMAGES = 15
MAX_METADATA_CHARS = 20_000


@dataclass(frozen=True)
class Upload:
    """Bytes that passed the image policy (studio/images.py), ready to store."""

    data: bytes
    info: policy.Inspected
    filename: str = ""


def check_upload(data: bytes, what: str = "The image", filename: str = "") -> Upload:
    return Upload(data, policy.inspect(data, what), filename)


def check_upload_file(file: Any, what: str | None = None) -> Upload:
    """Check an uploaded file: its size before reading it, then its content."""
    name = str(getattr(file, "name", "") or "")
    label = what or (name[:80] if name else "The file")
    policy.check_size(int(file.size or 0), label)
    return check_upload(file.read(), label, name)


# --- reading image sources --------------------------------------------------------------------


def read_image_url(url: Any, team: Team, what: str = "image_url") -> tuple[bytes, str]:
    """The bytes behind an `image_url` (a data URL, a Studio link of this team, or a public
    URL: studio/inputs.py) and a file name hint."""
    return inputs.read_image_url(url, team, what)


def read_own_link(link: OwnLink, team: Any, what: str) -> tuple[bytes, str]:
    """A catalog link's image, for the team that owns it (or anyone: a global image)."""
    image = CatalogImage.objects.filter(uuid=link.uuid).first()
    if image is None or (image.team_id is not None and image.team_id != team.pk):
        raise InvalidFields(f"{what}: that link does not belong to this team")
    with image.file.open("rb") as handle:
        return handle.read(), PurePath(image.file.name or "").name


# --- storage ----------------------------------------------------------------------------------


class _Files:
    """Files written in a unit of work, removed again if the unit fails."""

    def __init__(self) -> None:
        self.written: list[CatalogImage] = []

    def store(
        self,
        team: Team | None,
        data: bytes,
        stem: str,
        extension: str,
        mime_type: str,
        size: tuple[int, int],
    ) -> CatalogImage:
        image = CatalogImage(
            team=team, mime_type=mime_type, size_bytes=len(data), width=size[0], height=size[1]
        )
        image.file.save(f"{stem}.{extension}", ContentFile(data), save=False)
        self.written.append(image)
        image.save()
        return image

    def discard(self) -> None:
        for image in self.written:
            image.file.delete(save=False)


def bytes_per_team() -> dict[int, int]:
    """The bytes each team's catalog files hold (shared presets charge nobody)."""
    rows = (
        CatalogImage.objects.filter(team__isnull=False)
        .values("team_id")
        .annotate(held=Sum("size_bytes"))
        .order_by()
    )
    return {row["team_id"]: int(row["held"] or 0) for row in rows}


def _forget(image: CatalogImage) -> None:
    """Delete the image's row and give its bytes back, if no one else did first."""
    storage_quota.release_deleted(
        CatalogImage.objects.filter(pk=image.pk), image.team_id, image.size_bytes
    )


def store_upload(files: _Files, team: Team | None, upload: Upload, stem: str) -> CatalogImage:
    """Store an upload, scored for content safety first: over the team's threshold it is
    refused (action `refuse`: nothing stored) or stored flagged."""
    info = upload.info
    score, flagged = _safety_check(team, upload)
    image = files.store(
        team, upload.data, stem, info.extension, info.mime_type, (info.width, info.height)
    )
    if score is not None:
        CatalogImage.objects.filter(pk=image.pk).update(safety_score=score, flagged=flagged)
        image.safety_score, image.flagged = score, flagged
    return image


def _safety_check(team: Team | None, upload: Upload) -> tuple[float | None, bool]:
    from generations.safety import policy_for
    from studio import safety

    score = safety.score_image(pixels.open_rgba(upload.data, max_side=512))
    policy = policy_for(team.pk if team else None)
    if not policy.over(score):
        return score, False
    if policy.action == "refuse":
        name = upload.filename or "The image"
        raise InvalidFields(f"{name} was refused by the content policy")
    return score, True


def delete_images(images: Iterable[CatalogImage]) -> None:
    """Delete rows, give the bytes back to their teams (once: only for the rows this call
    deleted), and remove the files once the transaction commits (a rollback must not leave
    rows pointing at deleted files)."""
    names = []
    for image in images:
        names.append(image.file.name)
        _forget(image)

    def remove_files() -> None:
        from django.core.files.storage import default_storage

        for name in names:
            if name:
                default_storage.delete(name)

    transaction.on_commit(remove_files)


# --- products ---------------------------------------------------------------------------------


def create_product(
    team: Team,
    user: User | None,
    upload: Upload,
    *,
    name: str = "",
    source: str = ProductSource.DASHBOARD,
    skip_segmentation: bool = False,
    enqueue: bool = True,
) -> Product:
    """Store a checked upload as a queued product; its analysis runs on the cluster
    (`enqueue`) or is run by the caller (`analyse_product`)."""
    name = (name or "").strip()
    if len(name) > MAX_PRODUCT_NAME:
        raise InvalidFields.about("name", f"is at most {MAX_PRODUCT_NAME} characters")
    files = _Files()
    try:
        with transaction.atomic():
            storage_quota.charge(team, len(upload.data))
            original = store_upload(files, team, upload, "original")
            product = Product.objects.create(
                team=team,
                created_by=user,
                name=name,
                named_by_user=bool(name),
                original=original,
                source=source,
                skip_segmentation=skip_segmentation,
                metadata={"filename": upload.filename[:200]} if upload.filename else {},
            )
            if enqueue:
                transaction.on_commit(lambda: enqueue_analysis(product))
    except BaseException:
        files.discard()
        raise
    return product


def analyse_inline() -> bool:
    """Whether API uploads are analysed within the request (the offline pipeline takes well
    under a second) rather than on the cluster, to be polled."""
    from django.conf import settings

    return bool(settings.STUDIO_CATALOG_INLINE_ANALYSIS)


def enqueue_analysis(product: Product) -> None:
    from django_q.tasks import async_task

    async_task("catalog.tasks.analyse_product", str(product.id), group="catalog")


def analyse_product(product_id: Any) -> Product | None:
    """The analysis pipeline: cut-out, colours, names. Runs once per product (the claim
    is a conditional UPDATE); a second delivery of the task does nothing."""
    claimed = Product.objects.filter(pk=product_id, analysis_status=AnalysisStatus.QUEUED).update(
        analysis_status=AnalysisStatus.RUNNING, updated_at=timezone.now()
    )
    if claimed != 1:
        return None
    product = Product.objects.select_related("original", "team", "team__plan").get(pk=product_id)
    files = _Files()
    try:
        with product.original.file.open("rb") as handle:
            photo = pixels.open_rgba(handle.read(), max_side=pixels.CUTOUT_MAX_SIDE)
        cutout_image = None
        subject = photo
        if not product.skip_segmentation:
            cutout, share = pixels.cut_out(photo)
            data = pixels.png_bytes(cutout)
            with transaction.atomic():
                storage_quota.charge(product.team, len(data))
                cutout_image = files.store(
                    product.team, data, "cutout", "png", "image/png", cutout.size
                )
            subject = cutout
        colours = pixels.dominant_colours(subject)
        metadata = describe_product(product, [c["name"] for c in colours])  # type: ignore[misc]
        metadata["colorSwatches"] = colours
        if cutout_image is not None:
            metadata["segmentation"] = {"method": "grabcut", "coverage": round(share, 3)}
        updates: dict[str, Any] = {
            "cutout": cutout_image,
            "metadata": metadata,
            "analysis_status": AnalysisStatus.DONE,
            "analysis_error": "",
            "updated_at": timezone.now(),
        }
        if not product.named_by_user:
            updates["name"] = auto_name(product, metadata)
        if not product.category and metadata.get("category"):
            updates["category"] = metadata["category"]
        with transaction.atomic():  # the `product.analysed` webhooks commit with the result
            done = Product.objects.filter(
                pk=product.pk, analysis_status=AnalysisStatus.RUNNING
            ).update(**updates)
            if done == 1:
                _announce_analysed(product.pk, product.team_id)
        if done != 1:  # deleted meanwhile
            files.discard()
            for image in files.written:
                _forget(image)
    except Exception as exc:
        log.exception("analysis of product %s failed", product_id)
        files.discard()
        for image in files.written:
            _forget(image)
        Product.objects.filter(pk=product_id, analysis_status=AnalysisStatus.RUNNING).update(
            analysis_status=AnalysisStatus.FAILED,
            analysis_error=(str(exc) or exc.__class__.__name__)[:300],
        )
    return Product.objects.filter(pk=product_id).select_related("original", "cutout").first()


def _announce_analysed(product_id: Any, team_id: int) -> None:
    from catalog import presenters
    from studio.integrations import webhooks

    def present(dialect: str) -> dict[str, Any]:
        # What `GET /api/v1/products?id=` returns (Krev's shape, whichever the endpoint's).
        product = Product.objects.select_related("original", "cutout").get(pk=product_id)
        return presenters.product(product)

    webhooks.publish_safely(team_id, "product.analysed", present)


# An analysis takes seconds; one still queued or running after this lost its worker.
STALE_ANALYSIS = timedelta(minutes=10)


def analysis_is_stale(product: Product) -> bool:
    return product.is_analysing and product.updated_at < timezone.now() - STALE_ANALYSIS


def retry_analysis(product: Product) -> bool:
    """Queue a failed (or stalled) analysis again; False if there is nothing to retry."""
    now = timezone.now()
    retryable = Q(analysis_status=AnalysisStatus.FAILED) | Q(
        analysis_status__in=[AnalysisStatus.QUEUED, AnalysisStatus.RUNNING],
        updated_at__lt=now - STALE_ANALYSIS,
    )
    queued = (
        Product.objects.filter(pk=product.pk)
        .filter(retryable)
        .update(analysis_status=AnalysisStatus.QUEUED, analysis_error="", updated_at=now)
    )
    if queued:
        transaction.on_commit(lambda: enqueue_analysis(product))
    return bool(queued)


# Offline metadata: words in the name or file name that say what a product is.
PRODUCT_TYPES: list[tuple[tuple[str, ...], str, str]] = [
    (("bag", "handbag", "tote", "backpack", "crossbody", "purse", "clutch"), "bag", "bags"),
    (("wallet", "cardholder", "card holder"), "wallet", "accessories"),
    (("shoe", "sneaker", "boot", "sandal", "heel", "loafer"), "footwear", "shoes"),
    (("bottle", "supplement", "vitamin", "capsule", "pill", "protein"), "supplement", "health"),
    (("watch", "bracelet", "necklace", "ring", "earring"), "jewelry", "accessories"),
    (("mug", "cup", "plate", "bowl", "vase", "candle", "lamp", "chair"), "homeware", "home"),
    (
        ("shirt", "tee", "t-shirt", "hoodie", "jacket", "dress", "sweater", "jeans"),
        "apparel",
        "apparel",
    ),
    (("lipstick", "cream", "serum", "perfume", "lotion", "shampoo", "soap"), "cosmetics", "beauty"),
    (
        ("headphones", "earbuds", "phone", "speaker", "camera", "laptop"),
        "electronics",
        "electronics",
    ),
    (("snack", "bar", "chocolate", "coffee", "tea", "sauce"), "food", "food"),
    (("sunglasses", "glasses", "hat", "cap", "scarf", "belt"), "accessory", "accessories"),
]
MATERIALS = [
    "leather", "suede", "canvas", "cotton", "linen", "wool", "silk", "denim", "glass",
    "plastic", "metal", "steel", "aluminium", "aluminum", "wood", "ceramic", "porcelain",
    "rubber", "paper", "cardboard", "gold", "silver", "bamboo",
]  # fmt: skip
_GENERIC_STEMS = re.compile(
    r"^(img|image|dsc|pxl|photo|picture|product|upload|file|download|scan|screenshot)?[\d_\- ]*$",
    re.IGNORECASE,
)


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "


def describe_product(product: Product, colours: list[str]) -> dict[str, Any]:
    """The metadata Krev returns (brandName, productName, productType, colors, materials),
    read offline from the given name and file name; an upstream vision model can do more."""
    given = product.name if product.named_by_user else ""
    stem = PurePath(str((product.metadata or {}).get("filename", ""))).stem
    text = _words(f"{given} {stem}")
    brand, product_name = None, given or None
    match = re.match(r"^\s*(.+?)\s+(?:by|from|-|–|—|\|)\s+(.+?)\s*$", given)  # noqa: RUF001
    if match:
        product_name, brand = match[1], match[2]
    product_type = category = None
    for words, kind, group in PRODUCT_TYPES:
        if any(f" {w} " in text or f" {w}s " in text for w in words):
            product_type, category = kind, group
            break
    materials = [m for m in MATERIALS if f" {m} " in text]
    return {
        **{k: v for k, v in (product.metadata or {}).items() if k == "filename"},
        "brandName": brand,
        "productName": product_name,
        "productType": product_type,
        "colors": colours,
        "materials": materials,
        "category": category,
    }


def auto_name(product: Product, metadata: dict[str, Any]) -> str:
    """A name for an unnamed product: its file name if that says something, else its main
    colour and kind ("Tan Bag")."""
    stem = PurePath(str(metadata.get("filename") or "")).stem
    if stem and not _GENERIC_STEMS.match(stem) and re.search(r"[A-Za-z]{3}", stem):
        words = re.sub(r"[_\-.]+", " ", stem).split()
        return " ".join(w if w.isupper() else w.capitalize() for w in words)[:MAX_PRODUCT_NAME]
    colours = metadata.get("colors") or []
    kind = metadata.get("productType") or "product"
    return " ".join(w.capitalize() for w in [*(colours[:1]), *str(kind).split()])


def update_product(
    product: Product, *, name: str, category: str, metadata: dict[str, Any]
) -> Product:
    name, category = name.strip(), category.strip()
    if not name:
        raise MissingFields.of("name")
    if len(name) > MAX_PRODUCT_NAME or len(category) > 60:
        raise InvalidFields(
            "name is at most 200 characters and category at most 60",
            field="name" if len(name) > MAX_PRODUCT_NAME else "category",
        )
    if not isinstance(metadata, dict):
        raise InvalidFields.about("metadata", "must be a JSON object")
    if len(json.dumps(metadata)) > MAX_METADATA_CHARS:
        raise InvalidFields.about(
            "metadata", f"is limited to {MAX_METADATA_CHARS:,} characters of JSON"
        )
    product.name, product.named_by_user = name, True
    product.category, product.metadata = category, metadata
    product.save(update_fields=["name", "named_by_user", "category", "metadata", "updated_at"])
    return product


def delete_product(product: Product) -> None:
    images = [i for i in (product.original, product.cutout) if i is not None]
    with transaction.atomic():
        product.delete()
        delete_images(images)


# --- Visual DNA -------------------------------------------------------------------------------


def checked_name(value: Any, field: str = "name") -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MissingFields.of(field)
    if not isinstance(value, str):
        raise InvalidFields.about(field, "must be a string")
    value = value.strip()
    if len(value) > MAX_NAME:
        raise InvalidFields.about(field, f"is at most {MAX_NAME} characters")
    return value


def _palette(uploads: list[Upload]) -> list[str]:
    names: list[str] = []
    for upload in uploads:
        picture = pixels.open_rgba(upload.data, max_side=320)
        for colour in pixels.dominant_colours(picture, limit=2):
            if colour["name"] not in names:
                names.append(str(colour["name"]))
    return names[:4]


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _dna_type(dna_type: Any) -> str:
    if dna_type in (None, ""):
        raise MissingFields.of("dna_type")
    if dna_type not in DnaType.values:
        raise InvalidFields.about("dna_type", f"must be one of: {', '.join(DnaType.values)}")
    return str(dna_type)


def _prompt_helper(prompt_helper: Any) -> str:
    helper = prompt_helper.strip() if isinstance(prompt_helper, str) else ""
    if len(helper) > 1000:
        raise InvalidFields.about("prompt_helper", "is at most 1000 characters")
    return helper


def _dna_uploads(uploads: list[Upload]) -> list[Upload]:
    if not uploads:
        raise MissingFields("Missing required field: images (1-4 image files)", field="images")
    if len(uploads) > MAX_DNA_IMAGES:
        raise InvalidFields.about("images", f"takes 1-{MAX_DNA_IMAGES} files (got {len(uploads)})")
    return uploads


def _dna_texts(
    name: str, dna_type: str, helper: str, palette: list[str], count: int
) -> tuple[str, str]:
    """A Visual DNA's description and the system prompt generation adds for it."""
    label = DnaType(dna_type).label.lower()
    shown = f" in {_joined(palette)}" if palette else ""
    images = f"{count} reference image{'s' if count > 1 else ''}"
    description = f"A {label} identity{shown}, learned from {images}."
    if helper:
        description += f" {helper}"
    system_prompt = (
        f"Keep the {label} consistent with the Visual DNA \u201c{name}\u201d"
        + (f": {helper}" if helper else "")
        + (f". Palette: {', '.join(palette)}." if palette else ".")
    )
    return description, system_prompt


def _store_dna_images(files: _Files, team: Team, dna: VisualDNA, uploads: list[Upload]) -> None:
    """Store the reference images and their contact-sheet thumbnail (storage charged)."""
    total = sum(len(u.data) for u in uploads)
    thumb = pixels.thumbnail_png(contact_sheet(uploads), 384)
    storage_quota.charge(team, total + len(thumb))
    stored = [store_upload(files, team, u, f"image-{i + 1}") for i, u in enumerate(uploads)]
    stored.append(files.store(team, thumb, "thumbnail", "png", "image/png", (384, 384)))
    dna.images.add(*stored)


def create_visual_dna(
    team: Team,
    user: User | None,
    *,
    name: Any,
    dna_type: Any,
    uploads: list[Upload],
    prompt_helper: Any = "",
) -> VisualDNA:
    name = checked_name(name)
    dna_type = _dna_type(dna_type)
    uploads = _dna_uploads(uploads)
    helper = _prompt_helper(prompt_helper)
    description, system_prompt = _dna_texts(name, dna_type, helper, _palette(uploads), len(uploads))
    files = _Files()
    try:
        with transaction.atomic():
            dna = VisualDNA.objects.create(
                team=team,
                created_by=user,
                name=name,
                dna_type=dna_type,
                prompt_helper=helper,
                description=description,
                system_prompt=system_prompt,
            )
            _store_dna_images(files, team, dna, uploads)
    except BaseException:
        files.discard()
        raise
    return dna


def update_visual_dna(
    dna: VisualDNA,
    *,
    name: Any = None,
    dna_type: Any = None,
    prompt_helper: Any = None,
    uploads: list[Upload] | None = None,
) -> VisualDNA:
    """`PUT /visual-dna/{id}`: the fields sent change; images sent replace the whole set."""
    if dna.is_global or dna.team is None:
        raise Forbidden("Global Visual DNAs ship with Studio and cannot be changed")
    name = checked_name(name) if name is not None else dna.name
    dna_type = _dna_type(dna_type) if dna_type is not None else dna.dna_type
    helper = _prompt_helper(prompt_helper) if prompt_helper is not None else dna.prompt_helper
    if uploads:
        uploads = _dna_uploads(uploads)
        palette, count = _palette(uploads), len(uploads)
    else:
        kept = dna_images(dna)
        palette, count = _stored_palette(kept), max(len(kept), 1)
    description, system_prompt = _dna_texts(name, dna_type, helper, palette, count)
    files = _Files()
    try:
        with transaction.atomic():
            if uploads:
                old = list(dna.images.all())
                dna.images.clear()
                delete_images(old)
                _store_dna_images(files, dna.team, dna, uploads)
            dna.name, dna.dna_type, dna.prompt_helper = name, dna_type, helper
            dna.description, dna.system_prompt = description, system_prompt
            dna.save(
                update_fields=["name", "dna_type", "prompt_helper", "description", "system_prompt"]
            )
    except BaseException:
        files.discard()
        raise
    return dna


def _stored_palette(images: list[CatalogImage]) -> list[str]:
    names: list[str] = []
    for image in images:
        try:
            with image.file.open("rb") as handle:
                picture = pixels.open_rgba(handle.read(), max_side=320)
        except (OSError, ValueError):
            continue  # a missing file: describe without its colours
        for colour in pixels.dominant_colours(picture, limit=2):
            if colour["name"] not in names:
                names.append(str(colour["name"]))
    return names[:4]


def contact_sheet(uploads: list[Upload], side: int = 384) -> Any:
    """A square thumbnail: one image, or a 2×2 grid of up to four."""  # noqa: RUF002
    from PIL import Image, ImageOps

    sheet = Image.new("RGB", (side, side), (240, 241, 246))
    cells = 1 if len(uploads) == 1 else 2
    cell = side // cells
    for index, upload in enumerate(uploads[: cells * cells]):
        picture = pixels.open_rgba(upload.data, max_side=side)
        tile = ImageOps.fit(picture.convert("RGB"), (cell, cell), Image.Resampling.LANCZOS)
        sheet.paste(tile, ((index % cells) * cell, (index // cells) * cell))
    return sheet


def _is_thumbnail(image: CatalogImage) -> bool:
    return (image.file.name or "").endswith("/thumbnail.png")


def _in_order(images: Iterable[CatalogImage]) -> list[CatalogImage]:
    return sorted(images, key=lambda i: i.pk)  # .all(): uses a prefetch when there is one


def dna_images(dna: VisualDNA) -> list[CatalogImage]:
    """The reference images (not the thumbnail), in upload order."""
    return [i for i in _in_order(dna.images.all()) if not _is_thumbnail(i)]


def dna_thumbnail(dna: VisualDNA) -> CatalogImage | None:
    images = _in_order(dna.images.all())
    thumbs = [i for i in images if _is_thumbnail(i)]
    return (thumbs or images)[0] if images else None


def delete_visual_dna(dna: VisualDNA) -> None:
    if dna.is_global:
        raise Forbidden("Global Visual DNAs ship with Studio and cannot be deleted")
    images = list(dna.images.all())
    with transaction.atomic():
        dna.delete()
        delete_images(images)


# --- moodboards -------------------------------------------------------------------------------


def _board_uploads(uploads: list[Upload]) -> list[Upload]:
    if not uploads:
        raise MissingFields("Missing required field: images (1-15 images)", field="images")
    if len(uploads) > MAX_MOODBOARD_IMAGES:
        raise InvalidFields.about(
            "images", f"takes 1-{MAX_MOODBOARD_IMAGES} items (got {len(uploads)})"
        )
    return uploads


def _style_guide(style_guide: Any) -> str:
    if style_guide is not None and not isinstance(style_guide, str):
        raise InvalidFields.about("style_guide", "must be a string")
    guide = (style_guide or "").strip()
    if len(guide) > 2000:
        raise InvalidFields.about("style_guide", "is at most 2000 characters")
    return guide


def _master_prompt(guide: str, palette: list[str]) -> str:
    if guide and palette:
        return f"{guide} Palette: {', '.join(palette)}."
    return guide or (f"A look in {_joined(palette)}." if palette else "")


def update_moodboard(
    board: Moodboard,
    *,
    name: Any = None,
    style_guide: Any = None,
    uploads: list[Upload] | None = None,
) -> Moodboard:
    """`PUT /moodboards/{id}`: the fields sent change; images sent replace the whole set."""
    if board.is_preset or board.team is None:
        raise Forbidden("Preset moodboards ship with Studio and cannot be changed")
    name = checked_name(name) if name is not None else board.name
    guide = _style_guide(style_guide) if style_guide is not None else board.style_guide
    if uploads:
        palette = _palette(_board_uploads(uploads)[:6])
    else:
        palette = _stored_palette(sorted(board.images.all(), key=lambda i: i.pk)[:6])
    files = _Files()
    try:
        with transaction.atomic():
            if uploads:
                old = list(board.images.all())
                board.images.clear()
                delete_images(old)
                storage_quota.charge(board.team, sum(len(u.data) for u in uploads))
                board.images.add(
                    *[
                        store_upload(files, board.team, u, f"image-{i + 1}")
                        for i, u in enumerate(uploads)
                    ]
                )
            board.name, board.style_guide = name, guide
            board.master_prompt = _master_prompt(guide, palette)
            board.save(update_fields=["name", "style_guide", "master_prompt"])
    except BaseException:
        files.discard()
        raise
    return board


def create_moodboard(
    team: Team, user: User | None, *, name: Any, uploads: list[Upload], style_guide: Any = ""
) -> Moodboard:
    name = checked_name(name)
    uploads = _board_uploads(uploads)
    guide = _style_guide(style_guide)
    master = _master_prompt(guide, _palette(uploads[:6]))
    files = _Files()
    try:
        with transaction.atomic():
            storage_quota.charge(team, sum(len(u.data) for u in uploads))
            board = Moodboard.objects.create(
                team=team, created_by=user, name=name, style_guide=guide, master_prompt=master
            )
            board.images.add(
                *[store_upload(files, team, u, f"image-{i + 1}") for i, u in enumerate(uploads)]
            )
    except BaseException:
        files.discard()
        raise
    return board


def delete_moodboard(board: Moodboard) -> None:
    if board.is_preset:
        raise Forbidden("Preset moodboards ship with Studio and cannot be deleted")
    images = list(board.images.all())
    with transaction.atomic():
        board.delete()
        delete_images(images)
