"""Pixels: naming a product's colours, thumbnails.

Uploads are checked first by the one image policy (studio/images.py: size, real type,
pixel count before decoding, a full decode). Cutting the product out of its photo is shared
segmentation (studio/cutout.py), re-exported here for the catalog's callers.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from studio.cutout import CUTOUT_MAX_SIDE, cut_out, open_rgba, opencv

__all__ = ["CUTOUT_MAX_SIDE", "colour_name", "cut_out", "dominant_colours", "open_rgba"]

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
    cv2 = opencv()

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
