"""Pixels: cutting products out, naming their colours.

Uploads are checked first by the one image policy (studio/images.py: size, real type,
pixel count before decoding, a full decode).

`cut_out` is the offline background removal: OpenCV GrabCut seeded from the photo's border
colour (product shots sit on a plain backdrop), cleaned up to the main object, with a
feathered alpha edge. It returns an RGBA image whose background is transparent.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
from PIL import Image, ImageOps

# Largest side of a stored cut-out; product references never need more.
CUTOUT_MAX_SIDE = 1024
# GrabCut works on a small copy; the mask is scaled back up.
WORK_MAX_SIDE = 360
# How far (RGB distance, 75th percentile) the frame's edge may stray from its median colour
# and still count as a plain studio backdrop.
BUSY_BACKDROP = 40.0


def _cv() -> Any:
    """OpenCV, typed loosely: its stubs reject plain numpy arrays that it accepts."""
    import cv2

    return cv2


def open_rgba(data: bytes, max_side: int | None = None) -> Image.Image:
    """Decode to RGBA, upright; with `max_side`, at most that size (big JPEGs are decoded
    at a reduced scale directly, which is much faster and lighter than full size)."""
    with Image.open(io.BytesIO(data)) as image:
        if max_side:
            image.draft("RGB", (max_side, max_side))
        upright = ImageOps.exif_transpose(image)
        if max_side:
            upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return upright.convert("RGBA")


# --- background removal -----------------------------------------------------------------------


def _border_pixels(rgb: np.ndarray, width: int) -> np.ndarray:
    return np.concatenate(
        [
            rgb[:width].reshape(-1, 3),
            rgb[-width:].reshape(-1, 3),
            rgb[:, :width].reshape(-1, 3),
            rgb[:, -width:].reshape(-1, 3),
        ]
    )


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """A 0/255 mask of the main object in an RGB array (GrabCut, seeded from the border)."""
    cv2 = _cv()

    h, w = rgb.shape[:2]
    border = max(2, round(min(h, w) * 0.03))
    backdrop = np.median(_border_pixels(rgb, border), axis=0)
    distance = np.linalg.norm(rgb.astype(np.float32) - backdrop.astype(np.float32), axis=2)
    edge_distance = np.linalg.norm(
        _border_pixels(rgb, border).astype(np.float32) - backdrop, axis=1
    )
    # How varied the backdrop is, robust to a product that touches the edge (its pixels are
    # a minority of the edge's and far from the median): the typical edge pixel's distance,
    # then the spread of the edge pixels that look like backdrop.
    spread = float(np.percentile(edge_distance, 75))
    backdrop_like = edge_distance[edge_distance <= spread * 3 + 18]
    threshold = max(18.0, float(np.percentile(backdrop_like, 95)) * 1.6)

    mask = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    mask[distance > threshold] = cv2.GC_PR_FGD
    mask[distance > threshold * 2.5] = cv2.GC_FGD
    # Shadows on the backdrop: darker, but the backdrop's own hue and low saturation.
    pixels = rgb.astype(np.float32) + 1.0
    chroma = pixels / pixels.sum(axis=2, keepdims=True)
    backdrop_chroma = (backdrop + 1.0) / float((backdrop + 1.0).sum())
    shade = np.abs(chroma - backdrop_chroma).sum(axis=2) < 0.03
    saturation = (pixels.max(axis=2) - pixels.min(axis=2)) / pixels.max(axis=2)
    shadow = shade & (saturation < 0.12) & (pixels.sum(axis=2) < backdrop.sum() + 3)
    mask[shadow & (mask == cv2.GC_PR_FGD)] = cv2.GC_PR_BGD
    mask[shadow & (mask == cv2.GC_FGD)] = cv2.GC_PR_FGD
    # The frame's edge is backdrop where it looks like the backdrop; a product that touches
    # the edge (a close-up) keeps its pixels there as "probably product".
    edge = np.zeros((h, w), bool)
    edge[:border] = edge[-border:] = True
    edge[:, :border] = edge[:, -border:] = True
    mask[edge & (distance <= threshold)] = cv2.GC_BGD
    if spread > BUSY_BACKDROP:
        # Not a plain backdrop (a lifestyle shot): the colour seeds mean little. Classic
        # GrabCut instead: the outer band is background, the object is inside it.
        mask[:] = cv2.GC_PR_BGD
        mask[edge] = cv2.GC_BGD
        margin_y, margin_x = max(border, h // 12), max(border, w // 12)
        mask[margin_y : h - margin_y, margin_x : w - margin_x] = cv2.GC_PR_FGD
    elif not (mask == cv2.GC_PR_FGD).any() and not (mask == cv2.GC_FGD).any():
        # Nothing stands out from the backdrop: fall back to "the object is in the middle".
        mask[h // 6 : h - h // 6, w // 6 : w - w // 6] = cv2.GC_PR_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    cv2.setRNGSeed(7)  # the same photo gives the same cut-out
    # A degenerate colour model (e.g. a flat image) raises: the seed mask stands then.
    with contextlib.suppress(cv2.error):
        cv2.grabCut(bgr, mask, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    fg = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    # Keep the object: components that are a real part of it, not specks of noise.
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, 8)
    if count > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = [i + 1 for i, a in enumerate(areas) if a >= max(areas.max() * 0.08, 12)]
        fg = np.where(np.isin(labels, keep), 255, 0).astype(np.uint8)
    return fg


def cut_out(image: Image.Image) -> tuple[Image.Image, float]:
    """(RGBA cut-out, share of the frame that is product). Existing transparency is kept."""
    cv2 = _cv()

    rgba = image.convert("RGBA")
    rgba.thumbnail((CUTOUT_MAX_SIDE, CUTOUT_MAX_SIDE), Image.Resampling.LANCZOS)
    alpha = np.asarray(rgba.getchannel("A"))
    if (alpha < 128).mean() > 0.02:
        # Already a cut-out (a PNG with a transparent background): trust it.
        return rgba, float((alpha >= 128).mean())
    rgb = np.asarray(rgba.convert("RGB"))
    small = rgba.convert("RGB").copy()
    small.thumbnail((WORK_MAX_SIDE, WORK_MAX_SIDE), Image.Resampling.BILINEAR)
    mask_small = foreground_mask(np.asarray(small))
    mask = cv2.resize(mask_small, (rgba.width, rgba.height), interpolation=cv2.INTER_LINEAR)
    # A soft edge of a pixel or two, like a careful manual mask.
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=max(0.8, rgba.width / 900))
    share = float((mask >= 128).mean())
    out = np.dstack([rgb, mask]).astype(np.uint8)
    return Image.fromarray(out, "RGBA"), share


# --- colours ----------------------------------------------------------------------------------

NAMED_COLOURS: list[tuple[str, tuple[int, int, int]]] = [
    ("black", (20, 20, 20)),
    ("charcoal", (60, 62, 66)),
    ("gray", (128, 128, 128)),
    ("silver", (192, 192, 196)),
    ("white", (245, 245, 245)),
    ("cream", (240, 230, 200)),
    ("beige", (215, 195, 160)),
    ("tan", (190, 150, 100)),
    ("brown", (120, 72, 40)),
    ("gold", (212, 175, 55)),
    ("yellow", (240, 210, 40)),
    ("orange", (240, 130, 30)),
    ("red", (200, 30, 35)),
    ("burgundy", (115, 20, 40)),
    ("pink", (240, 150, 180)),
    ("magenta", (210, 40, 160)),
    ("purple", (120, 50, 160)),
    ("lavender", (180, 160, 220)),
    ("navy", (25, 35, 90)),
    ("blue", (40, 90, 210)),
    ("sky blue", (120, 180, 235)),
    ("teal", (20, 130, 130)),
    ("turquoise", (60, 200, 190)),
    ("green", (40, 150, 60)),
    ("olive", (110, 115, 40)),
    ("mint", (160, 225, 190)),
]
_NAMED = np.array([c for _, c in NAMED_COLOURS], np.float32)


def colour_name(rgb: tuple[int, int, int] | np.ndarray) -> str:
    distance = np.linalg.norm(_NAMED - np.asarray(rgb, np.float32), axis=1)
    return NAMED_COLOURS[int(distance.argmin())][0]


def dominant_colours(image: Image.Image, *, limit: int = 3) -> list[dict[str, object]]:
    """The main colours of the opaque pixels, largest share first: [{name, hex, share}]."""
    cv2 = _cv()

    rgba = image.convert("RGBA")
    rgba.thumbnail((160, 160), Image.Resampling.BILINEAR)
    pixels = np.asarray(rgba).reshape(-1, 4)
    pixels = pixels[pixels[:, 3] >= 128][:, :3].astype(np.float32)
    if len(pixels) < 8:
        return []
    k = min(5, len(pixels))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(11)
    _, labels, centres = cv2.kmeans(pixels, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    shares = np.bincount(labels.ravel(), minlength=k) / len(labels)
    result: dict[str, dict[str, object]] = {}
    for index in np.argsort(-shares):
        if shares[index] < 0.04:
            continue
        centre = centres[index].round().astype(int)
        name = colour_name(centre)
        if name in result:
            result[name]["share"] = round(float(result[name]["share"]) + shares[index], 3)  # type: ignore[arg-type]
            continue
        result[name] = {
            "name": name,
            "hex": "#{:02x}{:02x}{:02x}".format(*centre),
            "share": round(float(shares[index]), 3),
        }
    return list(result.values())[:limit]


def thumbnail_png(image: Image.Image, side: int = 512) -> bytes:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()
