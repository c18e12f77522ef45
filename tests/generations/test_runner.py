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
        # 30 calls in flight in one process; 15 handed off, waiting for room.
        wait_for(lambda: fake.stats()["in_flight"] == 30, timeout=60)
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
