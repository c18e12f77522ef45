"""Synthetic product photos with known masks, on four kinds of background.

Used by the cut-out tests and by bench/cutout_quality.py (IoU of each segmentation method
against the mask). Products are drawn shaded (a cylinder's light and dark sides, a rim
highlight), at 2x and scaled down, so their edges are anti-aliased like a photo's.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

BACKGROUNDS = ("plain", "gradient", "textured", "busy")
PRODUCTS = ("bottle", "mug", "sneaker", "bag")
SIZE = (640, 480)
COLOURS = [
    [214, 22, 160], [30, 90, 200], [220, 120, 20], [40, 150, 70], [25, 25, 30], [235, 235, 230],
]  # fmt: skip


def _shaded(mask: Image.Image, colour: tuple[int, int, int], box: tuple[int, ...]) -> Image.Image:
    """The product's colour lit from the left: bright, then the body, then a dark side."""
    width, height = mask.size
    x0, _, x1, _ = box
    xs = np.clip((np.arange(width) - x0) / max(1, x1 - x0), 0, 1)
    light = 1.25 - 0.55 * np.abs(xs - 0.3) ** 0.8  # a highlight a third of the way across
    rgb = np.clip(np.array(colour, np.float32)[None, None, :] * light[None, :, None], 0, 255)
    return Image.fromarray(np.broadcast_to(rgb, (height, width, 3)).astype(np.uint8), "RGB")


def _product_mask(kind: str, size: tuple[int, int], rng: np.random.Generator) -> tuple:
    """(mask at `size`, bounding box): one product, somewhere near the middle."""
    width, height = size
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    cx = width * rng.uniform(0.42, 0.58)
    scale = min(width, height) * rng.uniform(0.85, 1.0)
    if kind == "bottle":
        w, h = scale * 0.26, scale * 0.62
        top = height * 0.5 - h / 2
        draw.rounded_rectangle(
            (cx - w / 2, top + h * 0.25, cx + w / 2, top + h), radius=w * 0.2, fill=255
        )
        draw.polygon(
            [(cx - w / 2, top + h * 0.3), (cx - w * 0.17, top + h * 0.1),
             (cx + w * 0.17, top + h * 0.1), (cx + w / 2, top + h * 0.3)],
            fill=255,
        )  # fmt: skip
        draw.rectangle((cx - w * 0.17, top, cx + w * 0.17, top + h * 0.12), fill=255)
        box = (cx - w / 2, top, cx + w / 2, top + h)
    elif kind == "mug":
        w, h = scale * 0.38, scale * 0.42
        top = height * 0.5 - h / 2
        draw.rounded_rectangle((cx - w / 2, top, cx + w / 2, top + h), radius=w * 0.08, fill=255)
        hw = w * 0.32
        draw.ellipse(
            (cx + w / 2 - hw * 0.5, top + h * 0.2, cx + w / 2 + hw, top + h * 0.75), fill=255
        )
        draw.ellipse(
            (cx + w / 2 - hw * 0.1, top + h * 0.32, cx + w / 2 + hw * 0.62, top + h * 0.63), fill=0
        )
        box = (cx - w / 2, top, cx + w / 2 + hw, top + h)
    elif kind == "sneaker":
        w, h = scale * 0.75, scale * 0.34
        top = height * 0.55 - h / 2
        left = cx - w / 2
        draw.polygon(
            [(left, top + h * 0.55), (left + w * 0.08, top + h * 0.2), (left + w * 0.35, top),
             (left + w * 0.5, top + h * 0.1), (left + w * 0.62, top + h * 0.35),
             (left + w * 0.95, top + h * 0.55), (left + w, top + h * 0.85),
             (left + w * 0.97, top + h), (left + w * 0.02, top + h)],
            fill=255,
        )  # fmt: skip
        box = (left, top, left + w, top + h)
    else:  # bag: a trapezoid body and a strap (a ring: the hole is background)
        w, h = scale * 0.5, scale * 0.4
        top = height * 0.58 - h / 2
        corners = [(cx - w * 0.42, top), (cx + w * 0.42, top), (cx + w / 2, top + h)]
        draw.polygon([*corners, (cx - w / 2, top + h)], fill=255)
        draw.arc(
            (cx - w * 0.3, top - h * 0.55, cx + w * 0.3, top + h * 0.4),
            180,
            360,
            fill=255,
            width=max(4, int(w * 0.06)),
        )
        box = (cx - w / 2, top - h * 0.55, cx + w / 2, top + h)
    return mask, box


def _background(kind: str, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    width, height = size
    if kind == "plain":
        tone = rng.integers(215, 245)
        return Image.new("RGB", size, (int(tone), int(tone), int(tone) - 4))
    if kind == "gradient":
        a, b = rng.integers(120, 250, 3), rng.integers(30, 200, 3)
        t = np.linspace(0, 1, height)[:, None, None]
        rows = a[None, None, :] * (1 - t) + b[None, None, :] * t
        return Image.fromarray(np.broadcast_to(rows, (height, width, 3)).astype(np.uint8), "RGB")
    if kind == "textured":  # wood grain: wavy stripes with fine noise
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        grain = np.sin((y + 12 * np.sin(x / 37.0)) / 5.5) * 0.5 + 0.5
        noise = rng.normal(0, 0.08, (height, width))
        base = np.array(rng.choice([[150, 105, 65], [190, 160, 120], [110, 80, 55]]), np.float32)
        rgb = base[None, None, :] * (0.75 + 0.35 * (grain + noise))[:, :, None]
        return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    # busy: a cluttered room: many objects of every colour, edges, some out of focus
    image = Image.new("RGB", size, tuple(int(c) for c in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(70):
        x0, y0 = rng.integers(-60, width), rng.integers(-60, height)
        w, h = rng.integers(20, 220), rng.integers(20, 220)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        elif shape == 1:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            draw.line((x0, y0, x0 + w, y0 + h), fill=colour, width=int(rng.integers(2, 12)))
    return image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.0, 2.5))))


def product_photo(background: str, product: str, seed: int = 0) -> tuple[Image.Image, np.ndarray]:
    """(RGB photo, boolean mask of the product) for one background kind and product kind."""
    rng = np.random.default_rng(seed * 101 + BACKGROUNDS.index(background) * 7 + len(product))
    big = (SIZE[0] * 2, SIZE[1] * 2)
    mask, box = _product_mask(product, big, rng)
    colour = tuple(int(c) for c in rng.choice(COLOURS))
    scene = _background(background, big, rng)
    if background in ("plain", "gradient"):  # a soft contact shadow under the product
        shadow = Image.new("L", big, 0)
        x0, _, x1, y1 = box
        ImageDraw.Draw(shadow).ellipse((x0, y1 - 14, x1, y1 + 18), fill=90)
        scene.paste((60, 60, 60), mask=shadow.filter(ImageFilter.GaussianBlur(14)))
    scene.paste(_shaded(mask, colour, box), mask=mask)
    photo = scene.resize(SIZE, Image.Resampling.LANCZOS)
    truth = np.asarray(mask.resize(SIZE, Image.Resampling.BILINEAR)) >= 128
    return photo, truth


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    found = alpha >= 128
    union = np.logical_or(found, truth).sum()
    return float(np.logical_and(found, truth).sum() / union) if union else 1.0
