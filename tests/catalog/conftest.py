"""Catalog fixtures: product photos with a distinctive colour, and file counting."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image, ImageDraw

from tests.api.conftest import alice_key, api, bearer, isolated_rate_limits, make_key  # noqa: F401

# The product's colour: a saturated magenta nothing else in a scene is painted with.
PRODUCT_RGB = (214, 22, 160)
BACKDROP_RGB = (238, 238, 234)


def product_photo(fmt: str = "JPEG", size: tuple[int, int] = (640, 480)) -> bytes:
    """A product shot: a magenta bottle with a gold cap on a light, slightly graded backdrop."""
    width, height = size
    image = Image.new("RGB", size, BACKDROP_RGB)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = 238 - y * 10 // height
        draw.line([(0, y), (width, y)], fill=(shade, shade, shade - 4))
    body = (width * 0.38, height * 0.3, width * 0.62, height * 0.85)
    draw.rounded_rectangle(body, radius=int(width * 0.03), fill=PRODUCT_RGB)
    cap = (width * 0.44, height * 0.18, width * 0.56, height * 0.31)
    draw.rectangle(cap, fill=(212, 175, 55))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def png_bytes(size: tuple[int, int] = (64, 64), colour=(40, 90, 210)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def team_files(team) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "catalog" / str(team.uuid)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def photo() -> bytes:
    return product_photo()
