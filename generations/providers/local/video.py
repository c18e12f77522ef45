"""H.264 video: an animated scene from the prompt, or a Ken Burns move over a source image."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps

from .image import caption_layer, effective_seed, frame_size, render_image
from .media import (
    MediaError,
    Progress,
    ProgressReporter,
    RenderedFile,
    atomic_path,
    output_name,
    prepare_out_dir,
    rng_for,
)
from .prompt import has, palette_for, words

FPS = 24
BASE_LONG_SIDE = 640
MAX_DURATION = 60
OVERSCAN = 1.22  # the painted scene is this much larger than the frame, room to move


def video_size(aspect_ratio: str, hd: bool = False) -> tuple[int, int]:
    return frame_size(aspect_ratio, BASE_LONG_SIDE * (2 if hd else 1), multiple=2)


def _ease(t: float) -> float:
    return t * t * (3 - 2 * t)


def _camera(prompt: str, rng: np.random.Generator) -> tuple[float, float, float, float]:
    """(zoom_from, zoom_to, pan_x, pan_y): zooms are 1.0 = widest; pans are -1..1 over the clip."""
    ws = words(prompt)
    zoom_from, zoom_to = 1.0, 1.0 + rng.uniform(0.08, 0.16)
    if has(ws, "out", "pull", "reveal", "wide"):
        zoom_from, zoom_to = zoom_to, zoom_from
    pan_x = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.0)
    pan_y = rng.uniform(-0.3, 0.3)
    if has(ws, "left"):
        pan_x = -abs(pan_x)
    if has(ws, "right"):
        pan_x = abs(pan_x)
    if has(ws, "static", "still", "locked"):
        zoom_to, pan_x, pan_y = zoom_from, 0.0, 0.0
    return zoom_from, zoom_to, pan_x, pan_y


def _bokeh_sprite(radius: int, colour: tuple[int, int, int]) -> Image.Image:
    size = radius * 2 + 1
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - radius
    d = np.sqrt(xx * xx + yy * yy) / radius
    alpha = np.clip(1 - d, 0, 1) ** 1.5 * 150
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = alpha.astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def _load_source(path: Path) -> Image.Image:
    try:
        with Image.open(path) as img:
            return ImageOps.exif_transpose(img).convert("RGB")
    except (OSError, ValueError) as exc:
        raise MediaError(f"source image {Path(path).name} could not be read: {exc}") from exc


def render_video(
    prompt: str,
    *,
    aspect_ratio: str = "16:9",
    duration: int = 5,
    seed: int | None = None,
    source_image: Path | None = None,
    hd: bool = False,
    out_dir: Path,
    progress: Progress | None = None,
) -> RenderedFile:
    """An MP4 (H.264, yuv420p, 24 fps, faststart) of exactly `duration` seconds.

    Long side 640 px (1280 if hd). From text: the prompt's painted scene with a slow camera
    move, drifting lights and the caption. With `source_image`: a Ken Burns pan/zoom over it.
    """
    if not 1 <= duration <= MAX_DURATION:
        raise MediaError(f"duration must be between 1 and {MAX_DURATION} seconds")
    width, height = video_size(aspect_ratio, hd)
    out_dir = prepare_out_dir(out_dir)
    used_seed = effective_seed(prompt, seed)
    rng = rng_for("video", prompt, used_seed)
    reporter = ProgressReporter(progress)
    reporter.report(0)
    big_w, big_h = round(width * OVERSCAN), round(height * OVERSCAN)
    if source_image is not None:
        source = _load_source(Path(source_image))
        plate = ImageOps.fit(source, (big_w, big_h), Image.Resampling.LANCZOS)
        caption = None
        source_key: tuple[object, ...] = (
            Path(source_image).name,
            Path(source_image).stat().st_size,
        )
    else:
        plate = render_image(prompt, big_w, big_h, seed=used_seed, caption=False)
        caption = caption_layer(prompt, width, height, palette_for(prompt).accent)
        source_key = ()
    reporter.report(8)
    zoom_from, zoom_to, pan_x, pan_y = _camera(prompt, rng)

    palette = palette_for(prompt)
    glow = tuple(int(c * 255) for c in palette.glow)
    sprites = [_bokeh_sprite(r, glow) for r in (6, 10, 16)]  # type: ignore[arg-type]
    # Frames stay RGB: a sprite or the caption is pasted through its own alpha (the same
    # "over" as alpha_composite onto an opaque frame), with no RGBA round trip per frame.
    sprite_parts = [(s.convert("RGB"), s.getchannel("A")) for s in sprites]
    n_lights = 0 if source_image is not None else 14
    lights = [
        (
            rng.uniform(0, 1),
            rng.uniform(0.05, 0.8),
            rng.uniform(-0.06, 0.06),
            rng.uniform(-0.08, -0.01),
            rng.uniform(0, 6.28),
            int(rng.integers(0, len(sprites))),
        )
        for _ in range(n_lights)
    ]
    caption_steps: list[tuple[Image.Image, Image.Image]] = []
    if caption is not None:
        alpha = np.asarray(caption.getchannel("A"), dtype=np.float32)
        caption_rgb = caption.convert("RGB")
        for step in range(1, 9):
            faded = Image.fromarray((alpha * step / 8).astype(np.uint8), "L")
            caption_steps.append((caption_rgb, faded))

    n_frames = int(duration) * FPS
    name = output_name("video", "mp4", prompt, width, height, duration, used_seed, source_key)
    target = out_dir / name
    with (
        atomic_path(target) as tmp,
        av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, FPS)
        stream.options = {"crf": "21", "preset": "veryfast", "threads": "2"}
        for i in range(n_frames):
            t = i / max(n_frames - 1, 1)
            e = _ease(t)
            zoom = zoom_from + (zoom_to - zoom_from) * e
            view_w, view_h = big_w / OVERSCAN / zoom, big_h / OVERSCAN / zoom
            room_x, room_y = (big_w - view_w) / 2, (big_h - view_h) / 2
            cx = big_w / 2 + room_x * pan_x * (e - 0.5)
            cy = big_h / 2 + room_y * pan_y * (e - 0.5)
            box = (cx - view_w / 2, cy - view_h / 2, cx + view_w / 2, cy + view_h / 2)
            # One separable resample of the plate's view (Pillow's resize with a box), not a
            # generic per-pixel transform: that was 60 % of a 720p render.
            frame = plate.resize((width, height), Image.Resampling.BILINEAR, box=box)
            seconds = i / FPS
            for x0, y0, vx, vy, phase, kind in lights:
                sprite_rgb, sprite_alpha = sprite_parts[kind]
                lx = (x0 + vx * seconds + 0.01 * np.sin(phase + seconds)) % 1.0
                ly = (y0 + vy * seconds) % 0.85
                frame.paste(sprite_rgb, (int(lx * width), int(ly * height)), sprite_alpha)
            if caption_steps:
                step = min(len(caption_steps) - 1, max(0, int((seconds - 0.3) * 12)))
                if seconds >= 0.3:
                    caption_rgb, caption_alpha = caption_steps[step]
                    frame.paste(caption_rgb, (0, 0), caption_alpha)
            rgb = np.asarray(frame)
            fade = min(1.0, (i + 1) / (FPS * 0.4), (n_frames - i) / (FPS * 0.4))
            if fade < 1.0:
                rgb = (rgb.astype(np.float32) * fade).astype(np.uint8)
            video_frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            video_frame.pts = i
            for packet in stream.encode(video_frame):
                out.mux(packet)
            reporter.fraction(0.08 + 0.9 * (i + 1) / n_frames)
        for packet in stream.encode(None):
            out.mux(packet)
    reporter.finish()
    return RenderedFile(
        path=target,
        mime_type="video/mp4",
        width=width,
        height=height,
        duration=n_frames / FPS,
        size_bytes=target.stat().st_size,
    )
