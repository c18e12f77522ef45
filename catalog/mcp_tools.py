"""MCP tools of the catalog: products (Krev), Visual DNA and moodboards (Kolbo).

Images arrive as URLs or base64 data URLs (an agent has no multipart form); they are read and
checked exactly as the REST endpoints read theirs, before anything is stored.
"""

from __future__ import annotations

from typing import Any

from catalog import presenters, services
from catalog.api import (
    MoodboardFilters,
    MoodboardIn,
    MoodboardUpdate,
    ProductFilters,
    boards_in_scope,
    moodboard_from_urls,
    moodboard_update,
    product_from_image_url,
    products_for,
    team_board,
    team_dna,
    team_dnas,
)
from catalog.models import Moodboard
from studio.api.ratelimit import RateClass
from studio.errors import InvalidFields
from studio.mcp.tools import (
    ToolCall,
    from_pydantic,
    object_schema,
    register_resource,
    register_tool,
    validated,
)

IMAGE_URL = {"type": "string", "description": "An http(s) URL or a data:image/...;base64 URL"}
ID = {"type": "string"}
DNA_TYPES = ["character", "product", "style", "environment"]

# --- products -----------------------------------------------------------------------------------


@register_tool(
    "list_products",
    "The team's products with signed image URLs (or one product by id).",
    scope="products",
    schema=from_pydantic(ProductFilters),
)
async def list_products(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    filters = validated(ProductFilters, args)
    rows = await call.sync(products_for, call.team, filters.id, filters.limit)
    return {"success": True, "data": rows, "meta": {"count": len(rows)}}


@register_tool(
    "upload_product",
    "Add a product from an image (URL or base64 data URL): background removal, metadata "
    "(brand, type, colours, materials) and a name when none is given.",
    scope="products",
    method="POST",
    limit=RateClass.GENERATION,
    schema=object_schema(
        {
            "image_url": IMAGE_URL,
            "name": {"type": "string", "maxLength": 200},
            "skip_segmentation": {"type": "boolean"},
        },
        ["image_url"],
    ),
)
async def upload_product(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    product = await call.sync(product_from_image_url, call.key, args)
    return {"success": True, "data": product}


# --- Visual DNA ---------------------------------------------------------------------------------


@register_tool(
    "list_visual_dnas",
    "The team's Visual DNA profiles (characters, products, styles, environments) and the "
    "global ones; pass their ids as visual_dna_ids to keep generations consistent.",
    scope="visual_dna",
)
async def list_visual_dnas(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        rows = [presenters.visual_dna(d) for d in team_dnas(call.team)]
        return {"success": True, "visual_dnas": rows, "count": len(rows)}

    return await call.sync(read)


@register_tool(
    "get_visual_dna",
    "One Visual DNA with its system prompt.",
    scope="visual_dna",
    schema=object_schema({"visual_dna_id": ID}, ["visual_dna_id"]),
)
async def get_visual_dna(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        dna = team_dna(call.team, args.get("visual_dna_id"))
        return {"success": True, "visual_dna": presenters.visual_dna(dna, detail=True)}

    return await call.sync(read)


@register_tool(
    "create_visual_dna",
    "Create a Visual DNA from 1-4 reference images (URLs or base64 data URLs).",
    scope="visual_dna",
    method="POST",
    limit=RateClass.GENERATION,
    schema=object_schema(
        {
            "name": {"type": "string", "maxLength": 100},
            "dna_type": {"type": "string", "enum": DNA_TYPES},
            "images": {
                "type": "array",
                "items": IMAGE_URL,
                "minItems": 1,
                "maxItems": services.MAX_DNA_IMAGES,
            },
            "prompt_helper": {"type": "string"},
        },
        ["name", "dna_type", "images"],
    ),
)
async def create_visual_dna(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def create() -> dict[str, Any]:
        services.checked_name(args.get("name"))  # a missing name before reading any image
        uploads = _dna_uploads(call, args.get("images") or [])
        dna = services.create_visual_dna(
            call.team,
            call.user,
            name=args.get("name"),
            dna_type=args.get("dna_type"),
            uploads=uploads,
            prompt_helper=args.get("prompt_helper") or "",
        )
        return {"success": True, "visual_dna": presenters.visual_dna(dna)}

    return await call.sync(create)


def _dna_uploads(call: ToolCall, images: Any) -> list[services.Upload]:
    if not isinstance(images, list) or not 1 <= len(images) <= services.MAX_DNA_IMAGES:
        raise InvalidFields.about("images", f"takes 1-{services.MAX_DNA_IMAGES} image URLs")
    uploads = []
    for index, url in enumerate(images):
        what = f"images[{index}]"
        data, filename = services.read_image_url(url, call.team, what)
        uploads.append(services.check_upload(data, f"The image at {what}", filename))
    return uploads


@register_tool(
    "update_visual_dna",
    "Change one of the team's Visual DNAs: the fields given change; images given (1-4 URLs or "
    "base64 data URLs) replace the whole set. Global ones cannot be changed.",
    scope="visual_dna",
    method="POST",
    limit=RateClass.GENERATION,
    schema=object_schema(
        {
            "visual_dna_id": ID,
            "name": {"type": "string", "maxLength": 100},
            "dna_type": {"type": "string", "enum": DNA_TYPES},
            "images": {
                "type": "array",
                "items": IMAGE_URL,
                "minItems": 1,
                "maxItems": services.MAX_DNA_IMAGES,
            },
            "prompt_helper": {"type": "string"},
        },
        ["visual_dna_id"],
    ),
)
async def update_visual_dna(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def update() -> dict[str, Any]:
        dna = team_dna(call.team, args.get("visual_dna_id"))
        uploads = _dna_uploads(call, args["images"]) if "images" in args else []
        dna = services.update_visual_dna(
            dna,
            name=args.get("name"),
            dna_type=args.get("dna_type"),
            prompt_helper=args.get("prompt_helper"),
            uploads=uploads,
        )
        fresh = team_dna(call.team, str(dna.pk))
        return {"success": True, "visual_dna": presenters.visual_dna(fresh, detail=True)}

    return await call.sync(update)


@register_tool(
    "delete_visual_dna",
    "Delete one of the team's Visual DNAs (global ones cannot be deleted).",
    scope="visual_dna",
    method="DELETE",
    schema=object_schema({"visual_dna_id": ID}, ["visual_dna_id"]),
)
async def delete_visual_dna(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def delete() -> dict[str, Any]:
        dna = team_dna(call.team, args.get("visual_dna_id"))
        services.delete_visual_dna(dna)
        return {"success": True, "message": f"Visual DNA \u201c{dna.name}\u201d deleted"}

    return await call.sync(delete)


# --- moodboards ---------------------------------------------------------------------------------


def _board(call: ToolCall, moodboard_id: Any) -> Moodboard:
    return team_board(call.team, moodboard_id)


@register_tool(
    "list_moodboards",
    "Moodboards: the team's own (personal) and the presets; pass one as moodboard_id.",
    scope="moodboards",
    schema=from_pydantic(MoodboardFilters),
)
async def list_moodboards(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    filters = validated(MoodboardFilters, args)

    def read() -> dict[str, Any]:
        boards = boards_in_scope(call.team, filters.scope)
        rows = [presenters.moodboard(b) for b in boards]
        return {"success": True, "moodboards": rows, "count": len(rows)}

    return await call.sync(read)


@register_tool(
    "get_moodboard",
    "One moodboard with its style guide.",
    scope="moodboards",
    schema=object_schema({"moodboard_id": ID}, ["moodboard_id"]),
)
async def get_moodboard(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        board = _board(call, args.get("moodboard_id"))
        return {"success": True, "moodboard": presenters.moodboard(board, detail=True)}

    return await call.sync(read)


@register_tool(
    "create_moodboard",
    "Create a personal moodboard from 1-15 image URLs (or base64 data URLs).",
    scope="moodboards",
    method="POST",
    limit=RateClass.GENERATION,
    schema=from_pydantic(MoodboardIn),
)
async def create_moodboard(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    payload = validated(MoodboardIn, args)
    return await call.sync(moodboard_from_urls, call.key, payload)


@register_tool(
    "update_moodboard",
    "Change one of the team's own moodboards: the fields given change; images given replace "
    "the whole set. Presets cannot be changed.",
    scope="moodboards",
    method="POST",
    limit=RateClass.GENERATION,
    schema=lambda team: _with_id(from_pydantic(MoodboardUpdate)),
)
async def update_moodboard(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    args = dict(args)
    moodboard_id = args.pop("moodboard_id", None)
    payload = validated(MoodboardUpdate, args)

    def update() -> dict[str, Any]:
        return moodboard_update(call.key, _board(call, moodboard_id), payload)

    return await call.sync(update)


def _with_id(schema: dict[str, Any]) -> dict[str, Any]:
    schema["properties"] = {"moodboard_id": ID, **schema["properties"]}
    schema["required"] = ["moodboard_id", *schema.get("required", [])]
    return schema


@register_tool(
    "delete_moodboard",
    "Delete one of the team's own moodboards (presets cannot be deleted).",
    scope="moodboards",
    method="DELETE",
    schema=object_schema({"moodboard_id": ID}, ["moodboard_id"]),
)
async def delete_moodboard(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def delete() -> dict[str, Any]:
        board = _board(call, args.get("moodboard_id"))
        services.delete_moodboard(board)
        return {"success": True, "message": f"Moodboard \u201c{board.name}\u201d deleted"}

    return await call.sync(delete)


register_resource(
    "studio://products",
    "Products",
    "The team's products (up to 50) with signed image URLs and their analysed metadata.",
    tool="list_products",
)
