"""Ad use cases: start an ad, re-set an ad image's copy (no new render, no new charge)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

from django.db import transaction
from PIL import Image

from generations import assets, services
from generations.ads.compose import compose
from generations.ads.copywriter import MAX_LENGTHS, AdCopy
from generations.ads.styles import get_style
from generations.models import Asset, AssetRole, Generation, GenerationState, GenerationType
from studio.accounts.models import Team, User
from studio.errors import Conflict, InvalidFields, MissingFields, NotFound


def start_ad(
    team: Team,
    user: User | None,
    raw: dict[str, Any],
    *,
    source: str,
    api_key_id: UUID | None = None,
    idempotency_key: str | None = None,
) -> services.Started:
    """Validate, price (per ad image), charge and queue an ad: like any generation, so
    unknown or other-team products are 404 before anything is charged."""
    if not isinstance(raw, dict):
        raise InvalidFields("The request body must be a JSON object")
    raw = dict(raw)
    if "image_count" in raw:
        raw["count"] = raw.pop("image_count")
    return services.start_generation(
        team,
        user,
        GenerationType.AD,
        raw,
        source=source,
        api_key_id=api_key_id,
        idempotency_key=idempotency_key,
        dialect="krev",  # its webhook carries what GET /generations/{id} returns
    )


def ad_copy(generation: Generation) -> dict[str, str] | None:
    return (generation.result_meta or {}).get("ad", {}).get("ad_copy")


def variant_assets(generation: Generation) -> list[tuple[Asset, Asset | None]]:
    """(the finished ad, the same image without text) per variant, in order."""
    rows = list(generation.assets.order_by("index"))
    count = int(generation.params.get("count", 1))
    outputs = [a for a in rows if a.role == AssetRole.OUTPUT]
    plains = {a.index - count: a for a in rows if a.role == AssetRole.PLAIN}
    return [(asset, plains.get(i)) for i, asset in enumerate(outputs)]


def checked_copy(fields: dict[str, Any], current: dict[str, str]) -> AdCopy:
    """The edited copy: the headline and CTA are required; every field within its limit."""
    values = {}
    for key, limit in MAX_LENGTHS.items():
        value = fields.get(key, current.get(key, ""))
        if not isinstance(value, str):
            raise InvalidFields.about(key, "must be a string")
        value = " ".join(value.split())
        if len(value) > limit:
            raise InvalidFields.about(key, f"is at most {limit} characters")
        if key in ("headline", "cta") and not value:
            raise MissingFields.of(key)
        values[key] = value
    return AdCopy(style_name=current.get("style_name", ""), source="edited", **values)


def edit_ad_copy(generation: Generation, variant: int, fields: dict[str, Any]) -> Asset:
    """Re-set variant `variant`'s text layer with new copy, from its stored plain image: the
    finished ad's file is replaced, nothing is rendered or charged."""
    if generation.type != GenerationType.AD:
        raise NotFound("No such ad")
    if generation.state != GenerationState.SUCCEEDED:
        raise Conflict("Only a finished ad's copy can be edited")
    pairs = variant_assets(generation)
    if not 0 <= variant < len(pairs) or pairs[variant][1] is None:
        raise NotFound("No such ad image")
    output, plain = pairs[variant]
    assert plain is not None
    meta = generation.result_meta.get("ad", {})
    variants = meta.get("variants") or []
    current = (variants[variant] if variant < len(variants) else {}).get("copy") or meta.get(
        "ad_copy", {}
    )
    copy = checked_copy(fields, current)
    style = get_style(meta.get("style_id"))
    accent = tuple(int(meta.get("accent", "#2563eb")[i : i + 2], 16) for i in (1, 3, 5))
    work = Path(tempfile.mkdtemp(prefix="ad-edit-"))
    try:
        with plain.file.open("rb") as handle, Image.open(handle) as picture:
            ad, blocks = compose(
                picture.convert("RGB"),
                copy,
                style,
                meta.get("aspect_ratio") or generation.params.get("aspect_ratio", "4:5"),
                variant,
                accent,  # type: ignore[arg-type]
            )
        target = work / f"ad-{variant}.png"
        ad.save(target, "PNG", compress_level=1)
        replaced = assets.replace_file(output, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with transaction.atomic():
        row = Generation.objects.select_for_update().get(pk=generation.pk)
        result = dict(row.result_meta or {})
        ad_meta = dict(result.get("ad") or {})
        stored = list(ad_meta.get("variants") or [])
        while len(stored) <= variant:
            stored.append({})
        stored[variant] = {**stored[variant], "copy": copy.as_dict(), "blocks": blocks}
        ad_meta["variants"] = stored
        result["ad"] = ad_meta
        Generation.objects.filter(pk=row.pk).update(result_meta=result)
    generation.result_meta = result
    return replaced
