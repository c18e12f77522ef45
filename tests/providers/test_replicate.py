"""Replicate adapter against the fake predictions API, over real sockets."""

from __future__ import annotations

import pytest

from generations.providers.base import (
    CredentialCheckFailed,
    Failed,
    Finished,
    Pending,
    UpstreamCredential,
)
from generations.providers.replicate import ReplicateAdapter
from tests.fakes.replicate import ReplicateFake
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

server = fake_fixture(ReplicateFake)
MODELS = {
    "image": ("black-forest-labs/flux-schnell", "image"),
    "video": ("kwaivgi/kling-v1.6-standard", "video"),
    "video_from_image": ("kwaivgi/kling-v1.6-standard", "video"),
    "music": ("minimax/music-1.5", "audio"),
    "speech": ("minimax/speech-02-turbo", "audio"),
    "sound": ("someone/sound-model:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b662", "audio"),
}


class Base:
    def __init__(self, fake):
        self.url, self.secret = fake.base_url, fake.secret


@pytest.fixture
def fake(server):
    server.honour_wait = False
    yield reset(server)
    reset(server)
    server.honour_wait = True


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_each_type_runs_to_downloadable_files(fake, tmp_path, kind):
    model, media = MODELS[kind]
    params = {"voice": "Calm_Woman"} if kind == "speech" else {}
    job = make_job(Base(fake), "replicate", kind, model, tmp_path, **params)
    outcome, _ = run_to_end(ReplicateAdapter(), job)
    assert isinstance(outcome, Finished), outcome
    for data, _ in download(outcome):
        assert_media(data, media)
    body = fake.submitted[-1]
    if ":" in model:
        assert body["version"] == model.split(":")[1]
    if kind == "video_from_image":
        assert body["input"]["start_image"] == "https://images.example.com/cat.png"
    if kind == "speech":
        assert body["input"] == {"text": "Hello from Studio.", "voice_id": "Calm_Woman"}
    if kind == "image":
        assert body["input"]["aspect_ratio"] == "1:1" and body["input"]["num_outputs"] == 1


def test_prefer_wait_can_finish_in_the_submit(server, tmp_path):
    reset(server)
    job = make_job(Base(server), "replicate", "image", MODELS["image"][0], tmp_path, count=2)
    outcome = ReplicateAdapter().submit(job, print)
    assert isinstance(outcome, Finished) and len(outcome.outputs) == 2


def test_progress_comes_from_the_logs(fake, tmp_path):
    fake.polls_to_finish = 3
    adapter = ReplicateAdapter()
    job = make_job(Base(fake), "replicate", "video", MODELS["video"][0], tmp_path)
    pending = adapter.submit(job, print)
    assert isinstance(pending, Pending)
    polled = poll_once(adapter, with_handle(job, pending.handle))
    assert isinstance(polled, Pending) and polled.progress == 50


def test_failed_predictions_carry_their_error(fake, tmp_path):
    fake.faults.set("nsfw_job")
    job = make_job(Base(fake), "replicate", "image", MODELS["image"][0], tmp_path)
    outcome, _ = run_to_end(ReplicateAdapter(), job)
    failure = failure_of(outcome)
    assert failure.category == "content_policy" and "NSFW" in failure.message


def test_cancel(fake, tmp_path):
    adapter = ReplicateAdapter()
    job = make_job(Base(fake), "replicate", "video", MODELS["video"][0], tmp_path)
    pending = adapter.submit(job, print)
    adapter.cancel(with_handle(job, pending.handle))
    assert fake.calls["cancel"] == 1
    assert isinstance(poll_once(adapter, with_handle(job, pending.handle)), Failed)


def test_a_lost_submit_is_found_by_its_input(fake, tmp_path, fast):
    adapter = fast(ReplicateAdapter(), read=0.3)
    fake.faults.set("drop", on="submit", times=1)
    job = make_job(Base(fake), "replicate", "image", MODELS["image"][0], tmp_path, seed=99)
    assert failure_of(adapter.submit(job, print)).category == "unknown_outcome"
    found = adapter.reconcile(job)
    assert isinstance(found, Pending) and found.handle["prediction_id"] in fake.jobs
    other = make_job(Base(fake), "replicate", "image", MODELS["image"][0], tmp_path, seed=100)
    assert adapter.reconcile(other) is None


def test_check_credential(fake):
    adapter = ReplicateAdapter()
    adapter.check_credential(UpstreamCredential(1, "replicate", fake.base_url, fake.secret))
    with pytest.raises(CredentialCheckFailed):
        adapter.check_credential(UpstreamCredential(1, "replicate", fake.base_url, "r8_wrong"))


@pytest.mark.django_db(transaction=True)
def test_image_from_the_public_api_to_a_stored_asset(fake, api, funded_team, upstream_credentials):
    seed_upstream_models()
    upstream_credentials("replicate", fake.base_url, fake.secret)
    generation = drive_through_api(
        api,
        "/api/v1/generate/image",
        {"prompt": "a tram", "model": "replicate/black-forest-labs/flux-schnell"},
    )
    assert generation.state == "succeeded", generation.failure
    assert generation.assets.get().mime_type == "image/png"
