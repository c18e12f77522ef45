"""Kolbo's generation extras as the docs write them: raw model types, model details, voice
filters and names, session/project labels, credit breakdowns, cancels, failure severity and
unknown request fields."""

from __future__ import annotations

import pytest
from django.test import Client

from generations import engine
from generations.models import Generation
from generations.providers.base import Failure
from studio.accounts import credits
from studio.accounts.models import Bucket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


@pytest.fixture
def no_worker(monkeypatch):
    monkeypatch.setattr("generations.engine.enqueue", lambda *args: None)


def post(client: Client, path: str, body: dict):
    return client.post(path, body, content_type="application/json")


# --- models and voices ------------------------------------------------------------------------


def test_models_filter_on_the_raw_type_names_and_list_them_in_types(api):
    # GET /api/v1/models?type=text_to_img (the docs' raw type names)
    body = api.get("/api/v1/models?type=text_to_img").json()
    assert body["success"] is True and body["count"] >= 1
    assert all("text_to_img" in m["types"] for m in body["models"])
    speech = api.get("/api/v1/models?type=text_to_speech").json()["models"]
    assert [m["identifier"] for m in speech] == ["studio-local/speech"]
    assert api.get("/api/v1/models?type=img_to_video").json()["count"] >= 1


def test_models_carry_summary_visual_dna_support_and_defaults(api):
    models = {m["identifier"]: m for m in api.get("/api/v1/models").json()["models"]}
    image, video = models["studio-local/image"], models["studio-local/video"]
    assert image["summary"]
    assert image["supports_visual_dna"] is True and image["max_visual_dna"] == 3
    assert image["default_aspect_ratio"] == "1:1"
    assert video["default_aspect_ratio"] == "16:9" and video["default_duration"] == 5
    assert models["studio-local/speech"]["supports_visual_dna"] is False
    assert "max_visual_dna" not in models["studio-local/speech"]


def test_voice_filters_match_whatever_case_the_client_sends(api):
    # GET /api/v1/voices?gender=Female&language=English
    body = api.get("/api/v1/voices?gender=Female&language=English").json()
    assert body["count"] == 2
    assert {v["name"] for v in body["voices"]} == {"Ava", "Isla"}
    assert api.get("/api/v1/voices?provider=LOCAL&gender=MALE").json()["count"] >= 1
    assert api.get("/api/v1/voices?gender=robot").status_code == 400


def test_speech_takes_a_voice_by_its_name(api, funded):
    # {"text": "...", "voice": "Oliver"}
    start = post(api, "/api/v1/generate/speech", {"text": "Hello there", "voice": "Oliver"})
    assert start.status_code == 200, start.json()
    status = api.get(start.json()["poll_url"]).json()
    assert status["state"] == "completed"
    assert status["result"]["voice"] == "en-gb-m"
    unknown = post(api, "/api/v1/generate/speech", {"text": "Hi", "voice": "Nobody"})
    assert unknown.status_code == 400 and "voice" in unknown.json()["error"]


# --- session and project ----------------------------------------------------------------------


def test_every_start_answers_a_session_id_its_own_group_id_by_default(api, funded):
    body = post(api, "/api/v1/generate/image", {"prompt": "a red kite"}).json()
    assert body["session_id"] == body["generation_id"]
    assert body.get("project_id") is None


def test_a_clients_session_and_project_are_stored_returned_and_filterable(
    api, funded, alice_client
):
    body = post(
        api,
        "/api/v1/generate/image",
        {"prompt": "a blue kite", "session_id": "sess-42", "project_id": "spring-campaign"},
    ).json()
    assert body["session_id"] == "sess-42" and body["project_id"] == "spring-campaign"
    generation = Generation.objects.get(uuid=body["generation_id"])
    assert generation.params["session_id"] == "sess-42"
    other = post(api, "/api/v1/generate/image", {"prompt": "a green kite"}).json()

    gallery = f"/t/{funded.uuid}/gallery/"
    page = alice_client.get(gallery, {"session": "sess-42"}).content.decode()
    assert body["generation_id"] in page and other["generation_id"] not in page
    page = alice_client.get(gallery, {"project": "spring-campaign"}).content.decode()
    assert body["generation_id"] in page and other["generation_id"] not in page
    page = alice_client.get(gallery, {"session": other["session_id"]}).content.decode()
    assert other["generation_id"] in page and body["generation_id"] not in page


def test_a_session_id_too_long_is_refused_before_any_charge(api, funded):
    r = post(api, "/api/v1/generate/image", {"prompt": "kite", "session_id": "x" * 500})
    assert r.status_code == 400
    assert not Generation.objects.exists()


# --- credits, cancels, failures ---------------------------------------------------------------


def test_a_finished_status_carries_its_credits_breakdown(api, funded):
    start = post(api, "/api/v1/generate/image", {"prompt": "a lighthouse", "num_images": 2})
    status = api.get(start.json()["poll_url"]).json()
    assert status["state"] == "completed"
    [line] = status["credits_breakdown"]
    assert line["credits"] == start.json()["credits_charged"] == status["credits_used"]
    assert line["label"]


def test_a_cancel_answers_the_credits_refunded_and_the_status_shows_them(api, funded, no_worker):
    start = post(api, "/api/v1/generate/video", {"prompt": "waves", "duration": 4}).json()
    r = post(api, f"/api/v1/generate/{start['generation_id']}/cancel", {})
    body = r.json()
    assert r.status_code == 200
    assert body["success"] is True and body["state"] == "cancelled"
    assert body["generation_id"] == start["generation_id"]
    assert body["credits_refunded"] == start["credits_charged"]
    status = api.get(start["poll_url"]).json()
    assert status["state"] == "cancelled" and status["credits_used"] == 0
    assert status["failure"]["severity"] == "warning"
    assert sum(line["credits"] for line in status["credits_breakdown"]) == 0


def test_a_failure_carries_its_severity(api, funded, no_worker):
    start = post(api, "/api/v1/generate/image", {"prompt": "a fox"}).json()
    generation = Generation.objects.get(uuid=start["generation_id"])
    engine.fail(generation.pk, Failure("The upstream refused the job", provider="local"))
    status = api.get(start["poll_url"]).json()
    assert status["state"] == "failed"
    assert status["failure"]["severity"] == "error"
    assert status["credits_refunded"] == start["credits_charged"]


# --- unknown fields ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/generate/image", {"prompt": "a cat"}),
        ("/api/v1/generate/video", {"prompt": "waves", "duration": 4}),
        ("/api/v1/generate/music", {"prompt": "lofi", "duration": 5}),
        ("/api/v1/generate/speech", {"text": "Hello"}),
        ("/api/v1/generate/sound", {"prompt": "thunder", "duration": 2}),
        ("/api/v1/generate/creative-director", {"prompt": "a day at sea", "scene_count": 1}),
    ],
)
def test_unknown_fields_are_ignored_and_known_ones_still_validated(
    api, funded, no_worker, path, body
):
    ok = post(api, path, {**body, "client_tag": "x", "callback": {"any": 1}})
    assert ok.status_code == 200, ok.json()
    bad = post(api, path, {**body, "client_tag": "x", "model": 42})
    assert bad.status_code == 400


def test_krev_starts_ignore_unknown_fields_too(bearer, funded, no_worker):
    r = bearer.post(
        "/api/v1/images",
        {"prompt": "a mug", "client_tag": "x", "aspect_ratio": "1:1"},
        content_type="application/json",
    )
    assert r.status_code in (200, 202), r.json()
    bad = bearer.post(
        "/api/v1/images", {"prompt": "a mug", "image_count": 3}, content_type="application/json"
    )
    assert bad.status_code == 400
