"""The offline image editor: recolour, relight, restyle and background replacement.

The instruction is read by `edit_plan.plan_edit`; the subject is separated from its
background by the shared segmentation (studio/cutout.py). Edits run in a fixed order:
background, recolour, light, style. A background edit keeps the subject's own pixels: the
new background is composited behind the subject's mask. The output keeps the source's
aspect ratio unless one is asked (then a new background extends the frame around the
subject, and any other edit is cropped to fill it).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from studio.cutout import opencv, plain_backdrop, subject_alpha

from .edit_plan import Background, Colour, EditPlan, plan_edit
from .image import PNG_COMPRESS_LEVEL, frame_size, paint_scene, parse_aspect_ratio
from .media import (
    MediaError,
    Progress,
    ProgressReporter,
    RenderedFile,
    atomic_path,
    output_name,
    prepare_out_dir,
    rng_for,
    stable_int,
)
from .prompt import palette_for

MAX_LONG_SIDE = 2048  # larger sources are edited at this size
GUESSED_SUBJECT = (
    "no plain backdrop: the subject was taken to be what stands out in the middle of the frame"
)
KNOWN_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "4:5", "5:4", "3:2", "2:3", "21:9"]


@dataclass(frozen=True)
class Edited:
    file: RenderedFile
    applied: list[str]


def aspect_name(width: int, height: int) -> str:
    """The ratio's name: "4:3" for 640 x 480; the nearest common one within 2 %, else W:H."""
    for name in KNOWN_RATIOS:
        w, h = (int(x) for x in name.split(":"))
        if abs((width / height) / (w / h) - 1) < 0.02:
            return name
    g = math.gcd(width, height)
    return f"{width // g}:{height // g}"


def load_source(path: Path) -> Image.Image:
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image)
        rgba = upright.convert("RGBA")
    if max(rgba.size) > MAX_LONG_SIDE:
        rgba.thumbnail((MAX_LONG_SIDE, MAX_LONG_SIDE), Image.Resampling.LANCZOS)
    return rgba


def _hex(rgb: Sequence[float]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in rgb))


# --- background ---------------------------------------------------------------------------------


def _backdrop(colour: Colour, width: int, height: int) -> np.ndarray:
    """A plain studio backdrop of `colour`: a whisper of light at the top, nothing more."""
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    base = np.asarray(colour.rgb, np.float32)[None, None, :]
    shade = 1.04 - 0.08 * ys  # 4 % lighter at the top, 4 % darker at the bottom
    return np.clip(np.broadcast_to(base * shade, (height, width, 3)), 0, 1).astype(np.float32)


def _scene(scene: str, width: int, height: int, seed: int, index: int) -> np.ndarray:
    scale = min(1.0, 640 / max(width, height))  # painted small, scaled up: soft, and fast
    w, h = max(8, round(width * scale)), max(8, round(height * scale))
    painted = paint_scene(scene, w, h, seed=seed, index=index)
    if (w, h) == (width, height):
        return painted
    picture = Image.fromarray((painted * 255).astype(np.uint8), "RGB")
    picture = picture.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(picture, np.float32) / 255


def _place_subject(
    rgb: np.ndarray, alpha: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """The subject on a frame of a new size: scaled to fit, centred, standing on the same
    relative floor line. Returns (rgb, alpha) of the new frame (rgb outside is undefined)."""
    src_h, src_w = alpha.shape
    scale = min(width / src_w, height / src_h)
    w, h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    x, y = (width - w) // 2, (height - h) // 2
    frame = np.zeros((height, width, 3), np.float32)
    mask = np.zeros((height, width), np.float32)
    cv2 = opencv()
    frame[y : y + h, x : x + w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    mask[y : y + h, x : x + w] = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)
    return frame, mask


def tighten_edge(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """On a plain backdrop, the mask's soft edge (found small, scaled up) spills onto backdrop
    pixels: there, how far a pixel's colour is from the backdrop's says how much subject it
    holds. Only the edge band changes; a busy background keeps the mask as it is."""
    behind = alpha < 0.05
    edge = (alpha > 0.0) & (alpha < 0.999)
    if behind.sum() < 64 or not edge.any():
        return alpha
    backdrop = np.median(rgb[behind], axis=0)
    spread = float(np.percentile(np.linalg.norm(rgb[behind] - backdrop, axis=1), 90))
    if spread > 0.15:
        return alpha
    distance = np.linalg.norm(rgb[edge] - backdrop, axis=1)
    out = alpha.copy()
    out[edge] = np.minimum(alpha[edge], np.clip((distance - spread) / 0.2, 0, 1))
    return out


def decontaminate(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The subject's own colour on its soft edge, without the old backdrop mixed in (else a
    halo of the old background rings the subject): F = (C - (1 - a) B) / a, B the backdrop's
    typical colour. Solid subject pixels (a = 1) are left exactly as they were."""
    behind = alpha < 0.05
    edge = (alpha > 0.05) & (alpha < 0.999)
    if not behind.any() or not edge.any():
        return rgb
    backdrop = np.median(rgb[behind], axis=0).astype(np.float32)
    a = np.clip(alpha[edge], 0.2, 1.0)[:, None]
    out = rgb.copy()
    out[edge] = np.clip((rgb[edge] - (1 - a) * backdrop) / a, 0, 1)
    return out


def replace_background(
    rgb: np.ndarray, alpha: np.ndarray, background: Background, *, seed: int, index: int
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(new rgb, output alpha or None, what was done). The subject's pixels are kept where
    the mask is solid; the mask's soft edge blends into the new background."""
    height, width = alpha.shape
    rgb = decontaminate(rgb, alpha)
    a = alpha[..., None]
    if background.kind == "remove":
        return rgb, alpha, "removed the background (transparent)"
    if background.kind == "blur":
        cv2 = opencv()
        sigma = max(4.0, max(width, height) / 90)
        behind = cv2.GaussianBlur(rgb, (0, 0), sigmaX=sigma)
        return rgb * a + behind * (1 - a), None, "blurred the background"
    if background.kind == "colour" and background.colour is not None:
        behind = _backdrop(background.colour, width, height)
        said = f"background → {background.colour.name} ({_hex(background.colour.rgb)})"
    else:
        behind = _scene(background.scene, width, height, seed, index)
        said = f"background → painted scene: {background.scene}"
    return rgb * a + behind * (1 - a), None, said


# --- recolour -----------------------------------------------------------------------------------


def recolour(
    rgb: np.ndarray, alpha: np.ndarray, colour: Colour, target: str
) -> tuple[np.ndarray, str]:
    """The subject's main colour (or the whole subject, if it has none) becomes `colour`,
    keeping its shading: hue and saturation move, lightness follows the new colour."""
    cv2 = opencv()
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)  # float: H 0-360, S and V 0-1
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    subject = alpha > 0.5
    chroma = subject & (sat > 0.18) & (val > 0.12)
    t_h = colorsys.rgb_to_hls(*colour.rgb)[0]
    t_v = max(colour.rgb)
    t_sat = 0.0 if t_v == 0 else (t_v - min(colour.rgb)) / t_v
    if chroma.sum() > max(32, 0.1 * subject.sum()):
        counts, edges = np.histogram(hue[chroma], bins=36, range=(0, 360))
        main = float(edges[counts.argmax()] + 5)
        distance = np.abs((hue - main + 180) % 360 - 180)
        weight = np.clip(1 - (distance - 25) / 20, 0, 1) * chroma * alpha
        region_v = float(np.median(val[weight > 0.5])) if (weight > 0.5).any() else 0.5
        was = _hex(colorsys.hsv_to_rgb(main / 360, 0.8, 0.8))
        what = f"recoloured the subject's main colour ({was}) to {colour.name}"
    else:
        weight = subject * alpha
        region_v = float(np.median(val[subject])) if subject.any() else 0.5
        what = f"tinted the subject {colour.name}"
    new_v = np.clip(val * (t_v / max(region_v, 0.05)) ** 0.85, 0, 1)
    new = np.dstack([np.full_like(hue, t_h * 360), np.full_like(sat, t_sat), new_v])
    out = cv2.cvtColor(new.astype(np.float32), cv2.COLOR_HSV2RGB)
    w = weight[..., None].astype(np.float32)
    if target:
        what += f" (read as the {target})"
    return rgb * (1 - w) + out * w, what


# --- light --------------------------------------------------------------------------------------


def relight(rgb: np.ndarray, light: str) -> np.ndarray:
    height, width = rgb.shape[:2]
    if light == "warmer":
        return np.clip(rgb * np.array([1.08, 1.0, 0.86], np.float32) + 0.01, 0, 1)
    if light == "cooler":
        return np.clip(rgb * np.array([0.88, 0.98, 1.1], np.float32), 0, 1)
    if light == "sunset":
        graded = rgb * np.array([1.12, 0.95, 0.74], np.float32)
        ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
        xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
        glow = np.exp(-(((xs - 0.8) * 1.6) ** 2 + ((ys - 0.15) * 1.8) ** 2))[..., None]
        sun = np.array([1.0, 0.55, 0.2], np.float32)
        graded = 1 - (1 - graded) * (1 - sun * glow * 0.35)  # screen in a low sun's glow
        return np.clip(graded * 0.96, 0, 1)
    if light == "night":
        dim = np.power(rgb, 1.5) * 0.6
        return np.clip(dim * np.array([0.8, 0.9, 1.2], np.float32), 0, 1)
    if light == "darker":
        return np.clip(np.power(rgb, 1.35) * 0.8, 0, 1)
    if light == "brighter":
        return np.clip(np.power(rgb, 0.72) * 1.04, 0, 1)
    if light == "more contrast":
        return np.clip((rgb - 0.5) * 1.3 + 0.5, 0, 1)
    if light == "softer":
        return np.clip((rgb - 0.5) * 0.75 + 0.53, 0, 1)
    return rgb


# --- style --------------------------------------------------------------------------------------


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


def restyle(rgb: np.ndarray, style: str, seed: int) -> np.ndarray:
    cv2 = opencv()
    height, width = rgb.shape[:2]
    if style == "black and white":
        grey = np.clip((_luma(rgb) - 0.5) * 1.1 + 0.5, 0, 1)
        return np.repeat(grey[..., None], 3, axis=2)
    if style == "vintage":
        sepia = np.array(
            [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32
        )
        toned = np.clip(rgb @ sepia.T, 0, 1) * 0.75 + rgb * 0.25
        faded = toned * 0.86 + 0.07  # lifted blacks, softened whites
        ys = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
        xs = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
        vignette = 1 - 0.28 * np.clip(xs**2 + ys**2, 0, 1.6) / 1.6
        grain = rng_for("grain", seed).normal(0, 0.025, (height, width)).astype(np.float32)
        return np.clip(faded * vignette[..., None] + grain[..., None], 0, 1)
    as8 = (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    if style == "watercolor":
        painted = cv2.stylization(as8, sigma_s=60, sigma_r=0.45)
        paper = rng_for("paper", seed).normal(0, 6, (height, width)).astype(np.float32)
        paper = cv2.GaussianBlur(paper, (0, 0), sigmaX=2)[..., None]
        washed = painted.astype(np.float32) * 0.9 + 255 * 0.1 + paper
        return np.clip(washed / 255, 0, 1)
    if style == "sketch":
        grey, _ = cv2.pencilSketch(as8, sigma_s=50, sigma_r=0.08, shade_factor=0.04)
        return np.repeat((grey.astype(np.float32) / 255)[..., None], 3, axis=2)
    if style == "cartoon":
        smooth = cv2.bilateralFilter(as8, 9, 60, 60)
        flat = (smooth // 48) * 48 + 24
        edges = cv2.adaptiveThreshold(
            cv2.medianBlur(cv2.cvtColor(as8, cv2.COLOR_RGB2GRAY), 5),
            255,
            cv2.ADAPTIVE_THRESH_MEAN_C,
            cv2.THRESH_BINARY,
            9,
            4,
        )
        return (flat.astype(np.float32) / 255) * (edges[..., None].astype(np.float32) / 255)
    if style == "pixel art":
        block = max(4, max(width, height) // 96)
        small = cv2.resize(as8, (max(1, width // block), max(1, height // block)), cv2.INTER_AREA)
        small = (small // 32) * 32 + 16
        big = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
        return big.astype(np.float32) / 255
    if style == "negative":
        return 1 - rgb
    return rgb


def grade_towards(rgb: np.ndarray, instruction: str) -> tuple[np.ndarray, str]:
    """The fallback: a gentle colour grade in the instruction's palette (as the offline image
    generator would paint it), so an instruction the rules cannot read still shows."""
    palette = palette_for(instruction)
    tint = np.asarray(palette.glow, np.float32)
    luma = _luma(rgb)[..., None]
    graded = rgb * 0.82 + (luma * tint) * 0.18 * 1.6
    return np.clip(graded, 0, 1), f"a colour grade towards {_hex(palette.glow)}"


# --- the whole edit -----------------------------------------------------------------------------


def _crop_to(rgb: np.ndarray, alpha: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre-crop to `ratio` (width / height), filling the frame."""
    height, width = alpha.shape
    if width / height > ratio:
        w = max(1, round(height * ratio))
        x = (width - w) // 2
        return rgb[:, x : x + w], alpha[:, x : x + w]
    h = max(1, round(width / ratio))
    y = (height - h) // 2
    return rgb[y : y + h], alpha[y : y + h]


def edit_image(
    source: Image.Image,
    instruction: str,
    *,
    aspect_ratio: str | None = None,
    seed: int = 0,
    index: int = 0,
    plan: EditPlan | None = None,
) -> tuple[Image.Image, list[str]]:
    """One edited picture (RGB, or RGBA when the background was removed) and what was done."""
    plan = plan or plan_edit(instruction)
    rgba = source.convert("RGBA")
    rgb = np.asarray(rgba.convert("RGB"), np.float32) / 255
    own_alpha = np.asarray(rgba.getchannel("A"), np.float32) / 255
    applied: list[str] = []
    needs_mask = plan.background is not None or plan.recolour is not None
    alpha: np.ndarray
    if not needs_mask:
        alpha = np.ones(own_alpha.shape, np.float32)
    elif (own_alpha < 0.5).mean() > 0.02:
        alpha = own_alpha  # already a cut-out: trust its transparency
    else:
        alpha = subject_alpha(rgba).astype(np.float32) / 255
        alpha = tighten_edge(rgb, alpha)
        if not plain_backdrop(rgba):
            applied.append(GUESSED_SUBJECT)
    # A nearly solid mask is solid: the subject's own pixels come through exactly.
    alpha = np.where(alpha > 0.98, 1.0, np.where(alpha < 0.02, 0.0, alpha)).astype(np.float32)
    out_alpha: np.ndarray | None = own_alpha if (own_alpha < 1).any() else None
    if aspect_ratio:
        width, height = frame_size(aspect_ratio, max(rgba.size), multiple=2)
        if plan.background is not None and plan.background.kind != "blur":
            rgb, alpha = _place_subject(rgb, alpha, width, height)
        else:
            rgb, alpha = _crop_to(rgb, alpha, parse_aspect_ratio(aspect_ratio))
            rgb = opencv().resize(np.ascontiguousarray(rgb), (width, height))
            alpha = opencv().resize(np.ascontiguousarray(alpha), (width, height))
        out_alpha = None if out_alpha is None else alpha
    if plan.background is not None:
        rgb, cut, said = replace_background(rgb, alpha, plan.background, seed=seed, index=index)
        out_alpha = cut
        applied.append(said)
    if plan.recolour is not None:
        rgb, said = recolour(rgb, alpha, plan.recolour, plan.recolour_target)
        applied.append(said)
    for light in plan.light:
        rgb = relight(rgb, light)
        applied.append(f"light: {light}")
    for style in plan.style:
        rgb = restyle(rgb, style, seed)
        applied.append(f"style: {style}")
    if not applied:
        rgb, said = grade_towards(rgb, instruction)
        applied.append(said)
    pixels = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    if out_alpha is not None:
        a8 = (np.clip(out_alpha, 0, 1) * 255 + 0.5).astype(np.uint8)
        return Image.fromarray(np.dstack([pixels, a8]), "RGBA"), applied
    return Image.fromarray(pixels, "RGB"), applied


def render_edits(
    instruction: str,
    sources: Sequence[Path],
    *,
    aspect_ratio: str | None = None,
    count: int = 1,
    seed: int | None = None,
    out_dir: Path,
    progress: Progress | None = None,
) -> tuple[list[RenderedFile], dict[str, Any]]:
    """`count` edited PNGs: output i edits source i (cycling through the sources), and the
    metadata of what was read and done ({"edits", "not_understood", "aspect_ratio"})."""
    if not sources:
        raise MediaError("an edit needs at least one source image")
    plan = plan_edit(instruction)
    used_seed = int(seed) if seed is not None else stable_int("edit", instruction) % 2**31
    out_dir = prepare_out_dir(out_dir)
    reporter = ProgressReporter(progress)
    reporter.report(0)
    results: list[RenderedFile] = []
    applied: list[str] = []
    for index in range(count):
        path = Path(sources[index % len(sources)])
        picture, done = edit_image(
            load_source(path),
            instruction,
            aspect_ratio=aspect_ratio,
            seed=used_seed,
            index=index,
            plan=plan,
        )
        applied += [d for d in done if d not in applied]
        key = (path.name, path.stat().st_size, aspect_ratio, used_seed, index)
        target = out_dir / output_name("edit", "png", instruction, key)
        with atomic_path(target) as tmp:
            picture.save(tmp, "PNG", compress_level=PNG_COMPRESS_LEVEL)
        results.append(
            RenderedFile(
                path=target,
                mime_type="image/png",
                width=picture.width,
                height=picture.height,
                size_bytes=target.stat().st_size,
            )
        )
        reporter.fraction((index + 1) / count)
    reporter.finish()
    first = results[0]
    notes = [GUESSED_SUBJECT] if GUESSED_SUBJECT in applied else []
    applied = [a for a in applied if a != GUESSED_SUBJECT]
    if count < len(sources):
        notes.append(
            f"edited {count} of the {len(sources)} source images (one per output image); "
            f"ask for {len(sources)} images to edit each"
        )
    meta: dict[str, Any] = {
        "edits": applied,
        "aspect_ratio": aspect_ratio or aspect_name(first.width or 1, first.height or 1),
    }
    if plan.unread:
        meta["not_understood"] = plan.unread
    if plan.empty:
        notes.append(
            "no recolour, light, style or background instruction the offline editor knows: "
            "it applied a colour grade from the instruction's palette instead"
        )
    if notes:
        meta["notes"] = notes
    return results, meta
