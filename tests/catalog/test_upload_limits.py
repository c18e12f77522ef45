"""Every limit and every bad file is refused before any work, and leaves nothing behind:
no product row, no stored file, no storage charged."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import CatalogImage, Product
from tests.catalog.conftest import product_photo, team_files

pytestmark = pytest.mark.django_db


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header declares 900 megapixels (one zlib stream of zeros)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x00" * (width // 8 + 1)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(200)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "red").save(buffer, "GIF")
    return buffer.getvalue()


BAD_FILES = {
    "truncated": (lambda: product_photo()[:4000], "product.jpg", 400, "truncated"),
    "gif disguised as png": (gif_bytes, "product.png", 400, "GIF"),
    "text disguised as jpg": (
        lambda: b"hello, I am not a photo" * 40,
        "product.jpg",
        400,
        "not an image",
    ),
    "decompression bomb": (bomb_png, "bomb.png", 413, "pixels"),
    "empty": (lambda: b"", "empty.png", 400, "empty"),
}


@pytest.fixture
def nothing_left_behind(team):
    yield
    team.refresh_from_db()
    assert not Product.objects.exists()
    assert not CatalogImage.objects.filter(team=team).exists()
    assert team_files(team) == []
    assert team.storage_used_bytes == 0


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_multipart_file_is_refused_with_a_clear_error(
    bearer, team, nothing_left_behind, case
):
    make, filename, status, words = BAD_FILES[case]
    response = bearer.post("/api/v1/products", {"file": SimpleUploadedFile(filename, make())})
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["code"] == ("PAYLOAD_TOO_LARGE" if status == 413 else "INVALID_FIELDS")
    assert words.lower() in body["error"].lower()


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_data_url_is_refused_the_same_way(bearer, team, nothing_left_behind, case):
    make, _, status, _ = BAD_FILES[case]
    url = "data:image/png;base64," + base64.b64encode(make()).decode()
    response = bearer.post("/api/v1/products", {"image_url": url}, content_type="application/json")
    assert response.status_code == status


def test_a_file_over_the_size_limit_is_413_before_it_is_read(
    bearer, team, settings, nothing_left_behind
):
    settings.STUDIO_MAX_IMAGE_BYTES = 2_000
    response = bearer.post(
        "/api/v1/products", {"file": SimpleUploadedFile("big.jpg", product_photo(), "image/jpeg")}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert "2,000 bytes" in response.json()["error"]


def test_a_url_whose_file_is_over_the_size_limit_is_413(
    bearer, team, settings, nothing_left_behind
):
    from tests.fakes.server import LoopbackServer, Response

    settings.STUDIO_ALLOW_PRIVATE_FETCH = True
    settings.STUDIO_MAX_IMAGE_BYTES = 2_000
    server = LoopbackServer(lambda r: Response(200, product_photo(), "image/jpeg")).start()
    try:
        response = bearer.post(
            "/api/v1/products",
            {"image_url": f"{server.url}/big.jpg"},
            content_type="application/json",
        )
    finally:
        server.stop()
    assert response.status_code == 413


def test_a_data_url_over_the_size_limit_is_413_before_decoding(
    bearer, team, settings, nothing_left_behind
):
    settings.STUDIO_MAX_IMAGE_BYTES = 2_000
    url = "data:image/jpeg;base64," + base64.b64encode(product_photo()).decode()
    response = bearer.post("/api/v1/products", {"image_url": url}, content_type="application/json")
    assert response.status_code == 413


def test_an_image_over_the_pixel_limit_is_413(bearer, team, settings, nothing_left_behind):
    settings.STUDIO_MAX_IMAGE_PIXELS = 100_000
    response = bearer.post(
        "/api/v1/products",
        {"file": SimpleUploadedFile("wide.png", product_photo("PNG", (640, 480)), "image/png")},
    )
    assert response.status_code == 413
    assert "640×480 = 307,200 pixels" in response.json()["error"]  # noqa: RUF001


def test_an_upload_that_does_not_fit_the_teams_storage_is_413(bearer, team, nothing_left_behind):
    data = product_photo()
    team.plan.storage_limit_bytes = len(data) - 1
    team.plan.save(update_fields=["storage_limit_bytes"])
    response = bearer.post(
        "/api/v1/products", {"file": SimpleUploadedFile("p.jpg", data, "image/jpeg")}
    )
    assert response.status_code == 413
    assert "storage" in response.json()["error"]


def test_a_non_json_non_multipart_body_is_invalid(bearer, team, nothing_left_behind):
    response = bearer.post("/api/v1/products", "image_url=x", content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_FIELDS"


def test_a_multipart_body_longer_than_the_limit_is_413_from_its_content_length(
    bearer, team, settings, nothing_left_behind
):
    settings.STUDIO_MAX_IMAGE_BYTES = 2_000
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * 400_000, "image/jpeg")
    response = bearer.post("/api/v1/products", {"file": big})
    assert response.status_code == 413
    assert "per image" in response.json()["error"]


@pytest.mark.parametrize("side", [8_000, 30_000])  # over our limit; over Pillow's own too
def test_a_decompression_bomb_is_refused_from_its_header_without_decoding(
    bearer, team, nothing_left_behind, side
):
    bomb = bomb_png(side, side)
    assert len(bomb) < 200_000  # tiny on the wire, gigabytes once decoded
    response = bearer.post("/api/v1/products", {"file": SimpleUploadedFile("b.png", bomb)})
    assert response.status_code == 413
    assert f"{side * side:,} pixels" in response.json()["error"]
    assert "before decoding" in response.json()["error"]
