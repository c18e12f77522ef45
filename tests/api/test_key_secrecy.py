"""After creation, a key's full value is in no page, log line or database column."""

from __future__ import annotations

import logging

from django.db import connection
from django.test import Client

JSON = "application/json"


def dump_database() -> str:
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


def test_a_full_key_is_nowhere_after_creation(team, alice_client, caplog):
    caplog.set_level(logging.DEBUG)
    created = []
    r = alice_client.post("/api/api-keys", {"name": "kolbo"}, content_type=JSON)
    created.append(r.json()["fullKey"])
    r = alice_client.post("/api/v1/keys", {"name": "krev"}, content_type=JSON)
    created.append(r.json()["data"]["key"])
    page = alice_client.post(
        f"/t/{team.uuid}/api-keys/",
        {"name": "page", "scopes": ["read"], "expires_in_days": "30"},
        follow=True,  # created, then shown once on the page the POST redirects to
    )
    page_key = page.content.decode().split('id="new-key" type="text" readonly value="')[1][:52]
    created.append(page_key)
    assert "no-store" in page["Cache-Control"]

    for full in created:  # use each key, so last_used_at and logs are written too
        assert Client(headers={"X-API-Key": full}).get("/api/v1/account/credits").status_code == 200

    later_pages = [
        alice_client.get(f"/t/{team.uuid}/api-keys/").content.decode(),
        alice_client.get("/api/api-keys").content.decode(),
        alice_client.get("/api/v1/keys").content.decode(),
    ]
    database = dump_database()
    logs = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for full in created:
        secret = full.split("_live_")[1]
        for where, text in [
            ("database", database),
            ("logs", logs),
            *[("page", p) for p in later_pages],
        ]:
            assert full not in text, where
            assert secret[8:] not in text, where  # nor the part past the lookup prefix
