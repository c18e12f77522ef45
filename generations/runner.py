"""The async runner: one long-lived asyncio loop per process for upstream I/O.

A synchronous upstream call (an OpenAI-compatible image or speech, Replicate's sync mode, a
streamed chat answer) takes seconds to minutes of waiting; in a worker process it would hold
the whole process. Here it is a coroutine, hundreds at once:

1. The cluster's submit task fetches the inputs and claims the job as always (queued →
   submitting); for an `async_submit` adapter, when a runner is alive, it hands the job off
   (`engine.hand_off`: `Generation.handoff` set, `runner` blank) and returns. A job without
   input files skips the cluster: the request that accepted it claims and hands it off in
   one UPDATE (`engine.start`), so no broker poll stands before the call.
2. A runner takes handed-off jobs (a conditional UPDATE of `runner`), takes the budget's
   admission, and awaits `adapter.asubmit(client, job, report)` on a client kept per upstream
   host. While the call runs it renews the job's lease (and cancels the call if the job left
   `submitting`: the user cancelled it, or its deadline passed); progress and partial text are
   written throttled. The answer goes through the engine (`finish_submit`), collect included.
3. The runner holding the `dispatcher` lease also runs the continuous dispatcher
   (generations/dispatch.py) on the same loop.

Database work never runs on the loop: it goes to a few threads of the runner's own.

Crash safety is the sweeper's, as for a worker: a killed runner leaves leases that run out;
a job it took is resubmitted if its adapter is idempotent, otherwise reconciled with the
upstream (never sent twice); a handed-off job no runner took is re-queued (never sent).
Start one with `manage.py async_runner` (`run_studio` starts one beside the cluster); each
holds one of SLOTS `runner:<n>` leases, which is how workers know a runner is alive. Without
one, workers call `submit` themselves as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.utils import timezone

from generations import credentials, dispatch, engine
from generations.models import Generation, GenerationState
from generations.providers.base import Job, Outcome, get_adapter
from studio import http

log = logging.getLogger(__name__)
S = GenerationState

SLOTS = 32
SLOT_TTL = 15.0  # a runner's slot lease; renewed every KEEP_EVERY
KEEP_EVERY = 3.0
RUN_LEASE = timedelta(seconds=60)  # an in-flight call's lease, renewed every KEEP_EVERY
PICKUP_EVERY = 0.02  # seconds between looks for handed-off jobs when there were none
MAX_IN_FLIGHT = 1000
# Each thread holds a database connection only for the length of one call (see
# dispatch.release_connection); the runner widens its PostgreSQL pool to match.
DB_THREADS = 8  # admissions may sleep up to budgets.lead() in one
COLLECT_THREADS = 4
# Per upstream host: SHARDS small connection pools, a job always on the same one (one big
# httpx pool spends CPU in proportion to its connections on every request, see
# dispatch.PollClients).
SHARDS = 16
SHARD_CONNECTIONS = 64


def take_slot(holder: str) -> str | None:
    """Take a free `runner:<n>` lease (or the one this holder has): its name, or None."""
    for n in range(SLOTS):
        name = f"{engine.RUNNER_LEASE_PREFIX}{n}"
        if dispatch.acquire_lease(name, holder, SLOT_TTL):
            return name
    return None


def take_handoffs(holder: str, limit: int) -> list[Generation]:
    """Handed-off jobs nobody took yet, taken by this runner (conditional UPDATE)."""
    pks = list(
        Generation.objects.filter(state=S.SUBMITTING, handoff__isnull=False, runner="")
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not pks:
        return []
    Generation.objects.filter(pk__in=pks, state=S.SUBMITTING, runner="").update(
        runner=holder, lease_until=timezone.now() + RUN_LEASE
    )
    return list(
        Generation.objects.filter(pk__in=pks, state=S.SUBMITTING, runner=holder).select_related(
            "team", "model", "credential"
        )
    )


def keep_calls(holder: str, pks: list[int]) -> set[int]:
    """Renew the leases of this runner's calls; the ones still ours (the rest left
    `submitting` meanwhile: cancelled, failed at their deadline)."""
    ours = Generation.objects.filter(pk__in=pks, state=S.SUBMITTING, runner=holder)
    ours.update(lease_until=timezone.now() + RUN_LEASE)
    return set(ours.values_list("pk", flat=True))


def prepare(generation: Generation) -> tuple[credentials.Admission | None, Job | None]:
    """The admission (credential and submit slot) and the Job to call with; no Job when the
    job went back to wait for a slot or failed for want of a credential."""
    adapter = get_adapter(generation.provider)
    admission = engine.admit_claimed(generation) if adapter.needs_credential else None
    if admission is not None and not admission.admitted:
        return admission, None
    return admission, engine.job_from_handoff(generation)


def write_progress(generation_id: int, value: int) -> None:
    Generation.objects.filter(pk=generation_id, progress__lt=value, state=S.SUBMITTING).update(
        progress=value
    )


def write_partial(generation_id: int, content: str, reasoning: str) -> None:
    Generation.objects.filter(pk=generation_id, state=S.SUBMITTING).update(
        result_meta={"partial": {"content": content, "reasoning_content": reasoning}}
    )


class Reporter:
    """What a running `asubmit` reports; never blocks: one writer task per call coalesces
    the writes (progress never down, at most one write per THROTTLE seconds)."""

    THROTTLE = 0.3

    def __init__(self, runner: Runner, generation_id: int) -> None:
        self.runner = runner
        self.generation_id = generation_id
        self.progress = 0
        self.written_progress = 0
        self.text: tuple[str, str] | None = None
        self.writer: asyncio.Task[None] | None = None

    def __call__(self, value: int) -> None:
        self.progress = max(self.progress, max(0, min(int(value), 99)))
        self._wake()

    def partial(self, content: str, reasoning: str = "") -> None:
        self.text = (content, reasoning)
        self._wake()

    def _wake(self) -> None:
        if self.writer is None or self.writer.done():
            self.writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while self.progress > self.written_progress or self.text is not None:
            if self.text is not None:
                (content, reasoning), self.text = self.text, None
                await self.runner.db(write_partial, self.generation_id, content, reasoning)
            if self.progress > self.written_progress:
                self.written_progress = self.progress
                await self.runner.db(write_progress, self.generation_id, self.progress)
            await asyncio.sleep(self.THROTTLE)

    def close(self) -> None:
        """The answer is in: what was not written yet is dropped (the outcome replaces it)."""
        if self.writer is not None:
            self.writer.cancel()


class Runner:
    def __init__(
        self, holder: str | None = None, *, run_dispatcher: bool = True, max_in_flight: int = 0
    ) -> None:
        self.holder = holder or dispatch.holder_name()
        self.run_dispatcher = run_dispatcher
        self.max_in_flight = max_in_flight or MAX_IN_FLIGHT
        self.db = dispatch.DbThreads(DB_THREADS, "runner-db")
        self.collect = dispatch.DbThreads(COLLECT_THREADS, "runner-collect")
        self.clients: dict[str, list[httpx.AsyncClient]] = {}
        self.jobs: set[asyncio.Task[None]] = set()
        self.calls: dict[int, asyncio.Task[Outcome]] = {}
        self.slot: str | None = None
        self.dispatcher: tuple[asyncio.Task[int], asyncio.Event] | None = None

    # --- the loop's parts ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then let the calls in flight finish."""
        while self.slot is None:
            self.slot = await self.db(take_slot, self.holder)
            if self.slot is None:
                log.warning("every runner slot is taken; waiting for one")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), SLOT_TTL)
                if stop.is_set():
                    return
        log.info("async runner %s serving as %s", self.holder, self.slot)
        keeper = asyncio.create_task(self._keep(stop))
        try:
            await self._pick_up(stop)
            await self._stop_dispatcher()
            while self.jobs:
                await asyncio.wait(set(self.jobs))
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            await self.db(dispatch.release_lease, self.slot, self.holder)
            if self.run_dispatcher:
                await self.db(dispatch.release_lease, "dispatcher", self.holder)
            for shards in self.clients.values():
                for client in shards:
                    await client.aclose()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.db.close)
            await loop.run_in_executor(None, self.collect.close)

    async def _pick_up(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            room = self.max_in_flight - len(self.jobs)
            taken = await self.db(take_handoffs, self.holder, room) if room > 0 else []
            for generation in taken:
                task = asyncio.create_task(self._submit(generation))
                self.jobs.add(task)
                task.add_done_callback(self.jobs.discard)
            if not taken:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), PICKUP_EVERY)

    async def _keep(self, stop: asyncio.Event) -> None:
        """Every KEEP_EVERY: renew the slot, the calls' leases, the dispatcher's lease."""
        while True:
            try:
                await self.db(dispatch.acquire_lease, self.slot, self.holder, SLOT_TTL)
                if self.calls:
                    asked = list(self.calls)
                    ours = await self.db(keep_calls, self.holder, asked)
                    for pk in asked:
                        call = self.calls.get(pk)
                        if call is not None and pk not in ours:  # cancelled, timed out
                            call.cancel()
                if self.run_dispatcher and not stop.is_set():
                    await self._steer_dispatcher()
            except Exception:
                log.exception("the runner's lease keeping failed; retrying")
            await asyncio.sleep(KEEP_EVERY)

    async def _steer_dispatcher(self) -> None:
        held = await self.db(dispatch.acquire_lease, "dispatcher", self.holder, SLOT_TTL)
        if held and (self.dispatcher is None or self.dispatcher[0].done()):
            stop = asyncio.Event()
            self.dispatcher = (asyncio.create_task(dispatch.Dispatcher(self.db).run(stop)), stop)
        elif not held:
            await self._stop_dispatcher()

    async def _stop_dispatcher(self) -> None:
        if self.dispatcher is not None:
            task, stop = self.dispatcher
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
            self.dispatcher = None

    # --- one handed-off submit -------------------------------------------------------------

    def client_for(self, job: Job, adapter: Any, generation_id: int) -> httpx.AsyncClient:
        base = (job.credential.base_url if job.credential else "") or getattr(
            adapter, "default_base_url", ""
        )
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}"
        shards = self.clients.get(origin)
        if shards is None:
            limits = httpx.Limits(
                max_connections=SHARD_CONNECTIONS, max_keepalive_connections=SHARD_CONNECTIONS
            )
            shards = self.clients[origin] = [
                http.async_client(limits=limits) for _ in range(SHARDS)
            ]
        return shards[generation_id % len(shards)]

    async def _submit(self, generation: Generation) -> None:
        pk = generation.pk
        try:
            admission, job = await self.db(prepare, generation)
            if job is None:
                return
            adapter = get_adapter(generation.provider)
            report = Reporter(self, pk)
            with credentials.sending(admission):  # the task's requests are stamped when sent
                call = asyncio.create_task(
                    adapter.asubmit(self.client_for(job, adapter, pk), job, report)
                )
            self.calls[pk] = call
            try:
                outcome = await call
            except asyncio.CancelledError:
                if not call.cancelled():
                    raise  # this runner is being torn down, not the call
                log.info(
                    "generation %s left submitting during its call; call stopped",
                    generation.uuid,
                    extra=engine.log_fields(generation, "submit"),
                )
                await self.db(credentials.call_returned, admission)
                return
            except Exception as exc:
                outcome = engine.submit_raised(generation, exc)
            finally:
                self.calls.pop(pk, None)
                report.close()
            await self.collect(
                lambda: engine.finish_submit(generation, admission, outcome, collect_inline=True)
            )
        except Exception:  # the lease runs out and the sweeper takes over
            log.exception(
                "the runner could not finish %s", generation.uuid,
                extra=engine.log_fields(generation, "submit"),
            )  # fmt: skip


async def serve(
    stop: asyncio.Event, *, run_dispatcher: bool = True, max_in_flight: int = 0
) -> None:
    """Run a runner in this process until `stop` is set."""
    started = time.monotonic()
    dispatch.widen_pool(DB_THREADS + COLLECT_THREADS + 2)
    await Runner(run_dispatcher=run_dispatcher, max_in_flight=max_in_flight).run(stop)
    log.info("async runner stopped after %.0f s", time.monotonic() - started)
