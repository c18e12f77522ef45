"""Rate limits: per user for generation, per IP for reads; shared counters; the contract's 429."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from studio.api import ratelimit
from studio.api.ratelimit import RateClass
from studio.errors import RateLimited
from studio.vault.services import create_api_key

LIMITED = {
    "success": False,
    "status": False,
    "code": "RATE_LIMITED",
    "error": "Too many requests, please try again later",
    "message": "Too many requests, please try again later",
}


def generate(client):
    """A real generation start: it counts against the per-user generation limit."""
    return client.post(
        "/api/v1/generate/image", {"prompt": "a cat"}, content_type="application/json"
    )


def assert_limited(response):
    assert response.status_code == 429
    assert response.json() == LIMITED
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_eleventh_generation_request_of_a_user_is_limited_across_keys(team, alice):
    keys = [create_api_key(team, alice, f"k{i}").full_key for i in range(2)]
    clients = [
        Client(headers={"X-API-Key": keys[0]}),
        Client(headers={"Authorization": f"Bearer {keys[1]}"}),
    ]
    for i in range(10):
        assert generate(clients[i % 2]).status_code == 200
    assert_limited(generate(clients[0]))
    assert_limited(generate(clients[1]))


def test_generation_limits_are_per_user(team, alice, bob):
    alice_client = Client(headers={"X-API-Key": create_api_key(team, alice, "a").full_key})
    bob_client = Client(headers={"X-API-Key": create_api_key(team, bob, "b").full_key})
    for _ in range(10):
        generate(alice_client)
    assert_limited(generate(alice_client))
    assert generate(bob_client).status_code == 200


def test_reads_are_limited_per_ip(api, settings):
    settings.STUDIO_RATE_LIMITS = {**settings.STUDIO_RATE_LIMITS, "read": 3}
    for _ in range(3):
        assert api.get("/api/v1/models").status_code == 200
    assert_limited(api.get("/api/v1/account/credits"))
    other_ip = api.get("/api/v1/models", REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 200


def test_behind_a_proxy_the_forwarded_address_counts(api, settings):
    settings.STUDIO_RATE_LIMITS = {**settings.STUDIO_RATE_LIMITS, "read": 1}
    settings.STUDIO_BEHIND_PROXY = True
    assert api.get("/api/v1/models", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2").status_code == 200
    assert api.get("/api/v1/models", HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 429
    assert api.get("/api/v1/models", HTTP_X_FORWARDED_FOR="3.3.3.3").status_code == 200


def test_a_limited_request_does_no_work(api, settings, django_assert_max_num_queries):
    settings.STUDIO_RATE_LIMITS = {**settings.STUDIO_RATE_LIMITS, "read": 1}
    api.get("/api/v1/models")
    with django_assert_max_num_queries(2):  # the key lookup and the counter, nothing else
        assert api.get("/api/v1/models").status_code == 429


def test_plans_and_teams_raise_limits(team, settings):
    settings.STUDIO_RATE_LIMITS = {**settings.STUDIO_RATE_LIMITS, "generation": 10}
    assert ratelimit.limit_for(RateClass.GENERATION, team) == 10
    team.plan.generation_rate_limit = 30
    team.plan.save()
    assert ratelimit.limit_for(RateClass.GENERATION, team) == 30
    team.generation_rate_limit = 100
    assert ratelimit.limit_for(RateClass.GENERATION, team) == 100
    assert ratelimit.limit_for(RateClass.READ, team) == settings.STUDIO_RATE_LIMITS["read"]


def test_a_team_override_applies_to_requests(team, alice, api):
    team.generation_rate_limit = 12
    team.save()
    for _ in range(12):
        assert generate(api).status_code == 200
    assert_limited(generate(api))


def test_the_window_resets_each_minute(db):
    start = 1_800_000_000.0  # a minute boundary
    for _ in range(2):
        ratelimit.hit(RateClass.READ, "s", 2, now=start + 1)
    with pytest.raises(RateLimited) as limited:
        ratelimit.hit(RateClass.READ, "s", 2, now=start + 45.5)
    assert limited.value.retry_after == 15
    assert ratelimit.hit(RateClass.READ, "s", 2, now=start + 61) == 1


def test_the_token_endpoint_is_limited_per_ip(db, settings):
    settings.STUDIO_RATE_LIMITS = {**settings.STUDIO_RATE_LIMITS, "auth": 2}
    client = Client()
    body = {"email": "nobody@example.com", "password": "x"}
    for _ in range(2):
        assert (
            client.post("/api/auth/token", body, content_type="application/json").status_code == 401
        )
    assert_limited(client.post("/api/auth/token", body, content_type="application/json"))


@pytest.mark.django_db(transaction=True)
def test_counting_is_atomic_under_concurrency():
    """Threads with their own connections never lose an increment (DB upsert or Redis INCR)."""
    hits, per_thread = 8, 25
    counts: list[int] = []
    lock = threading.Lock()

    def worker():
        try:
            for _ in range(per_thread):
                count = ratelimit.hit(RateClass.READ, "race", 10_000, now=1_800_000_010.0)
                with lock:
                    counts.append(count)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(hits)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == list(range(1, hits * per_thread + 1))


def test_stale_database_counters_are_purged(db):
    ratelimit.count_in_database("old", 100)
    ratelimit.count_in_database("new", 1000)
    assert ratelimit.purge_stale_counters(now=1000 * 60) == 1
