"""An agent run whose worker is SIGKILLed mid-run (a real django-q2 cluster): the run
finishes once and its paid call is made and charged once."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from generations.agent import services
from generations.agent.models import AgentRun, AgentStep
from generations.dispatch import sweep
from generations.models import Generation, GenerationState
from studio.accounts import credits
from studio.accounts import services as accounts
from studio.accounts.models import Bucket, LedgerEntry, LedgerKind
from tests.cluster import cluster, wait_for  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
S = GenerationState


def test_a_worker_killed_mid_run_finishes_the_run_once_with_each_paid_call_made_once(
    cluster,  # noqa: F811
    alice,
):
    team = accounts.create_team("Crash", alice)
    credits.grant(team, 5000, bucket=Bucket.PACK)
    run = services.start_run(
        team, alice, {"message": "make a 10 second video of a storm over the sea",
                      "agent": "asset"},
    )  # fmt: skip

    def rendering() -> bool:
        found = Generation.objects.filter(team=team, type="video").first()
        return found is not None and found.state == S.SUBMITTING and found.progress > 0

    wait_for(rendering, timeout=90)
    cluster.kill(signal.SIGKILL)
    assert AgentRun.objects.get(pk=run.pk).status == "processing"

    cluster.start()
    # Time passes: the dead workers' leases run out and the sweeper re-drives both.
    past = timezone.now() - timedelta(seconds=1)
    Generation.objects.filter(team=team).update(lease_until=past)
    AgentRun.objects.filter(pk=run.pk).update(
        lease_until=past, updated_at=past - timedelta(hours=1)
    )
    swept = sweep()
    assert swept["resubmitted"] == 1
    wait_for(lambda: AgentRun.objects.get(pk=run.pk).status == "succeeded", timeout=180)

    video = Generation.objects.get(team=team, type="video")
    assert video.state == S.SUCCEEDED and video.attempts == 2
    assert Generation.objects.filter(team=team).count() == 1
    debits = LedgerEntry.objects.filter(team=team, kind=LedgerKind.DEBIT)
    assert debits.filter(cause=video.ledger_cause).count() == 1
    # Besides the video, at most the offline model's wording of the reply (chat tokens).
    assert (
        debits.exclude(cause=video.ledger_cause).filter(cause__startswith="agent_run:").count()
        == debits.count() - 1
    )
    assert AgentStep.objects.filter(run=run, tool_name="generate_video").count() == 1
    assert AgentStep.objects.filter(run=run, role="assistant").count() == 2  # plan, reply
    assert "Video 1: done" in AgentRun.objects.get(pk=run.pk).final_text
