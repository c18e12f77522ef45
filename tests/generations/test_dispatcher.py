"""The dispatcher: concurrent polls of due jobs, results collected, one dispatcher at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from generations import dispatch
from generations.models import AIModel, Generation, GenerationState
from generations.providers import base
from studio.accounts import services as accounts
from studio.accounts.models import LedgerEntry, LedgerKind
from studio.vault.models import ProviderCredential
from tests.fakes.polling_provider import NAME, PollingAdapter, PollingUpstream
from tests.generations.helpers import start

S = GenerationState


@pytest.fixture
def upstream(monkeypatch):
    fake = PollingUpstream(polls_to_finish=2, latency=0.05)
    fake.server.start()
    base.get_adapter("local")  # load the real registry first
    monkeypatch.setitem(base.ADAPTERS, NAME, PollingAdapter(fake.server.url))
    yield fake
    fake.server.stop()


@pytest.fixture
def polled_model(db):
    # Upstream models are offered only where a usable credential exists.
    ProviderCredential.objects.create(
        provider=NAME, label="fake", base_url="http://127.0.0.1", secret_last4="0000"
    )
    return AIModel.objects.create(
        identifier="fake/poll-image",
        name="Polled image",
        provider=NAME,
        types=["image"],
        pricing_unit="per_image",
        credit=40,
        supported_aspect_ratios=["1:1"],
    )


def _running_jobs(team, user, count: int, model) -> list[Generation]:
    jobs = []
    for i in range(count):
        generation = start(team, user, "image", {"prompt": f"job {i}", "model": model.identifier})
        generation.refresh_from_db()
        jobs.append(generation)
    Generation.objects.filter(pk__in=[j.pk for j in jobs]).update(
        state=S.RUNNING,
        next_poll_at=timezone.now() - timedelta(seconds=1),
    )
    for job in jobs:
        Generation.objects.filter(pk=job.pk).update(upstream_handle={"job_id": str(job.uuid)})
    return jobs


def test_due_jobs_are_polled_concurrently_and_finished_ones_are_collected(
    upstream, polled_model, funded_team, alice
):
    jobs = _running_jobs(funded_team, alice, 30, polled_model)
    assert dispatch.dispatch_once() == 30
    assert upstream.server.peak_in_flight > 10  # one client, many requests in flight at once
    assert Generation.objects.filter(state=S.RUNNING, progress=50).count() == 30
    Generation.objects.update(next_poll_at=timezone.now() - timedelta(seconds=1))
    assert dispatch.dispatch_once() == 30
    for job in jobs:
        job.refresh_from_db()
        assert job.state == S.SUCCEEDED
        assert job.assets.get().mime_type == "image/png"


def test_jobs_not_yet_due_are_left_alone(upstream, polled_model, funded_team, alice):
    _running_jobs(funded_team, alice, 3, polled_model)
    Generation.objects.update(next_poll_at=timezone.now() + timedelta(minutes=1))
    assert dispatch.dispatch_once() == 0
    assert sum(upstream.polls.values()) == 0


def test_an_upstream_failure_fails_the_job_and_refunds_it(
    upstream, polled_model, funded_team, alice
):
    [job] = _running_jobs(funded_team, alice, 1, polled_model)
    Generation.objects.filter(pk=job.pk).update(upstream_handle={"job_id": "fail-1"})
    dispatch.dispatch_once()
    job.refresh_from_db()
    assert job.state == S.FAILED
    assert job.failure["category"] == "content_policy"
    assert LedgerEntry.objects.filter(kind=LedgerKind.REFUND, cause=job.ledger_cause).exists()


def test_polls_take_teams_in_turn(alice, charlie, polled_model):
    a = accounts.create_team("A", alice)
    b = accounts.create_team("B", charlie)
    burst = [Generation(team=a, pk=i) for i in range(5)]
    other = [Generation(team=b, pk=10 + i) for i in range(2)]
    order = [g.team_id for g in dispatch.interleave_by_team(burst + other)]
    assert order[:4] == [a.pk, b.pk, a.pk, b.pk]


def test_only_one_dispatcher_holds_the_lease(db):
    assert dispatch.acquire_lease("dispatcher", "one", 60)
    assert not dispatch.acquire_lease("dispatcher", "two", 60)
    dispatch.release_lease("dispatcher", "one")
    assert dispatch.acquire_lease("dispatcher", "two", 60)
