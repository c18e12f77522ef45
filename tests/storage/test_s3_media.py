"""Media on S3: a real S3 protocol server (moto) on loopback stands in for the bucket.

Every kind of result the offline engine makes is stored in the bucket, served through its
Studio-signed link (a redirect to a short-lived presigned URL that returns the bytes) and
deleted again (objects gone, the team's storage given back); catalog uploads land there too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client

from generations import services
from generations.models import Generation, GenerationState
from tests.generations.helpers import run, start

pytestmark = pytest.mark.django_db


def follow_signed_link(url: str, **query: str) -> httpx.Response:
    """Open a Studio link as a browser would: Studio answers a redirect to the store."""
    parts = urlsplit(url)
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    answer = Client().get(f"{parts.path}?{parts.query}{extra}")
    assert answer.status_code == 302, answer.content[:200]
    location = answer["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=" in location
    return httpx.get(location, timeout=30)


def stored_names(generation: Generation) -> list[str]:
    names = []
    for asset in generation.assets.all():
        names.append(asset.file.name)
        if asset.thumbnail:
            names.append(asset.thumbnail.name)
    return sorted(names)


def test_every_kind_of_result_is_stored_served_and_deleted_on_s3(s3_media, funded_team, alice):
    from generations.assets import asset_urls

    image = run(start(funded_team, alice, "image", {"prompt": "a lighthouse at dusk"}))
    image_link = asset_urls(image.assets.get())["url"]
    requests = [
        ("video", {"prompt": "waves on a pier", "duration": 4}),
        ("video_from_image", {"image_url": image_link, "duration": 4}),
        ("music", {"prompt": "calm piano", "duration": 5}),
        ("speech", {"text": "Stored in a bucket, served by a signed link."}),
        ("sound", {"prompt": "rain on a tin roof", "duration": 1}),
    ]
    generations = [image] + [run(start(funded_team, alice, kind, body)) for kind, body in requests]

    for generation in generations:
        assert generation.state == GenerationState.SUCCEEDED, (generation.type, generation.error)
        asset = generation.assets.get()
        # The file and its thumbnail are objects in the bucket, under the generation's key.
        assert set(stored_names(generation)) <= set(s3_media.keys())
        assert asset.size_bytes == len(s3_media.read(asset.file.name))
        urls = asset_urls(asset)
        served = follow_signed_link(urls["url"])
        assert served.status_code == 200
        assert served.content == s3_media.read(asset.file.name)
        assert served.headers["content-type"] == asset.mime_type
        thumb = follow_signed_link(urls["thumbnail_url"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    funded_team.refresh_from_db()
    stored = sum(a.stored_bytes for g in generations for a in g.assets.all())
    assert funded_team.storage_used_bytes == stored > 0

    for generation in generations:
        services.delete_generation(generation)
    assert s3_media.keys() == []
    funded_team.refresh_from_db()
    assert funded_team.storage_used_bytes == 0


def test_a_download_link_names_the_file_through_the_presigned_url(s3_media, funded_team, alice):
    from generations.assets import asset_urls

    generation = run(start(funded_team, alice, "sound", {"prompt": "a bell", "duration": 1}))
    asset = generation.assets.get()
    served = follow_signed_link(asset_urls(asset)["url"], download="1")
    assert served.status_code == 200
    # Named from the job (prompt slug, id, number), not the storage key.
    expected = f"a-bell-{str(generation.uuid)[:8]}-1.wav"
    assert served.headers["content-disposition"] == f'attachment; filename="{expected}"'


def test_a_tampered_or_expired_link_never_reaches_the_bucket(s3_media, funded_team, alice):
    from generations.assets import asset_urls

    generation = run(start(funded_team, alice, "sound", {"prompt": "a bell", "duration": 1}))
    parts = urlsplit(asset_urls(generation.assets.get(), ttl=60)["url"])
    tampered = parts.query.replace("s=", "s=x")
    assert Client().get(f"{parts.path}?{tampered}").status_code == 404
    assert Client().get(parts.path).status_code == 404


def test_a_product_upload_lands_in_the_bucket_and_is_served_and_deleted_from_it(
    s3_media, bearer, team, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog import services as catalog
    from catalog.models import Product
    from tests.catalog.conftest import product_photo

    data = product_photo()
    response = bearer.post(
        "/api/v1/products", {"file": SimpleUploadedFile("bottle.jpg", data, "image/jpeg")}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    product = Product.objects.select_related("original", "cutout").get()
    keys = s3_media.keys()
    assert product.original.file.name in keys and product.cutout.file.name in keys
    assert s3_media.read(product.original.file.name) == data
    original = follow_signed_link(body["data"]["image_url"])
    assert original.status_code == 200 and original.content == data
    team.refresh_from_db()
    assert team.storage_used_bytes == len(data) + product.cutout.size_bytes

    with django_capture_on_commit_callbacks(execute=True):
        catalog.delete_product(product)
    assert s3_media.keys() == []
    team.refresh_from_db()
    assert team.storage_used_bytes == 0
