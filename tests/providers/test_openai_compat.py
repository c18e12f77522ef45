"""OpenAI-compatible adapter against the fake, over real sockets."""

from __future__ import annotations

import pytest

from generations.providers.base import CredentialCheckFailed, Finished, UpstreamCredential
from generations.providers.openai_compat import OpenAICompatAdapter, image_size
from tests.fakes.openai_compat import OpenAIFake
from tests.providers.conftest import (
    assert_media,
    download,
    drive_through_api,
    failure_of,
    fake_fixture,
    make_job,
    reset,
    seed_upstream_models,
)

server = fake_fixture(OpenAIFake)


@pytest.fixture
def fake(server):
    yield reset(server)
    reset(server)


class Base:
    """The fake's base URL ends in /v1, like OpenAI's."""

    def __init__(self, fake):
        self.url, self.secret = fake.base_url, fake.secret


def test_gpt_image_base64_is_written_to_the_work_dir(fake, tmp_path):
    job = make_job(Base(fake), "openai", "image", "gpt-image-1", tmp_path, count=2,
                   aspect_ratio="3:2")  # fmt: skip
    outcome = OpenAICompatAdapter().submit(job, print)
    assert isinstance(outcome, Finished)
    assert [o.path.parent for o in outcome.outputs] == [tmp_path, tmp_path]
    for data, _ in download(outcome):
        assert_media(data, "image")
    assert fake.submitted[-1] == {"model": "gpt-image-1", "prompt": "a red fox in snow", "n": 2,
                                  "size": "1536x1024"}  # fmt: skip
    assert set(fake.auth_seen) == {fake.secret}


def test_dall_e_urls_are_returned_for_the_engine_to_download(fake, tmp_path):
    job = make_job(Base(fake), "openai", "image", "dall-e-3", tmp_path, hd=True,
                   aspect_ratio="16:9")  # fmt: skip
    outcome = OpenAICompatAdapter().submit(job, print)
    assert isinstance(outcome, Finished)
    assert outcome.outputs[0].url.startswith(fake.url)
    assert outcome.meta["prompt_used"].endswith("detailed")
    assert fake.submitted[-1]["quality"] == "hd" and fake.submitted[-1]["size"] == "1792x1024"
    assert_media(download(outcome)[0][0], "image")


def test_speech_is_binary_audio(fake, tmp_path):
    job = make_job(Base(fake), "openai", "speech", "tts-1", tmp_path, voice="nova")
    outcome = OpenAICompatAdapter().submit(job, print)
    assert isinstance(outcome, Finished)
    assert_media(download(outcome)[0][0], "audio")
    assert fake.submitted[-1]["response_format"] == "wav"


class Recorder:
    def __init__(self) -> None:
        self.partials: list[str] = []

    def __call__(self, value: int) -> None:
        pass

    def partial(self, content: str, reasoning: str = "") -> None:
        self.partials.append(content)


def test_chat_streams_its_answer_into_meta(fake, tmp_path):
    job = make_job(Base(fake), "openai", "chat", "gpt-4o-mini", tmp_path)
    report = Recorder()
    outcome = OpenAICompatAdapter().submit(job, report)
    assert isinstance(outcome, Finished) and outcome.outputs == []
    assert outcome.meta["content"] == "You said: Say hi"
    assert outcome.meta["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}
    assert report.partials[0] == "You " and report.partials[-1] == "You said: Say hi"
    assert fake.chat_requests[-1]["stream"] is True


def test_types_it_cannot_do_are_invalid_input(fake, tmp_path):
    job = make_job(Base(fake), "openai", "video", "gpt-image-1", tmp_path)
    assert failure_of(OpenAICompatAdapter().submit(job, print)).category == "invalid_input"


def test_sizes_for_other_servers_keep_the_aspect():
    assert image_size("stable-diffusion-xl", "16:9", False) == "1024x576"
    assert image_size("gpt-image-1", "2:3", False) == "1024x1536"


def test_a_lost_synchronous_answer_reconciles_to_none(fake, tmp_path, fast):
    adapter = fast(OpenAICompatAdapter(), read=0.3)
    fake.faults.set("hang", on="submit", times=1, delay=1.5)
    job = make_job(Base(fake), "openai", "image", "gpt-image-1", tmp_path)
    assert failure_of(adapter.submit(job, print)).category == "unknown_outcome"
    assert adapter.reconcile(job) is None


def test_check_credential(fake):
    adapter = OpenAICompatAdapter()
    adapter.check_credential(UpstreamCredential(1, "openai", fake.base_url, fake.secret))
    with pytest.raises(CredentialCheckFailed):
        adapter.check_credential(UpstreamCredential(1, "openai", fake.base_url, "sk-wrong"))


@pytest.mark.django_db(transaction=True)
def test_image_from_the_public_api_to_a_stored_asset(fake, api, funded_team, upstream_credentials):
    seed_upstream_models()
    upstream_credentials("openai", fake.base_url, fake.secret)
    generation = drive_through_api(
        api, "/api/v1/generate/image", {"prompt": "a kite", "model": "openai/gpt-image-1"}
    )
    assert generation.state == "succeeded", generation.failure
    assert generation.assets.get().mime_type == "image/png"


def test_a_lost_answer_is_reported_as_unknown_not_as_never_received(
    fake, funded_team, alice, upstream_credentials
):
    from datetime import timedelta

    from django.utils import timezone

    from generations import dispatch
    from generations.models import Generation
    from tests.generations.helpers import start

    seed_upstream_models()
    credential = upstream_credentials("openai", fake.base_url, fake.secret)
    generation = start(
        funded_team, alice, "image", {"prompt": "a kite", "model": "openai/gpt-image-1"}
    )
    # The worker sent the call and died (or timed out) before the answer came back.
    Generation.objects.filter(pk=generation.pk).update(
        state="submitting",
        lease_until=timezone.now() - timedelta(seconds=1),
        attempts=1,
        credential=credential,
    )
    assert dispatch.sweep()["reconciled"] == 1
    generation.refresh_from_db()
    assert generation.state == "failed"
    assert "never received" not in generation.error
    assert "cannot be known" in generation.error
    assert generation.credits_refunded == generation.credits_charged
