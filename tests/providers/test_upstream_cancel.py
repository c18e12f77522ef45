"""Whenever Studio gives up on a job an upstream may still be running (the deadline, an auth
error while polling, a cancel while the submit's answer was lost), it tells the upstream to
stop, so the operator does not keep paying for work nobody will collect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from generations import dispatch, engine, services
from generations.models import Generation, GenerationState
from generations.providers.base import Failed, Failure, FailureCategory, get_adapter
from tests.fakes.fal import FalFake
from tests.generations.helpers import start
from tests.providers.conftest import failure_of, reset, seed_upstream_models

S = GenerationState
MODEL = "fal-ai/flux/schnell"


@pytest.fixture
def fal(upstream_credentials):
    seed_upstream_models()
    with FalFake() as fake:
        reset(fake)
        upstream_credentials("fal", fake.url, fake.secret)
        yield fake


@pytest.fixture
def cancels_sent(monkeypatch):
    """Run cancel tasks when they are sent (as the cluster would) and list them."""
    sent: list[int] = []
    real = engine.enqueue

    def enqueue(func, *args):
        if func == "generations.tasks.cancel_upstream":
            sent.append(args[0])
            engine.cancel_upstream(*args)
        elif func != "generations.tasks.collect_generation":
            real(func, *args)

    monkeypatch.setattr(engine, "enqueue", enqueue)
    return sent


def running_job(funded_team, alice, fal, fast):
    """A job the upstream accepted and is working on."""
    generation = start(funded_team, alice, "image", {"prompt": "an owl", "model": MODEL})
    outcome = fast(get_adapter("fal")).submit(engine.job_for(generation), lambda value: None)
    Generation.objects.filter(pk=generation.pk).update(state=S.SUBMITTING)
    engine.apply_outcome(generation.pk, outcome, S.SUBMITTING, collect_inline=False)
    generation.refresh_from_db()
    assert generation.state == S.RUNNING
    return generation


def upstream_cancelled(fal) -> list[bool]:
    return [job.cancelled for job in fal.jobs.values()]


def test_a_job_past_its_deadline_is_cancelled_upstream(funded_team, alice, fal, fast, cancels_sent):
    generation = running_job(funded_team, alice, fal, fast)
    Generation.objects.filter(pk=generation.pk).update(
        deadline_at=timezone.now() - timedelta(seconds=1)
    )
    assert dispatch.sweep()["timed_out"] == 1
    assert cancels_sent == [generation.pk]
    assert upstream_cancelled(fal) == [True]
    generation.refresh_from_db()
    assert generation.state == S.FAILED
    assert generation.credits_refunded == generation.credits_charged


def test_a_job_failed_by_an_auth_error_while_polling_is_cancelled_upstream(
    funded_team, alice, fal, fast, cancels_sent
):
    generation = running_job(funded_team, alice, fal, fast)
    engine.apply_outcome(
        generation.pk,
        Failed(Failure("Unauthorized", FailureCategory.AUTH, "AUTH_FAILED")),
        S.RUNNING,
        collect_inline=False,
    )
    assert cancels_sent == [generation.pk]
    assert upstream_cancelled(fal) == [True]


def test_a_cancel_while_the_submit_answer_was_lost_finds_the_job_and_stops_it(
    funded_team, alice, fal, fast, cancels_sent
):
    generation = start(funded_team, alice, "image", {"prompt": "an owl", "model": MODEL})
    fal.faults.set("drop", on="submit", times=1)
    lost = fast(get_adapter("fal"), read=0.5).submit(engine.job_for(generation), lambda v: None)
    assert failure_of(lost).category == "unknown_outcome"
    Generation.objects.filter(pk=generation.pk).update(
        state=S.SUBMITTING, submitted_at=timezone.now(), attempts=1
    )
    services.cancel_generation(Generation.objects.get(pk=generation.pk))
    assert cancels_sent == [generation.pk]
    assert upstream_cancelled(fal) == [True]
    generation.refresh_from_db()
    assert generation.state == S.CANCELLED
    assert generation.upstream_handle  # kept, for the record


def test_a_job_the_upstream_refused_for_its_content_needs_no_cancel(
    funded_team, alice, fal, fast, cancels_sent
):
    generation = running_job(funded_team, alice, fal, fast)
    engine.apply_outcome(
        generation.pk,
        Failed(Failure("Refused", FailureCategory.CONTENT_POLICY, "CONTENT_POLICY")),
        S.RUNNING,
        collect_inline=False,
    )
    assert cancels_sent == []
