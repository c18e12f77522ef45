"""A process holds at most STUDIO_REDIS_MAX_CONNECTIONS Redis connections, however many
threads and cache objects use Redis at once: the rest wait for a free one."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
import redis

from studio import redispool

REDIS = "redis://127.0.0.1:6379/14"


def redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_the_shared_pool_is_bounded_by_the_setting(settings):
    settings.STUDIO_REDIS_MAX_CONNECTIONS = 7
    pool = redispool.shared_pool(f"redis://127.0.0.1:6390/{uuid.uuid4().int % 16}?x={uuid.uuid4()}")
    assert pool.max_connections == 7


@pytest.mark.skipif(not redis_is_up(), reason="needs Redis on 127.0.0.1:6379")
def test_sixty_threads_share_four_connections(settings):
    settings.STUDIO_REDIS_MAX_CONNECTIONS = 4
    url = f"{REDIS}?health_check_interval={uuid.uuid4().int % 1000 + 30}"  # a pool of its own
    errors: list[BaseException] = []
    start = threading.Barrier(60)

    def work() -> None:
        try:
            start.wait()
            client = redispool.client(url)
            for n in range(20):
                client.incr(f"pool-test:{threading.get_ident()}:{n % 3}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    pool = redispool.shared_pool(url)
    opened = len(pool._connections)  # type: ignore[attr-defined]
    assert 1 <= opened <= 4
    assert isinstance(pool, redis.BlockingConnectionPool)
