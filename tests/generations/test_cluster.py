"""The engine under a real django-q2 cluster (`manage.py qcluster` subprocesses)."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from generations import services
from generations.dispatch import sweep
from generations.models import Generation, GenerationState
from studio.accounts import credits
from studio.accounts import services as accounts
from studio.accounts.models import Bucket, LedgerEntry, LedgerKind
from tests.cluster import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
S = GenerationState


def _state(generation: Generation) -> tuple[str, int]:
    row = Generation.objects.values_list("state", "progress").get(pk=generation.pk)
    return row[0], row[1]


def test_the_cluster_runs_a_generation_to_completion(cluster, alice):
    team = accounts.create_team("Cluster", alice)
    generation = services.start_generation(
        team, alice, "image", {"prompt": "a lighthouse at dusk"}
    ).generation
    wait_for(lambda: _state(generation)[0] == S.SUCCEEDED, timeout=60)
    assert generation.assets.count() == 1


def test_a_worker_killed_mid_job_finishes_the_job_once_and_charges_once(cluster, alice):
    team = accounts.create_team("Crash", alice)
    credits.grant(team, 5000, bucket=Bucket.PACK)
    # A 10 s SD clip renders in ~4 s (a 15 s HD one took ~19 s, twice): long enough to be
    # killed mid-render, which is all this test needs of it.
    generation = services.start_generation(
        team, alice, "video", {"prompt": "storm over the sea", "duration": 10}
    ).generation
    # Mid-render: the worker has claimed the job and reported progress.
    wait_for(lambda: _state(generation)[0] == S.SUBMITTING and _state(generation)[1] > 0, 60)
    cluster.kill(signal.SIGKILL)
    assert _state(generation)[0] == S.SUBMITTING

    cluster.start()
    # Time passes: the dead worker's lease runs out and the sweeper re-drives the job.
    Generation.objects.filter(pk=generation.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert sweep()["resubmitted"] == 1
    wait_for(lambda: _state(generation)[0] == S.SUCCEEDED, timeout=120)

    generation.refresh_from_db()
    assert generation.attempts == 2
    assert generation.assets.count() == 1
    assert LedgerEntry.objects.filter(team=team, kind=LedgerKind.DEBIT).count() == 1
    assert not LedgerEntry.objects.filter(team=team, kind=LedgerKind.REFUND).exists()
    assert credits.reconcile() == []


def test_sigterm_stops_the_cluster_within_10_s_mid_job_and_the_job_finishes_after_restart(
    cluster, alice
):
    import os
    import time

    from django_q.tasks import async_task

    from generations.models import Lease

    team = accounts.create_team("Restart", alice)
    credits.grant(team, 5000, bucket=Bucket.PACK)
    generation = services.start_generation(
        team, alice, "video", {"prompt": "storm over the sea", "duration": 10}
    ).generation
    # As in production, where a worker is nearly always inside the dispatcher's minute loop.
    async_task("generations.tasks.run_dispatcher", group="generations")
    wait_for(lambda: Lease.objects.filter(name="dispatcher").exclude(holder="").exists(), 30)
    wait_for(lambda: _state(generation)[0] == S.SUBMITTING and _state(generation)[1] > 0, 60)
    assert cluster.process is not None
    stopped_at = time.monotonic()
    os.kill(cluster.process.pid, signal.SIGTERM)  # the main process only, as a supervisor does
    cluster.process.wait(timeout=10)
    assert time.monotonic() - stopped_at < 10

    def group_gone() -> bool:
        try:
            os.killpg(cluster.process.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, timeout=3)
    assert not Lease.objects.filter(name="dispatcher").exclude(holder="").exists()
    # The interrupted job let go of its lease: the new cluster's sweeper, run at its start,
    # re-drives it at once (no lease to wait out, no schedule to wait for).
    # (django-q2's scheduler would first run it 30 s after the start.)
    cluster.start()
    wait_for(lambda: _state(generation)[0] == S.SUCCEEDED, timeout=25)
    assert generation.assets.count() == 1
    assert LedgerEntry.objects.filter(team=team, kind=LedgerKind.DEBIT).count() == 1
    assert not LedgerEntry.objects.filter(team=team, kind=LedgerKind.REFUND).exists()
    assert credits.reconcile() == []
