"""One 401 on a status poll neither fails the job nor takes a shared credential away from
every team: the credential is checked again first; if the check fails too it is marked
unhealthy and the job is polled on another credential of the provider where one exists."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from generations import dispatch, engine
from generations.models import Generation, GenerationState
from generations.providers.base import get_adapter
from studio.vault.models import ProviderCredential
from tests.fakes.fal import FalFake
from tests.generations.helpers import start
from tests.providers.conftest import reset, seed_upstream_models

S = GenerationState
MODEL = "fal-ai/flux/schnell"


@pytest.fixture
def fal(upstream_credentials, monkeypatch):
    seed_upstream_models()
    monkeypatch.setattr(engine, "enqueue", lambda *args: None)  # collect runs in the test
    with FalFake() as fake:
        reset(fake)
        fake.poll_hint = 0.1
        fake.credential = upstream_credentials("fal", fake.url, fake.secret)
        yield fake


def running_job(team, user, fal, fast) -> Generation:
    generation = start(team, user, "image", {"prompt": "an owl", "model": MODEL})
    Generation.objects.filter(pk=generation.pk).update(credential=fal.credential)
    generation.refresh_from_db()
    outcome = fast(get_adapter("fal")).submit(engine.job_for(generation), lambda value: None)
    Generation.objects.filter(pk=generation.pk).update(state=S.SUBMITTING)
    engine.apply_outcome(generation.pk, outcome, S.SUBMITTING, collect_inline=False)
    generation.refresh_from_db()
    assert generation.state == S.RUNNING
    return generation


def poll_until_settled(generation: Generation, polls: int = 60) -> Generation:
    for _ in range(polls):
        Generation.objects.filter(pk=generation.pk, state=S.RUNNING).update(
            next_poll_at=timezone.now() - timedelta(seconds=1)
        )
        dispatch.dispatch_once()
        generation.refresh_from_db()
        if generation.state != S.RUNNING:
            break
        time.sleep(0.05)
    return generation


def test_one_401_on_a_poll_keeps_the_job_and_the_shared_credential(funded_team, alice, fal, fast):
    generation = running_job(funded_team, alice, fal, fast)
    fal.faults.set("unauthorized", on="status", times=1)
    generation = poll_until_settled(generation)
    assert generation.state == S.COLLECTING, generation.failure
    fal.credential.refresh_from_db()
    assert fal.credential.healthy


def test_a_confirmed_rejection_moves_the_poll_to_another_credential(
    funded_team, alice, fal, fast, upstream_credentials
):
    generation = running_job(funded_team, alice, fal, fast)
    spare = upstream_credentials("fal", fal.url, fal.secret)
    # The poll and the check that follows are both refused: the first key is really dead.
    fal.faults.set("unauthorized", on="status", times=2)
    generation = poll_until_settled(generation)
    assert generation.state == S.COLLECTING, generation.failure
    assert generation.credential_id == spare.pk
    fal.credential.refresh_from_db()
    assert not fal.credential.healthy
    assert ProviderCredential.objects.get(pk=spare.pk).healthy


def test_a_confirmed_rejection_with_no_other_credential_fails_the_job_and_refunds(
    funded_team, alice, fal, fast
):
    generation = running_job(funded_team, alice, fal, fast)
    fal.faults.set("unauthorized", on="status", times=2)
    generation = poll_until_settled(generation)
    assert generation.state == S.FAILED
    assert generation.credits_refunded == generation.credits_charged
    fal.credential.refresh_from_db()
    assert not fal.credential.healthy
