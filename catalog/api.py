"""The catalog's public endpoints (mounted at /api/v1).

Krev: `GET/POST /products` (wrapped in `data`). Kolbo: `/visual-dna` and `/moodboards`
(fields at the top level). Uploads arrive as multipart files or as URLs; either way they
are checked completely before anything is stored (catalog/services.py).
"""

from __future__ import annotations

import json
from typing import Any, Literal
from uuid import UUID

from django.db.models import Q
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from ninja import Query, Router, Schema
from pydantic import Field

from catalog import presenters, services
from catalog.models import Moodboard, Product, ProductSource, VisualDNA
from studio import text
from studio.accounts.models import Team
from studio.api.auth import api_key, caller_key, caller_team
from studio.api.ratelimit import RateClass
from studio.api.schemas import KrevListResponse, KrevResponse, errors, kolbo, krev, krev_list
from studio.errors import InvalidFields, MissingFields, NotFound, PayloadTooLarge
from studio.images import max_bytes
from studio.vault.models import ApiKey

router = Router(tags=["Catalog"])

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def _flag(value: Any, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidFields.about(name, "must be true or false")


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"null")
    except ValueError:
        raise InvalidFields("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidFields("The request body must be a JSON object")
    return data


def _read_form(request: HttpRequest, *, files: int) -> None:
    """Parse a multipart/urlencoded body now, so a malformed one is a 400, not a 500.

    A body longer than `files` uploads at the size limit (plus room for the other fields)
    is refused from its Content-Length, before Django spools it to disk."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    bound = files * max_bytes() + 256 * 1024
    if declared.isdigit() and int(declared) > bound:
        raise PayloadTooLarge(
            f"The request is {int(declared):,} bytes; uploads are limited to "
            f"{max_bytes():,} bytes per image"
        )
    try:
        request.POST  # noqa: B018 - parsing is the point
        request.FILES  # noqa: B018
    except MultiPartParserError as exc:
        raise InvalidFields(f"The multipart body could not be read: {exc}") from None
    text.check_querydict(request.POST)


def _is_multipart(request: HttpRequest) -> bool:
    return (request.content_type or "").startswith(("multipart/form-data", "application/x-www"))


# --- Krev: products ---------------------------------------------------------------------------


class ProductOut(Schema):
    id: str
    name: str | None
    image_url: str | None
    segmented_image_url: str | None
    category: str | None
    metadata: dict[str, Any]
    source: Literal["api", "dashboard"]
    analysis_status: Literal["queued", "running", "done", "failed"] = Field(
        description="Studio extension: the analysis pipeline's state"
    )
    analysis_error: str | None = None
    created_at: str


class ProductFilters(Schema):
    id: str | None = Field(None, description="Get a single product by id")
    limit: int = Field(50, ge=1, le=100, description="Max products to return (max 100)")


@router.get(
    "/products",
    auth=api_key("products", limit=RateClass.READ, dialect="krev"),
    response={200: KrevListResponse[ProductOut], **errors(400, 401, 403, 404, 429)},
    summary="List products (or one by id) with signed image URLs",
)
def list_products(request: HttpRequest, filters: Query[ProductFilters]) -> dict[str, Any]:
    return krev_list(products_for(caller_team(request), filters.id, filters.limit))


def products_for(team: Team, product_id: str | None, limit: int) -> list[dict[str, Any]]:
    """The team's products (or the one `product_id` names: NOT_FOUND if not the team's)."""
    products = Product.objects.filter(team=team).select_related("original", "cutout")
    if product_id:
        try:
            products = products.filter(pk=UUID(product_id))
        except ValueError:
            raise NotFound(f"Product not found: {product_id}") from None
        if not products:
            raise NotFound(f"Product not found: {product_id}")
    return [presenters.product(p) for p in products[:limit]]


_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["image_url"],
                    "properties": {
                        "image_url": {
                            "type": "string",
                            "description": "Public URL of the image, or a base64 data URL",
                        },
                        "name": {"type": "string", "maxLength": 200},
                        "skip_segmentation": {"type": "boolean", "default": False},
                    },
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "name": {"type": "string"},
                        "skip_segmentation": {"type": "boolean"},
                    },
                }
            },
        },
    }
}


@router.post(
    "/products",
    auth=api_key("products", limit=RateClass.GENERATION, dialect="krev"),
    response={200: KrevResponse[ProductOut], **errors(400, 401, 403, 413, 429)},
    summary="Upload a product image and run the analysis pipeline",
    openapi_extra=_UPLOAD_DOC,
)
def upload_product(request: HttpRequest) -> dict[str, Any]:
    key = caller_key(request)
    if _is_multipart(request):
        _read_form(request, files=1)
        file = request.FILES.get("file")
        if file is None:
            if request.POST.get("image_url"):
                fields: dict[str, Any] = request.POST.dict()
            else:
                raise MissingFields("Missing required field: file (or image_url)", field="file")
        else:
            fields = request.POST.dict()
            upload = services.check_upload_file(file, "file")
    else:
        fields = _json_body(request)
        file = None
    if file is None:
        return krev(product_from_image_url(key, fields))
    return krev(finish_upload(key, upload, fields))


def product_from_image_url(key: ApiKey, fields: dict[str, Any]) -> dict[str, Any]:
    """`POST /products` with JSON `{image_url, name?, skip_segmentation?}` (REST and MCP)."""
    if not fields.get("image_url"):
        raise MissingFields.of("image_url")
    data, filename = services.read_image_url(fields["image_url"], key.team)
    upload = services.check_upload(data, "The image at image_url", filename)
    return finish_upload(key, upload, fields)


def finish_upload(key: ApiKey, upload: services.Upload, fields: dict[str, Any]) -> dict[str, Any]:
    name = fields.get("name") or ""
    if not isinstance(name, str):
        raise InvalidFields.about("name", "must be a string")
    product = services.create_product(
        key.team,
        key.user,
        upload,
        name=name,
        source=ProductSource.API,
        skip_segmentation=_flag(fields.get("skip_segmentation"), "skip_segmentation"),
        enqueue=not services.analyse_inline(),
    )
    if services.analyse_inline():
        # Offline analysis takes well under a second: answer with the finished product,
        # as Krev's example does.
        product = services.analyse_product(product.pk) or product
    product = Product.objects.select_related("original", "cutout").get(pk=product.pk)
    return presenters.product(product)


# --- Kolbo: Visual DNA ------------------------------------------------------------------------


class VisualDnaOut(Schema):
    id: str
    name: str
    dna_type: Literal["character", "product", "style", "environment"]
    description: str
    thumbnail_url: str | None
    images: list[str]
    created_at: str


class VisualDnaDetailOut(VisualDnaOut):
    system_prompt: str
    is_global: bool


class VisualDnaCreated(Schema):
    success: Literal[True] = True
    visual_dna: VisualDnaOut


class VisualDnaList(Schema):
    success: Literal[True] = True
    visual_dnas: list[VisualDnaOut]
    count: int


class VisualDnaDetail(Schema):
    success: Literal[True] = True
    visual_dna: VisualDnaDetailOut


class Deleted(Schema):
    success: Literal[True] = True
    message: str


def _first(request: HttpRequest, *names: str) -> Any:
    for name in names:
        if name in request.POST:
            return request.POST.get(name)
    return None


_DNA_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "dna_type", "images"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 100},
                        "dna_type": {
                            "type": "string",
                            "enum": ["character", "product", "style", "environment"],
                            "description": "Also accepted as dnaType",
                        },
                        "images": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            "maxItems": 4,
                        },
                        "prompt_helper": {
                            "type": "string",
                            "description": "Also accepted as promptHelper",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/visual-dna",
    auth=api_key("visual_dna", limit=RateClass.GENERATION),
    response={200: VisualDnaCreated, **errors(400, 401, 403, 413, 429)},
    summary="Create a Visual DNA from 1-4 reference images",
    openapi_extra=_DNA_DOC,
)
def create_visual_dna(request: HttpRequest) -> dict[str, Any]:
    key = caller_key(request)
    if not _is_multipart(request):
        raise InvalidFields("Send a Visual DNA as multipart/form-data with 1-4 images")
    _read_form(request, files=services.MAX_DNA_IMAGES)
    files = [*request.FILES.getlist("images"), *request.FILES.getlist("images[]")]
    if len(files) > services.MAX_DNA_IMAGES:
        raise InvalidFields.about(
            "images", f"takes 1-{services.MAX_DNA_IMAGES} files (got {len(files)})"
        )
    name = _first(request, "name")
    dna_type = _first(request, "dna_type", "dnaType", "type")
    services.checked_name(name)  # report a missing name before reading any image
    uploads = [services.check_upload_file(f, f"images[{i}]") for i, f in enumerate(files)]
    dna = services.create_visual_dna(
        key.team,
        key.user,
        name=name,
        dna_type=dna_type,
        uploads=uploads,
        prompt_helper=_first(request, "prompt_helper", "promptHelper") or "",
    )
    return kolbo(visual_dna=presenters.visual_dna(dna))


def _dnas(request: HttpRequest) -> Any:
    return team_dnas(caller_team(request))


def team_dnas(team: Team) -> Any:
    """The team's Visual DNAs and the global ones."""
    return VisualDNA.objects.filter(Q(team=team) | Q(team__isnull=True)).prefetch_related("images")


def _dna(request: HttpRequest, dna_id: str) -> VisualDNA:
    return team_dna(caller_team(request), dna_id)


def team_dna(team: Team, dna_id: Any) -> VisualDNA:
    try:
        dna = team_dnas(team).filter(pk=UUID(str(dna_id))).first()
    except ValueError:
        dna = None
    if dna is None:
        raise NotFound(f"Visual DNA not found: {dna_id}")
    return dna


@router.get(
    "/visual-dna",
    auth=api_key("visual_dna", limit=RateClass.READ),
    response={200: VisualDnaList, **errors(401, 403, 429)},
    summary="List the team's Visual DNAs and the global ones",
)
def list_visual_dnas(request: HttpRequest) -> dict[str, Any]:
    rows = [presenters.visual_dna(d) for d in _dnas(request)]
    return kolbo(visual_dnas=rows, count=len(rows))


@router.get(
    "/visual-dna/{dna_id}",
    auth=api_key("visual_dna", limit=RateClass.READ),
    response={200: VisualDnaDetail, **errors(401, 403, 404, 429)},
    summary="Get a Visual DNA with its system prompt",
)
def get_visual_dna(request: HttpRequest, dna_id: str) -> dict[str, Any]:
    return kolbo(visual_dna=presenters.visual_dna(_dna(request, dna_id), detail=True))


@router.delete(
    "/visual-dna/{dna_id}",
    auth=api_key("visual_dna", limit=RateClass.READ),
    response={200: Deleted, **errors(401, 403, 404, 429)},
    summary="Delete a Visual DNA (global ones cannot be deleted)",
)
def delete_visual_dna(request: HttpRequest, dna_id: str) -> dict[str, Any]:
    dna = _dna(request, dna_id)
    services.delete_visual_dna(dna)
    return kolbo(message=f"Visual DNA \u201c{dna.name}\u201d deleted")


# --- Kolbo: moodboards ------------------------------------------------------------------------


class MoodboardOut(Schema):
    id: str
    name: str
    master_prompt: str
    thumbnail_url: str | None
    images: list[str]
    scope: Literal["personal", "preset"]


class MoodboardDetailOut(MoodboardOut):
    style_guide: str
    created_at: str


class MoodboardList(Schema):
    success: Literal[True] = True
    moodboards: list[MoodboardOut]
    count: int


class MoodboardDetail(Schema):
    success: Literal[True] = True
    moodboard: MoodboardDetailOut


class MoodboardFilters(Schema):
    scope: Literal["personal", "preset"] | None = Field(
        None, description="personal, preset, or both when omitted"
    )


class MoodboardImageIn(Schema):
    type: Literal["url"] = "url"
    url: str = Field(..., max_length=15_000_000)


class MoodboardIn(Schema):
    name: str = Field(..., max_length=100)
    images: list[MoodboardImageIn] = Field(..., min_length=1, max_length=15)
    style_guide: str | None = Field(None, max_length=2000)


def _boards(request: HttpRequest) -> Any:
    return team_boards(caller_team(request))


def team_boards(team: Team) -> Any:
    """The team's moodboards and the presets."""
    return Moodboard.objects.filter(Q(team=team) | Q(team__isnull=True)).prefetch_related("images")


@router.get(
    "/moodboards",
    auth=api_key("moodboards", limit=RateClass.READ),
    response={200: MoodboardList, **errors(400, 401, 403, 429)},
    summary="List moodboards: personal ones and presets",
)
def list_moodboards(request: HttpRequest, filters: Query[MoodboardFilters]) -> dict[str, Any]:
    boards = _boards(request)
    if filters.scope == "personal":
        boards = boards.filter(team__isnull=False)
    elif filters.scope == "preset":
        boards = boards.filter(team__isnull=True)
    rows = [presenters.moodboard(b) for b in boards]
    return kolbo(moodboards=rows, count=len(rows))


@router.get(
    "/moodboards/{moodboard_id}",
    auth=api_key("moodboards", limit=RateClass.READ),
    response={200: MoodboardDetail, **errors(401, 403, 404, 429)},
    summary="Get a moodboard with its style guide",
)
def get_moodboard(request: HttpRequest, moodboard_id: str) -> dict[str, Any]:
    try:
        board = _boards(request).filter(pk=UUID(moodboard_id)).first()
    except ValueError:
        board = None
    if board is None:
        raise NotFound(f"Moodboard not found: {moodboard_id}")
    return kolbo(moodboard=presenters.moodboard(board, detail=True))


@router.post(
    "/moodboards",
    auth=api_key("moodboards", limit=RateClass.GENERATION),
    response={200: MoodboardDetail, **errors(400, 401, 403, 413, 429)},
    summary="Create a personal moodboard from 1-15 image URLs",
)
def create_moodboard(request: HttpRequest, payload: MoodboardIn) -> dict[str, Any]:
    return moodboard_from_urls(caller_key(request), payload)


def moodboard_from_urls(key: ApiKey, payload: MoodboardIn) -> dict[str, Any]:
    """`POST /moodboards` (REST and MCP): each image URL read and checked, then stored."""
    uploads = []
    for index, image in enumerate(payload.images):
        what = f"images[{index}]"
        data, filename = services.read_image_url(image.url, key.team, what)
        uploads.append(services.check_upload(data, f"The image at {what}", filename))
    board = services.create_moodboard(
        key.team, key.user, name=payload.name, uploads=uploads, style_guide=payload.style_guide
    )
    board = team_boards(key.team).get(pk=board.pk)
    return kolbo(moodboard=presenters.moodboard(board, detail=True))
