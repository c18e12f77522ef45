"""Every fault for every adapter, through the engine: each job ends, charged once, and is
refunded exactly when it fails; none outlives its deadline; none is submitted twice."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from generations import dispatch, engine
from generations.models import TERMINAL_STATES, Generation, GenerationState
from generations.providers.base import get_adapter
from studio.accounts import credits
from studio.accounts.models import LedgerEntry, LedgerKind, Team
from studio.vault.models import ProviderCredential
from tests.fakes.fal import FalFake
from tests.fakes.kolbo import KolboFake
from tests.fakes.krev import KrevFake
from tests.fakes.openai_compat import OpenAIFake
from tests.fakes.replicate import ReplicateFake
from tests.generations.helpers import start
from tests.providers.conftest import reset, seed_upstream_models

S = GenerationState
OK, FAILED, EITHER = "succeeded", "failed", "either"


@dataclass(frozen=True)
class Upstream:
    name: str
    fake_cls: type
    model: str
    kind: str = "image"
    suffix: str = ""
    polls: bool = True


UPSTREAMS = [
    Upstream("fal", FalFake, "fal-ai/flux/schnell"),
    Upstream("openai", OpenAIFake, "openai/gpt-image-1", suffix="/v1", polls=False),
    # Replicate and Krev answer images inline; their videos are polled, so use those.
    Upstream("replicate", ReplicateFake, "replicate/kwaivgi/kling-v1.6-standard", "video", "/v1"),
    Upstream("kolbo", KolboFake, "kolbo/auto-image"),
    Upstream("krev", KrevFake, "krev/image"),
]

# (fault, on, times, options, expected end). EITHER: a lost answer, which the engine must
# reconcile rather than guess (success and refund are both right, double-charging is not).
SUBMIT_FAULTS = [
    ("rate_limit", "submit", 1, {"retry_after": 1}, OK),
    ("server_error", "submit", 1, {}, OK),
    ("slow", "submit", 1, {"delay": 0.1}, OK),
    ("unauthorized", "submit", None, {}, FAILED),
    ("quota", "submit", None, {}, FAILED),
    ("invalid", "submit", None, {}, FAILED),
    ("content_policy", "submit", None, {}, FAILED),
    ("malformed", "submit", 1, {}, EITHER),
    ("hang", "submit", 1, {"delay": 2}, EITHER),
    ("drop", "submit", 1, {}, EITHER),
]
POLL_FAULTS = [
    ("rate_limit", "status", 2, {"retry_after": 1}, OK),
    ("server_error", "status", 2, {}, OK),
    ("malformed", "status", 2, {}, OK),
    ("slow", "status", 1, {"delay": 0.1}, OK),
    ("hang", "status", 1, {"delay": 2}, OK),
    ("unauthorized", "status", None, {}, FAILED),
]
JOB_FAULTS = [
    ("fail_job", "any", None, {}, FAILED),
    ("nsfw_job", "any", None, {}, FAILED),
    ("never_finish", "any", None, {}, FAILED),
    ("expire_results", "any", None, {"after_fetches": 0}, EITHER),
]

CASES = [
    pytest.param(up, *fault, id=f"{up.name}-{fault[0]}-{fault[1]}")
    for up in UPSTREAMS
    for fault in SUBMIT_FAULTS + (POLL_FAULTS + JOB_FAULTS if up.polls else JOB_FAULTS[:2])
]


@pytest.fixture(scope="module")
def fakes():
    started = {up.name: up.fake_cls().start() for up in UPSTREAMS}
    yield started
    for fake in started.values():
        fake.stop()


def _drive(generation: Generation, rounds: int = 60) -> Generation:
    """Let time pass quickly: due retries and polls come due, dead leases expire, and near
    the end the deadline passes, as the dispatcher and sweeper would see over hours."""
    for round_ in range(rounds):
        generation.refresh_from_db()
        if generation.state in TERMINAL_STATES:
            return generation
        past = timezone.now() - timedelta(seconds=1)
        query = Generation.objects.filter(pk=generation.pk)
        query.filter(next_poll_at__isnull=False).update(next_poll_at=past)
        query.filter(state__in=[S.SUBMITTING, S.COLLECTING]).update(lease_until=past)
        query.filter(state=S.QUEUED, next_poll_at__isnull=True).update(lease_until=past)
        if round_ >= rounds - 5:
            query.update(deadline_at=past)
        dispatch.dispatch_once()
        dispatch.sweep()
        time.sleep(0.02)
    generation.refresh_from_db()
    return generation


@pytest.mark.slow
@pytest.mark.parametrize(("upstream", "fault", "on", "times", "options", "expected"), CASES)
def test_every_fault_ends_in_the_right_state_with_credits_kept_or_refunded_once(
    fakes, upstream, fault, on, times, options, expected, funded_team, alice,
    upstream_credentials, fast,
):  # fmt: skip
    seed_upstream_models()
    fake = reset(fakes[upstream.name])
    fake.poll_hint = 0.05
    fake.jobs.clear()
    fake.inline = False  # Krev: answer 202 and be polled, so poll faults apply
    upstream_credentials(upstream.name, fake.url + upstream.suffix, fake.secret)
    fast(get_adapter(upstream.name), read=0.5)
    fake.faults.set(fault, on=on, times=times, **options)
    before = Team.objects.get(pk=funded_team.pk).total_credits

    generation = start(
        funded_team, alice, upstream.kind, {"prompt": "an owl", "model": upstream.model}
    )
    engine.submit(generation.pk)
    generation = _drive(generation)

    assert generation.state in TERMINAL_STATES, f"still {generation.state}"
    if expected != EITHER:
        assert generation.state == expected, generation.failure
    cause = generation.ledger_cause
    assert LedgerEntry.objects.filter(kind=LedgerKind.DEBIT, cause=cause).count() == 1
    refunds = list(LedgerEntry.objects.filter(kind=LedgerKind.REFUND, cause=cause))
    after = Team.objects.get(pk=funded_team.pk).total_credits
    if generation.state == S.SUCCEEDED:
        assert refunds == [] and after == before - generation.credits_charged
        assert generation.assets.exists()
    else:
        assert [r.amount for r in refunds] == [generation.credits_charged]
        assert after == before and generation.failure["category"]
    if upstream.polls:
        assert len(fake.jobs) <= 1, "submitted to the upstream twice"
    if fault == "unauthorized":
        # Marked unhealthy only when the credential check, tried again after the 401, is
        # refused too (here: when the check calls the endpoint the fault is on).
        from studio.upstream import CredentialCheckFailed, check_credential
        from studio.vault.credentials import to_upstream

        credential = ProviderCredential.objects.get(provider=upstream.name)
        try:
            check_credential(to_upstream(credential))
        except CredentialCheckFailed:
            refused = True
        else:
            refused = False
        assert credential.healthy is not refused
    assert credits.reconcile(Team.objects.filter(pk=funded_team.pk)) == []
