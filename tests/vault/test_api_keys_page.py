from __future__ import annotations

import re

from django.urls import reverse

from studio.vault.models import ApiKey
from studio.vault.services import authenticate, create_api_key


def url(team):
    return reverse("api_keys", args=[team.uuid])


def test_it_lists_keys_without_their_secret(team, alice, alice_client):
    issued = create_api_key(team, alice, "Deploy bot", scopes=["images", "credits"])
    r = alice_client.get(url(team))
    assert r.status_code == 200
    page = r.content.decode()
    assert "Deploy bot" in page
    assert f"{issued.key.prefix}…{issued.key.last4}" in page
    assert issued.full_key not in page
    assert "images" in page and "never" in page  # scopes and "last used: never"


def test_it_creates_a_key_and_shows_it_once(team, alice_client):
    r = alice_client.post(
        url(team),
        {"name": "My App", "scopes": ["images", "read"], "expires_in_days": "30"},
        follow=True,
    )
    assert r.redirect_chain == [(url(team), 302)]
    assert "no-store" in r["Cache-Control"]
    full = re.search(r'value="(studio_live_[0-9a-f]{40})"', r.content.decode()).group(1)
    assert 'data-copy="#new-key"' in r.content.decode()
    key = authenticate(full)
    assert key.name == "My App" and key.scopes == ["read", "images"]
    assert key.expires_at is not None
    again = alice_client.get(url(team))
    assert full not in again.content.decode()


def test_it_shows_form_errors(team, alice_client):
    r = alice_client.post(url(team), {"name": "", "scopes": ["images"]})
    assert r.status_code == 200
    assert not ApiKey.objects.exists()
    assert "errorlist" in r.content.decode()


def test_the_page_links_the_interactive_docs(team, alice_client):
    r = alice_client.get(url(team))
    assert reverse("api:openapi-view") in r.content.decode()
    docs = alice_client.get(reverse("api:openapi-view"))
    assert docs.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in docs.content.decode()
    assert "cdn" not in docs.content.decode().lower()


def test_members_may_create_keys(team, bob_client):
    r = bob_client.post(url(team), {"name": "Bob's", "scopes": ["images"]})
    assert r.status_code == 302
    assert ApiKey.objects.filter(name="Bob's").exists()


def test_viewers_see_the_page_but_cannot_create(team, vera_client):
    assert vera_client.get(url(team)).status_code == 200
    r = vera_client.post(url(team), {"name": "nope", "scopes": ["images"]})
    assert r.status_code == 403
    assert not ApiKey.objects.exists()


def test_outsiders_get_404(team, charlie_client):
    assert charlie_client.get(url(team)).status_code == 404
    assert charlie_client.post(url(team), {"name": "x", "scopes": ["images"]}).status_code == 404


def test_it_revokes(team, alice, alice_client):
    issued = create_api_key(team, alice, "k")
    r = alice_client.post(reverse("api_key_revoke", args=[team.uuid, issued.key.uuid]))
    assert r.status_code == 302
    issued.key.refresh_from_db()
    assert issued.key.revoked_at is not None


def test_owners_revoke_members_keys_but_members_not_each_others(team, alice, bob, bob_client):
    alices = create_api_key(team, alice, "alice's").key
    r = bob_client.post(reverse("api_key_revoke", args=[team.uuid, alices.uuid]))
    assert r.status_code == 403
    bobs = create_api_key(team, bob, "bob's").key
    assert (
        bob_client.post(reverse("api_key_revoke", args=[team.uuid, bobs.uuid])).status_code == 302
    )


def test_outsiders_cannot_revoke(team, alice, charlie_client):
    key = create_api_key(team, alice, "k").key
    r = charlie_client.post(reverse("api_key_revoke", args=[team.uuid, key.uuid]))
    assert r.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_reloading_after_creating_a_key_creates_no_second_key(team, alice_client):
    created = alice_client.post(url(team), {"name": "Once", "scopes": ["images"]})
    assert created.status_code == 302 and created.url == url(team)
    shown = alice_client.get(created.url)
    full = re.search(r'value="(studio_live_[0-9a-f]{40})"', shown.content.decode()).group(1)
    reloaded = alice_client.get(created.url)
    assert full not in reloaded.content.decode()
    assert ApiKey.objects.filter(name="Once").count() == 1
