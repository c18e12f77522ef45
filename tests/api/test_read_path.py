"""The authenticated read path: few queries, a key cache with a bound, one Redis pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from studio import redispool
from studio.accounts import credits
from studio.accounts.models import Bucket, Membership
from studio.vault.models import ApiKey
from studio.vault.services import key_cache, revoke_api_key

CREDITS = "/api/v1/account/credits"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def empty_key_cache():
    key_cache.clear()
    yield
    key_cache.clear()


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


def start_image(api: Client, **extra) -> str:
    body = {"prompt": "a lighthouse at dusk", **extra}
    response = api.post("/api/v1/generate/image", body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["generation_id"]


# Jobs run when the start commits.
@pytest.mark.django_db(transaction=True)
def test_a_status_poll_of_a_finished_generation_makes_at_most_three_queries(
    api, funded, django_assert_max_num_queries
):
    generation_id = start_image(api, num_images=2)
    with django_assert_max_num_queries(3):
        body = api.get(f"/api/v1/generate/{generation_id}/status").json()
    assert body["state"] == "completed" and len(body["result"]["urls"]) == 2


# Jobs run when the start commits.
@pytest.mark.django_db(transaction=True)
def test_a_krev_status_poll_makes_at_most_three_queries(
    bearer, funded, django_assert_max_num_queries
):
    response = bearer.post("/api/v1/images", {"prompt": "a cat"}, content_type="application/json")
    generation_id = response.json()["data"]["generation_id"]
    with django_assert_max_num_queries(3):
        body = bearer.get(f"/api/v1/generations/{generation_id}").json()["data"]
    assert body["status"] == "succeeded" and len(body["output"]["urls"]) == 1


def test_a_credits_read_makes_at_most_three_queries_and_shows_the_current_balance(
    api, funded, django_assert_max_num_queries
):
    before = api.get(CREDITS).json()["credits"]["total"]
    credits.grant(funded, 500, bucket=Bucket.PACK)  # while the key (and its team) is cached
    with django_assert_max_num_queries(3):
        after = api.get(CREDITS).json()["credits"]["total"]
    assert after == before + 500


def test_a_key_revoked_in_another_process_stops_working_within_the_cache_bound(
    api, alice_key, settings
):
    settings.STUDIO_API_KEY_CACHE_SECONDS = 5
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert api.get(CREDITS).status_code == 200
        # Another process revokes: this one's cache does not hear of it.
        ApiKey.objects.update(revoked_at=timezone.now())
        clock.shift(timedelta(seconds=4))
        assert api.get(CREDITS).status_code == 200  # still within the bound
        clock.shift(timedelta(seconds=1.5))
        response = api.get(CREDITS)
    assert response.status_code == 401 and response.json()["code"] == "INVALID_API_KEY"


def test_a_key_revoked_in_this_process_stops_working_at_once(api, alice):
    assert api.get(CREDITS).status_code == 200
    revoke_api_key(ApiKey.objects.get(), by=alice)
    assert api.get(CREDITS).status_code == 401


def test_a_key_stops_working_within_the_bound_once_its_owner_leaves_the_team(
    team, bob, make_key, settings
):
    settings.STUDIO_API_KEY_CACHE_SECONDS = 5
    client = Client(headers={"X-API-Key": make_key(team, bob)})
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert client.get(CREDITS).status_code == 200
        Membership.objects.filter(team=team, user=bob).delete()
        clock.shift(timedelta(seconds=6))
        assert client.get(CREDITS).status_code == 401


def test_a_cached_key_still_expires_on_time(team, alice, make_key):
    client = Client(headers={"X-API-Key": make_key(team, alice, expires_in_days=1)})
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert client.get(CREDITS).status_code == 200
        clock.shift(timedelta(days=1, seconds=1))
        assert client.get(CREDITS).status_code == 401


def test_with_the_cache_off_every_request_reads_the_key(api, settings):
    settings.STUDIO_API_KEY_CACHE_SECONDS = 0
    assert api.get(CREDITS).status_code == 200
    ApiKey.objects.update(revoked_at=timezone.now())
    assert api.get(CREDITS).status_code == 401


def test_every_redis_cache_object_of_a_process_shares_one_connection_pool():
    from django.core.cache.backends.redis import RedisCache

    options = {"OPTIONS": {"pool_class": "studio.redispool.SharedConnectionPool"}}
    # Two cache objects, as Django builds for two requests under ASGI (nothing connects yet).
    first = RedisCache("redis://127.0.0.1:6390/3", options)._cache._get_connection_pool(True)
    second = RedisCache("redis://127.0.0.1:6390/3", options)._cache._get_connection_pool(True)
    assert first is second
    assert redispool.client("redis://127.0.0.1:6390/3").connection_pool is first
    assert redispool.shared_pool("redis://127.0.0.1:6390/4") is not first


def _settings_in_a_new_process(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "DATABASE_"))}
    clean.update({"STUDIO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "studio.settings", **env})
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps(s.DATABASES['default']['OPTIONS'].get('pool')))"
    )
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_postgresql_gets_a_bounded_connection_pool_per_process(tmp_path):
    run = _settings_in_a_new_process(
        DATABASE_URL="postgres://u:p@db.example/studio",
        STUDIO_DB_POOL_SIZE="6",
        STUDIO_VAR_DIR=str(tmp_path),
    )
    assert run.returncode == 0, run.stderr
    pool = json.loads(run.stdout.strip().splitlines()[-1])
    assert pool["max_size"] == 6 and pool["min_size"] == 1


def test_persistent_connections_and_the_pool_are_refused_together(tmp_path):
    run = _settings_in_a_new_process(
        DATABASE_URL="postgres://u:p@db.example/studio",
        STUDIO_DB_CONN_MAX_AGE="60",
        STUDIO_VAR_DIR=str(tmp_path),
    )
    assert run.returncode != 0 and "STUDIO_DB_CONN_MAX_AGE" in run.stderr


def test_a_forked_child_never_uses_its_parents_postgresql_pools():
    from django.db.backends.postgresql.base import DatabaseWrapper

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the at-fork hook has run
        os.close(read)
        os.write(write, str(len(DatabaseWrapper._connection_pools)).encode())
        os._exit(0)
    os.close(write)
    seen = os.read(read, 16).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert seen == "0"
