"""Separating a photo's subject from its background, offline (shared by the catalog's
product cut-outs and the offline image editor).

`foreground_mask` is OpenCV GrabCut seeded from the photo's border colour (product shots sit
on a plain backdrop), cleaned up to the main object. `subject_alpha` scales it to any photo
with a feathered edge; `cut_out` returns an RGBA image whose background is transparent.
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


def opencv() -> Any:
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


def _edge_spread(rgb: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(backdrop colour, each edge pixel's distance from it, the backdrop's spread): how
    varied the backdrop is, robust to a product that touches the edge (its pixels are a
    minority of the edge's and far from the median): the typical edge pixel's distance."""
    edge = _border_pixels(rgb, border)
    backdrop = np.median(edge, axis=0)
    edge_distance = np.linalg.norm(edge.astype(np.float32) - backdrop, axis=1)
    return backdrop, edge_distance, float(np.percentile(edge_distance, 75))


def plain_backdrop(image: Image.Image) -> bool:
    """Whether the photo's subject stands on a plain backdrop (a product shot), where the
    cut-out is reliable; on a busy one (a landscape, a lifestyle shot) it is a guess."""
    small = image.convert("RGB")
    small.thumbnail((WORK_MAX_SIDE, WORK_MAX_SIDE), Image.Resampling.BILINEAR)
    rgb = np.asarray(small)
    border = max(2, round(min(rgb.shape[:2]) * 0.03))
    return _edge_spread(rgb, border)[2] <= BUSY_BACKDROP


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """A 0/255 mask of the main object in an RGB array (GrabCut, seeded from the border)."""
    cv2 = opencv()

    h, w = rgb.shape[:2]
    border = max(2, round(min(h, w) * 0.03))
    backdrop, edge_distance, spread = _edge_spread(rgb, border)
    distance = np.linalg.norm(rgb.astype(np.float32) - backdrop.astype(np.float32), axis=2)
    # Then the spread of the edge pixels that look like backdrop.
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


def subject_alpha(image: Image.Image) -> np.ndarray:
    """The subject's alpha (uint8, 0-255, the image's own size) with a feathered edge: the
    mask is found on a small copy, scaled back up and softened by a pixel or two."""
    cv2 = opencv()

    small = image.convert("RGB")
    small.thumbnail((WORK_MAX_SIDE, WORK_MAX_SIDE), Image.Resampling.BILINEAR)
    mask_small = foreground_mask(np.asarray(small))
    mask = cv2.resize(mask_small, (image.width, image.height), interpolation=cv2.INTER_LINEAR)
    # A soft edge of a pixel or two, like a careful manual mask.
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=max(0.8, image.width / 900))


def cut_out(image: Image.Image) -> tuple[Image.Image, float]:
    """(RGBA cut-out, share of the frame that is product). Existing transparency is kept."""
    rgba = image.convert("RGBA")
    rgba.thumbnail((CUTOUT_MAX_SIDE, CUTOUT_MAX_SIDE), Image.Resampling.LANCZOS)
    alpha = np.asarray(rgba.getchannel("A"))
    if (alpha < 128).mean() > 0.02:
        # Already a cut-out (a PNG with a transparent background): trust it.
        return rgba, float((alpha >= 128).mean())
    rgb = np.asarray(rgba.convert("RGB"))
    mask = subject_alpha(rgba)
    share = float((mask >= 128).mean())
    out = np.dstack([rgb, mask]).astype(np.uint8)
    return Image.fromarray(out, "RGBA"), share
