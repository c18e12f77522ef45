"""Chat against the loopback OpenAI-compatible fake: a team with credits, a key, a credential.

Import the fixtures into a test module: `from tests.chat.fixtures import *  # noqa: F403`.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from studio.accounts import credits
from studio.accounts.models import Bucket
from tests.api.conftest import alice_key, api, isolated_rate_limits, make_key  # noqa: F401
from tests.fakes.openai_compat import OpenAIFake, default_reply
from tests.providers.conftest import seed_upstream_models, upstream_credentials  # noqa: F401

MODEL = "openai/gpt-4o-mini"


@pytest.fixture(scope="module")
def openai_server():
    fake = OpenAIFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(openai_server) -> OpenAIFake:
    openai_server.faults.clear()
    openai_server.chat_requests.clear()
    openai_server.reply = default_reply
    openai_server.chunk_delay = 0.0
    openai_server.break_after = None
    return openai_server


def seed_chat_models() -> None:
    seed_upstream_models()
    importlib.import_module("generations.migrations.0009_chat").seed(apps, None)


@pytest.fixture
def chat_team(team, fake, upstream_credentials):  # noqa: F811
    """Alice's team with 10,000 credits and an OpenAI-compatible credential on the fake."""
    seed_chat_models()
    upstream_credentials("openai", fake.base_url, fake.secret)
    credits.grant(team, 10_000, bucket=Bucket.PACK)
    return team


@pytest.fixture
def kolbo_api(chat_team, alice_key) -> Client:  # noqa: F811
    return Client(headers={"X-API-Key": alice_key})


def post(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(path, body, content_type="application/json", headers=headers)
