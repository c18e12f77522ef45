"""The agent's tools: each a name, a JSON schema (the OpenAI-compatible `tools` entry) and
either a read over the team's data (free) or the request of a paid generation.

A paid tool does not start its generation here: it turns arguments into the request
(`generation_request`), and services.py starts it under the step's idempotency key, so a
re-driven step replays the same generation instead of charging a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generations import extensions
from generations.models import Generation, GenerationState, GenerationType
from studio.accounts import credits
from studio.accounts.models import Team
from studio.errors import InvalidFields
from studio.integrations import ad_library

ASPECTS = ["1:1", "16:9", "9:16", "4:3", "3:4", "4:5"]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    # Paid tools name the generation type they start; read-only tools have `read`.
    generation_type: str = ""
    read: Callable[[Team, dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None

    @property
    def paid(self) -> bool:
        return bool(self.generation_type)

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
    }


STR = {"type": "string"}
IDS = {"type": "array", "items": {"type": "string"}, "maxItems": 4}


def _limit(args: dict[str, Any], default: int = 20, top: int = 50) -> int:
    try:
        return max(1, min(top, int(args.get("limit", default))))
    except (TypeError, ValueError):
        return default


def list_products(team: Team, args: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    found = extensions.references().product_choices(team, _limit(args))
    return {"products": [{"id": p.id, "name": p.label} for p in found]}


def get_product(team: Team, args: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    product_id = str(args.get("product_id") or "")
    if not product_id:
        raise InvalidFields.about("product_id", "is required")
    facts = extensions.references().products(team, [product_id])[0]
    return {
        "product": {
            "id": facts.id,
            "name": facts.name,
            "brand_name": facts.brand_name,
            "product_type": facts.product_type,
            "colors": list(facts.colors),
            "materials": list(facts.materials),
        }
    }


def get_credits(team: Team, args: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    found = credits.balances(team)
    return {"credits": found.total}


def generation_summary(generation: Generation) -> dict[str, Any]:
    from generations import presenters

    body = presenters.krev_generation(generation)
    return {
        "generation_id": body["id"],
        "type": generation.type,
        "status": body["status"],
        "prompt": generation.prompt[:200],
        "media_urls": body["output"]["urls"],
    }


def list_generations(team: Team, args: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    rows = Generation.objects.filter(team=team, parent__isnull=True).order_by("-created_at")
    if args.get("type"):
        rows = rows.filter(type=str(args["type"]))
    return {"generations": [generation_summary(g) for g in rows[: _limit(args, 10, 25)]]}


def research_ads(team: Team, args: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The team's own ads (their copy), newest first, matching `query` when given, and Meta's
    Ad Library where the team has an Ad Library access token (else a note saying so)."""
    words = str(args.get("query") or "").lower().split()
    limit = _limit(args, 10, 25)
    ads = []
    for ad in Generation.objects.filter(
        team=team, type=GenerationType.AD, state=GenerationState.SUCCEEDED
    ).order_by("-created_at")[:100]:
        copy = (ad.result_meta or {}).get("ad", {}).get("ad_copy") or {}
        text = " ".join([ad.prompt, *map(str, copy.values())]).lower()
        if words and not any(word in text for word in words):
            continue
        ads.append({"generation_id": str(ad.uuid), "brief": ad.prompt[:200], "copy": copy})
        if len(ads) >= limit:
            break
    countries = [
        c.upper() for c in args.get("countries") or [] if isinstance(c, str) and len(c) == 2
    ] or ["US"]
    library = ad_library.search(
        team,
        query=str(args.get("query") or ""),
        countries=countries[:10],
        active_status=str(args.get("active_status") or "ALL"),
        limit=limit,
    )
    return {"team_ads": ads, "meta_ad_library": library}


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in [
        Tool(
            "list_products",
            "List the team's products (id and name).",
            _obj({"limit": {"type": "integer", "minimum": 1, "maximum": 50}}),
            read=list_products,
        ),
        Tool(
            "get_product",
            "Read one product's details (brand, type, colours, materials).",
            _obj({"product_id": STR}, ["product_id"]),
            read=get_product,
        ),
        Tool("get_credits", "Read the team's credit balance.", _obj({}), read=get_credits),
        Tool(
            "list_generations",
            "List the team's recent generations with their media URLs.",
            _obj(
                {
                    "type": {"type": "string", "enum": ["image", "video", "ad"]},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 25},
                }
            ),
            read=list_generations,
        ),
        Tool(
            "research_ads",
            "Search the team's own ads (copy and briefs) and, where configured, Meta's Ad Library "
            "(ads reaching `countries`, ISO codes, default US).",
            _obj(
                {
                    "query": STR,
                    "countries": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 2, "maxLength": 2},
                        "maxItems": 10,
                    },
                    "active_status": {"type": "string", "enum": ["ALL", "ACTIVE", "INACTIVE"]},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 25},
                }
            ),
            read=research_ads,
        ),
        Tool(
            "generate_image",
            "Generate product images (40 credits each). Costs credits.",
            _obj(
                {
                    "prompt": STR,
                    "product_ids": IDS,
                    "image_count": {"type": "integer", "enum": [1, 2, 4]},
                    "aspect_ratio": {"type": "string", "enum": ASPECTS},
                },
                ["prompt"],
            ),
            generation_type=GenerationType.IMAGE,
        ),
        Tool(
            "generate_video",
            "Generate a short video (credits per second). Costs credits.",
            _obj(
                {
                    "prompt": STR,
                    "product_id": STR,
                    "duration": {"type": "integer", "minimum": 2, "maximum": 15},
                    "aspect_ratio": {"type": "string", "enum": ASPECTS},
                },
                ["prompt"],
            ),
            generation_type=GenerationType.VIDEO,
        ),
        Tool(
            "generate_ad",
            "Generate a finished ad image with its copy for a product (40 credits per "
            "image). Costs credits.",
            _obj(
                {
                    "brief": STR,
                    "product_ids": IDS,
                    "image_count": {"type": "integer", "minimum": 1, "maximum": 4},
                    "aspect_ratio": {"type": "string", "enum": ASPECTS},
                },
                ["brief", "product_ids"],
            ),
            generation_type=GenerationType.AD,
        ),
    ]
}

READ_ONLY = frozenset(name for name, tool in TOOLS.items() if not tool.paid)


def tools_for(mode: str) -> list[Tool]:
    """`asset` has every tool, `discover` only the read-only ones."""
    return [t for t in TOOLS.values() if mode != "discover" or not t.paid]


def generation_request(tool: Tool, args: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The generation request a paid call makes; the run's products are used when the call
    names none."""
    products = [str(p) for p in (args.get("product_ids") or context.get("product_ids") or [])]
    raw: dict[str, Any] = {}
    if args.get("aspect_ratio") in ASPECTS:
        raw["aspect_ratio"] = args["aspect_ratio"]
    if tool.generation_type == GenerationType.AD:
        raw["brief"] = str(args.get("brief") or args.get("prompt") or "")[:2000]
        raw["product_ids"] = products[:4]
        raw["count"] = args.get("image_count", 1)
    elif tool.generation_type == GenerationType.IMAGE:
        raw["prompt"] = str(args.get("prompt") or "")[:2000]
        raw["count"] = args.get("image_count", 1)
        if products:
            raw["product_ids"] = products[:4]
    else:
        raw["prompt"] = str(args.get("prompt") or "")[:2000]
        raw["duration"] = args.get("duration", 5)
        product = args.get("product_id") or (products[0] if products else None)
        if product:
            raw["product_ids"] = [str(product)]
    return raw
