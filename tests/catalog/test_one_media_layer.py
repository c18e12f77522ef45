"""One link scheme, one image reader and one image policy for generations and the catalog:
links made before the move still open, a catalog image can feed a generation, and the same
limit refuses the same image wherever it comes in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from catalog import services
from catalog.presenters import signed_url
from generations import inputs
from generations.services import start_generation
from studio import media
from studio.errors import InvalidFields, PayloadTooLarge
from tests.catalog.conftest import product_photo

pytestmark = pytest.mark.django_db

UUID = "0b6a4f4e-7c1d-4c59-9f0e-2f7d8c1e5a10"


def signature_as_signed_before(namespace: bytes, subject: str, expires: int, secret: str) -> str:
    """The signature the old generations/storage.py and catalog/storage.py computed."""
    key = hashlib.sha256(namespace + secret.encode()).digest()
    mac = hmac.new(key, f"{subject}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def test_links_signed_before_the_move_still_open(settings):
    expires = int(time.time()) + 600
    asset = signature_as_signed_before(
        b"studio.media-links:", f"{UUID}:file", expires, settings.SECRET_KEY
    )
    image = signature_as_signed_before(b"studio.catalog-links:", UUID, expires, settings.SECRET_KEY)
    assert media.verify(media.ASSET_LINKS, UUID, "file", str(expires), asset)
    assert media.verify(media.CATALOG_LINKS, UUID, "", str(expires), image)
    # A signature is good for its own kind of link only.
    assert not media.verify(media.ASSET_LINKS, UUID, "file", str(expires), image)
    assert not media.verify(media.CATALOG_LINKS, UUID, "", str(expires), asset)


def test_a_catalog_image_link_feeds_a_generation_of_its_team_only(funded_team, other_team):
    product = services.create_product(
        funded_team, None, services.check_upload(product_photo()), name="Mug", enqueue=False
    )
    link = signed_url(product.original)
    data, _ = inputs.fetch_input(link, funded_team)
    with product.original.file.open("rb") as handle:
        assert data == handle.read()
    with pytest.raises(InvalidFields):
        inputs.fetch_input(link, other_team)


def test_one_pixel_limit_refuses_a_generation_input_and_a_catalog_upload_alike(
    settings, funded_team, alice
):
    settings.STUDIO_MAX_IMAGE_PIXELS = 100_000
    photo = product_photo("PNG", (640, 480))
    with pytest.raises(PayloadTooLarge) as upload:
        services.check_upload(photo)
    url = "data:image/png;base64," + base64.b64encode(photo).decode()
    before = funded_team.total_credits
    with pytest.raises(PayloadTooLarge) as generation:
        start_generation(funded_team, alice, "video_from_image", {"image_url": url})
    assert "307,200 pixels" in upload.value.message
    assert "307,200 pixels" in generation.value.message
    funded_team.refresh_from_db()
    assert funded_team.total_credits == before
