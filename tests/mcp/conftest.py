"""Studio's ASGI application under uvicorn on loopback, and the SDK's own MCP clients."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from studio.accounts import credits
from studio.accounts.models import Bucket
from studio.vault.services import create_api_key


@pytest.fixture(autouse=True)
def isolated_rate_limits(settings):
    settings.STUDIO_RATELIMIT_PREFIX = f"rl-{uuid.uuid4().hex[:12]}"


class StudioServer:
    """studio.asgi:application (Django plus /mcp) served by uvicorn in a thread, lifespan on."""

    def __init__(self) -> None:
        from studio.asgi import application

        config = uvicorn.Config(
            application, host="127.0.0.1", port=0, lifespan="on", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> StudioServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("Studio did not start")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def studio_server(transactional_db) -> Iterator[StudioServer]:
    server = StudioServer().start()
    yield server
    server.stop()


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


@pytest.fixture
def make_key(transactional_db):
    def make(team, user, *, scopes=None) -> str:
        return create_api_key(team, user, "MCP test key", scopes=scopes).full_key

    return make


@pytest.fixture
def alice_key(team, alice, make_key) -> str:
    return make_key(team, alice)


def with_mcp(
    server: StudioServer, key: str | None, use: Callable[[Client], Awaitable[Any]], **headers: str
) -> Any:
    """Connect the SDK's streamable-HTTP client to /mcp with `key`, run `use`, return its value."""

    async def run() -> Any:
        sent = {"X-API-Key": key, **headers} if key else headers
        async with httpx2.AsyncClient(headers=sent, timeout=60) as http:
            transport = streamable_http_client(f"{server.url}/mcp", http_client=http)
            async with Client(transport) as client:
                return await use(client)

    return asyncio.run(run())


def call(server: StudioServer, key: str | None, tool: str, args: dict[str, Any]) -> Any:
    async def use(client: Client) -> Any:
        return await client.call_tool(tool, args)

    return with_mcp(server, key, use)
