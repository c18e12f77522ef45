"""What the API and the Ads page show of an ad: its images, their text-free copies, the copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generations import assets
from generations.ads.services import ad_copy, variant_assets
from generations.models import Generation, GenerationState
from generations.presenters import KREV_STATUS, credits_used, krev_generation


def krev_ad(generation: Generation) -> dict[str, Any]:
    """POST /ads's answer: the finished images with their copy, or the id to poll."""
    done = generation.state == GenerationState.SUCCEEDED
    pairs = variant_assets(generation) if done else []
    meta = (generation.result_meta or {}).get("ad", {})
    body: dict[str, Any] = {
        "generation_id": str(generation.uuid),
        "status": KREV_STATUS[generation.state],
        "images": [assets.asset_urls(ad)["url"] for ad, _ in pairs],
        "image_count": len(pairs) if done else generation.params.get("count", 1),
        "credits_used": credits_used(generation),
        "ad_copy": ad_copy(generation) if done else None,
        # Studio's extensions: each image without its text layer, and who wrote the copy.
        "plain_images": [assets.asset_urls(plain)["url"] for _, plain in pairs if plain],
        "copy_source": meta.get("copy_source") if done else None,
        "style_id": generation.params.get("style_id"),
        "aspect_ratio": generation.params.get("aspect_ratio"),
    }
    if not done:
        body["poll_url"] = f"/api/v1/generations/{generation.uuid}"
    if generation.state in (GenerationState.FAILED, GenerationState.CANCELLED):
        body["error"] = krev_generation(generation)["error"]
    return body


def page_variants(generation: Generation) -> list[dict[str, Any]]:
    """Per variant: the ad's and the plain image's page links, and its current copy."""
    meta = (generation.result_meta or {}).get("ad", {})
    stored = meta.get("variants") or []
    variants = []
    for i, (ad, plain) in enumerate(variant_assets(generation)):
        copy = (stored[i] if i < len(stored) else {}).get("copy") or meta.get("ad_copy") or {}
        url = assets.signed_path(str(ad.uuid), "file", Path(ad.file.name or "").name)
        plain_url = (
            assets.signed_path(str(plain.uuid), "file", Path(plain.file.name or "").name)
            if plain
            else None
        )
        variants.append(
            {
                "index": i,
                "url": url,
                "download_url": f"{url}&download=1",
                "plain_url": plain_url,
                "plain_download_url": f"{plain_url}&download=1" if plain_url else None,
                "copy": copy,
                "width": ad.width,
                "height": ad.height,
            }
        )
    return variants
