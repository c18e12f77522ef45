"""`manage.py mcp_stdio`: the same tools over stdin/stdout, driven by the SDK's stdio client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from mcp import Client, StdioServerParameters

from generations.models import Generation
from tests.cluster import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent.parent


def stdio_env(key: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "STUDIO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "STUDIO_BASE_URL": settings.BASE_URL,
        "STUDIO_RATELIMIT_PREFIX": settings.STUDIO_RATELIMIT_PREFIX,
        "STUDIO_API_KEY": key,
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def run_stdio(key: str, use):
    params = StdioServerParameters(
        command=sys.executable,
        args=["manage.py", "mcp_stdio", "--key-env", "STUDIO_API_KEY"],
        env=stdio_env(key),
        cwd=str(ROOT),
    )

    async def run():
        async with Client(params) as client:
            return await use(client)

    return asyncio.run(run())


def test_the_stdio_server_lists_the_tools_and_generates_an_image(alice_key, funded):
    async def use(client):
        tools = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("generate_image", {"prompt": "A quiet harbour"})
        return tools, result

    tools, result = run_stdio(alice_key, use)
    assert {"generate_image", "check_credits", "list_products"} <= tools
    assert not result.is_error
    body = result.structured_content
    assert body["state"] == "completed" and len(body["result"]["urls"]) == 1
    generation = Generation.objects.get(uuid=body["generation_id"])
    assert generation.team == funded and generation.credits_charged == 40


def test_the_stdio_server_refuses_to_start_without_a_valid_key(transactional_db):
    done = subprocess.run(
        [sys.executable, "manage.py", "mcp_stdio", "--key-env", "STUDIO_API_KEY"],
        cwd=ROOT,
        env=stdio_env("studio_live_" + "0" * 40),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "STUDIO_API_KEY" in done.stderr and "Traceback" not in done.stderr
