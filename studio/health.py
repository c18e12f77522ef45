"""`GET /healthz`: can this Studio serve requests and is its work moving?

A load balancer or an orchestrator calls it every few seconds, so it is cheap and side-effect
free: no authentication, no session, no database write. Each part answers with one read:

- database: `SELECT 1` on the default connection;
- cache: one `get` (the rate-limit counters and sessions live there);
- broker: the task queue answers (django-q2's ping, then its queue length);
- parts other apps register at start-up, such as the dispatcher's lease (generations).

200 with every part when all pass; 503 naming the failing parts otherwise. A failure shows
only a short message (the exception's type, or the check's own wording): the page is public,
so hosts and credentials from a driver's error text stay in the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import cache

from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_q.brokers import Broker, get_broker

log = logging.getLogger(__name__)

# A check returns details to show (or nothing) and raises when its part is unwell.
Check = Callable[[], Mapping[str, object] | None]


class Unhealthy(Exception):
    """A check's verdict, worded to be shown on the public page."""


def database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def cache_backend() -> None:
    # A miss is an answer too: it proves the backend (its table, or Redis) responds.
    caches["default"].get("studio:healthz")


@cache
def task_broker() -> Broker:
    """One broker per process: django-q2 opens a Redis connection pool per instance."""
    return get_broker()


def broker() -> dict[str, object]:
    queue = task_broker()
    if not queue.ping():
        raise Unhealthy("the task broker does not answer")
    return {"queued": queue.queue_size()}


_CHECKS: dict[str, Check] = {"database": database, "cache": cache_backend, "broker": broker}


def register(name: str, check: Check) -> None:
    """Add a part to /healthz (apps call this from `AppConfig.ready`); a name is one part."""
    _CHECKS[name] = check


def run_checks() -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = {}
    for name, check in _CHECKS.items():
        started = time.perf_counter()
        try:
            details = dict(check() or {})
            result: dict[str, object] = {"ok": True, **details}
        except Unhealthy as exc:
            result = {"ok": False, "error": str(exc)}
        except Exception as exc:
            log.warning("health check %s failed", name, exc_info=True)
            result = {"ok": False, "error": type(exc).__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    return results


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    failing = [name for name, result in checks.items() if not result["ok"]]
    body: dict[str, object] = {"status": "fail" if failing else "ok", "checks": checks}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
