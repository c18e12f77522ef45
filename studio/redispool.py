"""One Redis connection pool per process, whatever asks for it.

Under ASGI Django builds a new cache object for every request (caches are per async
context), and each built its own pool: a new Redis connection per request. Django's
RedisCache takes a `pool_class` (settings.CACHES); this one returns the process's pool for
a URL and options, so every cache object, and the rate limiter, share its connections.
redis-py resets a pool in a forked child by itself (it checks the pid).

The pool is bounded (STUDIO_REDIS_MAX_CONNECTIONS per process): past it a caller waits for a
free connection (at most STUDIO_REDIS_POOL_TIMEOUT seconds, then an error) instead of
opening one more, so a burst of requests cannot exhaust Redis's client slots.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from django.conf import settings

_pools: dict[tuple[str, str], redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> redis.ConnectionPool:  # type: ignore[override]
        return shared_pool(url, **kwargs)


def shared_pool(url: str, **kwargs: Any) -> redis.ConnectionPool:
    # Django passes its (default) parser class; that alone must not split the pool from the
    # rate limiter's.
    key = (url, repr(sorted((k, v) for k, v in kwargs.items() if k != "parser_class")))
    pool = _pools.get(key)
    if pool is None:
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = redis.BlockingConnectionPool.from_url(
                    url,
                    max_connections=settings.STUDIO_REDIS_MAX_CONNECTIONS,
                    timeout=settings.STUDIO_REDIS_POOL_TIMEOUT,
                    **kwargs,
                )
    return pool


def client(url: str) -> redis.Redis:
    """A client on the process's pool for `url` (cheap: clients hold no connection)."""
    return redis.Redis(connection_pool=shared_pool(url))
