"""The async runner (`manage.py async_runner`, a real child process) keeps the engine's
guarantees: a killed runner loses no job and sends none twice, and budgets hold with
hundreds of synchronous calls in flight."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from generations import engine
from generations.chat import services as chat_services
from generations.dispatch import sweep
from generations.models import AIModel, ChatMessage, Generation, GenerationState, Lease
from studio.accounts import credits
from studio.accounts.models import LedgerEntry, LedgerKind
from studio.vault.credentials import create_credential
from tests.chat.fixtures import *  # noqa: F403 - chat_team and the streaming fake
from tests.cluster import ROOT, database_url, wait_for
from tests.fakes.sync_images import SyncImagesProcess
from tests.generations.helpers import start

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
S = GenerationState
WINDOW = 3.0  # "per minute" compressed to three seconds


class RunnerProcess:
    def __init__(self, *extra: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "STUDIO_TASKS_SYNC": "1",  # what the runner's dispatcher re-sends runs inline
            "STUDIO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "STUDIO_UPSTREAM_RATE_WINDOW": str(settings.STUDIO_UPSTREAM_RATE_WINDOW),
        }
        env.pop("PYTEST_XDIST_WORKER", None)
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "async_runner", *extra],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pid = f":{self.process.pid}"
        wait_for(
            lambda: Lease.objects.filter(
                name__startswith=engine.RUNNER_LEASE_PREFIX,
                holder__endswith=pid,
                expires_at__gt=timezone.now(),
            ).exists(),
            timeout=60,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)


@pytest.fixture
def runners() -> Iterator[list[RunnerProcess]]:
    started: list[RunnerProcess] = []
    yield started
    for runner in started:
        runner.kill()


def _images_model(fake: SyncImagesProcess, **limits: int) -> AIModel:
    create_credential(
        None, "openai", "fake", fake.base_url, "sk-test-0123456789abcdefghijklmnop", **limits
    )
    return AIModel.objects.create(
        identifier="test/sync-image",
        name="Sync image",
        provider="openai",
        upstream_model="gpt-image-1",
        types=["image"],
        pricing_unit="per_image",
        credit=10,
        supported_aspect_ratios=["1:1"],
    )


def test_a_runner_killed_with_calls_in_flight_loses_no_job_and_sends_none_twice(
    runners, funded_team, alice
):
    fake = SyncImagesProcess(latency=60.0)
    try:
        model = _images_model(fake, submits_per_minute=10_000, max_concurrent_jobs=1000)
        runners.append(RunnerProcess("--max-in-flight", "30", "--no-dispatcher"))
        jobs = [
            start(funded_team, alice, "image", {"prompt": f"job {i}", "model": model.identifier})
            for i in range(45)
        ]
        # 30 calls in flight in one process; 15 handed off, waiting for room (on a loaded
        # machine a job may still be on its way to the handoff when the 30th call lands).
        wait_for(lambda: fake.stats()["in_flight"] == 30, timeout=60)
        wait_for(
            lambda: (
                Generation.objects.filter(
                    pk__in=[j.pk for j in jobs],
                    state=S.SUBMITTING,
                    handoff__isnull=False,
                    runner="",
                ).count()
                == 15
            ),
            timeout=60,
        )
        runners[0].kill()

        fake.set_latency(0.05)
        # Time passes: the dead runner's leases run out and the sweeper repairs.
        Generation.objects.filter(state=S.SUBMITTING).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        counts = sweep()
        assert counts["resubmitted"] == 15  # never sent: handed off again, to be sent once
        assert counts["reconciled"] == 30  # sent, answer lost: asked about, not resent
        runners.append(RunnerProcess())
        wait_for(
            lambda: (
                not Generation.objects.filter(pk__in=[j.pk for j in jobs])
                .exclude(state__in=[S.SUCCEEDED, S.FAILED])
                .exists()
            ),
            timeout=90,
        )

        seen = fake.stats()["prompts"]
        assert sorted(seen.values()) == [1] * 45  # every job reached the upstream exactly once
        assert Generation.objects.filter(state=S.SUCCEEDED).count() == 15
        lost = Generation.objects.filter(state=S.FAILED)
        assert lost.count() == 30
        assert {g.failure["code"] for g in lost} == {"SUBMIT_LOST"}
        for generation in lost:  # refunded, once each
            assert (
                LedgerEntry.objects.filter(
                    kind=LedgerKind.REFUND, cause=generation.ledger_cause
                ).count()
                == 1
            )
        assert credits.reconcile() == []
    finally:
        fake.stop()


def test_two_hundred_synchronous_calls_through_the_runner_spend_the_budget_without_a_429(
    runners, settings, funded_team, alice
):
    settings.STUDIO_UPSTREAM_RATE_WINDOW = WINDOW
    fake = SyncImagesProcess(latency=2.0, submits=100, window=WINDOW)
    try:
        model = _images_model(
            fake, submits_per_minute=100, polls_per_minute=100, max_concurrent_jobs=1000
        )
        runners.append(RunnerProcess())
        jobs = [
            start(funded_team, alice, "image", {"prompt": f"job {i}", "model": model.identifier})
            for i in range(200)
        ]
        wait_for(
            lambda: (
                Generation.objects.filter(pk__in=[j.pk for j in jobs], state=S.SUCCEEDED).count()
                == 200
            ),
            timeout=150,
            interval=0.5,
        )
        seen = fake.stats()
        assert seen["rejected"] == 0  # not one 429
        assert sorted(seen["prompts"].values()) == [1] * 200
        # Many calls in flight at once in one runner process (a cluster of 3 workers holds 3);
        # how many depends on how fast a loaded machine admits them, so the bar is modest.
        assert seen["peak"] >= 25
    finally:
        fake.stop()


def test_a_streamed_chat_answer_runs_in_the_runner_and_shows_its_text_as_it_is_written(
    runners, chat_team, alice, fake
):
    # No cluster worker holds the minute a chat answer streams for: the worker hands the
    # message off, and the runner streams it, reporting the text so far.
    AIModel.objects.filter(identifier="studio-local/chat").update(enabled=False)
    fake.reply = lambda messages: " ".join(f"word{i}" for i in range(30))
    fake.chunk_delay = 0.1  # ~3 s to write the whole answer
    runners.append(RunnerProcess("--no-dispatcher"))
    started = chat_services.start_message(chat_team, alice, {"message": "Tell me a story"})
    generation = started.generation

    def row() -> Generation:
        return Generation.objects.get(pk=generation.pk)

    def writing() -> bool:
        current = row()
        partial = (current.result_meta or {}).get("partial") or {}
        return current.state == S.SUBMITTING and bool(partial.get("content"))

    wait_for(writing, timeout=60, interval=0.05)
    assert row().runner  # taken by the runner process, not answered in a worker
    wait_for(lambda: row().state == S.SUCCEEDED, timeout=60)

    message = ChatMessage.objects.get(uuid=generation.uuid)
    assert message.content == " ".join(f"word{i}" for i in range(30))
    assert chat_services.message_state(message) == "completed"
    assert len(fake.chat_requests) == 1  # asked once
    # Charged the estimate once and settled once to the fake's reported tokens.
    assert LedgerEntry.objects.filter(team=chat_team, kind=LedgerKind.DEBIT).count() == 1
    assert LedgerEntry.objects.filter(team=chat_team, kind=LedgerKind.REFUND).count() == 1
    assert credits.reconcile() == []


@pytest.fixture
def queued_tasks(monkeypatch) -> list[tuple[str, tuple]]:
    """What this process puts on the cluster's broker (recorded, and still run)."""
    sent: list[tuple[str, tuple]] = []
    enqueue = engine.enqueue

    def record(func: str, *args) -> None:
        sent.append((func, args))
        enqueue(func, *args)

    monkeypatch.setattr(engine, "enqueue", record)
    return sent


def test_a_job_started_through_the_api_is_taken_by_the_runner_without_the_clusters_broker(
    runners, queued_tasks, funded_team, alice
):
    from django.test import Client

    from studio.vault.services import create_api_key

    fake = SyncImagesProcess(latency=0.05)
    try:
        model = _images_model(fake, submits_per_minute=10_000, max_concurrent_jobs=1000)
        runners.append(RunnerProcess("--no-dispatcher"))
        key = create_api_key(funded_team, alice, "runner test").full_key
        response = Client(headers={"X-API-Key": key}).post(
            "/api/v1/generate/image",
            {"prompt": "straight to the runner", "model": model.identifier},
            content_type="application/json",
        )
        assert response.status_code in (200, 201, 202), response.content
        generation = Generation.objects.get()
        wait_for(lambda: Generation.objects.get().state == S.SUCCEEDED, timeout=60)

        assert queued_tasks == []  # the broker never saw it
        generation.refresh_from_db()
        assert generation.runner.endswith(f":{runners[0].process.pid}")
        assert fake.stats()["prompts"] == {"straight to the runner": 1}
        assert credits.reconcile() == []
    finally:
        fake.stop()


def test_a_job_with_an_input_to_download_still_goes_through_the_cluster(
    monkeypatch, funded_team, alice
):
    sent: list[tuple[str, tuple]] = []
    monkeypatch.setattr(engine, "enqueue", lambda func, *args: sent.append((func, args)))
    Lease.objects.create(
        name=f"{engine.RUNNER_LEASE_PREFIX}0",
        holder="a runner",
        expires_at=timezone.now() + timedelta(seconds=30),
    )
    fake = SyncImagesProcess(latency=0.01)
    try:
        model = _images_model(fake)
        job = start(funded_team, alice, "image", {"prompt": "p", "model": model.identifier})
        assert sent == []  # handed off
        queued = Generation.objects.create(
            team=funded_team,
            created_by=alice,
            type="image",
            model=model,
            model_identifier=model.identifier,
            provider=model.provider,
            params={**job.params, "reference_images": ["https://images.example/cat.png"]},
            deadline_at=job.deadline_at,
        )
        engine.start(queued)
        # The worker fetches a job's inputs, never the request that accepted it.
        assert sent == [("generations.tasks.submit_generation", (queued.pk,))]
        assert Generation.objects.get(pk=queued.pk).state == S.QUEUED
    finally:
        fake.stop()


def test_a_job_handed_off_at_start_whose_runner_died_is_requeued_once_and_charged_once(
    queued_tasks, funded_team, alice
):
    runner_slot = Lease.objects.create(
        name=f"{engine.RUNNER_LEASE_PREFIX}0",
        holder="a runner about to die",
        expires_at=timezone.now() + timedelta(seconds=30),
    )
    fake = SyncImagesProcess(latency=0.01)
    try:
        model = _images_model(fake, submits_per_minute=10_000, max_concurrent_jobs=1000)
        job = start(funded_team, alice, "image", {"prompt": "orphan", "model": model.identifier})
        job.refresh_from_db()
        assert job.state == S.SUBMITTING and job.handoff is not None and job.runner == ""
        assert queued_tasks == []

        # The runner dies before taking it; its slot and the handoff's lease run out.
        runner_slot.delete()
        Generation.objects.filter(pk=job.pk).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        assert sweep()["resubmitted"] == 1
        assert queued_tasks == [("generations.tasks.submit_generation", (job.pk,))]
        job.refresh_from_db()
        assert job.state == S.SUCCEEDED  # a worker (run inline here) made the call itself
        assert sweep()["resubmitted"] == 0
        assert len(queued_tasks) == 1

        assert fake.stats()["prompts"] == {"orphan": 1}
        ledger = LedgerEntry.objects.filter(cause=job.ledger_cause)
        assert ledger.filter(kind=LedgerKind.DEBIT).count() == 1
        assert not ledger.filter(kind=LedgerKind.REFUND).exists()
        assert credits.reconcile() == []
    finally:
        fake.stop()
