"""The catalog's public endpoints (mounted at /api/v1).

Krev: `GET/POST /products` (wrapped in `data`). Kolbo: `/visual-dna` and `/moodboards`
(fields at the top level). Uploads arrive as multipart files or as URLs; either way they
are checked completely before anything is stored (catalog/services.py).
"""

from __future__ import annotations

import contextlib
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
    response={
        200: KrevListResponse[ProductOut] | KrevResponse[ProductOut],
        **errors(400, 401, 403, 404, 429),
    },
    summary="List products, or get one by id (an object), with signed image URLs",
)
def list_products(request: HttpRequest, filters: Query[ProductFilters]) -> dict[str, Any]:
    rows = products_for(caller_team(request), filters.id, filters.limit)
    if filters.id:
        return krev(rows[0])  # Krev's `?id=`: that product as `data`, not a list
    return krev_list(rows)


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


DnaTypeName = Literal["character", "product", "style", "environment", "scene"]


class VisualDnaOut(Schema):
    id: str
    name: str
    dna_type: DnaTypeName
    description: str
    thumbnail_url: str | None
    images: list[str]
    created_at: str
    is_global: bool


class VisualDnaDetailOut(VisualDnaOut):
    system_prompt: str


class VisualDnaFilters(Schema):
    scope: Literal["all", "personal", "global"] = Field("all", description="Whose DNAs to list")
    search: str | None = Field(None, max_length=100, description="Part of the name or description")
    page: int = Field(1, ge=1, le=10_000)
    limit: int = Field(50, ge=1, le=100)


class Pagination(Schema):
    page: int
    limit: int
    total: int
    pages: int


class VisualDnaCreated(Schema):
    success: Literal[True] = True
    visual_dna: VisualDnaOut


class VisualDnaList(Schema):
    success: Literal[True] = True
    visual_dnas: list[VisualDnaOut]
    count: int
    pagination: Pagination


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
                            "enum": ["character", "product", "style", "environment", "scene"],
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
    fields = _dna_form(request)
    services.checked_name(fields["name"])  # report a missing name before reading any image
    dna = services.create_visual_dna(
        key.team,
        key.user,
        name=fields["name"],
        dna_type=fields["dna_type"],
        uploads=_dna_files(request),
        prompt_helper=fields["prompt_helper"] or "",
    )
    return kolbo(visual_dna=presenters.visual_dna(dna))


def _dna_form(request: HttpRequest) -> dict[str, Any]:
    """A Visual DNA's multipart fields, in snake_case or camelCase as the docs allow."""
    if request.method != "POST":
        # Django parses multipart bodies of POSTs only; PUT carries the same form.
        method, request.method = request.method, "POST"
        for parsed in ("_post", "_files"):  # an earlier look parsed nothing: read again
            with contextlib.suppress(AttributeError):
                delattr(request, parsed)
        try:
            _read_form(request, files=services.MAX_DNA_IMAGES)
        finally:
            request.method = method
    else:
        _read_form(request, files=services.MAX_DNA_IMAGES)
    return {
        "name": _first(request, "name"),
        "dna_type": _first(request, "dna_type", "dnaType", "type"),
        "prompt_helper": _first(request, "prompt_helper", "promptHelper"),
    }


def _dna_files(request: HttpRequest) -> list[services.Upload]:
    files = [*request.FILES.getlist("images"), *request.FILES.getlist("images[]")]
    if len(files) > services.MAX_DNA_IMAGES:
        raise InvalidFields.about(
            "images", f"takes 1-{services.MAX_DNA_IMAGES} files (got {len(files)})"
        )
    return [services.check_upload_file(f, f"images[{i}]") for i, f in enumerate(files)]


@router.put(
    "/visual-dna/{dna_id}",
    auth=api_key("visual_dna", limit=RateClass.GENERATION),
    response={200: VisualDnaDetail, **errors(400, 401, 403, 404, 413, 429)},
    summary="Update a Visual DNA (fields sent change; images sent replace the set)",
    openapi_extra=_DNA_DOC,
)
def update_visual_dna(request: HttpRequest, dna_id: str) -> dict[str, Any]:
    dna = _dna(request, dna_id)
    if _is_multipart(request):
        fields = _dna_form(request)
        uploads = _dna_files(request)
    else:
        body = _json_body(request)
        fields = {
            "name": body.get("name"),
            "dna_type": body.get("dna_type", body.get("dnaType")),
            "prompt_helper": body.get("prompt_helper", body.get("promptHelper")),
        }
        uploads = []
    dna = services.update_visual_dna(dna, uploads=uploads, **fields)
    return kolbo(visual_dna=presenters.visual_dna(_dna(request, str(dna.pk)), detail=True))


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
    response={200: VisualDnaList, **errors(400, 401, 403, 429)},
    summary="List the team's Visual DNAs and the global ones",
)
def list_visual_dnas(request: HttpRequest, filters: Query[VisualDnaFilters]) -> dict[str, Any]:
    dnas = dnas_matching(caller_team(request), filters.scope, filters.search)
    total = dnas.count()
    start = (filters.page - 1) * filters.limit
    rows = [presenters.visual_dna(d) for d in dnas[start : start + filters.limit]]
    pages = (total + filters.limit - 1) // filters.limit
    return kolbo(
        visual_dnas=rows,
        count=len(rows),
        pagination={"page": filters.page, "limit": filters.limit, "total": total, "pages": pages},
    )


def dnas_matching(team: Team, scope: str = "all", search: str | None = None) -> Any:
    """The Visual DNAs a list shows: `scope` all|personal|global, `search` in name or text."""
    dnas = team_dnas(team)
    if scope == "personal":
        dnas = dnas.filter(team__isnull=False)
    elif scope == "global":
        dnas = dnas.filter(team__isnull=True)
    if search and search.strip():
        words = search.strip()
        dnas = dnas.filter(Q(name__icontains=words) | Q(description__icontains=words))
    return dnas


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
    scope: Literal["all", "personal", "preset", "global"] | None = Field(
        None, description="personal, preset (also: global), or all when omitted"
    )


class MoodboardImageIn(Schema):
    type: Literal["url"] = "url"
    url: str = Field(..., max_length=15_000_000)


class MoodboardIn(Schema):
    name: str = Field(..., max_length=100)
    images: list[MoodboardImageIn] = Field(..., min_length=1, max_length=15)
    style_guide: str | None = Field(None, max_length=2000)


class MoodboardUpdate(Schema):
    name: str | None = Field(None, max_length=100)
    images: list[MoodboardImageIn] | None = Field(
        None, min_length=1, max_length=15, description="Replace the whole set"
    )
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
    rows = [presenters.moodboard(b) for b in boards_in_scope(caller_team(request), filters.scope)]
    return kolbo(moodboards=rows, count=len(rows))


def boards_in_scope(team: Team, scope: str | None) -> Any:
    """`scope`: personal (the team's), preset or global (Studio's), all (both; the default)."""
    boards = team_boards(team)
    if scope == "personal":
        return boards.filter(team__isnull=False)
    if scope in ("preset", "global"):
        return boards.filter(team__isnull=True)
    return boards


@router.get(
    "/moodboards/{moodboard_id}",
    auth=api_key("moodboards", limit=RateClass.READ),
    response={200: MoodboardDetail, **errors(401, 403, 404, 429)},
    summary="Get a moodboard with its style guide",
)
def get_moodboard(request: HttpRequest, moodboard_id: str) -> dict[str, Any]:
    return kolbo(moodboard=presenters.moodboard(_board(request, moodboard_id), detail=True))


def _board(request: HttpRequest, moodboard_id: str) -> Moodboard:
    return team_board(caller_team(request), moodboard_id)


def team_board(team: Team, moodboard_id: Any) -> Moodboard:
    """The team's moodboard or a preset (REST and MCP), or NOT_FOUND."""
    try:
        board = team_boards(team).filter(pk=UUID(str(moodboard_id))).first()
    except ValueError:
        board = None
    if board is None:
        raise NotFound(f"Moodboard not found: {moodboard_id}")
    return board


@router.put(
    "/moodboards/{moodboard_id}",
    auth=api_key("moodboards", limit=RateClass.GENERATION),
    response={200: MoodboardDetail, **errors(400, 401, 403, 404, 413, 429)},
    summary="Update a personal moodboard (fields sent change; images sent replace the set)",
)
def update_moodboard(
    request: HttpRequest, moodboard_id: str, payload: MoodboardUpdate
) -> dict[str, Any]:
    return moodboard_update(caller_key(request), _board(request, moodboard_id), payload)


def moodboard_update(key: ApiKey, board: Moodboard, payload: MoodboardUpdate) -> dict[str, Any]:
    """`PUT /moodboards/{id}` (REST and MCP): the fields sent change, images replace the set."""
    uploads = _board_uploads(key, payload.images) if payload.images else None
    services.update_moodboard(
        board, name=payload.name, style_guide=payload.style_guide, uploads=uploads
    )
    fresh = team_boards(key.team).get(pk=board.pk)
    return kolbo(moodboard=presenters.moodboard(fresh, detail=True))


@router.delete(
    "/moodboards/{moodboard_id}",
    auth=api_key("moodboards", limit=RateClass.READ),
    response={200: Deleted, **errors(401, 403, 404, 429)},
    summary="Delete a personal moodboard (presets cannot be deleted)",
)
def delete_moodboard(request: HttpRequest, moodboard_id: str) -> dict[str, Any]:
    board = _board(request, moodboard_id)
    services.delete_moodboard(board)
    return kolbo(message=f"Moodboard \u201c{board.name}\u201d deleted")


def _board_uploads(key: ApiKey, images: list[MoodboardImageIn]) -> list[services.Upload]:
    uploads = []
    for index, image in enumerate(images):
        what = f"images[{index}]"
        data, filename = services.read_image_url(image.url, key.team, what)
        uploads.append(services.check_upload(data, f"The image at {what}", filename))
    return uploads


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
    uploads = _board_uploads(key, payload.images)
    board = services.create_moodboard(
        key.team, key.user, name=payload.name, uploads=uploads, style_guide=payload.style_guide
    )
    board = team_boards(key.team).get(pk=board.pk)
    return kolbo(moodboard=presenters.moodboard(board, detail=True))
