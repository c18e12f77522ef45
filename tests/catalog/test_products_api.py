"""The Krev products endpoints, as the seeds' examples use them."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from catalog.models import AnalysisStatus, Product
from tests.catalog.conftest import PRODUCT_RGB, product_photo, team_files
from tests.fakes.server import LoopbackServer, Response

pytestmark = pytest.mark.django_db


@pytest.fixture
def image_server(photo):
    server = LoopbackServer(lambda request: Response(200, photo, "image/jpeg")).start()
    yield server
    server.stop()


def fetch(client: Client, url: str) -> bytes:
    """Follow a signed absolute URL through the test client (no key, no session)."""
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = Client().get("/" + path)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content) if response.streaming else response.content


def assert_real_cutout(data: bytes) -> None:
    cutout = Image.open(io.BytesIO(data))
    assert cutout.mode == "RGBA"
    pixels = np.asarray(cutout)
    alpha = pixels[:, :, 3]
    assert (alpha == 0).mean() > 0.3, "the backdrop is transparent"
    assert (alpha == 255).mean() > 0.1, "the product is opaque"
    h, w = alpha.shape
    assert alpha[h // 2, w // 2] == 255
    assert alpha[2, 2] == 0 and alpha[h - 3, w - 3] == 0
    # The opaque pixels are the product's colour, not the backdrop's.
    centre = pixels[h // 2, w // 2, :3].astype(int)
    assert np.abs(centre - PRODUCT_RGB).max() < 30


def test_a_json_url_upload_returns_the_analysed_product_with_a_transparent_cutout(
    bearer, team, settings, image_server
):
    settings.STUDIO_ALLOW_PRIVATE_FETCH = True  # the loopback server stands in for the web
    response = bearer.post(
        "/api/v1/products",
        {"image_url": f"{image_server.url}/product.jpg", "name": "Premium Leather Wallet"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["name"] == "Premium Leather Wallet"
    assert data["source"] == "api"
    assert data["analysis_status"] == "done"
    assert data["image_url"].startswith("http") and data["segmented_image_url"].startswith("http")
    metadata = data["metadata"]
    assert metadata["productName"] == "Premium Leather Wallet"
    assert metadata["productType"] == "wallet"
    assert metadata["materials"] == ["leather"]
    assert "magenta" in metadata["colors"]
    # No brand in the name: brandName is left out (a string when known, never null).
    assert set(metadata) >= {"productName", "productType", "colors", "materials"}
    assert "brandName" not in metadata
    assert_real_cutout(fetch(bearer, data["segmented_image_url"]))
    assert fetch(bearer, data["image_url"]) == product_photo()


def test_a_multipart_upload_is_analysed_and_auto_named_from_the_file_name(bearer, team):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("leather-crossbody-bag.jpg", product_photo(), "image/jpeg")
    response = bearer.post("/api/v1/products", {"file": upload})
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["name"] == "Leather Crossbody Bag"
    assert data["category"] == "bags"
    assert data["metadata"]["productType"] == "bag"
    assert_real_cutout(fetch(bearer, data["segmented_image_url"]))


def test_a_multipart_upload_keeps_the_given_name_and_reads_brand_from_it(bearer, team):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("product.png", product_photo("PNG"), "image/png")
    response = bearer.post("/api/v1/products", {"file": upload, "name": "Day Shift by Vysionary"})
    data = response.json()["data"]
    assert data["name"] == "Day Shift by Vysionary"
    assert data["metadata"]["brandName"] == "Vysionary"
    assert data["metadata"]["productName"] == "Day Shift"


def test_an_unnamed_product_with_a_generic_file_name_is_named_from_its_colour_and_kind(
    bearer, team
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("IMG_2041.webp", product_photo("WEBP"), "image/webp")
    data = bearer.post("/api/v1/products", {"file": upload}).json()["data"]
    assert data["name"] == "Magenta Product"


def test_a_base64_data_url_upload_works_and_skip_segmentation_skips_the_cutout(bearer, team):
    url = "data:image/jpeg;base64," + base64.b64encode(product_photo()).decode()
    response = bearer.post(
        "/api/v1/products",
        {"image_url": url, "name": "Bottle", "skip_segmentation": True},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["segmented_image_url"] is None
    assert data["analysis_status"] == "done"
    assert "magenta" not in data["metadata"]["colors"][:1]  # the whole photo: backdrop first


def test_the_list_honours_limit_and_counts_in_meta(bearer, team):
    from catalog import services

    for i in range(3):
        services.create_product(
            team, None, services.check_upload(product_photo()), name=f"P{i}", enqueue=False
        )
    response = bearer.get("/api/v1/products?limit=2")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["meta"] == {"count": 2}
    assert [p["name"] for p in body["data"]] == ["P2", "P1"]
    first = body["data"][0]
    assert set(first) >= {"id", "name", "image_url", "category", "metadata", "created_at"}
    assert first["created_at"].endswith("Z")
    assert bearer.get("/api/v1/products").json()["meta"] == {"count": 3}


def test_get_products_by_id_answers_that_product_as_an_object(bearer, team):
    # curl "https://app.krev.ai/api/v1/products?id=<id>": `data` is the product, not a list
    from catalog import services

    product = services.create_product(
        team, None, services.check_upload(product_photo()), name="Only", enqueue=False
    )
    body = bearer.get(f"/api/v1/products?id={product.pk}").json()
    assert body["success"] is True and "meta" not in body
    assert body["data"]["id"] == str(product.pk) and body["data"]["name"] == "Only"


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_a_limit_outside_1_to_100_is_invalid(bearer, team, limit):
    response = bearer.get(f"/api/v1/products?limit={limit}")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_FIELDS"


def test_another_teams_product_is_not_found_by_id_and_not_listed(bearer, team, other_team, charlie):
    from catalog import services

    theirs = services.create_product(
        other_team, charlie, services.check_upload(product_photo()), name="Theirs", enqueue=False
    )
    response = bearer.get(f"/api/v1/products?id={theirs.pk}")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert bearer.get("/api/v1/products").json()["data"] == []
    assert bearer.get("/api/v1/products?id=not-a-uuid").status_code == 404


def test_a_key_without_the_products_scope_is_forbidden(team, alice, make_key):
    key = make_key(team, alice, scopes=["images"])
    client = Client(headers={"Authorization": f"Bearer {key}"})
    response = client.get("/api/v1/products")
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"


def test_a_url_on_a_private_address_is_refused_when_private_fetch_is_off(
    bearer, team, settings, image_server
):
    settings.STUDIO_ALLOW_PRIVATE_FETCH = False
    response = bearer.post(
        "/api/v1/products",
        {"image_url": f"{image_server.url}/product.jpg"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_FIELDS"
    assert "private" in response.json()["error"]
    assert image_server.hits == {} or sum(image_server.hits.values()) == 0
    assert not Product.objects.exists() and team_files(team) == []


def test_a_missing_image_is_reported_by_field_name(bearer, team):
    response = bearer.post("/api/v1/products", {"name": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "MISSING_FIELDS" and "image_url" in response.json()["error"]


def test_uploads_are_counted_against_the_teams_storage(bearer, team):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = product_photo()
    bearer.post("/api/v1/products", {"file": SimpleUploadedFile("a.jpg", data, "image/jpeg")})
    team.refresh_from_db()
    product = Product.objects.get()
    assert product.analysis_status == AnalysisStatus.DONE
    assert team.storage_used_bytes == len(data) + product.cutout.size_bytes
    assert team.storage_used_bytes == sum(p.stat().st_size for p in team_files(team))


def test_with_inline_analysis_off_the_upload_answers_queued_and_the_cluster_finishes_it(
    bearer, team, settings, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.STUDIO_CATALOG_INLINE_ANALYSIS = False
    upload = SimpleUploadedFile("p.jpg", product_photo(), "image/jpeg")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = bearer.post("/api/v1/products", {"file": upload})
    data = response.json()["data"]
    assert data["analysis_status"] == "queued" and data["segmented_image_url"] is None
    for callback in callbacks:  # the broker delivers the task (synchronous cluster in tests)
        callback()
    polled = bearer.get(f"/api/v1/products?id={data['id']}").json()["data"]
    assert polled["analysis_status"] == "done" and polled["segmented_image_url"]
