"""A finished job's result is worth waiting for: a download that fails on the way (a 5xx, a
timeout, a reset) is tried again with backoff, within the collect step's time; a result that
is gone (404/410) fails the job at once, and so does one still failing at the deadline."""

from __future__ import annotations

import pytest

from generations import assets, engine
from generations.models import Generation, GenerationState
from tests.fakes.server import LoopbackServer, Response
from tests.storage.test_streaming import collecting, png

S = GenerationState


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch, settings):
    monkeypatch.setattr(assets, "RETRY_FIRST_DELAY", 0.05, raising=False)
    monkeypatch.setattr(assets, "RETRY_MAX_DELAY", 0.2, raising=False)
    settings.STUDIO_ALLOW_PRIVATE_FETCH = True


def flaky(failures: list[int]) -> LoopbackServer:
    """Answers the statuses in `failures` first, then the PNG."""

    def handle(request):
        if failures:
            return Response(failures.pop(0), b"busy", "text/plain")
        return Response(200, png(), "image/png")

    return LoopbackServer(handle).start()


def run_collect(team, user, url, monkeypatch) -> Generation:
    generation = collecting(team, user, url, monkeypatch)
    engine.collect(generation.pk)
    generation.refresh_from_db()
    return generation


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_result_url_that_fails_a_few_times_is_retried_and_the_job_succeeds(
    funded_team, alice, monkeypatch, status
):
    server = flaky([status, status, status])
    try:
        generation = run_collect(funded_team, alice, f"{server.url}/out.png", monkeypatch)
    finally:
        server.stop()
    assert generation.state == S.SUCCEEDED
    assert generation.credits_refunded == 0
    assert generation.assets.count() == 1
    assert server.hits["GET /out.png"] == 4


def test_a_result_that_is_slow_to_start_is_retried_after_the_timeout(
    funded_team, alice, monkeypatch
):
    import httpx

    from studio import http

    monkeypatch.setattr(http, "TIMEOUT", httpx.Timeout(5.0, read=0.3))
    calls = {"n": 0}

    async def handle(request):
        import asyncio

        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(2)  # no first byte before the read timeout
        return Response(200, png(), "image/png")

    server = LoopbackServer(handle).start()
    try:
        generation = run_collect(funded_team, alice, f"{server.url}/out.png", monkeypatch)
    finally:
        server.stop()
    assert generation.state == S.SUCCEEDED
    assert calls["n"] == 2


@pytest.mark.parametrize("status", [404, 410])
def test_a_result_that_is_gone_fails_the_job_at_once_and_refunds_it(
    funded_team, alice, monkeypatch, status
):
    server = flaky([status] * 10)
    try:
        generation = run_collect(funded_team, alice, f"{server.url}/out.png", monkeypatch)
    finally:
        server.stop()
    assert generation.state == S.FAILED
    assert generation.credits_refunded == generation.credits_charged
    assert server.hits["GET /out.png"] == 1


def test_a_result_still_failing_at_the_deadline_fails_the_job(
    funded_team, alice, monkeypatch, settings
):
    settings.STUDIO_RESULT_TIME_LIMIT = 1
    server = flaky([500] * 1000)
    try:
        generation = run_collect(funded_team, alice, f"{server.url}/out.png", monkeypatch)
    finally:
        server.stop()
    assert generation.state == S.FAILED
    assert "HTTP 500" in generation.error
    assert generation.credits_refunded == generation.credits_charged
    assert 2 <= server.hits["GET /out.png"] < 100
