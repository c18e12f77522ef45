"""An ad job on the offline engine: copy, then per variant a scene with the product, then
the text layer. Outputs: the N finished ads (role output), then the same N images without
the text layer (role plain), so the copy can be re-set later without a new render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from generations import extensions
from generations.ads import compose, copywriter
from generations.ads.styles import AdStyle, get_style, shape_of
from generations.providers.base import Finished, Job, Output, ProgressCallback
from generations.providers.local.image import effective_seed, image_size, render_image

PLAIN = "plain"


def _team(job: Job) -> Any:
    from studio.accounts.models import Team

    return Team.objects.get(uuid=job.team_id)


def _cutouts(job: Job) -> list[Image.Image]:
    pictures = []
    for name in sorted(job.inputs):
        if name.startswith("ref"):
            with Image.open(job.inputs[name]) as picture:
                pictures.append(ImageOps.exif_transpose(picture).convert("RGBA"))
    return pictures


def place_products(
    scene: Image.Image, cutouts: list[Image.Image], box: compose.PixelBox
) -> Image.Image:
    """The cut-outs side by side in `box`, bottom-aligned, each with a soft shadow."""
    out = scene.convert("RGBA")
    if not cutouts:
        return out
    x0, y0, x1, y1 = box
    gap = round((x1 - x0) * 0.04)
    n = len(cutouts)
    slot_w, slot_h = ((x1 - x0) - gap * (n - 1)) / n, (y1 - y0)
    fitted = []
    for picture in cutouts:
        trimmed = picture.crop(picture.getbbox() or (0, 0, *picture.size))
        scale = min(slot_w / trimmed.width, slot_h / trimmed.height)
        size = (max(1, round(trimmed.width * scale)), max(1, round(trimmed.height * scale)))
        fitted.append(trimmed.resize(size, Image.Resampling.LANCZOS))
    total = sum(f.width for f in fitted) + gap * (n - 1)
    x = x0 + ((x1 - x0) - total) // 2
    blur = max(3, round(min(out.size) * 0.015))
    for picture in fitted:
        y = y1 - picture.height
        alpha = picture.getchannel("A")
        shadow = Image.new("L", out.size, 0)
        shadow.paste(alpha.point(lambda v: v * 0.45), (x + blur, y + blur))
        shadow = shadow.filter(ImageFilter.GaussianBlur(blur))
        out = Image.composite(Image.new("RGBA", out.size, (0, 0, 0, 255)), out, shadow)
        out.alpha_composite(picture, (x, y))
        x += picture.width + gap
    return out


def tint(scene: Image.Image, colours: list[compose.RGB], strength: float = 0.45) -> Image.Image:
    """The scene washed towards an inspiration's palette (a vertical gradient of its two
    main colours), so the ad takes the inspiration's colours."""
    if not colours:
        return scene
    top, bottom = colours[0], colours[1] if len(colours) > 1 else colours[0]
    height = scene.height
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    gradient = np.array(top, np.float32) * (1 - ramp) + np.array(bottom, np.float32) * ramp
    pixels = np.asarray(scene.convert("RGB"), dtype=np.float32)
    mixed = pixels * (1 - strength) + np.broadcast_to(gradient, pixels.shape) * strength
    return Image.fromarray(mixed.clip(0, 255).astype(np.uint8), "RGB")


def scene_prompt(brief: str, style: AdStyle, products: list[extensions.ProductFacts]) -> str:
    names = ", ".join(p.display_name for p in products)
    return f"{brief}. {names}. {style.scene}"


def accent_for(params: dict[str, Any], inspiration: list[compose.RGB]) -> compose.RGB:
    return (
        compose.brand_colour(params.get("brand_context") or "")
        or compose.most_vivid(inspiration)
        or compose.DEFAULT_ACCENT
    )


def render_ad(job: Job, progress: ProgressCallback) -> Finished:
    params = job.params
    style = get_style(params.get("style_id"))
    team = _team(job)
    products = extensions.references().products(team, params.get("product_ids") or [])
    copy = copywriter.write_copy(
        team, params["brief"], products, style, params.get("brand_context") or ""
    )
    progress(15)
    inspiration: list[compose.RGB] = []
    if job.inputs.get("inspiration_image"):
        with Image.open(job.inputs["inspiration_image"]) as picture:
            inspiration = compose.dominant_colours(picture)
    accent = accent_for(params, inspiration)
    aspect_ratio = params["aspect_ratio"]
    width, height = image_size(aspect_ratio)
    cutouts = _cutouts(job)
    prompt = scene_prompt(params["brief"], style, products)
    seed = effective_seed(prompt, params.get("seed"))
    shape = shape_of(aspect_ratio)
    count = int(params["count"])
    finished: list[Path] = []
    plains: list[Path] = []
    variants = []
    for index in range(count):
        layout = style.layout(index)
        scene = render_image(prompt, width, height, seed=seed, index=index, caption=False)
        scene = tint(scene, inspiration)
        box = compose.pixel_box(layout.product[shape], (width, height))
        plain = place_products(scene, cutouts, box).convert("RGB")
        ad, blocks = compose.compose(plain, copy, style, aspect_ratio, index, accent)
        plain_path = job.work_dir / f"ad-{index}-plain.png"
        ad_path = job.work_dir / f"ad-{index}.png"
        plain.save(plain_path, "PNG", compress_level=1)
        ad.save(ad_path, "PNG", compress_level=1)
        finished.append(ad_path)
        plains.append(plain_path)
        variants.append({"copy": copy.as_dict(), "blocks": blocks})
        progress(15 + 80 * (index + 1) // count)
    meta = {
        "ad": {
            "ad_copy": copy.as_dict(),
            "copy_source": copy.source,
            "style_id": style.id,
            "style_name": style.name,
            "aspect_ratio": aspect_ratio,
            "accent": "#{:02x}{:02x}{:02x}".format(*accent),
            "variants": variants,
        }
    }
    outputs = [Output(path=p, mime_type="image/png") for p in finished]
    outputs += [Output(path=p, mime_type="image/png", role=PLAIN) for p in plains]
    return Finished(outputs, meta)
