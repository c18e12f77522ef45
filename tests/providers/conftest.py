"""Helpers for adapter tests: jobs against a fake, a poll loop, downloads, credentials."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from generations.providers.base import (
    Failed,
    Finished,
    Job,
    Outcome,
    Pending,
    ProviderAdapter,
    UpstreamCredential,
)
from generations.providers.http_errors import timeout
from tests.api.conftest import alice_key, api, isolated_rate_limits, make_key  # noqa: F401

CANONICAL: dict[str, dict[str, Any]] = {
    "image": {"prompt": "a red fox in snow", "aspect_ratio": "1:1", "count": 1, "hd": False,
              "enhance_prompt": True, "reference_images": [], "seed": None},
    "video": {"prompt": "waves at dusk", "aspect_ratio": "16:9", "duration": 5,
              "image_url": None, "reference_images": [], "audio_mode": "auto", "hd": False,
              "enhance_prompt": True, "seed": None},
    "video_from_image": {"prompt": "make it move", "aspect_ratio": "16:9", "duration": 5,
                         "image_url": "https://images.example.com/cat.png",
                         "reference_images": [], "audio_mode": "auto", "hd": False,
                         "enhance_prompt": True, "seed": None},
    "music": {"prompt": "calm lofi beat", "style": "lofi", "instrumental": True, "lyrics": "",
              "vocal_gender": "", "duration": 10, "enhance_prompt": True, "seed": None},
    "speech": {"text": "Hello from Studio.", "voice": "alloy", "language": "en-US"},
    "sound": {"prompt": "door creak", "duration": 3, "seed": None},
    "chat": {"messages": [{"role": "user", "content": "Say hi"}]},
}  # fmt: skip


def png_file(path: Path) -> Path:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def make_job(
    fake: Any,
    provider: str,
    kind: str,
    model: str,
    work_dir: Path,
    *,
    secret: str | None = None,
    generation_id: str | None = None,
    **params: Any,
) -> Job:
    inputs = {}
    merged = {**CANONICAL[kind], **params}
    if kind == "video_from_image":
        inputs["image_url"] = png_file(work_dir / "input-image_url")
    return Job(
        generation_id=generation_id or str(uuid.uuid4()),
        team_id=str(uuid.uuid4()),
        type=kind,
        upstream_model=model,
        params=merged,
        handle={},
        work_dir=work_dir,
        inputs=inputs,
        credential=UpstreamCredential(
            id=1, provider=provider, base_url=fake.url, secret=secret or fake.secret
        ),
    )


def with_handle(job: Job, handle: dict[str, Any]) -> Job:
    return Job(**{**job.__dict__, "handle": handle})


def poll_once(adapter: ProviderAdapter, job: Job) -> Outcome:
    async def go() -> Outcome:
        async with httpx.AsyncClient() as client:
            return await adapter.poll(client, job)

    return asyncio.run(go())


def run_to_end(adapter: ProviderAdapter, job: Job, *, max_polls: int = 20) -> tuple[Outcome, Job]:
    outcome = adapter.submit(job, lambda value: None)
    polls = 0
    while isinstance(outcome, Pending):
        job = with_handle(job, outcome.handle)
        polls += 1
        assert polls <= max_polls, "the job never finished"
        outcome = poll_once(adapter, job)
    return outcome, job


def download(outcome: Finished) -> list[tuple[bytes, str]]:
    files = []
    for output in outcome.outputs:
        if output.path is not None:
            files.append((output.path.read_bytes(), output.mime_type or ""))
            continue
        assert output.url is not None
        response = httpx.get(output.url)
        assert response.status_code == 200, output.url
        files.append((response.content, response.headers.get("content-type", "")))
    return files


def assert_media(data: bytes, kind: str) -> None:
    if kind == "image":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    elif kind == "video":
        assert data[4:8] == b"ftyp"
    elif kind == "audio":
        assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"


def failure_of(outcome: Outcome) -> Any:
    assert isinstance(outcome, Failed), outcome
    return outcome.failure


@pytest.fixture
def fast(monkeypatch):
    """Shrink an adapter's timeouts so 'hang' faults time out quickly."""

    def shrink(adapter: ProviderAdapter, read: float = 0.5) -> ProviderAdapter:
        for name in ("submit_timeout", "poll_timeout", "cheap_timeout"):
            monkeypatch.setattr(adapter, name, timeout(read), raising=False)
        return adapter

    return shrink


# --- fakes as fixtures ---------------------------------------------------------------------


def fake_fixture(factory):
    @pytest.fixture(scope="module")
    def server():
        fake = factory().start()
        yield fake
        fake.stop()

    return server


def reset(fake: Any) -> Any:
    fake.faults.clear()
    fake.limits.configure()
    fake.polls_to_finish = 2
    return fake


# --- credentials for engine-level tests ----------------------------------------------------


@pytest.fixture
def upstream_credentials(monkeypatch, db):
    """Create operator-wide ProviderCredential rows and make the engine hand them to adapters.

    Until the engine selects credentials itself, `engine.job_for` is wrapped so a job without a
    credential gets the one registered here for its provider.
    """
    from dataclasses import replace

    from generations import engine
    from studio.vault.models import ProviderCredential

    known: dict[str, UpstreamCredential] = {}

    def add(provider: str, base_url: str, secret: str) -> Any:
        row = None
        try:  # the vault's own API, when it exists
            from studio.vault import credentials as vault_credentials  # type: ignore[attr-defined]

            row = vault_credentials.create_credential(
                team=None, provider=provider, label=f"{provider} test", base_url=base_url,
                secret=secret, submits_per_minute=6000, polls_per_minute=60000,
            )  # fmt: skip
        except (ImportError, AttributeError, TypeError):
            row = ProviderCredential.objects.create(
                team=None,
                provider=provider,
                label=f"{provider} test",
                base_url=base_url,
                secret_ciphertext="test-only-not-encrypted",
                secret_last4=secret[-4:],
            )
        known[provider] = UpstreamCredential(row.pk, provider, base_url, secret)
        return row

    original = engine.job_for

    def job_with_credential(generation, inputs=None):
        job = original(generation, inputs)
        if job.credential is None and generation.provider in known:
            job = replace(job, credential=known[generation.provider])
        return job

    monkeypatch.setattr(engine, "job_for", job_with_credential)
    return add


def seed_upstream_models() -> None:
    """Transactional tests flush the registry; put the upstream models back."""
    import importlib

    from django.apps import apps

    importlib.import_module("generations.migrations.0006_seed_upstream_models").seed(apps, None)


def drive_through_api(client, path: str, body: dict[str, Any], *, seconds: float = 20.0):
    """Start a generation through the public API, then run the dispatcher until it ends."""
    from datetime import timedelta

    from django.utils import timezone

    from generations import dispatch
    from generations.models import Generation, GenerationState

    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 200, response.content
    gid = response.json()["generation_id"]
    generation = Generation.objects.get(uuid=gid)
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        generation.refresh_from_db()
        if generation.state not in (
            GenerationState.QUEUED,
            GenerationState.RUNNING,
            GenerationState.SUBMITTING,
            GenerationState.COLLECTING,
        ):
            break  # fmt: skip
        Generation.objects.filter(pk=generation.pk, next_poll_at__isnull=False).update(
            next_poll_at=timezone.now() - timedelta(seconds=1)
        )
        dispatch.dispatch_once()
        time.sleep(0.05)  # let budgets' next slots come round (the engine spaces calls)
    generation.refresh_from_db()
    return generation
