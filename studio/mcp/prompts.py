"""Prompts an MCP client offers its user: how to run a piece of work with Studio's tools."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StudioPrompt:
    name: str
    description: str
    arguments: list[tuple[str, str, bool]]  # (name, description, required)
    render: Callable[[dict[str, Any]], str]


def _campaign(args: dict[str, Any]) -> str:
    product = args.get("product_id") or args.get("product_image_url") or ""
    which = (
        f"Use product {product!r}: if it is an image URL, add it with upload_product first."
        if product
        else "Pick the product with list_products (or add one with upload_product)."
    )
    return f"""Run a product campaign with Studio for this brief: {args.get("brief", "")}

1. {which} Read its metadata (brand, type, colours, materials) from the answer.
2. check_credits, and list_models with type "image" for prices; tell me the estimated cost
   before generating anything bigger than a few images.
3. For consistency, reuse a Visual DNA (list_visual_dnas) or a moodboard (list_moodboards), or
   create one from the product's images.
4. generate_image with product_ids=[the product id] in the aspect ratios the channels need
   (1:1 feed, 4:5 portrait, 9:16 stories), 2-4 variations each.
5. Animate the strongest image with generate_video_from_image (5 s), and write a short caption
   and call to action for each asset.
6. Answer with a table: asset, aspect ratio, URL, caption, credits used.
If a tool answers `_timed_out`, continue with get_generation_status (wait=true)."""


def _image_series(args: dict[str, Any]) -> str:
    count, subject = args.get("count") or 4, args.get("subject", "")
    return f"""Make a consistent series of {count} images with Studio: {subject}

Create a Visual DNA from the first good result (create_visual_dna with its URL), then generate
the rest with visual_dna_ids=[that id] so characters and style stay the same. Show every URL."""


PROMPTS: dict[str, StudioPrompt] = {
    p.name: p
    for p in (
        StudioPrompt(
            "product_campaign",
            "Plan and produce a product campaign: images per channel, a short video, captions.",
            [
                ("brief", "What the campaign is for (audience, tone, offer)", True),
                ("product_id", "A product id from list_products, or an image URL to upload", False),
            ],
            _campaign,
        ),
        StudioPrompt(
            "consistent_image_series",
            "A series of images that keep one character or style, through a Visual DNA.",
            [
                ("subject", "What the series shows", True),
                ("count", "How many images (default 4)", False),
            ],
            _image_series,
        ),
    )
}
