"""The sweeper's reconcile path with real adapters: a submit whose answer was lost is found
upstream (fal: by its input in the request history; Kolbo: by replaying its Idempotency-Key)
and the job carries on to a stored result instead of being refunded or submitted twice."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from generations import dispatch, engine
from generations.models import Generation, GenerationState
from generations.providers.base import get_adapter
from tests.fakes.fal import FalFake
from tests.fakes.kolbo import KolboFake
from tests.generations.helpers import start
from tests.providers.conftest import failure_of, reset, seed_upstream_models

S = GenerationState


@pytest.mark.parametrize(
    ("fake_cls", "provider", "model"),
    [(FalFake, "fal", "fal-ai/flux/schnell"), (KolboFake, "kolbo", "kolbo/auto-image")],
    ids=["fal", "kolbo"],
)
def test_a_lost_submit_is_reconciled_to_a_stored_result(
    fake_cls, provider, model, funded_team, alice, upstream_credentials, fast
):
    seed_upstream_models()
    with fake_cls() as fake:
        reset(fake)
        fake.poll_hint = 0.1
        credential = upstream_credentials(provider, fake.url, fake.secret)
        generation = start(funded_team, alice, "image", {"prompt": "an owl", "model": model})
        # The worker sent the submit; the connection died before the answer came back.
        fake.faults.set("drop", on="submit", times=1)
        adapter = fast(get_adapter(provider), read=0.5)
        lost = adapter.submit(engine.job_for(generation), lambda value: None)
        assert failure_of(lost).category == "unknown_outcome"
        assert len(fake.jobs) == 1
        Generation.objects.filter(pk=generation.pk).update(
            state=S.SUBMITTING,
            lease_until=timezone.now() - timedelta(seconds=1),
            attempts=1,
            credential=credential,  # admitted: the credential is set before the call leaves
        )
        counts = dispatch.sweep()
        assert counts["reconciled"] == 1
        generation.refresh_from_db()
        assert generation.state == S.RUNNING
        for _ in range(100):
            Generation.objects.filter(pk=generation.pk).update(
                next_poll_at=timezone.now() - timedelta(seconds=1)
            )
            dispatch.dispatch_once()
            generation.refresh_from_db()
            if generation.state != S.RUNNING:
                break
            time.sleep(0.05)  # budgets space the polls
        assert generation.state == S.SUCCEEDED, generation.failure
        assert generation.credits_refunded == 0
        assert len(fake.jobs) == 1  # never submitted twice
        assert generation.assets.get().mime_type == "image/png"


def test_a_job_whose_worker_died_before_it_had_a_credential_is_requeued_not_stuck(
    funded_team, alice, upstream_credentials, monkeypatch
):
    """Found by bench/crash_run.py: claimed (submitting), killed before admission. The call
    never left; reconcile cannot run without a credential, so the job must go back to the
    queue rather than wait forever."""
    seed_upstream_models()
    sent = []
    monkeypatch.setattr(engine, "enqueue", lambda func, *args: sent.append((func, args)))
    with FalFake() as fake:
        reset(fake)
        upstream_credentials("fal", fake.url, fake.secret)
        generation = start(
            funded_team, alice, "image", {"prompt": "an owl", "model": "fal-ai/flux/schnell"}
        )
        Generation.objects.filter(pk=generation.pk).update(
            state=S.SUBMITTING,
            credential=None,
            lease_until=timezone.now() - timedelta(seconds=1),
            attempts=1,
        )
        assert dispatch.sweep()["resubmitted"] == 1
        generation.refresh_from_db()
        assert (generation.state, generation.attempts) == (S.QUEUED, 0)
        assert ("generations.tasks.submit_generation", (generation.pk,)) in sent
        assert not fake.jobs
