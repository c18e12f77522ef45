"""Shared plumbing of the offline engine: results, progress, safe writes, probing, thumbnails."""

from __future__ import annotations

import hashlib
import os
import tempfile
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

Progress = Callable[[int], None]  # called with 0-100, never decreasing

THUMBNAIL_MIME = "image/webp"


@dataclass(frozen=True)
class RenderedFile:
    path: Path  # file written inside out_dir
    mime_type: str  # image/png, image/webp, video/mp4, audio/wav, audio/mpeg...
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds, for audio/video
    size_bytes: int = 0


class MediaError(ValueError):
    """A file could not be read as media, or a render was asked for something impossible."""


class ProgressReporter:
    """Wraps a caller's callback: values are clamped to 0-100, never go down, never repeat."""

    def __init__(self, callback: Progress | None, start: int = 0, end: int = 100) -> None:
        self._callback = callback
        self._start = start
        self._end = end
        self._last = -1

    def fraction(self, done: float) -> None:
        """Report `done` (0.0-1.0) of this reporter's span."""
        done = min(max(done, 0.0), 1.0)
        self.report(round(self._start + (self._end - self._start) * done))

    def report(self, value: int) -> None:
        value = min(max(int(value), 0), 100)
        if value <= self._last:
            return
        self._last = value
        if self._callback is not None:
            self._callback(value)

    def finish(self) -> None:
        self.report(self._end)


def stable_int(*parts: object) -> int:
    """A 64-bit integer that depends only on `parts` (never on PYTHONHASHSEED or the process)."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rng_for(*parts: object) -> np.random.Generator:
    return np.random.default_rng(stable_int(*parts))


def output_name(kind: str, ext: str, *parts: object) -> str:
    """A file name derived from the request, so identical requests name identical files."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=6).hexdigest()
    return f"{kind}-{digest}.{ext}"


def prepare_out_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; it replaces `target` only once fully written."""
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}-", suffix=target.suffix or ".tmp", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> float:
    """Write float samples (-1..1; shape (n,) or (n, channels)) as 16-bit PCM. Returns seconds."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    channels = data.shape[1]
    pcm = np.clip(np.round(data * 32767.0), -32768, 32767).astype("<i2")
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return data.shape[0] / sample_rate


def audio_result(path: Path, frames: int, sample_rate: int) -> RenderedFile:
    return RenderedFile(
        path=path,
        mime_type="audio/wav",
        duration=round(frames / sample_rate, 3),
        size_bytes=path.stat().st_size,
    )


# --- probing -----------------------------------------------------------------------------------

_CONTAINER_MIME = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "ogg": "ogg",
    "matroska,webm": "webm",
    "mov,mp4,m4a,3gp,3g2,mj2": "mp4",
    "avi": "video/x-msvideo",
    "gif": "image/gif",
}


def probe(path: Path) -> dict[str, Any]:
    """Real metadata of a media file: mime_type, width, height, duration, size_bytes.

    Images are read with Pillow, audio and video with PyAV; works for files from any source.
    Raises MediaError when the file is not media either library understands.
    """
    path = Path(path)
    size = path.stat().st_size
    try:
        with Image.open(path) as img:
            mime = Image.MIME.get(img.format or "", "") or f"image/{(img.format or '').lower()}"
            duration = None
            frames = getattr(img, "n_frames", 1)
            if frames > 1:  # animated GIF / WebP / APNG
                total_ms = 0
                for index in range(frames):
                    img.seek(index)
                    total_ms += int(img.info.get("duration", 0) or 0)
                duration = round(total_ms / 1000, 3) if total_ms else None
            return {
                "mime_type": mime,
                "width": img.width,
                "height": img.height,
                "duration": duration,
                "size_bytes": size,
            }
    except (UnidentifiedImageError, OSError):
        pass
    try:
        with av.open(str(path)) as container:
            return _probe_av(container, size)
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{path.name}: not an image, audio or video file ({exc})") from exc


def _probe_av(container: Any, size: int) -> dict[str, Any]:
    video = next(iter(container.streams.video), None)
    audio = next(iter(container.streams.audio), None)
    if video is None and audio is None:
        raise MediaError("no audio or video stream")
    kind = _CONTAINER_MIME.get(container.format.name, "")
    if kind in ("mp4", "webm", "ogg"):
        mime = f"{'video' if video is not None else 'audio'}/{kind}"
    elif kind:
        mime = kind
    else:
        first = container.format.name.split(",")[0]
        mime = f"{'video' if video is not None else 'audio'}/{first}"
    duration: float | None = None
    if container.duration is not None:
        duration = container.duration / 1_000_000
    else:
        spans = [
            float(s.duration * s.time_base)
            for s in (video, audio)
            if s is not None and s.duration is not None and s.time_base is not None
        ]
        duration = max(spans) if spans else None
    if video is not None and video.frames and video.average_rate:
        # the video track is what a viewer sees; prefer its exact frame count when known
        duration = float(Fraction(video.frames) / Fraction(video.average_rate))
    return {
        "mime_type": mime,
        "width": video.codec_context.width if video is not None else None,
        "height": video.codec_context.height if video is not None else None,
        "duration": round(duration, 3) if duration is not None else None,
        "size_bytes": size,
    }


# --- thumbnails --------------------------------------------------------------------------------


def make_thumbnail(
    source: RenderedFile, *, out_dir: Path, max_side: int = 512
) -> RenderedFile | None:
    """A WebP preview no larger than `max_side`: the image itself, a video's poster frame, or a
    waveform picture for audio. Returns None for anything else."""
    out_dir = prepare_out_dir(out_dir)
    mime = source.mime_type
    picture: Image.Image | None
    if mime.startswith("image/"):
        with Image.open(source.path) as img:
            img.seek(0)
            picture = ImageOps.exif_transpose(img.convert("RGBA"))
    elif mime.startswith("video/"):
        picture = _poster_frame(source)
    elif mime.startswith("audio/"):
        picture = _waveform(source.path, max_side)
    else:
        return None
    if picture is None:
        return None
    picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    target = out_dir / f"{source.path.stem}-thumb.webp"
    with atomic_path(target) as tmp:
        picture.save(tmp, "WEBP", quality=82, method=4)
    return RenderedFile(
        path=target,
        mime_type=THUMBNAIL_MIME,
        width=picture.width,
        height=picture.height,
        size_bytes=target.stat().st_size,
    )


def _poster_frame(source: RenderedFile) -> Image.Image | None:
    """The frame a third of the way in (at most 1.5 s), so fades at the start don't blacken it."""
    with av.open(str(source.path)) as container:
        stream = next(iter(container.streams.video), None)
        if stream is None:
            return None
        target = min((source.duration or 3.0) / 3, 1.5)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time >= target:
                break
        return chosen.to_image() if chosen is not None else None


def _waveform(path: Path, max_side: int) -> Image.Image | None:
    samples = _decode_mono(path)
    if samples is None or samples.size == 0:
        return None
    width, height = max_side, max(max_side // 4, 32)
    scale = 2  # draw at 2x then downsample for smooth edges
    cols = width * scale
    chunks = np.array_split(np.abs(samples), cols)
    peaks = np.array([c.max() if c.size else 0.0 for c in chunks])
    peaks = peaks / (peaks.max() or 1.0)
    img = Image.new("RGBA", (cols, height * scale), (17, 24, 39, 255))
    draw = ImageDraw.Draw(img)
    mid = height * scale / 2
    for x, peak in enumerate(peaks):
        half = max(peak * mid * 0.9, 1)
        shade = int(140 + 115 * peak)
        draw.line([(x, mid - half), (x, mid + half)], fill=(99, shade, 241, 255))
    return img.resize((width, height), Image.Resampling.LANCZOS)


def _decode_mono(path: Path) -> np.ndarray | None:
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() == 2:
                raw = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
                return raw.reshape(-1, wav.getnchannels()).mean(axis=1) / 32768.0
    except (wave.Error, EOFError):
        pass
    parts: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = next(iter(container.streams.audio), None)
        if stream is None:
            return None
        for frame in container.decode(stream):
            arr = frame.to_ndarray().astype(np.float64)
            if frame.format.is_planar:
                parts.append(arr.reshape(arr.shape[0], -1).mean(axis=0))
            else:
                parts.append(arr.reshape(-1, len(frame.layout.channels)).mean(axis=1))
    return np.concatenate(parts) if parts else None
