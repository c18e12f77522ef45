"""The dispatcher's light poll client (httpx's interface over aiohttp's pool) behaves as the
httpx client it replaces: same requests and answers, its timeouts, its errors, and budgets
still hear when each call was written and answered."""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest

from generations import dispatch
from studio import http
from tests.fakes.server import LoopbackServer, Response


def _run(coroutine):
    return asyncio.run(coroutine)


async def _with_client(call, **kwargs):
    client = http.light_async_client(connections=8, **kwargs)
    try:
        return await call(client)
    finally:
        await client.aclose()


def test_the_dispatcher_polls_through_the_light_client_by_default():
    clients = dispatch.PollClients()
    assert isinstance(clients.for_job(1)._transport, http.AiohttpTransport)
    _run(clients.aclose())


def test_a_poll_sends_the_request_as_httpx_would_and_reads_the_answer():
    seen = []

    def handler(request):
        seen.append(request)
        body = gzip.compress(json.dumps({"status": "running", "echo": request.path}).encode())
        return Response(200, body, "application/json", {"Content-Encoding": "gzip"})

    server = LoopbackServer(handler).start()
    try:

        async def calls(client):
            first = await client.get(f"{server.url}/jobs/1", headers={"Authorization": "Bearer k"})
            second = await client.post(f"{server.url}/jobs/2/cancel", json={"why": "user"})
            return first, second

        first, second = _run(_with_client(calls))
    finally:
        server.stop()
    assert first.status_code == 200
    assert first.json() == {"status": "running", "echo": "/jobs/1"}  # decoded as httpx does
    assert seen[0].headers["authorization"] == "Bearer k"
    assert seen[0].headers["user-agent"] == http.USER_AGENT
    assert json.loads(seen[1].body) == {"why": "user"}
    assert second.status_code == 200


def test_a_poll_that_outlasts_its_read_timeout_raises_httpxs_timeout():
    server = LoopbackServer(lambda request: Response.json({}), latency=2.0).start()
    try:
        with pytest.raises(httpx.ReadTimeout):
            _run(
                _with_client(
                    lambda client: client.get(f"{server.url}/slow"),
                    timeout=httpx.Timeout(5.0, read=0.2),
                )
            )
    finally:
        server.stop()


def test_a_poll_to_a_closed_port_raises_httpxs_connect_error():
    with pytest.raises(httpx.ConnectError):
        _run(_with_client(lambda client: client.get("http://127.0.0.1:9/nothing")))


def test_a_budget_hears_when_a_light_poll_was_written_and_answered():
    heard: list[str] = []
    server = LoopbackServer(lambda request: Response.json({"ok": True})).start()
    token = http.on_send.set(lambda: heard.append)
    try:
        _run(_with_client(lambda client: client.get(f"{server.url}/jobs/1")))
    finally:
        http.on_send.reset(token)
        server.stop()
    assert heard == [
        "http11.send_request_body.complete",
        "http11.receive_response_headers.complete",
    ]
