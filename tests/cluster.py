"""A real django-q2 cluster (`manage.py qcluster`) running against the test database."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{db['NAME']}"


class Cluster:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            self.process.wait(timeout=20)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL: a worker inside the dispatcher's minute loop may not stop."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)


def wait_for(
    predicate: Callable[[], object], timeout: float = 30, interval: float = 0.05
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def cluster(transactional_db, monkeypatch) -> Iterator[Cluster]:
    """Start a real cluster; tasks enqueued by the test process go through the ORM broker."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "STUDIO_TASKS_SYNC": "0",
        "STUDIO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "STUDIO_CLUSTER_POLL": "0.1",
        "STUDIO_CLUSTER_WORKERS": "2",
        "STUDIO_BASE_URL": settings.BASE_URL,
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    cluster = Cluster(env)
    cluster.start()
    yield cluster
    # The test is over: nothing needs a graceful stop, and SIGTERM waits out `stop`'s 5 s
    # whenever a worker is inside the dispatcher's minute loop (every test, in practice).
    cluster.kill()
