"""Krev adapter against the fake Krev API, over real sockets."""

from __future__ import annotations

import pytest

from generations.providers.base import (
    CredentialCheckFailed,
    Finished,
    Pending,
    UpstreamCredential,
)
from generations.providers.krev import KrevAdapter
from tests.fakes.krev import KrevFake
from tests.providers.conftest import (
    assert_media,
    download,
    drive_through_api,
    failure_of,
    fake_fixture,
    make_job,
    reset,
    run_to_end,
    seed_upstream_models,
)

server = fake_fixture(KrevFake)
MEDIA = {"image": "image", "video": "video", "video_from_image": "video"}


@pytest.fixture
def fake(server):
    yield reset(server)
    server.inline = True
    reset(server)


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "polled"])
@pytest.mark.parametrize("kind", sorted(MEDIA))
def test_each_type_runs_to_downloadable_files(fake, tmp_path, kind, inline):
    fake.inline = inline
    job = make_job(fake, "krev", kind, "krev-" + kind, tmp_path, count=2)
    polls_before = fake.calls["status"]
    outcome, _ = run_to_end(KrevAdapter(), job)
    assert isinstance(outcome, Finished), outcome
    files = download(outcome)
    assert len(files) == (2 if kind == "image" else 1)
    for data, _ in files:
        assert_media(data, MEDIA[kind])
    body = fake.submitted[-1]
    if kind == "image":
        assert body["image_count"] == 2 and body["hd"] is False
    if kind == "video_from_image":
        assert body["source_image"] == "https://images.example.com/cat.png"
    assert fake.calls["status"] - polls_before == (0 if inline else 2)


def test_three_images_is_invalid_for_krev(fake, tmp_path):
    job = make_job(fake, "krev", "image", "krev-image", tmp_path, count=3)
    before = fake.calls["submit"]
    assert failure_of(KrevAdapter().submit(job, print)).category == "invalid_input"
    assert fake.calls["submit"] == before


def test_payment_required_is_quota(fake, tmp_path):
    fake.faults.set("quota")
    job = make_job(fake, "krev", "image", "krev-image", tmp_path)
    assert failure_of(KrevAdapter().submit(job, print)).category == "quota"


def test_reconcile_replays_the_idempotency_key(fake, tmp_path, fast):
    fake.inline = False
    adapter = fast(KrevAdapter(), read=0.3)
    fake.faults.set("drop", on="submit", times=1)
    job = make_job(fake, "krev", "video", "krev-video", tmp_path)
    before = len(fake.jobs)
    assert failure_of(adapter.submit(job, print)).category == "unknown_outcome"
    found = adapter.reconcile(job)
    assert isinstance(found, Pending) and len(fake.jobs) == before + 1


def test_check_credential(fake):
    adapter = KrevAdapter()
    adapter.check_credential(UpstreamCredential(1, "krev", fake.url, fake.secret))
    with pytest.raises(CredentialCheckFailed):
        adapter.check_credential(UpstreamCredential(1, "krev", fake.url, "sk_live_wrong"))


@pytest.mark.django_db(transaction=True)
def test_image_from_the_public_api_to_a_stored_asset(fake, api, funded_team, upstream_credentials):
    seed_upstream_models()
    upstream_credentials("krev", fake.url, fake.secret)
    generation = drive_through_api(
        api, "/api/v1/generate/image", {"prompt": "a wallet on marble", "model": "krev/image"}
    )
    assert generation.state == "succeeded", generation.failure
    assert generation.assets.get().mime_type == "image/png"
