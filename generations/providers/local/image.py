"""Procedural images: a palette, a composition and a caption, all read from the prompt."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

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
from .prompt import RGB, Palette, Scene, palette_for, scene_for

BASE_LONG_SIDE = 1024
MAX_COUNT = 8
# zlib's fastest level: at the default (6) compression was 63 % of a 1024² render for files
# only a quarter smaller; painted gradients with dither compress poorly at any level.
PNG_COMPRESS_LEVEL = 1
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)\s*$")


def parse_aspect_ratio(aspect_ratio: str) -> float:
    """width / height for strings like "16:9"; raises MediaError for anything else."""
    match = _RATIO.match(aspect_ratio or "")
    if not match:
        raise MediaError(f"aspect ratio {aspect_ratio!r} is not of the form W:H, e.g. 16:9")
    w, h = float(match.group(1)), float(match.group(2))
    if w <= 0 or h <= 0 or not (1 / 4 <= w / h <= 4):
        raise MediaError(f"aspect ratio {aspect_ratio!r} is outside 1:4 to 4:1")
    return w / h


def frame_size(aspect_ratio: str, long_side: int, multiple: int = 8) -> tuple[int, int]:
    """(width, height) with the given long side, the short side rounded to `multiple`."""
    ratio = parse_aspect_ratio(aspect_ratio)
    w: float
    h: float
    if ratio >= 1:
        w, h = long_side, long_side / ratio
    else:
        w, h = long_side * ratio, long_side
    return (
        max(multiple, round(w / multiple) * multiple),
        max(multiple, round(h / multiple) * multiple),
    )


def image_size(aspect_ratio: str, hd: bool = False) -> tuple[int, int]:
    return frame_size(aspect_ratio, BASE_LONG_SIDE * (2 if hd else 1))


def effective_seed(prompt: str, seed: int | None) -> int:
    """The seed actually used: the caller's, or one derived from the prompt alone."""
    return int(seed) if seed is not None else stable_int("seed", prompt) % 2**31


# --- painting ----------------------------------------------------------------------------------


def _col(c: RGB) -> np.ndarray:
    return np.asarray(c, dtype=np.float32)


def _blend(canvas: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> None:
    """In place: canvas = canvas * (1 - alpha) + colour * alpha (alpha HxW or broadcastable)."""
    a = alpha[..., None] if alpha.ndim == 2 else alpha
    canvas += (colour - canvas) * a


def _screen(canvas: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> None:
    a = alpha[..., None] if alpha.ndim == 2 else alpha
    canvas[:] = 1 - (1 - canvas) * (1 - colour * a)


def _smooth_noise(rng: np.random.Generator, n: int, smooth: int) -> np.ndarray:
    """1-D value noise in -1..1, smoothed over ~`smooth` samples."""
    raw = np.cumsum(rng.normal(size=n + 2 * smooth))
    kernel = np.hanning(max(3, smooth))
    kernel /= kernel.sum()
    out = np.convolve(raw, kernel, mode="same")[smooth : smooth + n]
    out -= np.linspace(out[0], out[-1], n)  # remove the random walk's drift
    peak = np.abs(out).max() or 1.0
    return out / peak


def _gradient(stops: Sequence[tuple[float, RGB]], positions: np.ndarray) -> np.ndarray:
    """Colours at `positions` (any shape) along piecewise-linear colour stops."""
    xs = [s[0] for s in stops]
    return np.stack(
        [np.interp(positions, xs, [s[1][i] for s in stops]) for i in range(3)], axis=-1
    ).astype(np.float32)


def paint_scene(
    prompt: str, width: int, height: int, *, seed: int, index: int = 0, references: int = 0
) -> np.ndarray:
    """The picture for a prompt as float32 RGB (height, width, 3) in 0-1, without caption."""
    palette = palette_for(prompt)
    scene = scene_for(prompt, has_references=references > 0)
    rng = rng_for("scene", prompt, seed, index)
    ys = (np.arange(height, dtype=np.float32) / height)[:, None]
    xs = (np.arange(width, dtype=np.float32) / width)[None, :]
    unit = min(width, height)
    if scene.studio:
        canvas = _paint_studio(palette, ys, xs, width, height, rng)
    elif scene.landscape:
        canvas = _paint_landscape(palette, scene, ys, xs, width, height, unit, rng)
    else:
        canvas = _paint_abstract(palette, ys, xs, width, height, unit, rng)
    # vignette: darken the corners a touch so the eye goes to the centre
    r2 = ((xs - 0.5) * 1.2) ** 2 + ((ys - 0.5) * 1.2) ** 2
    canvas *= (1 - 0.35 * np.clip(r2, 0, 1))[..., None]
    return np.clip(canvas, 0, 1)


def _paint_abstract(
    pal: Palette,
    ys: np.ndarray,
    xs: np.ndarray,
    width: int,
    height: int,
    unit: int,
    rng: np.random.Generator,
) -> np.ndarray:
    angle = rng.uniform(0, np.pi)
    t = (xs - 0.5) * np.cos(angle) * width / unit + (ys - 0.5) * np.sin(angle) * height / unit
    t = (t - t.min()) / (t.max() - t.min() + 1e-6)
    canvas = _gradient([(0, pal.top), (0.6, pal.middle), (1, pal.deep)], t)
    aspect_x = width / unit
    aspect_y = height / unit
    colours = [pal.glow, pal.accent, pal.middle, pal.glow, pal.accent]
    for i in range(int(rng.integers(5, 9))):
        cx, cy = rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.85)
        radius = rng.uniform(0.12, 0.4)
        d2 = ((xs - cx) * aspect_x) ** 2 + ((ys - cy) * aspect_y) ** 2
        alpha = np.exp(-d2 / (radius * radius)) * rng.uniform(0.35, 0.7)
        _screen(canvas, _col(colours[i % len(colours)]), alpha.astype(np.float32))
    # flowing ribbons
    for _ in range(int(rng.integers(2, 4))):
        base, amp = rng.uniform(0.3, 0.8), rng.uniform(0.04, 0.14)
        freq, phase = rng.uniform(2, 6), rng.uniform(0, 2 * np.pi)
        thick = rng.uniform(0.01, 0.04)
        centre = base + amp * np.sin(xs * freq * np.pi + phase)
        alpha = np.exp(-(((ys - centre) / thick) ** 2)) * 0.45
        _screen(canvas, _col(pal.glow), alpha.astype(np.float32))
    # a couple of crisp rings
    for _ in range(int(rng.integers(1, 3))):
        cx, cy = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.6)
        radius, ring = rng.uniform(0.08, 0.25), 0.004
        d = np.sqrt(((xs - cx) * aspect_x) ** 2 + ((ys - cy) * aspect_y) ** 2)
        alpha = np.clip(1 - np.abs(d - radius) / ring, 0, 1) * 0.6
        _screen(canvas, _col(pal.accent), alpha.astype(np.float32))
    return canvas


def _paint_studio(
    pal: Palette, ys: np.ndarray, xs: np.ndarray, width: int, height: int, rng: np.random.Generator
) -> np.ndarray:
    unit = min(width, height)
    floor_y = rng.uniform(0.68, 0.76)
    d = np.sqrt(((xs - 0.5) * width / unit) ** 2 + ((ys - 0.38) * height / unit) ** 2)
    canvas = _gradient([(0, pal.glow), (0.45, pal.middle), (1.1, pal.top)], d)
    floor = np.clip((ys - floor_y) * height / 3, 0, 1).astype(np.float32)
    floor_colour = _gradient([(floor_y, pal.middle), (1, pal.deep)], ys + 0 * xs)
    canvas += (floor_colour - canvas) * (floor[..., None] * 0.7)
    # soft shadow pool where a subject would stand
    pool = np.exp(-(((xs - 0.5) * 2.2) ** 2 + ((ys - floor_y - 0.04) * 9) ** 2)) * 0.35
    _blend(canvas, _col(pal.deep), pool.astype(np.float32))
    return canvas


def _paint_landscape(
    pal: Palette,
    scene: Scene,
    ys: np.ndarray,
    xs: np.ndarray,
    width: int,
    height: int,
    unit: int,
    rng: np.random.Generator,
) -> np.ndarray:
    horizon = rng.uniform(0.55, 0.68)
    top = pal.deep if scene.night else pal.top
    sky_col = _gradient([(0, top), (horizon * 0.7, pal.middle), (horizon, pal.glow)], ys)
    canvas = np.broadcast_to(sky_col, (height, width, 3)).copy()
    ax, ay = width / unit, height / unit
    sun_x = rng.uniform(0.25, 0.75)
    sun_y = horizon - rng.uniform(0.04, 0.16)
    if scene.night:
        count = int(width * height / 2500)
        sx = rng.integers(0, width, count)
        sy = (rng.beta(1.2, 2.5, count) * horizon * height).astype(int)
        bright = rng.uniform(0.4, 1.0, count).astype(np.float32)
        canvas[sy, sx] = np.maximum(canvas[sy, sx], bright[:, None])
        moon_x, moon_y, moon_r = rng.uniform(0.15, 0.85), rng.uniform(0.12, 0.3), 0.06
        d = np.sqrt(((xs - moon_x) * ax) ** 2 + ((ys - moon_y) * ay) ** 2)
        _screen(canvas, _col(pal.glow), (np.exp(-((d / 0.25) ** 2)) * 0.35).astype(np.float32))
        disc = np.clip((moon_r - d) * unit / 1.5, 0, 1).astype(np.float32)
        _blend(canvas, np.asarray([0.96, 0.95, 0.9], np.float32), disc)
    if scene.sun:
        d = np.sqrt(((xs - sun_x) * ax) ** 2 + ((ys - sun_y) * ay) ** 2)
        _screen(canvas, _col(pal.glow), (np.exp(-((d / 0.35) ** 2)) * 0.75).astype(np.float32))
        disc = np.clip((0.075 - d) * unit / 1.5, 0, 1).astype(np.float32)
        _blend(canvas, np.asarray([1.0, 0.96, 0.85], np.float32), disc)
    # ground or water below the horizon
    below = np.clip((ys - horizon) * height, 0, 1).astype(np.float32)
    if scene.water:
        mirror = np.clip(2 * horizon - ys, 0, 1)
        refl = _gradient([(0, top), (horizon * 0.7, pal.middle), (horizon, pal.glow)], mirror)
        refl = refl * 0.55 + _col(pal.deep) * 0.35
        depth = np.clip((ys - horizon) / (1 - horizon), 0, 1)
        ripple = np.sin(
            np.clip(ys - horizon, 0, 1) ** 0.6 * 260 + _smooth_noise(rng, width, 40)[None, :] * 3
        )
        water = refl + (ripple * 0.04 * (1 - depth))[..., None]
        if scene.sun:
            column = np.exp(-(((xs - sun_x) * ax / (0.05 + 0.25 * depth)) ** 2))
            glitter = np.clip(ripple, 0, 1) * column * (1 - depth * 0.6)
            water = water + (glitter * 0.8)[..., None] * _col(pal.glow)
        canvas += (water - canvas) * below[..., None]
    else:
        ground = _gradient([(horizon, pal.middle), (1, pal.deep)], ys)
        ground = ground * 0.6 + _col(pal.deep) * 0.4
        canvas += (ground - canvas) * below[..., None]
    yy = np.arange(height, dtype=np.float32)[:, None]
    if scene.mountains:
        layers = 3
        for k in range(layers):
            far = 1 - k / layers  # 1 = farthest
            ridge_n = _smooth_noise(rng, width, max(8, width // (6 + 6 * k)))
            peak = rng.uniform(0.12, 0.26) * far + 0.05
            ridge = (horizon - peak * (0.55 + 0.45 * ridge_n)) * height
            mask = np.clip(yy - ridge[None, :] + 0.5, 0, 1) * (1 - below)
            colour = _col(pal.deep) * (1 - far * 0.55) + _col(pal.middle) * far * 0.55
            shade = colour * (1 + 0.15 * (1 - (yy / height - horizon + peak) / peak))[..., None]
            canvas += (shade - canvas) * mask[..., None]
    if scene.city:
        x = 0
        while x < width:
            bw = int(rng.uniform(0.04, 0.1) * width)
            bh = int(rng.uniform(0.06, 0.32) * height)
            top_y = int(horizon * height) - bh
            block = canvas[max(top_y, 0) : int(horizon * height) + 1, x : x + bw]
            block[:] = _col(pal.deep) * rng.uniform(0.8, 1.3)
            pitch = max(6, unit // 90)
            wy, wx = np.mgrid[0 : block.shape[0], 0 : block.shape[1]]
            lit = (wy % (pitch * 2) < pitch) & (wx % (pitch * 2) < pitch) & (wx > 1)
            lit &= rng.random(block.shape[:2]) < 0.35
            block[lit] = _col(pal.glow) * 0.9
            x += bw + int(rng.uniform(0, 0.015) * width)
    if scene.trees:
        for row in range(2):
            scale = 0.6 + 0.4 * row
            colour = _col(pal.deep) * (0.9 + 0.5 * (1 - row))
            n = int(rng.integers(10, 18) * (1.5 - row * 0.5) * width / unit)
            for _ in range(n):
                cx = rng.uniform(0, 1) * width
                h = rng.uniform(0.1, 0.22) * scale * height
                base = (horizon + rng.uniform(0.0, 0.06) + row * 0.08) * height
                half = h * rng.uniform(0.22, 0.32)
                x0, x1 = int(max(cx - half, 0)), int(min(cx + half + 1, width))
                y0, y1 = int(max(base - h, 0)), int(min(base, height))
                if x0 >= x1 or y0 >= y1:
                    continue
                py = np.arange(y0, y1, dtype=np.float32)[:, None]
                px = np.arange(x0, x1, dtype=np.float32)[None, :]
                widthat = (py - (base - h)) / h * half
                mask = np.clip(widthat - np.abs(px - cx) + 0.5, 0, 1)
                region = canvas[y0:y1, x0:x1]
                region += (colour - region) * mask[..., None]
    if scene.snow:
        count = int(width * height / 900)
        fx = rng.integers(0, width - 2, count)
        fy = rng.integers(0, height - 2, count)
        for dy in (0, 1):
            for dx in (0, 1):
                canvas[fy + dy, fx + dx] = canvas[fy + dy, fx + dx] * 0.3 + 0.7
    return canvas


# --- caption and references --------------------------------------------------------------------


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def caption_layer(prompt: str, width: int, height: int, accent: RGB) -> Image.Image:
    """A transparent RGBA layer: a soft dark band at the bottom with the prompt, wrapped."""
    text = " ".join(prompt.split()) or "Untitled"
    size = max(12, round((width * height) ** 0.5 / 34))
    font = _font(size)
    margin = round(size * 1.2)
    max_w = width - 2 * margin
    avg = max(font.getlength("abcdefghijklmnopqrstuvwxyz") / 26, 1)
    lines = textwrap.wrap(text, width=max(8, int(max_w / avg)))
    if len(lines) > 3:
        lines = [
            *lines[:2],
            textwrap.shorten(" ".join(lines[2:]), width=len(lines[2]), placeholder="…"),
        ]
    while lines and font.getlength(lines[-1]) > max_w:
        lines[-1] = lines[-1][:-2] + "…"
    line_h = round(size * 1.3)
    band = margin * 2 + line_h * len(lines) + size
    ramp = np.linspace(0, 1, band, dtype=np.float32) ** 1.6 * 0.62
    alpha = np.zeros((height, 1), dtype=np.float32)
    alpha[height - band :, 0] = ramp[: min(band, height)] if band <= height else ramp[-height:]
    shade = np.zeros((height, width, 4), dtype=np.uint8)
    shade[..., 3] = (np.broadcast_to(alpha, (height, width)) * 255).astype(np.uint8)
    layer = Image.fromarray(shade, "RGBA")
    draw = ImageDraw.Draw(layer)
    y = height - margin - line_h * len(lines)
    bar_w, bar_h = round(size * 1.6), max(2, size // 8)
    accent_rgb = tuple(int(c * 255) for c in accent)
    draw.rounded_rectangle(
        (margin, y - bar_h * 4, margin + bar_w, y - bar_h * 3),
        radius=bar_h,
        fill=(*accent_rgb, 255),
    )
    for line in lines:
        draw.text((margin + 1, y + 1), line, font=font, fill=(0, 0, 0, 140))
        draw.text((margin, y), line, font=font, fill=(248, 248, 246, 255))
        y += line_h
    return layer


def _load_reference(path: Path) -> Image.Image:
    try:
        with Image.open(path) as img:
            return ImageOps.exif_transpose(img).convert("RGBA")
    except (OSError, ValueError) as exc:
        raise MediaError(f"reference image {Path(path).name} could not be read: {exc}") from exc


def composite_references(base: Image.Image, references: Sequence[Image.Image]) -> Image.Image:
    """Place references side by side in the centre: cut-outs (with transparency) float with a
    soft shadow, opaque pictures are framed like prints."""
    if not references:
        return base
    width, height = base.size
    out = base.convert("RGBA")
    n = len(references)
    gap = round(width * 0.03)
    box_w = (width * 0.82 - gap * (n - 1)) / n
    box_h = height * 0.6
    fitted = []
    for ref in references:
        scale = min(box_w / ref.width, box_h / ref.height)
        size = (max(1, round(ref.width * scale)), max(1, round(ref.height * scale)))
        fitted.append(ref.resize(size, Image.Resampling.LANCZOS))
    total = sum(f.width for f in fitted) + gap * (n - 1)
    x = (width - total) // 2
    centre_y = height * 0.45
    for ref in fitted:
        alpha = ref.getchannel("A")
        low = alpha.getextrema()[0]
        cutout = isinstance(low, int | float) and low < 250
        y = round(centre_y - ref.height / 2)
        if not cutout:
            border = max(2, round(min(ref.size) * 0.025))
            framed = Image.new("RGBA", (ref.width + 2 * border, ref.height + 2 * border), "white")
            framed.paste(ref, (border, border))
            ref, x, y = framed, x - border, y - border
            alpha = ref.getchannel("A")
        blur = max(2, round(min(width, height) * 0.015))
        shadow_mask = Image.new("L", out.size, 0)
        offset = round(blur * 0.8)
        shadow_mask.paste(alpha.point(lambda v: v * 0.55), (x + offset, y + offset * 2))
        shadow_mask = shadow_mask.filter(ImageFilter.GaussianBlur(blur))
        out = Image.composite(Image.new("RGBA", out.size, (0, 0, 0, 255)), out, shadow_mask)
        out.alpha_composite(ref, (x, y))
        x += ref.width + gap
    return out


def _to_image(canvas: np.ndarray, rng: np.random.Generator) -> Image.Image:
    dither = rng.random(canvas.shape[:2], dtype=np.float32)[..., None] - 0.5
    pixels = np.clip(canvas * 255 + dither, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def render_image(
    prompt: str,
    width: int,
    height: int,
    *,
    seed: int,
    index: int = 0,
    references: Sequence[Image.Image] = (),
    caption: bool = True,
) -> Image.Image:
    """One finished picture (RGB): scene, references composited, caption."""
    # Paint at most 1280 px and upscale beyond (HD); soft compositions need far fewer pixels.
    soft = not scene_for(prompt, has_references=bool(references)).landscape
    work_long = min(max(width, height), 640 if soft else 1280)
    scale = work_long / max(width, height)
    work_w, work_h = max(8, round(width * scale)), max(8, round(height * scale))
    canvas = paint_scene(prompt, work_w, work_h, seed=seed, index=index, references=len(references))
    img = _to_image(canvas, rng_for("dither", seed, index))
    if (work_w, work_h) != (width, height):
        img = img.resize((width, height), Image.Resampling.LANCZOS)
    rgba = composite_references(img, references)
    if caption:
        rgba = rgba.convert("RGBA")
        rgba.alpha_composite(caption_layer(prompt, width, height, palette_for(prompt).accent))
    return rgba.convert("RGB")


def render_images(
    prompt: str,
    *,
    aspect_ratio: str = "1:1",
    count: int = 1,
    hd: bool = False,
    seed: int | None = None,
    reference_images: Sequence[Path] = (),
    out_dir: Path,
    progress: Progress | None = None,
) -> list[RenderedFile]:
    """`count` PNG variants of the prompt at the aspect ratio (long side 1024 px, 2048 if hd).

    Deterministic: the same prompt, seed, size and references give byte-identical files; a
    seed of None means "derived from the prompt". Variant i differs from variant j.
    """
    if not 1 <= count <= MAX_COUNT:
        raise MediaError(f"count must be between 1 and {MAX_COUNT}")
    width, height = image_size(aspect_ratio, hd)
    out_dir = prepare_out_dir(out_dir)
    refs = [_load_reference(Path(p)) for p in reference_images]
    ref_key = tuple((Path(p).name, Path(p).stat().st_size) for p in reference_images)
    used_seed = effective_seed(prompt, seed)
    reporter = ProgressReporter(progress)
    reporter.report(0)
    results = []
    for index in range(count):
        img = render_image(prompt, width, height, seed=used_seed, index=index, references=refs)
        name = output_name("image", "png", prompt, width, height, used_seed, index, ref_key)
        target = out_dir / name
        with atomic_path(target) as tmp:
            img.save(tmp, "PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL)
        results.append(
            RenderedFile(
                path=target,
                mime_type="image/png",
                width=width,
                height=height,
                size_bytes=target.stat().st_size,
            )
        )
        reporter.fraction((index + 1) / count)
    reporter.finish()
    return results
