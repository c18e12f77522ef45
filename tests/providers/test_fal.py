"""fal.ai adapter against the fake queue API, over real sockets."""

from __future__ import annotations

import pytest

from generations.providers.base import CredentialCheckFailed, Failed, Finished, Pending
from generations.providers.fal import FalAdapter, app_id, build_input
from tests.fakes.fal import FalFake
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

server = fake_fixture(FalFake)
MODELS = {
    "image": ("fal-ai/flux/schnell", "image"),
    "video": ("fal-ai/kling-video/v2.1/standard/text-to-video", "video"),
    "video_from_image": ("fal-ai/kling-video/v2.1/standard/image-to-video", "video"),
    "music": ("fal-ai/stable-audio", "audio"),
    "sound": ("fal-ai/mmaudio-v2/text-to-audio", "audio"),
    "speech": ("fal-ai/kokoro/american-english", "audio"),
}


@pytest.fixture
def fake(server):
    yield reset(server)
    reset(server)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_each_type_runs_to_downloadable_files(fake, tmp_path, kind):
    model, media = MODELS[kind]
    params = {"voice": "af_heart"} if kind == "speech" else {}
    outcome, job = run_to_end(FalAdapter(), make_job(fake, "fal", kind, model, tmp_path, **params))
    assert isinstance(outcome, Finished), outcome
    files = download(outcome)
    assert files
    for data, _ in files:
        assert_media(data, media)
    body = fake.submitted[-1]
    if kind == "image":
        assert body["image_size"] == "square_hd" and body["num_images"] == 1
        assert body["enable_safety_checker"] is True
    if kind == "video_from_image":
        assert body["image_url"] == "https://images.example.com/cat.png"
    if kind == "speech":
        assert body == {"prompt": "Hello from Studio.", "voice": "af_heart"}
    # status and result use the app id, not the subpath; the key went as `Key <secret>`
    assert job.handle["status_url"].startswith(f"{fake.url}/{app_id(model)}/requests/")
    assert set(fake.auth_seen) == {fake.secret}


def test_params_map_to_fal_fields(fake, tmp_path):
    job = make_job(fake, "fal", "image", "fal-ai/flux/dev", tmp_path, aspect_ratio="21:9",
                   count=3, seed=7)  # fmt: skip
    body = build_input(job)
    assert body["image_size"] == {"width": 1024, "height": 432}
    assert body["num_images"] == 3 and body["seed"] == 7
    ultra = build_input(make_job(fake, "fal", "image", "fal-ai/flux-pro/v1.1-ultra", tmp_path))
    assert ultra["aspect_ratio"] == "1:1" and "image_size" not in ultra
    kling = build_input(make_job(fake, "fal", "video", MODELS["video"][0], tmp_path, duration=10))
    assert kling["duration"] == "10"


def test_progress_is_reported_while_queued_and_running(fake, tmp_path):
    fake.polls_to_finish = 4
    adapter = FalAdapter()
    outcome = adapter.submit(make_job(fake, "fal", "image", MODELS["image"][0], tmp_path), print)
    assert isinstance(outcome, Pending)
    job = with_handle(make_job(fake, "fal", "image", MODELS["image"][0], tmp_path), outcome.handle)
    first, second = poll_once(adapter, job), poll_once(adapter, job)
    assert isinstance(first, Pending) and first.progress == 2  # IN_QUEUE
    assert isinstance(second, Pending) and second.progress == 90  # "Generating 90%" in logs


def test_nsfw_flagged_images_fail_as_content_policy(fake, tmp_path):
    fake.faults.set("nsfw_job")
    outcome, _ = run_to_end(
        FalAdapter(), make_job(fake, "fal", "image", MODELS["image"][0], tmp_path)
    )
    assert failure_of(outcome).category == "content_policy"


def test_cancel_reaches_the_queue(fake, tmp_path):
    adapter = FalAdapter()
    job = make_job(fake, "fal", "video", MODELS["video"][0], tmp_path)
    pending = adapter.submit(job, print)
    assert isinstance(pending, Pending)
    adapter.cancel(with_handle(job, pending.handle))
    assert fake.calls["cancel"] == 1
    assert fake.jobs[pending.handle["request_id"]].cancelled
    after = poll_once(adapter, with_handle(job, pending.handle))
    assert isinstance(after, Failed)


def test_a_lost_submit_is_found_again_by_its_input(fake, tmp_path, fast):
    adapter = fast(FalAdapter(), read=0.3)
    fake.faults.set("hang", on="submit", times=1, delay=2)
    job = make_job(fake, "fal", "image", MODELS["image"][0], tmp_path, seed=1234)
    lost = adapter.submit(job, print)
    assert failure_of(lost).category == "unknown_outcome"
    assert len(fake.jobs) >= 1  # the upstream did accept it
    found = adapter.reconcile(job)
    assert isinstance(found, Pending)
    assert found.handle["request_id"] in fake.jobs
    outcome, _ = run_to_end_from(adapter, with_handle(job, found.handle))
    assert isinstance(outcome, Finished)


def test_reconcile_says_none_when_the_upstream_never_heard_of_it(fake, tmp_path):
    job = make_job(fake, "fal", "image", "fal-ai/flux/dev", tmp_path, prompt="never sent", seed=9)
    assert FalAdapter().reconcile(job) is None


def run_to_end_from(adapter, job):
    outcome = poll_once(adapter, job)
    for _ in range(10):
        if not isinstance(outcome, Pending):
            break
        job = with_handle(job, outcome.handle)
        outcome = poll_once(adapter, job)
    return outcome, job


def test_check_credential(fake):
    from generations.providers.base import UpstreamCredential

    adapter = FalAdapter()
    adapter.check_credential(UpstreamCredential(1, "fal", fake.url, fake.secret))
    with pytest.raises(CredentialCheckFailed, match="rejected"):
        adapter.check_credential(UpstreamCredential(1, "fal", fake.url, "wrong"))


@pytest.mark.django_db(transaction=True)
def test_image_from_the_public_api_to_a_stored_asset(fake, api, funded_team, upstream_credentials):
    seed_upstream_models()
    upstream_credentials("fal", fake.url, fake.secret)
    generation = drive_through_api(
        api, "/api/v1/generate/image", {"prompt": "a lighthouse", "model": "fal-ai/flux/schnell"}
    )
    assert generation.state == "succeeded", generation.failure
    asset = generation.assets.get()
    assert asset.mime_type == "image/png" and asset.width == 64
    assert fake.submitted[-1]["prompt"] == "a lighthouse"
