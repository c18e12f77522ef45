"""Waking whoever waits for a generation to finish, without a database session per waiter.

The engine calls `notify_finished(id)` when a job reaches a terminal state (after the commit);
`await wait_for_finish(id, timeout)` returns as soon as that happens. One listener per event
loop (so one per web process) fans the news out to every waiter of that process:

- Redis (`REDIS_URL` set): `PUBLISH` on one channel, one pub/sub subscription per process;
- PostgreSQL without Redis: `pg_notify` on one channel, one `LISTEN` connection per process
  (psycopg 3, async, autocommit);
- SQLite: one query every POLL_SECONDS for all the waited ids at once.

A notification can be lost (a listener reconnecting); the listener then looks at every
waited id once, and a waiter still gives up at its timeout. Both are only a fallback: the
answer normally arrives within a few milliseconds of the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction

log = logging.getLogger(__name__)

CHANNEL = "studio_generation_finished"
# Every 25 ms, and only while this process has waiters: an answer within 50 ms of the finish
# needs the poll well under 50 ms (the query and the wake-up take a few ms more).
POLL_SECONDS = 0.025
RECONNECT_SECONDS = 1.0


def backend() -> str:
    """The waking mechanism: "redis", "postgres" or "poll" (tests may patch this)."""
    if settings.REDIS_URL:
        return "redis"
    if connection.vendor == "postgresql":
        return "postgres"
    return "poll"


# --- publishing (sync: the engine runs in workers and runner threads) ---------------------------


def notify_finished(generation_id: int) -> None:
    """Tell every process's waiters that the generation is finished, once the current
    transaction (if any) has committed. Best effort: waiters have a fallback."""
    from generations import events

    # The same moment is the webhook events' (queued in the caller's transaction).
    events.generation_finished(generation_id)
    transaction.on_commit(functools.partial(_publish, generation_id))


def _publish(generation_id: int) -> None:
    try:
        kind = backend()
        if kind == "redis":
            _redis().publish(CHANNEL, str(generation_id))
        elif kind == "postgres":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(generation_id)])
    except Exception:  # a waiter still has its fallback; the job itself is done
        log.warning("could not announce that generation %s finished", generation_id, exc_info=True)


@functools.cache
def _redis() -> Any:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


# --- waiting (async: one listener per event loop) -----------------------------------------------


def _terminal_among(ids: list[int]) -> list[int]:
    """Run on the listener's own thread: one look for every waiter at once (a session per
    waiter per look is what made waiters expensive)."""
    from generations.dispatch import release_connection
    from generations.models import TERMINAL_STATES, Generation

    if not ids:
        return []
    try:
        return list(
            Generation.objects.filter(pk__in=ids, state__in=TERMINAL_STATES).values_list(
                "pk", flat=True
            )
        )
    finally:
        release_connection()


def _close_connection() -> None:
    connection.close()


def _release_callers_connection() -> None:
    """Give the calling request's connection back (to the pool, where there is one); its next
    query takes one again. Never inside a transaction, where closing would lose it."""
    if not connection.in_atomic_block:
        connection.close()


class Listener:
    """The one subscriber of an event loop, and the futures waiting on it, by generation id."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.waiters: dict[int, set[asyncio.Future[None]]] = defaultdict(set)
        self.ready = asyncio.Event()
        # Its own thread (and so one database connection) for the listener's queries.
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify")
        self.task = asyncio.get_running_loop().create_task(self._run())

    def wake(self, ids: Iterable[int]) -> None:
        for generation_id in ids:
            for future in self.waiters.pop(generation_id, ()):
                if not future.done():
                    future.set_result(None)

    def wake_text(self, payload: bytes | str) -> None:
        with contextlib.suppress(ValueError):
            self.wake([int(payload)])

    async def terminal_among(self, ids: list[int]) -> list[int]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.db, _terminal_among, ids)

    async def catch_up(self) -> None:
        """After (re)subscribing: anything that finished while nobody listened."""
        if self.waiters:
            self.wake(await self.terminal_among(list(self.waiters)))

    async def aclose(self) -> None:
        """Stop listening and close this listener's connections (tests; a process's own
        listener lives as long as the process)."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.db, _close_connection)
        self.db.shutdown(wait=False)

    async def _run(self) -> None:
        while True:
            try:
                if self.kind == "redis":
                    await self._listen_redis()
                elif self.kind == "postgres":
                    await self._listen_postgres()
                else:
                    await self._poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("the finish listener stopped; reconnecting", exc_info=True)
                self.ready.clear()
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _poll(self) -> None:
        self.ready.set()
        while True:
            await self.catch_up()
            await asyncio.sleep(POLL_SECONDS)

    async def _listen_redis(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(settings.REDIS_URL)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANNEL)
            self.ready.set()
            await self.catch_up()
            while True:
                message = await pubsub.get_message(timeout=30.0)
                if message is not None and message.get("type") == "message":
                    self.wake_text(message["data"])
        finally:
            self.ready.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await client.aclose()

    async def _listen_postgres(self) -> None:
        import psycopg

        params = {
            key: value
            for key, value in connection.get_connection_params().items()
            if key not in ("cursor_factory", "context", "prepare_threshold")
        }
        conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            await self.catch_up()
            async for note in conn.notifies():
                self.wake_text(note.payload)
        finally:
            self.ready.clear()
            with contextlib.suppress(Exception):
                await conn.close()


_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Listener] = (
    weakref.WeakKeyDictionary()
)


def listener() -> Listener:
    """This event loop's listener, started on first use."""
    loop = asyncio.get_running_loop()
    found = _listeners.get(loop)
    if found is None or found.task.done():
        found = _listeners[loop] = Listener(backend())
    return found


async def wait_for_finish(generation_id: int, timeout: float) -> bool:
    """Wait until the generation is in a terminal state (True) or `timeout` passes (False)."""
    if timeout <= 0:
        return False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # The waiting request holds no database connection while it waits: with PostgreSQL's
    # pool (4 per process) 50 waiters would otherwise starve every other request.
    await sync_to_async(_release_callers_connection)()
    subscriber = listener()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(subscriber.ready.wait(), timeout)
    future: asyncio.Future[None] = loop.create_future()
    subscriber.waiters[generation_id].add(future)
    try:
        # Registered first, then looked at: a finish between the two is not missed.
        if await subscriber.terminal_among([generation_id]):
            return True
        await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
        return True
    except TimeoutError:
        return False
    finally:
        waiting = subscriber.waiters.get(generation_id)
        if waiting is not None:
            waiting.discard(future)
            if not waiting:
                del subscriber.waiters[generation_id]
