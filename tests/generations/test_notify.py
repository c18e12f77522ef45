"""Inline waiters are woken by the job's end: a notification on PostgreSQL or Redis, one
shared short poll on SQLite; never a database session per waiter."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.db import connection

from generations import engine, notify
from generations.models import Generation, GenerationState
from tests.generations.helpers import start

pytestmark = pytest.mark.django_db(transaction=True)
S = GenerationState


def _available(kind: str) -> bool:
    if kind == "postgres":
        return connection.vendor == "postgresql"
    if kind == "redis":
        return bool(settings.REDIS_URL)
    return True


@pytest.fixture
def queued(monkeypatch, funded_team, alice) -> Generation:
    """A job that stays queued until the test finishes it (no worker runs it)."""
    monkeypatch.setattr(engine, "enqueue", lambda *args: None)
    return start(funded_team, alice, "image", {"prompt": "a lighthouse"})


@pytest.mark.parametrize("kind", ["poll", "postgres", "redis"])
def test_a_waiter_is_woken_when_its_generation_finishes(kind, monkeypatch, queued):
    if not _available(kind):
        pytest.skip(f"{kind} is not configured for this run")
    monkeypatch.setattr(notify, "backend", lambda: kind)

    async def scenario() -> tuple[bool, int]:
        waiter = asyncio.create_task(notify.wait_for_finish(queued.pk, 20.0))
        listener = notify.listener()
        while queued.pk not in listener.waiters:
            await asyncio.sleep(0.01)
        # The listener's one thread runs in order: once this look is answered, the waiter's
        # own first look (still running then) is done too, and only the news can wake it.
        await listener.terminal_among([])
        await asyncio.to_thread(_cancel, queued.pk)
        woken = await waiter
        await listener.aclose()
        return woken, len(listener.waiters)

    woken, still_waiting = asyncio.run(scenario())
    assert woken
    assert still_waiting == 0
    assert Generation.objects.get(pk=queued.pk).state == S.CANCELLED


def test_a_waiter_gives_up_at_its_timeout_while_the_job_runs(monkeypatch, queued):
    monkeypatch.setattr(notify, "backend", lambda: "poll")
    assert asyncio.run(_wait(queued.pk, 0.2)) is False


def test_a_waiter_for_a_job_already_finished_answers_at_once(monkeypatch, queued):
    monkeypatch.setattr(notify, "backend", lambda: "poll")
    engine.cancel(queued.pk)
    assert asyncio.run(_wait(queued.pk, 20.0)) is True


def _cancel(generation_id: int) -> None:
    """Cancel from another thread, as a request would, giving its connection back."""
    try:
        engine.cancel(generation_id)
    finally:
        connection.close()


async def _wait(generation_id: int, timeout: float) -> bool:
    try:
        return await notify.wait_for_finish(generation_id, timeout)
    finally:
        await notify.listener().aclose()
