"""Prometheus metrics: every definition in one module, small functions for the code that counts.

`GET /metrics` (text format) answers only with `Authorization: Bearer <STUDIO_METRICS_TOKEN>`;
without the setting the page does not exist (404).

Each metric comes from the place that knows it exactly:

- Read from the database at scrape time (collectors below, one grouped query each): jobs by
  state and type (`studio_jobs`), credits debited and refunded (`studio_credits_total`, from
  the append-only ledger), and the task queue's depth (`studio_task_queue_depth`, django-q2's
  broker). Right across every process and machine, across restarts, and never counting
  work whose transaction rolled back.
- Counted where it happens: upstream HTTP calls with their latency
  (`studio_upstream_request_seconds`, a histogram by provider, operation (submit, poll,
  result, lookup, cancel, check) and outcome (2xx…5xx, 429, error: no answer); the HTTP
  adapters record every call), upstream 429s (`studio_upstream_429_total`)
  and requests Studio rate-limited (`studio_rate_limited_requests_total`). These happen in web
  and cluster worker processes, so set `PROMETHEUS_MULTIPROC_DIR` (an empty directory per
  machine, the same for its web server and task cluster, emptied at each start) in their
  environment before they start: each process then writes its counts there and a scrape adds
  them up. Without it (one process, the test suite) a scrape sees only its own process.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

# --- counted where they happen ---------------------------------------------------------------

# prometheus-client picks in-process or multi-process values when it is imported (with this
# module); the scrape must read them the same way, whatever the environment says later.
_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

# Not prometheus-client's global registry: a scrape shows Studio's metrics and nothing a
# library registered on import.
_REGISTRY = CollectorRegistry()

UPSTREAM_SECONDS = Histogram(
    "studio_upstream_request_seconds",
    "Calls to upstream providers and their latency, by provider, operation and outcome.",
    ["provider", "operation", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=_REGISTRY,
)
UPSTREAM_429 = Counter(
    "studio_upstream_429",
    "Upstream answers with HTTP 429 (Too Many Requests), by provider.",
    ["provider"],
    registry=_REGISTRY,
)
RATE_LIMITED = Counter(
    "studio_rate_limited_requests",
    "API requests Studio refused with 429, by rate class.",
    ["rate_class"],
    registry=_REGISTRY,
)


def upstream_outcome(status: int | None) -> str:
    """The outcome label of an upstream HTTP call: `2xx`…`5xx`, `429`, or `error` (no answer)."""
    if status is None:
        return "error"
    return "429" if status == 429 else f"{status // 100}xx"


def observe_upstream_response(
    provider: str, operation: str, status: int | None, seconds: float
) -> None:
    """Record one upstream HTTP call (`status` None when it got no answer)."""
    UPSTREAM_SECONDS.labels(provider, operation, upstream_outcome(status)).observe(seconds)
    if status == 429:
        UPSTREAM_429.labels(provider).inc()


def count_rate_limited(rate_class: str) -> None:
    RATE_LIMITED.labels(rate_class).inc()


# --- read from the database at scrape time ---------------------------------------------------

# Apps that own the rows register a function returning (state, type, count) per group: the
# `studio` package never imports the apps built on it.
JobCounts = Callable[[], Iterable[tuple[str, str, int]]]
_job_counts: list[JobCounts] = []


def register_job_counts(counts: JobCounts) -> None:
    if counts not in _job_counts:
        _job_counts.append(counts)


def _jobs() -> Metric:
    family = GaugeMetricFamily(
        "studio_jobs", "Generations by state and type (all time).", labels=["state", "type"]
    )
    for counts in _job_counts:
        for state, kind, count in counts():
            family.add_metric([state, kind], count)
    return family


def _credits() -> Metric:
    from studio.accounts.models import LedgerEntry, LedgerKind

    family = CounterMetricFamily(
        "studio_credits",
        "Credits moved by the ledger, by entry kind (debits and refunds), as positive amounts.",
        labels=["kind"],
    )
    totals = dict.fromkeys([LedgerKind.DEBIT.value, LedgerKind.REFUND.value], 0)
    rows = (
        LedgerEntry.objects.filter(kind__in=list(totals))
        .values_list("kind")
        .annotate(total=Sum("amount"), entries=Count("id"))
        .order_by()
    )
    for kind, total, _entries in rows:
        totals[kind] = abs(int(total or 0))
    for kind, total in totals.items():
        family.add_metric([kind], total)
    return family


def _queue_depth() -> Metric:
    from studio.health import task_broker

    family = GaugeMetricFamily(
        "studio_task_queue_depth", "Tasks waiting in the task cluster's queue (django-q2)."
    )
    family.add_metric([], task_broker().queue_size() or 0)
    return family


class _AtScrape:
    """Metrics computed when Prometheus asks (no `describe`: registering runs nothing)."""

    def collect(self) -> Iterator[Metric]:
        yield _jobs()
        yield _credits()
        yield _queue_depth()


class _InThisProcess:
    def collect(self) -> Iterator[Metric]:
        yield from _REGISTRY.collect()


def exposition() -> bytes:
    """The metrics page's body, in Prometheus text format."""
    registry = CollectorRegistry()
    if _MULTIPROC_DIR:
        MultiProcessCollector(registry, path=_MULTIPROC_DIR)
    else:
        registry.register(_InThisProcess())  # type: ignore[arg-type]
    registry.register(_AtScrape())  # type: ignore[arg-type]
    return generate_latest(registry)


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    expected = settings.STUDIO_METRICS_TOKEN
    if not expected:
        raise Http404
    given = _bearer_token(request)
    if not given:
        response = HttpResponse(
            "Send Authorization: Bearer <token>\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return HttpResponse("Wrong token\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
