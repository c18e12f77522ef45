"""The generation limit holds across server processes: counters live in the shared DB/Redis.

Two `manage.py runserver` processes share this test's database (and Redis when REDIS_URL
is set). Ten generation-class requests from one user, alternating servers and keys, pass;
the eleventh gets 429 with Retry-After from either server. The requests are real image
generations (`POST /api/v1/generate/image`): accepted jobs are charged and queued (no
cluster runs here), and the limited one is rejected before any work or charge.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from studio.vault.services import create_api_key
from tests.cluster import database_url

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            httpx.get(base + "/api/v1/models", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise TimeoutError(base)


@pytest.fixture
def two_servers():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "STUDIO_DEBUG": "0",
        "STUDIO_RATELIMIT_PREFIX": settings.STUDIO_RATELIMIT_PREFIX,
        "STUDIO_LOG_LEVEL": "WARNING",
        "STUDIO_TASKS_SYNC": "0",  # queue the jobs; nothing needs to run them
    }
    procs, bases = [], []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "manage.py",
                        "runserver",
                        f"127.0.0.1:{port}",
                        "--noreload",
                        "--skip-checks",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base, proc in zip(bases, procs, strict=True):
            wait_until_up(base, proc)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_eleventh_generation_request_is_limited_across_keys_and_processes(
    team, alice, two_servers
):
    keys = [create_api_key(team, alice, f"key {i}").full_key for i in range(2)]
    headers = [{"X-API-Key": keys[0]}, {"Authorization": f"Bearer {keys[1]}"}]
    if time.time() % 60 > 45:  # keep all eleven requests inside one fixed window
        time.sleep(61 - time.time() % 60)
    body = {"prompt": "a cat"}
    with httpx.Client(timeout=20) as http:
        for i in range(10):
            r = http.post(
                f"{two_servers[i % 2]}/api/v1/generate/image", json=body, headers=headers[i % 2]
            )
            assert r.status_code == 200, r.text
        for server, key_headers in [(two_servers[0], headers[1]), (two_servers[1], headers[0])]:
            r = http.post(f"{server}/api/v1/generate/image", json=body, headers=key_headers)
            assert r.status_code == 429
            assert r.json()["code"] == "RATE_LIMITED"
            assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Ten jobs were accepted and charged; the two limited requests changed nothing.
    from generations.models import Generation

    assert Generation.objects.filter(team=team).count() == 10
