"""GET /healthz: 200 with every part when Studio can serve and dispatch, 503 naming what is not."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generations.models import Lease
from studio import health


@pytest.fixture
def dispatcher_ran(db):
    """A dispatcher that renewed its lease just now (the cluster is not running in tests)."""
    return Lease.objects.create(name="dispatcher", holder="", renewed_at=timezone.now())


def test_healthz_is_200_and_lists_every_part_when_all_pass(client, dispatcher_ran):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "dispatcher"}
    assert all(part["ok"] for part in body["checks"].values())
    assert body["checks"]["broker"]["queued"] == 0


def test_healthz_needs_no_login_sets_no_cookie_and_writes_nothing(client, dispatcher_ran):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert not response.cookies
    statements = [q["sql"].lstrip().split()[0].upper() for q in queries.captured_queries]
    assert statements and set(statements) == {"SELECT"}


def test_a_stale_dispatcher_lease_turns_healthz_503_naming_the_dispatcher(client, dispatcher_ran):
    with time_machine.travel(timezone.now() + timedelta(minutes=2, seconds=5)):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failing"] == ["dispatcher"]
    assert "last renewed 125 s ago" in body["checks"]["dispatcher"]["error"]
    assert body["checks"]["database"]["ok"]


def test_a_dispatcher_that_never_ran_is_unhealthy(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["dispatcher"]


def test_a_lease_renewed_within_two_minutes_is_fresh(client, dispatcher_ran):
    with time_machine.travel(timezone.now() + timedelta(minutes=1, seconds=50)):
        assert client.get("/healthz").status_code == 200


def test_a_failing_cache_turns_healthz_503_naming_the_cache(client, dispatcher_ran, monkeypatch):
    from django.core.cache import caches

    def unreachable(*args, **kwargs):
        raise ConnectionError("cache.internal:6379 refused the connection")

    monkeypatch.setattr(caches["default"], "get", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    # The public page names the failure's type, never the backend's address.
    assert body["checks"]["cache"]["error"] == "ConnectionError"
    assert "cache.internal" not in response.content.decode()


class _DownDatabase:
    def cursor(self):
        raise OperationalError("could not connect to server at db.internal")


def test_a_failing_database_turns_healthz_503_naming_the_database(
    client, dispatcher_ran, monkeypatch
):
    monkeypatch.setattr(health, "connection", _DownDatabase())
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert "database" in body["failing"]
    assert body["checks"]["database"] == {
        "ok": False,
        "error": "OperationalError",
        "ms": body["checks"]["database"]["ms"],
    }
    assert "db.internal" not in response.content.decode()


def test_a_broker_that_does_not_answer_is_named(client, dispatcher_ran, monkeypatch):
    class Silent:
        def ping(self):
            return False

    monkeypatch.setattr(health, "task_broker", lambda: Silent())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def test_a_dispatcher_run_makes_healthz_report_it_fresh(client, db):
    from generations.dispatch import run_dispatcher

    assert client.get("/healthz").status_code == 503
    run_dispatcher(budget_seconds=0)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["dispatcher"]["renewed_seconds_ago"] == 0
