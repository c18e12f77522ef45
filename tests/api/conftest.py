"""API fixtures: keys for alice (owner), bob (member) and charlie (outsider's team)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from studio.vault.services import create_api_key


@pytest.fixture(autouse=True)
def isolated_rate_limits(settings):
    # Counters are shared (database or Redis); a fresh namespace per test keeps tests and
    # parallel workers from spending each other's budget.
    settings.STUDIO_RATELIMIT_PREFIX = f"rl-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_key(db):
    def make(team, user, *, scopes=None, name="Test key", expires_in_days=None) -> str:
        return create_api_key(
            team, user, name, scopes=scopes, expires_in_days=expires_in_days
        ).full_key

    return make


@pytest.fixture
def alice_key(team, alice, make_key) -> str:
    return make_key(team, alice)


@pytest.fixture
def api(alice_key) -> Client:
    """A client sending alice's key in X-API-Key on every request."""
    return Client(headers={"X-API-Key": alice_key})


@pytest.fixture
def bearer(alice_key) -> Client:
    return Client(headers={"Authorization": f"Bearer {alice_key}"})
