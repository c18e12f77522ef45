"""Key management: Kolbo's /api/api-keys and Krev's /api/v1/keys, by session or access token."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

from studio.vault.models import SCOPES, ApiKey
from studio.vault.services import authenticate
from tests.conftest import PASSWORD

JSON = "application/json"


def token_client(email: str) -> Client:
    r = Client().post("/api/auth/token", {"email": email, "password": PASSWORD}, content_type=JSON)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["expires_in"] > 0
    return Client(headers={"Authorization": f"Bearer {body['access_token']}"})


def test_kolbo_quick_start_creates_a_key_with_a_token(team, alice):
    # curl -X POST https://api.kolbo.ai/api/api-keys -H "Authorization: Bearer YOUR_JWT_TOKEN"
    #   -H "Content-Type: application/json" -d '{"name": "My App"}'
    client = token_client(alice.email)
    r = client.post("/api/api-keys", '{"name": "My App"}', content_type=JSON)
    assert r.status_code == 201
    body = r.json()
    assert body["success"] is True and body["status"] is True and body["message"]
    assert set(body["data"]) >= {"id", "keyPrefix", "name", "permissions", "createdAt", "expiresAt"}
    assert body["data"]["permissions"] == ["read", "write"]
    assert re.fullmatch(r"studio_live_[0-9a-f]{40}", body["fullKey"])
    assert body["fullKey"].startswith(body["data"]["keyPrefix"])
    # …and the key then works as the quick start's step 2 sends it.
    used = Client(headers={"X-API-Key": body["fullKey"]}).get("/api/v1/account/credits")
    assert used.status_code == 200


def test_kolbo_expiry_and_read_permission(team, alice_client):
    r = alice_client.post(
        "/api/api-keys",
        {"name": "Reader", "permissions": ["read"], "expiresInDays": 7},
        content_type=JSON,
    )
    data = r.json()["data"]
    assert data["permissions"] == ["read"]
    key = ApiKey.objects.get(uuid=data["id"])
    assert key.scopes == ["read"]
    assert timedelta(days=6) < key.expires_at - timezone.now() <= timedelta(days=7)


def test_kolbo_default_expiry_is_a_year(team, alice_client):
    alice_client.post("/api/api-keys", {"name": "k"}, content_type=JSON)
    key = ApiKey.objects.get()
    assert timedelta(days=364) < key.expires_at - timezone.now() <= timedelta(days=365)


def test_kolbo_list_get_and_delete(team, alice_client):
    created = alice_client.post("/api/api-keys", {"name": "k"}, content_type=JSON).json()
    key_id = created["data"]["id"]
    listed = alice_client.get("/api/api-keys").json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == key_id
    assert "fullKey" not in listed and created["fullKey"] not in str(listed)
    one = alice_client.get(f"/api/api-keys/{key_id}").json()
    assert one["data"]["name"] == "k" and created["fullKey"] not in str(one)
    r = alice_client.delete(f"/api/api-keys/{key_id}")
    assert r.status_code == 200 and r.json()["success"] is True
    assert alice_client.get(f"/api/api-keys/{key_id}").json()["data"]["status"] == "revoked"


def test_unknown_or_foreign_key_ids_are_404(team, other_team, charlie, alice_client):
    from studio.vault.services import create_api_key

    theirs = create_api_key(other_team, charlie, "c").key
    for key_id in ["nope", "00000000-0000-0000-0000-000000000000", str(theirs.uuid)]:
        for method in (alice_client.get, alice_client.delete):
            r = method(f"/api/api-keys/{key_id}")
            assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_krev_create_as_in_the_reference(team, alice_client):
    # POST https://app.krev.ai/api/v1/keys {"name": "Automation key", "scopes": [...]}
    r = alice_client.post(
        "/api/v1/keys",
        '{"name": "Automation key", "scopes": ["images", "videos", "products", "credits", '
        '"ads", "conversions", "chat"]}',
        content_type=JSON,
    )
    assert r.status_code == 201
    data = r.json()["data"]
    assert r.json()["success"] is True
    assert data["scopes"] == [
        "images",
        "videos",
        "products",
        "credits",
        "ads",
        "conversions",
        "chat",
    ]
    assert authenticate(data["key"]).name == "Automation key"


def test_krev_default_scopes_are_all_scopes(team, alice_client):
    data = alice_client.post("/api/v1/keys", {"name": "k"}, content_type=JSON).json()["data"]
    assert data["scopes"] == SCOPES and data["expires_at"] is None


def test_krev_list_and_revoke_as_in_the_reference(team, alice_client):
    data = alice_client.post("/api/v1/keys", {"name": "k"}, content_type=JSON).json()["data"]
    listed = alice_client.get("/api/v1/keys").json()
    assert listed["meta"] == {"count": 1} and "key" not in listed["data"][0]
    # DELETE https://app.krev.ai/api/v1/keys?id=api_key_id
    r = alice_client.delete(f"/api/v1/keys?id={data['id']}")
    assert r.json() == {"success": True, "data": {"id": data["id"], "revoked": True}}
    missing = alice_client.delete("/api/v1/keys")
    assert missing.status_code == 400 and missing.json()["code"] == "MISSING_FIELDS"
    assert "id" in missing.json()["error"]


def test_sessions_need_the_csrf_token_for_changes(team, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/keys").status_code == 200
    r = client.post("/api/v1/keys", {"name": "k"}, content_type=JSON)
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    client.get(f"/t/{team.uuid}/api-keys/")  # a page with a form sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    r = client.post(
        "/api/v1/keys", {"name": "k"}, content_type=JSON, headers={"X-CSRFToken": token}
    )
    assert r.status_code == 201


def test_api_keys_cannot_manage_keys(team, alice_key):
    for headers in ({"X-API-Key": alice_key}, {"Authorization": f"Bearer {alice_key}"}):
        client = Client(headers=headers)
        for r in (
            client.get("/api/v1/keys"),
            client.post("/api/api-keys", {"name": "x"}, content_type=JSON),
        ):
            assert r.status_code == 401 and r.json()["code"] == "INVALID_API_KEY"


def test_wrong_password_gets_no_token(team, alice):
    r = Client().post(
        "/api/auth/token", {"email": alice.email, "password": "nope"}, content_type=JSON
    )
    assert r.status_code == 401 and r.json()["code"] == "INVALID_API_KEY"


def test_access_tokens_expire(team, alice, settings):
    client = token_client(alice.email)
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.STUDIO_ACCESS_TOKEN_SECONDS + 5)
    ):
        r = client.get("/api/v1/keys")
    assert r.status_code == 401 and "expired" in r.json()["error"]


def test_a_password_change_ends_access_tokens(team, alice):
    client = token_client(alice.email)
    alice.set_password("a brand new password 42")
    alice.save()
    assert client.get("/api/v1/keys").status_code == 401


def test_calls_act_on_the_last_team_or_the_named_one(team, other_team, alice, charlie):
    from studio.accounts.services import create_team

    second = create_team("Second", alice)
    client = token_client(alice.email)
    client.post("/api/v1/keys", {"name": "default"}, content_type=JSON)
    client.post("/api/v1/keys?team_id=" + str(second.uuid), {"name": "named"}, content_type=JSON)
    assert ApiKey.objects.get(name="default").team == team  # alice's last team
    assert ApiKey.objects.get(name="named").team == second
    listed = client.get("/api/v1/keys", headers={"X-Team-Id": str(second.uuid)}).json()
    assert [k["name"] for k in listed["data"]] == ["named"]
    foreign = client.get("/api/v1/keys", headers={"X-Team-Id": str(other_team.uuid)})
    assert foreign.status_code == 404


def test_viewers_cannot_create_keys_through_the_api(team, vera_client):
    r = vera_client.post("/api/v1/keys", {"name": "k"}, content_type=JSON)
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"


def test_the_sixth_active_key_is_refused(team, alice_client):
    for i in range(5):
        assert (
            alice_client.post("/api/v1/keys", {"name": f"k{i}"}, content_type=JSON).status_code
            == 201
        )
    r = alice_client.post("/api/v1/keys", {"name": "k6"}, content_type=JSON)
    assert r.status_code == 409 and r.json()["code"] == "CONFLICT"
