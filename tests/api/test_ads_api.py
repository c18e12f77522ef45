"""`POST /api/v1/ads` and `GET /api/v1/ads/styles`, sent as the Krev seed's example."""

from __future__ import annotations

import io
from urllib.parse import urlparse

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from generations import engine
from generations.models import Generation
from studio.accounts import credits
from studio.accounts.models import Bucket, LedgerEntry, LedgerKind
from tests.catalog.conftest import PRODUCT_RGB
from tests.generations.test_ads import analysed_product

# Transactional, so ads are enqueued on commit and run (inline) as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def rule_copy_only(monkeypatch):
    monkeypatch.setattr("generations.ads.copywriter.model_copy", lambda *args: None)


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


def post(client: Client, body: dict):
    return client.post("/api/v1/ads", body, content_type="application/json")


def fetch_image(url: str) -> np.ndarray:
    parsed = urlparse(url)
    response = Client().get(f"{parsed.path}?{parsed.query}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB")).astype(int)


def balance(team) -> int:
    team.refresh_from_db()
    return team.total_credits


def test_the_seeds_ads_example_returns_finished_ads_with_their_copy(bearer, api, funded):
    product = analysed_product(funded)
    before = balance(funded)
    r = post(
        bearer,
        {
            "brief": "Create a direct response ad for this protein bar",
            "product_ids": [str(product.pk)],
            "aspect_ratio": "4:5",
            "image_count": 2,
        },
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["success"] is True
    data = body["data"]
    assert data["image_count"] == 2 and len(data["images"]) == 2
    assert data["credits_used"] == 80 and balance(funded) == before - 80
    copy = data["ad_copy"]
    assert set(copy) >= {"style_name", "hook", "headline", "body_copy", "cta"}
    assert all(copy[k] for k in ("style_name", "hook", "headline", "cta"))
    assert "Day Shift" in " ".join(copy.values()) and data["copy_source"] == "rules"
    assert len(data["plain_images"]) == 2
    for url, plain_url in zip(data["images"], data["plain_images"], strict=True):
        ad, plain = fetch_image(url), fetch_image(plain_url)
        assert ad.shape == (1024, 816, 3) == plain.shape
        product_pixels = (np.abs(ad - np.array(PRODUCT_RGB)).max(axis=2) < 40).mean()
        assert product_pixels > 0.02
        # The text layer is what tells them apart, and it covers a real part of the image.
        assert 0.01 < (np.abs(ad - plain).max(axis=2) > 60).mean() < 0.5
    # The Kolbo status route knows it too: the finished ads are its results.
    status = api.get(f"/api/v1/generate/{data['generation_id']}/status").json()
    assert status["state"] == "completed" and status["type"] == "ad"
    assert len(status["result"]["urls"]) == 2


def test_ad_styles_are_listed_with_ids_names_and_descriptions(bearer):
    r = bearer.get("/api/v1/ads/styles")
    assert r.status_code == 200
    body = r.json()
    assert body["meta"]["count"] == len(body["data"]) >= 6
    ids = {style["id"] for style in body["data"]}
    assert {"performance", "testimonial", "offer", "minimal", "ugc", "feature_callout"} <= ids
    assert all(style["name"] and style["description"] for style in body["data"])


def test_unknown_or_other_team_products_are_not_found_and_nothing_is_charged(
    bearer, funded, other_team
):
    theirs = analysed_product(other_team)
    before = balance(funded)
    for product_id in (str(theirs.pk), "d1e2f3a4-0000-0000-0000-000000000000", "nope"):
        r = post(bearer, {"brief": "An ad", "product_ids": [product_id]})
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", product_id
    assert balance(funded) == before
    assert not Generation.objects.filter(team=funded).exists()
    assert not LedgerEntry.objects.filter(team=funded, kind=LedgerKind.DEBIT).exists()


def test_bad_ad_requests_are_refused_with_the_field_named(bearer, funded):
    product = analysed_product(funded)
    cases = [
        ({"product_ids": [str(product.pk)]}, "MISSING_FIELDS"),
        ({"brief": "An ad", "product_ids": []}, "MISSING_FIELDS"),
        ({"brief": "An ad", "product_ids": [str(product.pk)], "aspect_ratio": "16:9"}, None),
        ({"brief": "An ad", "product_ids": [str(product.pk)], "image_count": 3}, None),
        ({"brief": "An ad", "product_ids": [str(product.pk)], "style_id": "loud"}, None),
    ]
    for body, code in cases:
        r = post(bearer, body)
        assert r.status_code == 400, (body, r.content)
        assert r.json()["code"] in ({code} if code else {"INVALID_FIELDS", "MISSING_FIELDS"})
    assert not LedgerEntry.objects.filter(kind=LedgerKind.DEBIT).exists()


def test_a_slow_ad_answers_202_and_polls_to_completion_as_kind_ad(
    bearer, funded, monkeypatch, settings
):
    settings.STUDIO_INLINE_WAIT_SECONDS = 0.2
    product = analysed_product(funded)
    enqueue = engine.enqueue
    monkeypatch.setattr("generations.engine.enqueue", lambda *args: None)
    r = post(bearer, {"brief": "A calm ad", "product_ids": [str(product.pk)], "image_count": 2})
    assert r.status_code == 202
    data = r.json()["data"]
    assert data["status"] == "queued" and data["images"] == [] and "ad_copy" not in data
    assert data["poll_url"] == f"/api/v1/generations/{data['generation_id']}"
    poll = bearer.get(data["poll_url"]).json()["data"]
    assert poll["kind"] == "ad" and poll["status"] == "queued"
    monkeypatch.setattr("generations.engine.enqueue", enqueue)
    engine.submit(Generation.objects.get(uuid=data["generation_id"]).pk)
    poll = bearer.get(data["poll_url"]).json()["data"]
    assert poll["kind"] == "ad" and poll["status"] == "succeeded"
    # The finished ads, not their text-free copies, are the generation's output.
    assert len(poll["output"]["urls"]) == 2 and poll["credits_used"] == 80


def test_a_key_without_the_ads_scope_is_forbidden(funded, alice, make_key):
    key = make_key(funded, alice, scopes=["images"])
    client = Client(headers={"Authorization": f"Bearer {key}"})
    assert post(client, {"brief": "x", "product_ids": ["y"]}).status_code == 403
