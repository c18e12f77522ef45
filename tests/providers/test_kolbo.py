"""Kolbo adapter against the fake Kolbo Developer API, over real sockets."""

from __future__ import annotations

import pytest

from generations.providers.base import (
    CredentialCheckFailed,
    Failed,
    Finished,
    Pending,
    UpstreamCredential,
)
from generations.providers.kolbo import KolboAdapter, api_root, build_body
from tests.fakes.kolbo import KolboFake
from tests.providers.conftest import (
    assert_media,
    download,
    drive_through_api,
    failure_of,
    fake_fixture,
    make_job,
    poll_once,
    reset,
    run_to_end,
    seed_upstream_models,
    with_handle,
)

server = fake_fixture(KolboFake)
MEDIA = {"image": "image", "video": "video", "video_from_image": "video", "music": "audio",
         "speech": "audio", "sound": "audio"}  # fmt: skip


@pytest.fixture
def fake(server):
    yield reset(server)
    reset(server)


@pytest.mark.parametrize("kind", sorted(MEDIA))
def test_each_type_runs_to_downloadable_files(fake, tmp_path, kind):
    params = {"voice": "en-us-f"} if kind == "speech" else {}
    job = make_job(fake, "kolbo", kind, "auto", tmp_path, **params)
    outcome, _ = run_to_end(KolboAdapter(), job)
    assert isinstance(outcome, Finished), outcome
    for data, _ in download(outcome):
        assert_media(data, MEDIA[kind])
    body = fake.submitted[-1]
    assert "model" not in body  # "auto": Kolbo's own Smart Select
    if kind == "video_from_image":
        assert body["image_url"] == "https://images.example.com/cat.png"
    assert set(fake.auth_seen) == {fake.secret}


def test_params_map_to_kolbo_fields(fake, tmp_path):
    body = build_body(make_job(fake, "kolbo", "image", "fal-ai/flux/schnell", tmp_path, count=3))
    assert body["num_images"] == 3 and body["model"] == "fal-ai/flux/schnell"
    music = build_body(make_job(fake, "kolbo", "music", "auto", tmp_path, vocal_gender="f",
                                instrumental=False, lyrics="la la"))  # fmt: skip
    assert music["vocal_gender"] == "f" and music["lyrics"] == "la la"
    assert api_root("https://api.kolbo.ai/api/v1/") == "https://api.kolbo.ai"


def test_poll_interval_hint_is_honoured(fake, tmp_path):
    outcome = KolboAdapter().submit(make_job(fake, "kolbo", "video", "auto", tmp_path), print)
    assert isinstance(outcome, Pending) and outcome.poll_after == 8


def test_a_failed_generation_carries_its_error(fake, tmp_path):
    fake.faults.set("fail_job", message="Upstream model crashed")
    outcome, _ = run_to_end(KolboAdapter(), make_job(fake, "kolbo", "image", "auto", tmp_path))
    failure = failure_of(outcome)
    assert "Upstream model crashed" in failure.message and not failure.retryable


def test_insufficient_credits_is_quota(fake, tmp_path):
    fake.faults.set("quota")
    outcome = KolboAdapter().submit(make_job(fake, "kolbo", "image", "auto", tmp_path), print)
    assert failure_of(outcome).category == "quota"


def test_cancel(fake, tmp_path):
    adapter = KolboAdapter()
    job = make_job(fake, "kolbo", "video", "auto", tmp_path)
    pending = adapter.submit(job, print)
    adapter.cancel(with_handle(job, pending.handle))
    assert fake.calls["cancel"] == 1
    assert isinstance(poll_once(adapter, with_handle(job, pending.handle)), Failed)


def test_reconcile_replays_the_idempotency_key(fake, tmp_path, fast):
    adapter = fast(KolboAdapter(), read=0.3)
    fake.faults.set("hang", on="submit", times=1, delay=1.5)
    job = make_job(fake, "kolbo", "image", "auto", tmp_path)
    before = len(fake.jobs)
    assert failure_of(adapter.submit(job, print)).category == "unknown_outcome"
    found = adapter.reconcile(job)
    assert isinstance(found, Pending)
    assert len(fake.jobs) == before + 1  # the replay did not start a second job
    assert found.handle["generation_id"] in fake.jobs


def test_check_credential(fake):
    adapter = KolboAdapter()
    adapter.check_credential(UpstreamCredential(1, "kolbo", fake.url + "/api/v1", fake.secret))
    with pytest.raises(CredentialCheckFailed):
        adapter.check_credential(UpstreamCredential(1, "kolbo", fake.url, "kolbo_live_wrong"))


@pytest.mark.django_db(transaction=True)
def test_image_from_the_public_api_to_a_stored_asset(fake, api, funded_team, upstream_credentials):
    seed_upstream_models()
    fake.poll_hint = 0.1
    upstream_credentials("kolbo", fake.url, fake.secret)
    try:
        generation = drive_through_api(
            api, "/api/v1/generate/image", {"prompt": "a fjord", "model": "kolbo/auto-image",
                                            "num_images": 2}
        )  # fmt: skip
    finally:
        fake.poll_hint = None
    assert generation.state == "succeeded", generation.failure
    assert generation.assets.count() == 2
    assert fake.submitted[-1]["num_images"] == 2
