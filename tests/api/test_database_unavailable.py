"""When the database cannot give a request a connection (PostgreSQL out of connections, the
pool's timeout, a locked SQLite file), the API answers 503 in its envelope with a Retry-After,
never a 500, and the next request once it is back is served as usual."""

from __future__ import annotations

import pytest
from django.db import connection

from studio.accounts import credits
from studio.accounts.models import Bucket

pytestmark = pytest.mark.django_db(transaction=True)


def refuse_new_connections(monkeypatch) -> None:
    """The server says what PostgreSQL says at max_connections; Django wraps it as usual."""

    def refuse(*args, **kwargs):
        raise connection.Database.OperationalError("sorry, too many clients already")

    connection.close()
    monkeypatch.setattr(connection, "get_new_connection", refuse)


def test_a_status_poll_while_the_database_refuses_connections_is_a_503_to_retry(
    api, team, monkeypatch
):
    credits.grant(team, 100, bucket=Bucket.PACK)
    started = api.post("/api/v1/generate/image", {"prompt": "a kite"}, "application/json")
    status_url = started.json()["poll_url"]

    refuse_new_connections(monkeypatch)
    refused = api.get(status_url)
    assert refused.status_code == 503
    assert refused.json()["code"] == "SERVICE_UNAVAILABLE"
    assert refused.json()["success"] is False and "try again" in refused.json()["error"]
    assert int(refused["Retry-After"]) >= 1

    monkeypatch.undo()
    assert api.get(status_url).status_code == 200


def test_a_start_while_the_database_refuses_connections_charges_nothing(api, team, monkeypatch):
    credits.grant(team, 100, bucket=Bucket.PACK)
    team.refresh_from_db()
    before = team.total_credits

    refuse_new_connections(monkeypatch)
    refused = api.post("/api/v1/generate/image", {"prompt": "a kite"}, "application/json")
    assert refused.status_code == 503 and refused.json()["code"] == "SERVICE_UNAVAILABLE"

    monkeypatch.undo()
    team.refresh_from_db()
    assert team.total_credits == before
    assert api.get("/api/v1/account/credits").json()["credits"]["total"] == before
