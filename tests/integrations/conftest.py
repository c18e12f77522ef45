"""Integrations fixtures: a fake Graph API, a verifying webhook receiver, keys, a pixel."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from studio.integrations import meta
from studio.vault.services import create_api_key
from tests.fakes.meta_graph import MetaGraphFake
from tests.fakes.webhook_receiver import WebhookReceiver


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    # The fakes listen on 127.0.0.1; the private-address tests turn these off again.
    settings.STUDIO_ALLOW_PRIVATE_FETCH = True
    settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS = True
    settings.STUDIO_RATELIMIT_PREFIX = f"rl-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def graph(settings):
    fake = MetaGraphFake().start()
    settings.STUDIO_META_GRAPH_URL = fake.url
    settings.STUDIO_META_GRAPH_VERSION = fake.version
    yield fake
    fake.stop()


@pytest.fixture
def receiver():
    fake = WebhookReceiver().start()
    yield fake
    fake.stop()


@pytest.fixture
def no_sleep(monkeypatch):
    """Retries within a call happen at once (the schedule is still computed and recorded)."""
    monkeypatch.setattr("studio.integrations.meta.time.sleep", lambda seconds: None)


@pytest.fixture
def pixel(team, graph):
    return meta.connect_pixel(team, pixel_id="1234567890", access_token=graph.token)


def key_client(team, user, *, scopes=None, bearer=True) -> Client:
    key = create_api_key(team, user, "Test key", scopes=scopes).full_key
    header = {"Authorization": f"Bearer {key}"} if bearer else {"X-API-Key": key}
    return Client(headers=header)


@pytest.fixture
def krev(team, alice) -> Client:
    return key_client(team, alice)


@pytest.fixture
def kolbo(team, alice) -> Client:
    return key_client(team, alice, bearer=False)


@pytest.fixture
def charlie_api(other_team, charlie) -> Client:
    return key_client(other_team, charlie, bearer=False)
