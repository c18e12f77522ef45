"""Shared fixtures: alice owns the team, bob is a member, vera a viewer, charlie an outsider."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from studio.accounts import credits, services
from studio.accounts.models import Bucket, Membership, Role, Team, User

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def isolated_rate_limits(settings):
    # Counters are shared (database or Redis); a fresh namespace per test keeps tests and
    # parallel workers from spending each other's budget (sign-ins from 127.0.0.1 included).
    settings.STUDIO_RATELIMIT_PREFIX = f"rl-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_user(db):
    def make(email: str, **extra) -> User:
        return User.objects.create_user(email=email, password=PASSWORD, **extra)

    return make


@pytest.fixture
def alice(make_user) -> User:
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def bob(make_user) -> User:
    return make_user("bob@example.com", name="Bob")


@pytest.fixture
def vera(make_user) -> User:
    return make_user("vera@example.com", name="Vera")


@pytest.fixture
def charlie(make_user) -> User:
    return make_user("charlie@example.com", name="Charlie")


@pytest.fixture
def team(alice, bob, vera) -> Team:
    team = services.create_team("Acme", alice)
    Membership.objects.create(user=bob, team=team, role=Role.MEMBER)
    Membership.objects.create(user=vera, team=team, role=Role.VIEWER)
    team.refresh_from_db()
    return team


@pytest.fixture
def other_team(charlie) -> Team:
    return services.create_team("Globex", charlie)


@pytest.fixture
def funded_team(team) -> Team:
    credits.grant(team, 10_000, bucket=Bucket.PACK, note="test pack")
    team.refresh_from_db()
    return team


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice) -> Client:
    return client_for(alice)


@pytest.fixture
def bob_client(bob) -> Client:
    return client_for(bob)


@pytest.fixture
def vera_client(vera) -> Client:
    return client_for(vera)


@pytest.fixture
def charlie_client(charlie) -> Client:
    return client_for(charlie)


# Transactional tests (threads racing, the live server) flush the database when they end, and
# with it the rows data migrations seed (plans, schedules, the model registry);
# `_restore_seed_rows` below puts them back at the start of each such test. (Django's
# serialized_rollback would too, but it collides with content types on PostgreSQL.)
transactional = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _restore_seed_rows(request):
    """Transactional tests (and live servers) start from a flushed database: re-seed it."""
    marker = request.node.get_closest_marker("django_db")
    flushes = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server", "cluster")
    )
    if flushes:
        request.getfixturevalue("transactional_db")
        from tests.seed import ensure_seed_data

        ensure_seed_data()


# --- every collected case runs under xdist ------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a collection with two items under one id: xdist would run only one of them."""
    from collections import Counter

    twice = [nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1]
    if twice:
        raise pytest.UsageError(f"{len(twice)} test ids are collected twice: {sorted(twice)[:3]}")
