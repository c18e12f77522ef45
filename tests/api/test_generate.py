"""Generation endpoints of both dialects, sent as the seeds' and the contract's examples."""

from __future__ import annotations

import io
from urllib.parse import urlparse

import pytest
from django.test import Client
from PIL import Image

from generations.models import Generation
from studio.accounts import credits
from studio.accounts.models import Bucket, LedgerEntry, LedgerKind

# Transactional, so generations are enqueued on commit and run (inline) as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


@pytest.fixture
def no_worker(monkeypatch):
    """Jobs stay queued: nothing runs them (as when the cluster is busy or down)."""
    monkeypatch.setattr("generations.engine.enqueue", lambda *args: None)


def post(client: Client, path: str, body: dict, **headers):
    return client.post(path, body, content_type="application/json", headers=headers)


def fetch(url: str, **headers):
    """GET an absolute Studio media URL as a browser would: no key, no session."""
    parsed = urlparse(url)
    return Client().get(f"{parsed.path}?{parsed.query}", headers=headers)


def balance(team) -> int:
    team.refresh_from_db()
    return team.total_credits


# --- Kolbo ------------------------------------------------------------------------------------


def test_kolbo_quick_start_generates_an_image_and_polls_it_to_completion(api, funded):
    # The quick start's curl: POST /api/v1/generate/image with X-API-Key,
    # {"prompt": "A sunset over mountains", "aspect_ratio": "16:9"}
    r = post(
        api, "/api/v1/generate/image", {"prompt": "A sunset over mountains", "aspect_ratio": "16:9"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["type"] == "image"
    assert body["poll_url"] == f"/api/v1/generate/{body['generation_id']}/status"
    assert body["poll_interval_hint"] == 3 and body["credits_charged"] == 40
    assert body["model"] == "studio-local/image"

    status = api.get(body["poll_url"]).json()
    assert status["state"] == "completed" and status["progress"] == 100
    assert status["result"]["model"] == "studio-local/image"
    assert status["result"]["prompt_used"] == "A sunset over mountains"
    [url] = status["result"]["urls"]
    assert url.startswith("http://") and "/m/" in url
    image = fetch(url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(b"".join(image.streaming_content))) as png:
        assert abs(png.width / png.height - 16 / 9) < 0.02


def test_kolbo_unknown_model_is_model_not_found_as_documented(api, funded):
    r = post(api, "/api/v1/generate/image", {"prompt": "A cat", "model": "nonexistent-model"})
    assert r.status_code == 400
    assert r.json() == {"success": False, "error": "Model not found", "code": "MODEL_NOT_FOUND"}


def test_kolbo_missing_prompt_names_the_field(api, funded):
    r = post(api, "/api/v1/generate/image", {"aspect_ratio": "1:1"})
    assert r.status_code == 400
    assert r.json()["code"] == "MISSING_FIELDS" and "prompt" in r.json()["error"]


def test_kolbo_insufficient_credits_is_a_400(api, team):
    r = post(api, "/api/v1/generate/video", {"prompt": "epic", "duration": 15})
    assert r.status_code == 400 and r.json()["code"] == "INSUFFICIENT_CREDITS"
    assert not Generation.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "result_keys"),
    [
        (
            "/api/v1/generate/music",
            {"prompt": "lofi beat", "duration": 5, "lyrics": "la la"},
            {"title", "duration", "lyrics"},
        ),
        (
            "/api/v1/generate/speech",
            {"text": "Hello from Studio", "voice": "en-gb-m"},
            {"voice", "duration"},
        ),
        ("/api/v1/generate/sound", {"prompt": "thunder", "duration": 2}, {"duration"}),
        (
            "/api/v1/generate/video",
            {"prompt": "waves", "duration": 4},
            {"thumbnail_url", "duration", "aspect_ratio"},
        ),
    ],
)
def test_kolbo_media_generations_complete_with_their_result_fields(
    api, funded, path, body, result_keys
):
    start = post(api, path, body).json()
    status = api.get(start["poll_url"]).json()
    assert status["state"] == "completed", status
    assert set(status["result"]) >= {"urls", "model", "prompt_used", "created_at", *result_keys}
    media = fetch(status["result"]["urls"][0])
    assert media.status_code == 200
    assert media["Content-Type"].split("/")[0] in {"audio", "video"}
    if "duration" in body:
        assert abs(status["result"]["duration"] - body["duration"]) < 0.2


def test_kolbo_video_from_an_image_the_team_generated(api, funded):
    image = api.get(
        post(api, "/api/v1/generate/image", {"prompt": "a red bicycle"}).json()["poll_url"]
    ).json()
    start = post(
        api,
        "/api/v1/generate/video/from-image",
        {"image_url": image["result"]["urls"][0], "duration": 4},
    ).json()
    status = api.get(start["poll_url"]).json()
    assert status["type"] == "video" and status["state"] == "completed"
    assert fetch(status["result"]["urls"][0])["Content-Type"] == "video/mp4"


def test_kolbo_a_queued_job_reports_processing(api, funded, no_worker):
    start = post(api, "/api/v1/generate/image", {"prompt": "a cat"}).json()
    status = api.get(start["poll_url"]).json()
    assert status["state"] == "processing" and status["progress"] == 0
    assert "result" not in status


def test_kolbo_cancel_refunds_and_a_second_cancel_is_a_conflict(api, funded, no_worker):
    before = balance(funded)
    start = post(api, "/api/v1/generate/video", {"prompt": "waves", "duration": 4}).json()
    r = api.post(f"/api/v1/generate/{start['generation_id']}/cancel")
    assert r.status_code == 200
    assert r.json()["credits_refunded"] == 320 and r.json()["state"] == "cancelled"
    assert balance(funded) == before
    again = api.post(f"/api/v1/generate/{start['generation_id']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "CONFLICT"
    status = api.get(start["poll_url"]).json()
    assert status["state"] == "cancelled" and status["failure"]["category"] == "cancelled"


def test_an_idempotency_key_retry_returns_the_same_generation_and_charges_once(api, funded):
    before = balance(funded)
    first = post(api, "/api/v1/generate/image", {"prompt": "a cat"}, **{"Idempotency-Key": "abc"})
    again = post(api, "/api/v1/generate/image", {"prompt": "a cat"}, **{"Idempotency-Key": "abc"})
    assert first.json()["generation_id"] == again.json()["generation_id"]
    assert balance(funded) == before - 40
    other = post(api, "/api/v1/generate/image", {"prompt": "a dog"}, **{"Idempotency-Key": "abc"})
    assert other.status_code == 409


def test_another_teams_generation_is_not_found(api, funded, other_team, charlie, make_key):
    start = post(api, "/api/v1/generate/image", {"prompt": "secret"}).json()
    outsider = Client(headers={"X-API-Key": make_key(other_team, charlie)})
    for method, path in [
        ("get", f"/api/v1/generate/{start['generation_id']}/status"),
        ("post", f"/api/v1/generate/{start['generation_id']}/cancel"),
        ("get", f"/api/v1/generations/{start['generation_id']}"),
        ("get", "/api/v1/generate/not-a-uuid/status"),
    ]:
        r = getattr(outsider, method)(path)
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", path


def test_another_teams_media_link_cannot_be_used_as_an_input(
    api, funded, other_team, charlie, make_key
):
    image = api.get(
        post(api, "/api/v1/generate/image", {"prompt": "mine"}).json()["poll_url"]
    ).json()
    credits.grant(other_team, 1000, bucket=Bucket.PACK)
    outsider = Client(headers={"X-API-Key": make_key(other_team, charlie)})
    r = post(
        outsider, "/api/v1/generate/video/from-image", {"image_url": image["result"]["urls"][0]}
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_FIELDS"


def test_a_key_without_the_scope_cannot_start_that_kind_of_work(team, alice, make_key, funded):
    client = Client(headers={"X-API-Key": make_key(team, alice, scopes=["images"])})
    assert post(client, "/api/v1/generate/music", {"prompt": "x"}).status_code == 403
    assert post(client, "/api/v1/generate/image", {"prompt": "x"}).status_code == 200


# --- Krev -------------------------------------------------------------------------------------


def test_krev_images_example_returns_the_images_inline(bearer, funded):
    r = post(
        bearer,
        "/api/v1/images",
        {
            "prompt": "Premium leather wallet on dark marble surface, studio lighting",
            "aspect_ratio": "1:1",
            "image_count": 2,
        },
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert r.json()["success"] is True
    assert data["image_count"] == 2 and data["credits_used"] == 80
    assert len(data["images"]) == 2 and data["generation_id"]
    assert all(fetch(url).status_code == 200 for url in data["images"])


def test_krev_video_example_returns_the_video_inline(bearer, funded):
    r = post(
        bearer,
        "/api/v1/videos",
        {
            "prompt": "Smooth camera pan around sneakers with soft lighting",
            "aspect_ratio": "16:9",
            "duration": 5,
        },
    )
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["duration"] == 5 and data["credits_used"] == 400
    video = fetch(data["video_url"])
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"


def test_krev_answers_202_to_poll_when_the_work_outlasts_the_wait(
    bearer, funded, no_worker, settings
):
    settings.STUDIO_INLINE_WAIT_SECONDS = 0.3
    r = post(bearer, "/api/v1/images", {"prompt": "a slow one"})
    assert r.status_code == 202
    data = r.json()["data"]
    assert data["status"] == "queued" and data["images"] == []
    poll = bearer.get(f"/api/v1/generations/{data['generation_id']}").json()
    assert poll["success"] is True
    assert poll["data"]["status"] == "queued" and poll["data"]["output"] == {"urls": []}


def test_krev_generation_status_has_the_contract_shape(bearer, funded):
    data = post(bearer, "/api/v1/images", {"prompt": "a cat"}).json()["data"]
    body = bearer.get(f"/api/v1/generations/{data['generation_id']}").json()["data"]
    assert set(body) >= {
        "id",
        "kind",
        "status",
        "progress",
        "output",
        "error",
        "created_at",
        "completed_at",
    }
    assert body["status"] == "succeeded" and body["kind"] == "image" and body["error"] is None
    assert len(body["output"]["urls"]) == 1


def test_krev_insufficient_credits_is_a_402(bearer, team):
    r = post(bearer, "/api/v1/videos", {"prompt": "epic", "duration": 15})
    assert r.status_code == 402 and r.json()["code"] == "INSUFFICIENT_CREDITS"


def test_krev_rejects_values_outside_the_documented_sets(bearer, funded):
    for body in (
        {"prompt": "x", "aspect_ratio": "21:9"},
        {"prompt": "x", "image_count": 3},
    ):
        r = post(bearer, "/api/v1/images", body)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_FIELDS", body
    assert post(bearer, "/api/v1/videos", {"prompt": "x", "duration": 16}).status_code == 400
    assert LedgerEntry.objects.filter(kind=LedgerKind.DEBIT).count() == 0


def test_krev_unknown_product_is_not_found(bearer, funded):
    r = post(
        bearer,
        "/api/v1/images",
        {"prompt": "x", "product_id": "d1e2f3a4-0000-0000-0000-000000000000"},
    )
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


# --- Media links ------------------------------------------------------------------------------


def test_media_links_are_signed_expiring_and_support_ranges(api, funded):
    status = api.get(
        post(api, "/api/v1/generate/sound", {"prompt": "rain", "duration": 2}).json()["poll_url"]
    ).json()
    url = status["result"]["urls"][0]
    parsed = urlparse(url)
    ranged = fetch(url, Range="bytes=0-99")
    assert ranged.status_code == 206 and len(b"".join(ranged.streaming_content)) == 100
    assert ranged["Content-Range"].startswith("bytes 0-99/")
    tampered = parsed.query.replace("s=", "s=x")
    assert Client().get(f"{parsed.path}?{tampered}").status_code == 404
    assert Client().get(parsed.path).status_code == 404
