"""The cluster's clockwork: the dispatcher that polls upstreams and the sweeper that repairs.

django-q2 has no delayed tasks and its scheduler ticks about every 30 s, so a one-minute
schedule starts `run_dispatcher`, which holds a DB lease (one dispatcher at a time across
every cluster) and loops for most of the minute, polling every running generation whose
`next_poll_at` is due, concurrently, with one async httpx client.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from django.db.models import Count, Q
from django.utils import timezone

from generations import budgets, engine
from generations.models import ACTIVE_STATES, Generation, GenerationState, Lease
from generations.providers.base import (
    Failure,
    FailureCategory,
    Outcome,
    Pending,
    get_adapter,
)
from studio import http

log = logging.getLogger(__name__)
T = TypeVar("T")
S = GenerationState
BATCH = 2000
POLL_CONCURRENCY = 100
POOL_SIZE = 2


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(name: str, holder: str, ttl: float) -> bool:
    now = timezone.now()
    Lease.objects.get_or_create(name=name)
    return (
        Lease.objects.filter(name=name)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__lt=now) | Q(holder=holder))
        .update(holder=holder, expires_at=now + timedelta(seconds=ttl), renewed_at=now)
        == 1
    )


def release_lease(name: str, holder: str) -> None:
    Lease.objects.filter(name=name, holder=holder).update(expires_at=None, holder="")


def interleave_by_team(generations: list[Generation]) -> list[Generation]:
    """Round robin across teams, so one team's burst cannot starve the others."""
    queues: dict[int, list[Generation]] = defaultdict(list)
    for generation in generations:
        queues[generation.team_id].append(generation)
    ordered: list[Generation] = []
    while queues:
        for team_id in list(queues):
            ordered.append(queues[team_id].pop(0))
            if not queues[team_id]:
                del queues[team_id]
    return ordered


async def _poll_all(generations: list[Generation]) -> list[tuple[Generation, Outcome]]:
    """Poll every job once, POLL_CONCURRENCY at a time.

    httpcore's pool does work proportional to (waiting requests x connections) on every
    state change, so one big pool spends most of its time on bookkeeping. Many small pools
    (a job always maps to the same one, so keep-alive still works) cost a few times less
    CPU per poll; see bench/dispatcher.py.
    """
    semaphore = asyncio.Semaphore(POLL_CONCURRENCY)
    shards = max(1, POLL_CONCURRENCY // POOL_SIZE)
    limits = httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)
    clients = [http.async_client(limits=limits) for _ in range(shards)]

    async def one(generation: Generation) -> tuple[Generation, Outcome]:
        adapter = get_adapter(generation.provider)
        client = clients[generation.pk % shards]
        async with semaphore:
            try:
                return generation, await adapter.poll(client, engine.job_for(generation))
            except Exception as exc:  # a broken poll is retried later, not a failure
                log.warning(
                    "poll of %s raised %r",
                    generation.uuid,
                    exc,
                    extra=engine.log_fields(generation, "poll"),
                )
                return generation, Pending(generation.upstream_handle, poll_after=10)

    try:
        return await asyncio.gather(*(one(g) for g in generations))
    finally:
        for client in clients:
            await client.aclose()


def _send_waiting_jobs(now: datetime) -> None:
    """Re-send queued jobs whose retry or budget wait is over, teams taking turns.

    Offline jobs all go. For an upstream, each team sends one job per round, and the team
    that submitted least to that provider within the rate window goes first: a saturated
    budget is shared by turns, not won by whichever team queued most.
    """
    waiting = list(
        Generation.objects.filter(state=S.QUEUED, next_poll_at__lte=now)
        .order_by("next_poll_at", "pk")
        .only("pk", "team_id", "provider", "next_poll_at")[:BATCH]
    )
    send: list[Generation] = [g for g in waiting if g.provider == "local"]
    by_provider: dict[str, dict[int, Generation]] = defaultdict(dict)
    for generation in waiting:
        if generation.provider != "local":
            by_provider[generation.provider].setdefault(generation.team_id, generation)
    since = now - timedelta(seconds=budgets.window_seconds())
    for provider, first_of_team in by_provider.items():
        recent = dict(
            Generation.objects.filter(
                provider=provider, team_id__in=list(first_of_team), submitted_at__gte=since
            )
            .values_list("team_id")
            .annotate(n=Count("pk"))
        )
        send.extend(sorted(first_of_team.values(), key=lambda g: (recent.get(g.team_id, 0), g.pk)))
    for generation in send:
        if Generation.objects.filter(
            pk=generation.pk, state=S.QUEUED, next_poll_at=generation.next_poll_at
        ).update(next_poll_at=None):
            engine.enqueue("generations.tasks.submit_generation", generation.pk)


def _within_poll_budgets(due: list[Generation]) -> tuple[list[Generation], list[budgets.Grant]]:
    """The due jobs whose credential has a poll slot now (and the slots taken for them); the
    rest wait for theirs."""
    by_credential: dict[int | None, list[Generation]] = defaultdict(list)
    for generation in due:
        by_credential[generation.credential_id].append(generation)
    chosen: list[Generation] = []
    grants: list[budgets.Grant] = []
    for credential_id, jobs in by_credential.items():
        if credential_id is None:
            chosen.extend(jobs)
            continue
        jobs = interleave_by_team(jobs)
        grant = budgets.take(credential_id, "poll", len(jobs))
        grants.append(grant)
        granted = grant.count
        chosen.extend(jobs[:granted])
        if granted < len(jobs):
            # Keep their order, and spare the next rounds from reading them again.
            resume = budgets.next_slot_at(credential_id, "poll")
            credential = jobs[0].credential
            assert credential is not None
            step = timedelta(seconds=budgets.interval(credential.polls_per_minute))
            for position, job in enumerate(jobs[granted:]):
                Generation.objects.filter(pk=job.pk, state=S.RUNNING).update(
                    next_poll_at=resume + step * position
                )
    return chosen, grants


def _run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also from a thread that already has a running loop (then on a helper
    thread): the dispatcher may be called from async code or an embedding test harness."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def dispatch_once() -> int:
    """One round: re-send due waiting jobs, poll due running ones. Returns how many polled."""
    now = timezone.now()
    _send_waiting_jobs(now)
    due = list(
        Generation.objects.filter(state=S.RUNNING, next_poll_at__lte=now)
        .select_related("team", "model", "credential")
        .order_by("next_poll_at")[:BATCH]
    )
    due, grants = _within_poll_budgets(due)
    if not due:
        return 0
    results = _run_coroutine(_poll_all(interleave_by_team(due)))
    for grant in grants:  # polls that came back late re-time their budget
        budgets.settle(grant)
    for generation, outcome in results:
        if isinstance(outcome, Pending):
            # The common case, kept to one UPDATE per job.
            updates = {
                "upstream_handle": outcome.handle,
                "next_poll_at": timezone.now() + timedelta(seconds=outcome.poll_after),
            }
            query = Generation.objects.filter(pk=generation.pk, state=S.RUNNING)
            if outcome.progress is not None and outcome.progress > generation.progress:
                updates["progress"] = min(int(outcome.progress), 99)
            query.update(**updates)
        else:
            answer = type(outcome).__name__.lower()
            log.info(
                "generation %s polled: %s",
                generation.uuid,
                answer,
                extra=engine.log_fields(generation, "poll", outcome=answer),
            )
            engine.apply_outcome(generation.pk, outcome, S.RUNNING, collect_inline=False)
    return len(due)


def run_dispatcher(budget_seconds: float = 50.0) -> int:
    holder = holder_name()
    if not acquire_lease("dispatcher", holder, budget_seconds + 20):
        return 0
    polled = 0
    end = time.monotonic() + budget_seconds
    try:
        while time.monotonic() < end:
            count = dispatch_once()
            polled += count
            acquire_lease("dispatcher", holder, budget_seconds + 20)
            if count == 0:
                time.sleep(min(0.25, max(0.0, end - time.monotonic())))
    finally:
        release_lease("dispatcher", holder)
    return polled


def sweep() -> dict[str, int]:
    """Repair what crashes leave behind; safe to run anywhere, any number of times."""
    now = timezone.now()
    counts = {"timed_out": 0, "resubmitted": 0, "reconciled": 0, "recollected": 0, "requeued": 0}
    for pk, kind in Generation.objects.filter(
        state__in=ACTIVE_STATES, deadline_at__lt=now
    ).values_list("pk", "type"):
        if engine.fail(
            pk,
            Failure(
                f"The {kind.replace('_', ' ')} did not finish in time; your credits were refunded",
                FailureCategory.TIMEOUT,
                "DEADLINE_EXCEEDED",
                retryable=True,
            ),
        ):
            counts["timed_out"] += 1
    for generation in Generation.objects.filter(
        state=S.SUBMITTING, lease_until__lt=now
    ).select_related("team", "model"):
        adapter = get_adapter(generation.provider)
        if adapter.idempotent_submit:
            if generation.attempts >= engine.MAX_SUBMIT_ATTEMPTS:
                engine.fail(
                    generation.pk,
                    Failure(
                        "The worker running this job stopped too many times",
                        FailureCategory.INTERNAL,
                        "WORKER_LOST",
                        provider=generation.provider,
                    ),
                )
                continue
            if Generation.objects.filter(
                pk=generation.pk, state=S.SUBMITTING, lease_until=generation.lease_until
            ).update(state=S.QUEUED, lease_until=now + engine.REQUEUE_AFTER, next_poll_at=None):
                engine.enqueue("generations.tasks.submit_generation", generation.pk)
                counts["resubmitted"] += 1
            continue
        # The submit's answer never came: ask the upstream before refunding; never resubmit.
        if not Generation.objects.filter(
            pk=generation.pk, state=S.SUBMITTING, lease_until=generation.lease_until
        ).update(lease_until=now + timedelta(minutes=2)):
            continue
        try:
            outcome = adapter.reconcile(engine.job_for(generation))
        except Exception:
            log.exception(
                "reconcile of %s raised; will retry",
                generation.uuid,
                extra=engine.log_fields(generation, "reconcile"),
            )
            continue
        counts["reconciled"] += 1
        if outcome is None:
            engine.fail(
                generation.pk,
                Failure(
                    "The upstream never received this job; your credits were refunded",
                    FailureCategory.UNKNOWN_OUTCOME,
                    "SUBMIT_LOST",
                    provider=generation.provider,
                ),
            )
        else:
            engine.apply_outcome(generation.pk, outcome, S.SUBMITTING, collect_inline=False)
    for generation in Generation.objects.filter(state=S.COLLECTING, lease_until__lt=now):
        if Generation.objects.filter(
            pk=generation.pk, state=S.COLLECTING, lease_until=generation.lease_until
        ).update(lease_until=now + engine.COLLECT_LEASE):
            engine.enqueue("generations.tasks.collect_generation", generation.pk)
            counts["recollected"] += 1
    for generation in Generation.objects.filter(
        state=S.QUEUED, lease_until__lt=now, next_poll_at__isnull=True
    ):
        if Generation.objects.filter(
            pk=generation.pk, state=S.QUEUED, lease_until=generation.lease_until
        ).update(lease_until=now + engine.REQUEUE_AFTER):
            engine.enqueue("generations.tasks.submit_generation", generation.pk)
            counts["requeued"] += 1
    if any(counts.values()):
        log.info("sweeper: %s", counts)
    return counts
