"""The cluster's clockwork: the dispatcher that polls upstreams and the sweeper that repairs.

The dispatcher is continuous: every running job is polled when its `next_poll_at` is due, not
in rounds that wait for the slowest poll. Each tick takes the due jobs (per-credential poll
budgets, teams in turn), moves their `next_poll_at` ahead by POLL_CLAIM (so the next tick does
not read them again, and a dispatcher that dies leaves them due again shortly), and starts
their polls; finished polls are written back in batches, one UPDATE per batch. It runs in the
async runner (generations/runner.py, a long-lived process holding the `dispatcher` lease),
and, where no runner runs, in the one-minute `run_dispatcher` schedule of the task cluster.
One dispatcher at a time across every cluster (a database lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from django.db import DatabaseError, connection
from django.db.models import Case, Count, DateTimeField, F, Q, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from generations import budgets, engine
from generations.models import ACTIVE_STATES, Generation, GenerationState, Lease
from generations.providers.base import (
    Failure,
    FailureCategory,
    Job,
    Outcome,
    Pending,
    get_adapter,
)
from studio import http

log = logging.getLogger(__name__)
T = TypeVar("T")
S = GenerationState
BATCH = 2000
# Polls in flight at once: at 5,000 jobs polled every second against a 50 ms upstream,
# about 250 are in flight (Little's law); the rest is headroom for slow upstreams.
POLL_CONCURRENCY = 400
POOL_SIZE = 2
# Polls go through aiohttp's pool (studio.http.light_async_client), for less CPU per poll
# than httpcore's (bench/dispatcher.py). STUDIO_LIGHT_POLLS=0 keeps httpcore's small pools.
LIGHT_CLIENT = os.environ.get("STUDIO_LIGHT_POLLS", "1") != "0"
# A taken job's `next_poll_at` moves this far ahead until its poll's answer is written.
POLL_CLAIM = timedelta(seconds=30)
TICK = 0.05  # seconds between looks for due jobs when there were none
WRITE_EVERY = 0.05  # seconds between batched writes of poll answers
SEND_WAITING_EVERY = 0.05  # each team re-sends one waiting job per look
WRITE_CHUNK = 400  # rows per UPDATE … CASE (SQLite's bound on variables per statement)


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


class DbThreads:
    """Database work for an event loop, on a few threads of its own, so the loop never
    blocks on a query. Each thread keeps its connection; a broken one is dropped."""

    def __init__(self, threads: int, name: str) -> None:
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _guarded, fn, args)

    def close(self) -> None:
        # The threads end here; their connections (thread-local) are closed with them.
        self.executor.shutdown(wait=True)


def _guarded(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    try:
        return fn(*args)
    except DatabaseError:
        if not connection.is_usable():
            connection.close()
        raise
    finally:
        release_connection()


def release_connection() -> None:
    """After a unit of work on a helper thread: give the connection back where that is cheap
    (PostgreSQL's pool, SQLite's per-process reuse), so a few threads never hold more than
    their share of a small pool; without a pool the thread keeps its one connection."""
    pooled = connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("pool")
    if pooled and not connection.in_atomic_block:
        connection.close()


def widen_pool(size: int) -> None:
    """Let this process's PostgreSQL pool hold `size` connections (a runner's threads);
    call before the first query."""
    from django.db import connections

    pool = connections["default"].settings_dict.get("OPTIONS", {}).get("pool")
    if isinstance(pool, dict):
        pool["max_size"] = max(int(pool.get("max_size") or 0), size)


class PollClients:
    """The dispatcher's HTTP clients, kept for its whole life.

    httpcore's pool does work proportional to (waiting requests x connections) on every
    state change, so one big pool spends most of its time on bookkeeping. Many small pools
    (a job always maps to the same one, so keep-alive still works) cost a few times less
    CPU per poll; see bench/dispatcher.py.
    """

    def __init__(self, concurrency: int = POLL_CONCURRENCY) -> None:
        if LIGHT_CLIENT:
            self.clients = [http.light_async_client(connections=concurrency)]
            return
        limits = httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)
        self.clients = [
            http.async_client(limits=limits) for _ in range(max(1, concurrency // POOL_SIZE))
        ]

    def for_job(self, generation_id: int) -> httpx.AsyncClient:
        return self.clients[generation_id % len(self.clients)]

    async def aclose(self) -> None:
        for client in self.clients:
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


def _case(values: list[tuple[int, Any]], field: Any) -> Any:
    """`CASE pk WHEN … THEN …` for one column of a batched UPDATE."""
    case = Case(
        *(When(pk=pk, then=Value(value, output_field=field)) for pk, value in values),
        output_field=field,
    )
    if connection.features.requires_casted_case_in_updates:
        return Cast(case, output_field=field)
    return case


def set_next_polls(when: list[tuple[int, datetime]]) -> None:
    """Move running jobs' next polls, one statement per WRITE_CHUNK jobs."""
    for start in range(0, len(when), WRITE_CHUNK):
        chunk = when[start : start + WRITE_CHUNK]
        Generation.objects.filter(pk__in=[pk for pk, _ in chunk], state=S.RUNNING).update(
            next_poll_at=_case(chunk, DateTimeField())
        )


def _within_poll_budgets(due: list[Generation]) -> tuple[list[Generation], list[budgets.Grant]]:
    """The due jobs whose credential has a poll slot now (and the slots taken for them); the
    rest wait for theirs (their next polls moved to their slots in one statement)."""
    by_credential: dict[int | None, list[Generation]] = defaultdict(list)
    for generation in due:
        by_credential[generation.credential_id].append(generation)
    chosen: list[Generation] = []
    grants: list[budgets.Grant] = []
    later: list[tuple[int, datetime]] = []
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
            # Keep their order, and spare the next ticks from reading them again.
            resume = budgets.next_slot_at(credential_id, "poll")
            credential = jobs[0].credential
            assert credential is not None
            step = timedelta(seconds=budgets.interval(credential.polls_per_minute))
            later += [(job.pk, resume + step * i) for i, job in enumerate(jobs[granted:])]
    set_next_polls(later)
    return chosen, grants


@dataclass
class TakenPoll:
    generation: Generation
    job: Job
    grant: budgets.Grant | None = None  # its poll slot's grant: the call's send is stamped


def take_due(limit: int = BATCH) -> tuple[list[TakenPoll], list[budgets.Grant]]:
    """The running jobs due now that have a poll slot, taken: their next poll moves
    POLL_CLAIM ahead until the answer is written (one statement for them all)."""
    now = timezone.now()
    due = list(
        Generation.objects.filter(state=S.RUNNING, next_poll_at__lte=now)
        .select_related("team", "model", "credential")
        .order_by("next_poll_at")[:limit]
    )
    if not due:
        return [], []
    due, grants = _within_poll_budgets(due)
    claim = now + POLL_CLAIM
    for start in range(0, len(due), WRITE_CHUNK):
        Generation.objects.filter(
            pk__in=[g.pk for g in due[start : start + WRITE_CHUNK]], state=S.RUNNING
        ).update(next_poll_at=claim)
    by_credential = {grant.credential_id: grant for grant in grants}
    return [
        TakenPoll(g, engine.job_for(g), by_credential.get(g.credential_id or 0))
        for g in interleave_by_team(due)
    ], grants


def write_answers(answers: list[tuple[Generation, Outcome]]) -> None:
    """Write polls' answers: the usual "still running" ones batched (one UPDATE … CASE per
    WRITE_CHUNK jobs), anything else through the state machine, one by one."""
    pending: list[tuple[Generation, Outcome]] = [
        (g, o) for g, o in answers if isinstance(o, Pending)
    ]
    for start in range(0, len(pending), WRITE_CHUNK):
        _write_pending(pending[start : start + WRITE_CHUNK])
    for generation, outcome in answers:
        if isinstance(outcome, Pending):
            continue
        answer = type(outcome).__name__.lower()
        log.info(
            "generation %s polled: %s",
            generation.uuid,
            answer,
            extra=engine.log_fields(generation, "poll", outcome=answer),
        )
        engine.apply_outcome(generation.pk, outcome, S.RUNNING, collect_inline=False)


def _write_pending(chunk: list[tuple[Generation, Outcome]]) -> None:
    """One UPDATE for a chunk of "still running" answers: handle, next poll, progress.

    Written as SQL: the ORM's Case/When costs ~0.1 ms per row to build and compile, more
    than the poll itself."""
    now = timezone.now()
    ops = connection.ops
    postgres = connection.vendor == "postgresql"
    meta = Generation._meta
    table = ops.quote_name(meta.db_table)
    pk, handle, due, progress, state = (
        ops.quote_name(str(getattr(meta.get_field(name), "column", name)))
        for name in ("id", "upstream_handle", "next_poll_at", "progress", "state")
    )
    whens = " ".join(["WHEN %s THEN %s"] * len(chunk))
    json_cast, time_cast = ("::jsonb", "::timestamptz") if postgres else ("", "")
    handles: list[Any] = []
    dues: list[Any] = []
    progresses: list[Any] = []
    for generation, outcome in chunk:
        assert isinstance(outcome, Pending)
        handles += [generation.pk, json.dumps(outcome.handle)]
        when = now + timedelta(seconds=outcome.poll_after)
        dues += [generation.pk, ops.adapt_datetimefield_value(when)]
        progresses += [generation.pk, max(generation.progress, min(int(outcome.progress or 0), 99))]
    # Only quoted column names from the model go into the text; every value is a parameter.
    sql = (
        f"UPDATE {table} SET "  # noqa: S608
        f"{handle} = (CASE {pk} {whens} END){json_cast}, "
        f"{due} = (CASE {pk} {whens} END){time_cast}, "
        f"{progress} = CASE {pk} {whens} END "
        f"WHERE {pk} IN ({', '.join(['%s'] * len(chunk))}) AND {state} = %s"
    )
    params = [*handles, *dues, *progresses, *(g.pk for g, _ in chunk), S.RUNNING.value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


async def poll_one(clients: PollClients, taken: TakenPoll) -> Outcome:
    generation = taken.generation
    try:
        adapter = get_adapter(generation.provider)
        with budgets.sending(taken.grant):  # a poll that left on time moves no budget
            return await adapter.poll(clients.for_job(generation.pk), taken.job)
    except Exception as exc:  # a broken poll is retried later, not a failure
        log.warning(
            "poll of %s raised %r",
            generation.uuid,
            exc,
            extra=engine.log_fields(generation, "poll"),
        )
        return Pending(generation.upstream_handle, poll_after=10)


class Dispatcher:
    """The continuous dispatcher on an event loop (see the module's docstring)."""

    def __init__(self, db: DbThreads, clients: PollClients | None = None) -> None:
        self.db = db
        self.clients = clients or PollClients()
        self.slots = asyncio.Semaphore(POLL_CONCURRENCY)
        self.answers: list[tuple[Generation, Outcome]] = []
        self.answered = asyncio.Event()
        self.in_flight = 0
        self.polled = 0
        self.groups: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> int:
        """Dispatch until `stop` is set; then finish the polls in flight."""
        writer = asyncio.create_task(self._write_loop())
        waiting_sent = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() - waiting_sent >= SEND_WAITING_EVERY:
                    waiting_sent = time.monotonic()
                    await self.db(_send_waiting_jobs, timezone.now())
                room = min(BATCH, POLL_CONCURRENCY * 4 - self.in_flight)
                started = await self.start_due(room) if room > 0 else 0
                if started < room or room <= 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), TICK)
            while self.in_flight:
                await asyncio.sleep(TICK)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            await self.flush()
        return self.polled

    async def start_due(self, limit: int) -> int:
        taken, grants = await self.db(take_due, limit)
        if taken:
            self.in_flight += len(taken)
            group = asyncio.create_task(self._poll_group(taken, grants))
            self.groups.add(group)
            group.add_done_callback(self.groups.discard)
        elif grants:
            await self.db(_settle, grants)
        return len(taken)

    async def _poll_group(self, taken: list[TakenPoll], grants: list[budgets.Grant]) -> None:
        async def one(item: TakenPoll) -> None:
            async with self.slots:
                outcome = await poll_one(self.clients, item)
            self.answers.append((item.generation, outcome))
            self.in_flight -= 1
            self.polled += 1
            self.answered.set()

        await asyncio.gather(*(one(item) for item in taken))
        if grants:  # polls that came back late re-time their budget
            await self.db(_settle, grants)

    async def _write_loop(self) -> None:
        while True:
            await self.answered.wait()
            await asyncio.sleep(WRITE_EVERY)  # let a batch gather
            await self.flush()

    async def flush(self) -> None:
        self.answered.clear()
        answers, self.answers = self.answers, []
        if answers:
            try:
                await self.db(write_answers, answers)
            except Exception:  # their claims run out and they are polled again
                log.exception("writing %d poll answers failed", len(answers))

    async def aclose(self) -> None:
        await self.clients.aclose()


def _settle(grants: list[budgets.Grant]) -> None:
    for grant in grants:
        budgets.settle(grant)


def _run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also from a thread that already has a running loop (then on a helper
    thread): the dispatcher may be called from async code or an embedding test harness."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _poll_all(taken: list[TakenPoll]) -> list[tuple[Generation, Outcome]]:
    clients = PollClients()
    slots = asyncio.Semaphore(POLL_CONCURRENCY)

    async def one(item: TakenPoll) -> tuple[Generation, Outcome]:
        async with slots:
            return item.generation, await poll_one(clients, item)

    try:
        return await asyncio.gather(*(one(item) for item in taken))
    finally:
        await clients.aclose()


def dispatch_once() -> int:
    """One pass, in the calling thread (tests, tools): re-send due waiting jobs, poll every
    due running job once and write the answers. Returns how many were polled."""
    _send_waiting_jobs(timezone.now())
    taken, grants = take_due()
    answers = _run_coroutine(_poll_all(taken)) if taken else []
    _settle(grants)
    write_answers(answers)
    return len(taken)


def run_dispatcher(budget_seconds: float = 50.0) -> int:
    """The scheduled fallback: dispatch for `budget_seconds` unless a runner (or another
    cluster) holds the dispatcher lease."""
    holder = holder_name()
    ttl = budget_seconds + 20
    if not acquire_lease("dispatcher", holder, ttl):
        return 0
    if budget_seconds <= 0:
        release_lease("dispatcher", holder)
        return 0

    async def loop() -> int:
        db = DbThreads(4, "dispatch")
        dispatcher = Dispatcher(db)
        stop = asyncio.Event()

        async def keep_lease() -> None:
            end = time.monotonic() + budget_seconds
            while time.monotonic() < end:
                await asyncio.sleep(min(5.0, max(0.0, end - time.monotonic())))
                await db(acquire_lease, "dispatcher", holder, ttl)
            stop.set()

        keeper = asyncio.create_task(keep_lease())
        try:
            return await dispatcher.run(stop)
        finally:
            keeper.cancel()
            await dispatcher.aclose()
            await asyncio.get_running_loop().run_in_executor(None, db.close)

    try:
        return _run_coroutine(loop())
    finally:
        release_lease("dispatcher", holder)


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
    # Handed to the async runner, never taken (no runner was left to take it): it was never
    # sent, so it goes back to the queue whatever the adapter, its attempt given back.
    for pk, lease_until in Generation.objects.filter(
        state=S.SUBMITTING, lease_until__lt=now, handoff__isnull=False, runner=""
    ).values_list("pk", "lease_until"):
        if Generation.objects.filter(
            pk=pk, state=S.SUBMITTING, lease_until=lease_until, runner=""
        ).update(
            state=S.QUEUED,
            lease_until=now + engine.REQUEUE_AFTER,
            next_poll_at=None,
            handoff=None,
            attempts=F("attempts") - 1,
        ):
            engine.enqueue("generations.tasks.submit_generation", pk)
            counts["resubmitted"] += 1
    for generation in Generation.objects.filter(
        state=S.SUBMITTING, lease_until__lt=now
    ).select_related("team", "model"):
        adapter = get_adapter(generation.provider)
        if adapter.needs_credential and generation.credential_id is None:
            # Claimed, then its worker died before admitting it (a credential is set before
            # the call): the call never left, so it goes back to the queue, attempt given back.
            if Generation.objects.filter(
                pk=generation.pk, state=S.SUBMITTING, lease_until=generation.lease_until
            ).update(
                state=S.QUEUED,
                lease_until=now + engine.REQUEUE_AFTER,
                next_poll_at=None,
                attempts=F("attempts") - 1,
            ):
                engine.enqueue("generations.tasks.submit_generation", generation.pk)
                counts["resubmitted"] += 1
            continue
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
                    "The upstream never received this job; your credits were refunded"
                    if adapter.can_look_up_jobs
                    else "The upstream's answer to this job was lost, and whether it ran "
                    "cannot be known; your credits were refunded",
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
    from generations import parents

    counts.update(parents.sweep(now))
    from generations.agent import services as agent_runs

    counts["agent_runs"] = agent_runs.sweep(now)
    if any(counts.values()):
        log.info("sweeper: %s", counts)
    return counts
