"""Each request logs one line with its ids; STUDIO_LOG_FORMAT=json makes every line JSON."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from pythonjsonlogger.json import JsonFormatter

from studio.requestlog import RequestIdFilter
from studio.vault.services import create_api_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_request_log():
    """The `studio.requests` lines, formatted as STUDIO_LOG_FORMAT=json formats them."""
    options = {k: v for k, v in django_settings.LOGGING["formatters"]["json"].items() if k != "()"}
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("studio.requests")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_an_api_request_logs_one_json_line_with_its_ids(client, team, alice, json_request_log):
    key = create_api_key(team, alice, "log test")
    response = client.get("/api/v1/account/credits", headers={"X-API-Key": key.full_key})
    assert response.status_code == 200

    lines = json_request_log.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["level"] == "INFO"
    assert line["logger"] == "studio.requests"
    assert line["time"]
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/account/credits"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["request_id"] == response["X-Request-ID"]
    assert line["team_id"] == team.pk
    assert line["user_id"] == alice.pk
    assert line["api_key_id"] == key.key.pk


def test_a_dashboard_request_logs_its_user_and_keeps_the_proxys_request_id(
    alice_client, alice, json_request_log
):
    response = alice_client.get("/", headers={"X-Request-ID": "lb-7f3a"})
    assert response["X-Request-ID"] == "lb-7f3a"
    line = json.loads(json_request_log.getvalue().splitlines()[-1])
    assert line["request_id"] == "lb-7f3a"
    assert line["user_id"] == alice.pk
    assert line["status"] == response.status_code


def test_an_anonymous_request_logs_no_ids_and_a_fresh_request_id(client, db, json_request_log):
    response = client.get("/login/", headers={"X-Request-ID": "not a sane id; drop table"})
    line = json.loads(json_request_log.getvalue().splitlines()[-1])
    assert line["request_id"] == response["X-Request-ID"] != "not a sane id; drop table"
    assert len(line["request_id"]) == 32
    assert not {"user_id", "team_id", "api_key_id"} & set(line)


@pytest.mark.slow
def test_the_json_log_format_writes_json_lines(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        STUDIO_DEBUG="1",
        STUDIO_VAR_DIR=str(tmp_path),
        STUDIO_LOG_FORMAT="json",
    )
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('generations.engine').info('collected', extra={'generation': 'g-1'})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "collected"
    assert line["generation"] == "g-1"
    assert line["logger"] == "generations.engine"


def test_requests_served_over_asgi_are_logged_too(db, json_request_log):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    response = async_to_sync(AsyncClient().get)("/login/")
    assert response.status_code == 200
    line = json.loads(json_request_log.getvalue().splitlines()[-1])
    assert line["path"] == "/login/"
    assert line["request_id"] == response["X-Request-ID"]
