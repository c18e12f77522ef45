"""Every /api/v1 call takes a key in X-API-Key or Authorization: Bearer."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from studio.accounts.models import Membership, Role
from studio.vault.services import create_api_key, revoke_api_key

CREDITS = "/api/v1/account/credits"


def generate(client):
    """A real generation start: it counts against the per-user generation limit."""
    return client.post(
        "/api/v1/generate/image", {"prompt": "a cat"}, content_type="application/json"
    )


def assert_invalid_key(response):
    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False and body["code"] == "INVALID_API_KEY" and body["error"]


def test_it_accepts_the_key_in_x_api_key(api):
    assert api.get(CREDITS).status_code == 200


def test_it_accepts_the_key_as_a_bearer_token(bearer):
    assert bearer.get(CREDITS).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "studio_live_" + "a" * 40},
        {"Authorization": "Bearer studio_live_" + "a" * 40},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_unknown_or_missing_keys_get_401(db, headers):
    assert_invalid_key(Client(headers=headers).get(CREDITS))


def test_revoked_keys_get_401(team, alice, alice_key, api):
    from studio.vault.models import ApiKey

    revoke_api_key(ApiKey.objects.get(), by=alice)
    assert_invalid_key(api.get(CREDITS))


def test_expired_keys_get_401(team, alice, make_key):
    key = make_key(team, alice, expires_in_days=30)
    client = Client(headers={"X-API-Key": key})
    assert client.get(CREDITS).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert_invalid_key(client.get(CREDITS))


def test_a_key_without_the_scope_gets_403(team, alice, make_key):
    key = make_key(team, alice, scopes=["images"])
    r = Client(headers={"X-API-Key": key}).get(CREDITS)
    assert r.status_code == 403
    assert r.json() == {
        "success": False,
        "error": "This API key lacks the 'credits' scope",
        "code": "FORBIDDEN",
    }


def test_a_read_key_may_get_everything_but_not_start_work(team, alice, make_key):
    client = Client(headers={"X-API-Key": make_key(team, alice, scopes=["read"])})
    assert client.get(CREDITS).status_code == 200
    assert client.get("/api/v1/credits").status_code == 200
    r = generate(client)
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"


def test_a_scoped_key_may_start_that_work(team, alice, make_key):
    client = Client(headers={"X-API-Key": make_key(team, alice, scopes=["images"])})
    assert generate(client).status_code == 200


def test_a_key_of_a_member_demoted_to_viewer_may_only_read(team, bob, make_key):
    client = Client(headers={"X-API-Key": make_key(team, bob)})
    Membership.objects.filter(team=team, user=bob).update(role=Role.VIEWER)
    assert client.get(CREDITS).status_code == 200
    assert generate(client).status_code == 403


def test_keys_act_on_their_own_team(team, other_team, alice, charlie):
    mine = create_api_key(team, alice, "a").full_key
    theirs = create_api_key(other_team, charlie, "c").full_key
    a = Client(headers={"X-API-Key": mine}).get(CREDITS).json()["credits"]["total"]
    c = Client(headers={"X-API-Key": theirs}).get(CREDITS).json()["credits"]["total"]
    assert a == team.total_credits and c == other_team.total_credits


def test_a_session_is_not_an_api_key(alice_client):
    assert_invalid_key(alice_client.get(CREDITS))
