"""Fixed-window rate limits shared by every web process.

Each request class has a per-minute limit (settings.STUDIO_RATE_LIMITS, raised per plan and
per team by the `*_rate_limit` fields). A counter is keyed by the subject (a user for
generation, the client IP for reads and polls) and the current minute. Counting must be
atomic across processes and machines:

- Redis (REDIS_URL): INCR and EXPIRE in one pipelined round trip, on the process's one
  connection pool (studio/redispool.py), never a new connection per request.
- DatabaseCache (the embedded default): Django's `incr` there is a get followed by a set,
  so two processes can read the same value and both pass. We count in our own table
  instead, with one `INSERT … ON CONFLICT DO UPDATE … RETURNING` statement (SQLite ≥ 3.35
  and PostgreSQL), atomic in the database whatever the number of processes.

A limited request is rejected with `RateLimited` (429, `Retry-After` = seconds left in the
window) before any work is done.
"""

from __future__ import annotations

import functools
import math
import time
from enum import StrEnum

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.db import DatabaseCache
from django.db import connection
from django.http import HttpRequest
from django.utils.module_loading import import_string

from studio import metrics, redispool
from studio.accounts.models import Team
from studio.errors import RateLimited
from studio.models import RateCounter

WINDOW_SECONDS = 60


class RateClass(StrEnum):
    """What an endpoint costs against the limits; declare it with `api_key(limit=...)`."""

    GENERATION = "generation"  # every POST that starts paid work: per user, all keys together
    POLL = "poll"  # status polling: per client IP
    READ = "read"  # models, credits, voices, lists: per client IP
    AUTH = "auth"  # password logins for access tokens: per client IP
    # Brute-force limits over longer windows (studio/accounts/throttle.py): every password
    # sign-in (form, admin, access token) per IP and per account; reset requests per IP;
    # reset emails per address.
    SIGN_IN = "sign_in"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a counter name
    RESET_EMAIL = "reset_email"


_TEAM_FIELD = {
    RateClass.GENERATION: "generation_rate_limit",
    RateClass.POLL: "poll_rate_limit",
    RateClass.READ: "read_rate_limit",
}


def limit_for(rate_class: RateClass, team: Team | None) -> int:
    """Requests per minute: the team's override, else its plan's, else the site default."""
    field = _TEAM_FIELD.get(rate_class)
    if team is not None and field:
        override = getattr(team, field)
        if override:
            return int(override)
        plan_limit = getattr(team.plan, field) if team.plan_id else None
        if plan_limit:
            return int(plan_limit)
    return int(settings.STUDIO_RATE_LIMITS[rate_class.value])


def client_ip(request: HttpRequest) -> str:
    return ip_of(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))


def ip_of(remote_addr: str | None, forwarded_for: str | None) -> str:
    """The client's address: the peer's, or the proxy's last hop when behind one."""
    if settings.STUDIO_BEHIND_PROXY and forwarded_for:
        return forwarded_for.split(",")[-1].strip()
    return str(remote_addr or "unknown")


_REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"


def _counter() -> str:
    """Where counts go: "redis", "database", or "cache" (another backend that incr's atomically).

    Decided from settings, not `caches["default"]`: under ASGI that builds a cache object
    for every request.
    """
    backend = str(settings.CACHES["default"]["BACKEND"])
    if backend == _REDIS_BACKEND:
        return "redis"
    return "database" if _is_database_cache(backend) else "cache"


@functools.cache
def _is_database_cache(backend: str) -> bool:
    return issubclass(import_string(backend), DatabaseCache)


def _count_in_redis(key: str, window: int, ttl: int) -> int:
    location = str(settings.CACHES["default"]["LOCATION"])
    name = cache.make_key(f"{key}:{window}")
    pipe = redispool.client(location).pipeline(transaction=False)
    pipe.incr(name)
    pipe.expire(name, ttl)
    count, _ = pipe.execute()
    return int(count)


def count_in_database(key: str, window: int) -> int:
    qn = connection.ops.quote_name
    table, subject, win, hits = (
        qn(RateCounter._meta.db_table),
        qn("subject"),
        qn("window"),
        qn("hits"),
    )
    sql = (
        f"INSERT INTO {table} ({subject}, {win}, {hits}) VALUES (%s, %s, 1) "  # noqa: S608
        f"ON CONFLICT ({subject}) DO UPDATE SET {hits} = CASE WHEN {table}.{win} = "
        f"excluded.{win} THEN {table}.{hits} + 1 ELSE 1 END, {win} = excluded.{win} "
        f"RETURNING {hits}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, window])
        row = cursor.fetchone()
    return int(row[0])


def _count_in_cache(key: str, window: int, ttl: int) -> int:
    cache_key = f"{key}:{window}"
    cache.add(cache_key, 0, timeout=ttl)
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # evicted between add and incr: start again
        cache.add(cache_key, 1, timeout=ttl)
        return 1


def hit(
    rate_class: RateClass,
    subject: str,
    limit: int,
    *,
    now: float | None = None,
    window_seconds: int = WINDOW_SECONDS,
) -> int:
    """Count one request of `subject`; raise RateLimited once the window's limit is passed.

    Returns the count in the current window (1 for the first request). Windows longer than
    a minute (sign-in, reset emails) are named by their last minute, so the purge of past
    minutes never drops a window that is still running.
    """
    now = time.time() if now is None else now
    window_seconds = max(WINDOW_SECONDS, int(window_seconds))
    window_end = (int(now // window_seconds) + 1) * window_seconds
    window = (window_end - 1) // WINDOW_SECONDS
    key = f"{settings.STUDIO_RATELIMIT_PREFIX}:{rate_class.value}:{subject}"
    counter = _counter()
    if counter == "redis":
        count = _count_in_redis(key, window, window_seconds * 2)
    elif counter == "database":
        count = count_in_database(key, window)
    else:
        count = _count_in_cache(key, window, window_seconds * 2)
    if count > limit:
        retry_after = math.ceil(window_end - now)
        metrics.count_rate_limited(rate_class.value)
        raise RateLimited(retry_after=retry_after)
    return count


def check(rate_class: RateClass, request: HttpRequest, *, team: Team | None, user_id: int | None):
    """Apply `rate_class` to a request: per user for generation, per client IP otherwise."""
    return check_subject(rate_class, ip=client_ip(request), team=team, user_id=user_id)


def check_subject(rate_class: RateClass, *, ip: str, team: Team | None, user_id: int | None):
    """`check` for any way in (an HTTP request, an MCP tool call), given the client's IP."""
    if rate_class == RateClass.GENERATION and user_id is not None:
        subject = f"u{user_id}"
    elif team is not None:
        # Per IP, and per team so one team's raised limit is not spent by another's
        # traffic from the same address (offices behind one NAT).
        subject = f"{ip}:t{team.pk}"
    else:
        subject = ip
    return hit(rate_class, subject, limit_for(rate_class, team))


def purge_stale_counters(*, now: float | None = None) -> int:
    """Delete database counters of past windows (housekeeping; counting never needs it)."""
    window = int((time.time() if now is None else now) // WINDOW_SECONDS)
    deleted, _ = RateCounter.objects.filter(window__lt=window - 1).delete()
    return deleted
