"""Content safety on image results: a score on every image, and the configured action for one
over the threshold (flag, blur the preview, or refuse: failed and refunded)."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from PIL import Image

from generations.models import Asset, Generation, SafetyPolicy
from studio import safety
from studio.accounts import credits
from studio.accounts.models import Bucket
from studio.vault.services import create_api_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(team, alice) -> Client:
    """A client sending alice's API key, as a Kolbo client does."""
    return Client(headers={"X-API-Key": create_api_key(team, alice, "Safety").full_key})


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    team.refresh_from_db()
    return team


def start_image(api: Client) -> dict:
    r = api.post("/api/v1/generate/image", {"prompt": "a lighthouse at dusk"}, "application/json")
    assert r.status_code == 200, r.content
    return r.json()


def balance(team) -> int:
    team.refresh_from_db()
    return team.total_credits


def test_a_normal_image_gets_a_low_real_score():
    assert safety.available()
    landscape = Image.new("RGB", (320, 240), (90, 150, 220))
    score = safety.score_image(landscape)
    assert score is not None and 0 <= score < 0.2


def test_every_image_result_is_scored_and_a_normal_one_passes(api, funded):
    start = start_image(api)
    status = api.get(start["poll_url"]).json()
    assert status["state"] == "completed"
    asset = Asset.objects.get(generation__uuid=start["generation_id"])
    assert asset.safety_score is not None and asset.safety_score < 0.8
    assert asset.flagged is False


def test_over_the_threshold_with_refuse_the_job_fails_as_content_policy_and_is_refunded(
    api, funded, settings
):
    settings.STUDIO_SAFETY_THRESHOLD = 0.0  # every image is "over" it
    settings.STUDIO_SAFETY_ACTION = "refuse"
    before = balance(funded)
    start = start_image(api)
    status = api.get(start["poll_url"]).json()
    assert status["state"] == "failed"
    assert status["failure"]["category"] == "content_policy"
    assert status["failure"]["severity"] == "error"
    assert status["credits_refunded"] == start["credits_charged"] and status["credits_used"] == 0
    assert balance(funded) == before
    assert not Asset.objects.filter(generation__uuid=start["generation_id"]).exists()


def test_over_the_threshold_with_blur_the_result_is_flagged_and_its_preview_blurred(
    api, funded, settings, monkeypatch
):
    settings.STUDIO_SAFETY_ACTION = "blur"
    monkeypatch.setattr(safety, "score_file", lambda path: 0.97)
    start = start_image(api)
    status = api.get(start["poll_url"]).json()
    assert status["state"] == "completed"
    asset = Asset.objects.get(generation__uuid=start["generation_id"])
    assert asset.flagged and asset.safety_score == 0.97
    with asset.thumbnail.open("rb") as f, Image.open(f) as thumb:
        soft = thumb.convert("L")
    with asset.file.open("rb") as f, Image.open(f) as full:
        sharp = full.convert("L").resize(soft.size)  # the preview it would have been

    def detail(image: Image.Image) -> float:
        pixels = list(image.tobytes())
        return sum(abs(a - b) for a, b in itertools.pairwise(pixels)) / len(pixels)

    assert detail(soft) < detail(sharp) * 0.5


def test_an_admins_team_override_beats_the_settings(api, funded, settings, monkeypatch):
    settings.STUDIO_SAFETY_ACTION = "flag"
    monkeypatch.setattr(safety, "score_file", lambda path: 0.5)
    SafetyPolicy.objects.create(team=funded, threshold=0.4, action="refuse")
    start = start_image(api)
    status = api.get(start["poll_url"]).json()
    assert status["state"] == "failed" and status["failure"]["category"] == "content_policy"
    assert Generation.objects.get(uuid=start["generation_id"]).credits_refunded > 0


def test_flag_keeps_the_result_and_marks_it(api, funded, settings, monkeypatch):
    settings.STUDIO_SAFETY_ACTION = "flag"
    monkeypatch.setattr(safety, "score_file", lambda path: 0.9)
    start = start_image(api)
    assert api.get(start["poll_url"]).json()["state"] == "completed"
    assert Asset.objects.get(generation__uuid=start["generation_id"]).flagged


def test_the_admin_lists_results_with_their_safety_scores(funded, api, admin_client):
    start = start_image(api)
    api.get(start["poll_url"])
    page = admin_client.get("/admin/generations/asset/").content.decode()
    assert "Safety score" in page
    assert admin_client.get("/admin/generations/safetypolicy/add/").status_code == 200


# --- uploads ----------------------------------------------------------------------------------


def product_upload():
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    Image.new("RGB", (200, 160), (214, 22, 160)).save(buffer, "PNG")
    return SimpleUploadedFile("bag.png", buffer.getvalue(), "image/png")


def test_an_upload_is_scored_and_the_score_kept_on_its_image(api, funded):
    from catalog.models import Product

    r = api.post("/api/v1/products", {"file": product_upload()})
    assert r.status_code == 200, r.content
    product = Product.objects.get(pk=r.json()["data"]["id"])
    assert product.original.safety_score is not None and product.original.safety_score < 0.8
    assert product.original.flagged is False


def test_an_upload_over_the_threshold_is_refused_with_refuse_and_nothing_is_stored(
    api, funded, settings
):
    from catalog.models import CatalogImage, Product

    settings.STUDIO_SAFETY_THRESHOLD = 0.0
    settings.STUDIO_SAFETY_ACTION = "refuse"
    r = api.post("/api/v1/products", {"file": product_upload()})
    assert r.status_code == 400 and "content policy" in r.json()["error"]
    assert not Product.objects.exists() and not CatalogImage.objects.filter(team=funded).exists()
    funded.refresh_from_db()
    assert funded.storage_used_bytes == 0
