"""The one image policy: what Studio accepts as an input image, anywhere.

Generation inputs (`image_url`, `reference_images`) and catalog uploads (products, Visual DNA,
moodboards) pass the same checks, decided from the bytes alone (never the file name): the
size (STUDIO_MAX_IMAGE_BYTES), the real type (JPG, PNG or WebP), the pixel count read from
the header before anything is decoded (STUDIO_MAX_IMAGE_PIXELS: decompression bombs stop
there), then a full decode that catches truncated or corrupt files.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from studio.errors import InvalidFields, PayloadTooLarge

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def max_bytes() -> int:
    return int(settings.STUDIO_MAX_IMAGE_BYTES)


def max_pixels() -> int:
    return int(settings.STUDIO_MAX_IMAGE_PIXELS)


@dataclass(frozen=True)
class Inspected:
    format: str
    mime_type: str
    extension: str
    width: int
    height: int


def check_size(size: int, what: str = "The image") -> None:
    """Raise PayloadTooLarge (413) when `size` bytes are over the limit."""
    limit = max_bytes()
    if size > limit:
        raise PayloadTooLarge(
            f"{what} is {size:,} bytes; uploads are limited to {limit:,} bytes "
            f"({limit // (1024 * 1024)} MB)"
        )


def inspect(data: bytes, what: str = "The image") -> Inspected:
    """Check an image from its bytes; raise a 400/413 StudioError naming what is wrong."""
    check_size(len(data), what)
    if not data:
        raise InvalidFields(f"{what} is empty")
    limit = max_pixels()
    # Two guards, neither decoding anything: Pillow's own (Image.open refuses an image
    # declaring over twice MAX_IMAGE_PIXELS: a decompression bomb), then ours, stricter,
    # from the size in the header. Neither touches process-wide state, so concurrent
    # uploads in threads cannot disturb each other.
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            if fmt not in FORMATS:
                raise InvalidFields(
                    f"{what} is a {fmt or 'unknown'} file; upload a JPG, PNG or WebP image"
                )
            width, height = image.size
            if width * height > limit:
                raise PayloadTooLarge(
                    f"{what} declares {width}×{height} = {width * height:,} pixels; at most "  # noqa: RUF001
                    f"{limit:,} pixels are allowed (refused before decoding)"
                )
            image.load()  # decodes everything: truncated or corrupt data fails here
    except Image.DecompressionBombError as exc:
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(declared[1]):,} pixels" if declared else "too many pixels"
        raise PayloadTooLarge(
            f"{what} declares {size}; at most {limit:,} pixels are allowed "
            "(refused before decoding: a possible decompression bomb)"
        ) from None
    except UnidentifiedImageError:
        raise InvalidFields(f"{what} is not an image; upload a JPG, PNG or WebP file") from None
    # SyntaxError is Pillow's "broken PNG file"; struct.error a malformed header field.
    except (OSError, ValueError, SyntaxError, struct.error) as exc:
        raise InvalidFields(f"{what} is damaged or truncated and cannot be read ({exc})") from None
    return Inspected(fmt, FORMATS[fmt], EXTENSIONS[fmt], width, height)
