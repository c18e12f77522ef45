from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from studio.accounts.models import Membership
from studio.errors import Conflict, Forbidden, InvalidApiKey, InvalidFields
from studio.vault import services
from studio.vault.models import SCOPES, ApiKey


def test_it_issues_keys_in_the_contract_format(team, alice):
    issued = services.create_api_key(team, alice, "My App")
    assert re.fullmatch(r"studio_live_[0-9a-f]{40}", issued.full_key)
    key = issued.key
    assert key.prefix == issued.full_key[:20]
    assert key.last4 == issued.full_key[-4:]
    assert key.scopes == SCOPES
    assert key.hashed_key != issued.full_key and issued.full_key not in key.hashed_key


def test_the_prefix_is_a_setting(team, alice, settings):
    settings.STUDIO_API_KEY_PREFIX = "kolbo"
    full = services.create_api_key(team, alice, "k").full_key
    assert full.startswith("kolbo_live_")
    settings.STUDIO_API_KEY_PREFIX = "sk"
    # A key keeps working after the operator changes the prefix for new keys.
    assert services.authenticate(full).team == team


def test_the_hash_is_keyed_with_the_pepper_not_the_secret_key(team, alice, settings):
    full = services.create_api_key(team, alice, "k").full_key
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789-abcdefghij"
    assert services.authenticate(full)
    settings.STUDIO_API_KEY_PEPPER = "a-different-pepper-0123456789abcdef0123"
    with pytest.raises(InvalidApiKey):
        services.authenticate(full)


def test_it_authenticates_with_team_plan_and_user_in_one_query(
    team, alice, django_assert_max_num_queries
):
    full = services.create_api_key(team, alice, "k").full_key
    services.authenticate(full)  # first use writes last_used_at
    with django_assert_max_num_queries(1):
        key = services.authenticate(full)
        assert key.team.plan.slug and key.user.email


@pytest.mark.parametrize(
    "raw",
    ["", "nonsense", "studio_live_" + "0" * 40, "studio_live_" + "g" * 40, "Bearer x"],
)
def test_it_rejects_unknown_keys(db, raw):
    with pytest.raises(InvalidApiKey):
        services.authenticate(raw)


def test_it_rejects_a_key_with_a_right_prefix_and_wrong_secret(team, alice):
    full = services.create_api_key(team, alice, "k").full_key
    forged = full[:-4] + ("0000" if full[-4:] != "0000" else "1111")
    with pytest.raises(InvalidApiKey):
        services.authenticate(forged)


def test_it_rejects_revoked_keys(team, alice):
    issued = services.create_api_key(team, alice, "k")
    assert services.revoke_api_key(issued.key, by=alice)
    assert not services.revoke_api_key(issued.key, by=alice)  # once
    with pytest.raises(InvalidApiKey, match="revoked"):
        services.authenticate(issued.full_key)


def test_it_rejects_expired_keys(team, alice):
    issued = services.create_api_key(team, alice, "k", expires_in_days=1)
    later = timezone.now() + timedelta(days=1, seconds=1)
    with time_machine.travel(later), pytest.raises(InvalidApiKey, match="expired"):
        services.authenticate(issued.full_key)


def test_a_key_stops_working_when_its_creator_leaves_the_team(team, bob):
    full = services.create_api_key(team, bob, "k").full_key
    Membership.objects.filter(team=team, user=bob).delete()
    with pytest.raises(InvalidApiKey):
        services.authenticate(full)


def test_it_limits_active_keys_per_user(team, alice, settings):
    settings.STUDIO_API_KEYS_PER_USER = 2
    first = services.create_api_key(team, alice, "1")
    services.create_api_key(team, alice, "2")
    with pytest.raises(Conflict):
        services.create_api_key(team, alice, "3")
    services.revoke_api_key(first.key, by=alice)
    services.create_api_key(team, alice, "3")


def test_expired_keys_do_not_count_against_the_limit(team, alice, settings):
    settings.STUDIO_API_KEYS_PER_USER = 1
    services.create_api_key(team, alice, "1", expires_in_days=1)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        services.create_api_key(team, alice, "2")


def test_viewers_cannot_create_keys(team, vera):
    with pytest.raises(Forbidden):
        services.create_api_key(team, vera, "k")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "k", "expires_in_days": 0}, "expiresInDays"),
        ({"name": "k", "expires_in_days": 731}, "expiresInDays"),
        ({"name": "k", "scopes": ["images", "teleport"]}, "scopes"),
        ({"name": "k", "scopes": []}, "scopes"),
    ],
)
def test_it_validates_and_names_the_field(team, alice, kwargs, field):
    name = kwargs.pop("name")
    with pytest.raises(InvalidFields, match=field):
        services.create_api_key(team, alice, name, **kwargs)


def test_kolbo_permissions_map_onto_scopes():
    assert services.scopes_from_permissions(["read", "write"]) == SCOPES
    assert services.scopes_from_permissions(["write"]) == SCOPES
    assert services.scopes_from_permissions(["read"]) == ["read"]
    assert services.scopes_from_permissions(None) == SCOPES


def test_read_allows_every_get_and_nothing_else(team, alice):
    key = services.create_api_key(team, alice, "k", scopes=["read"]).key
    assert key.allows("images", method="GET")
    assert not key.allows("images", method="POST")
    assert key.permissions == ["read"]
    scoped = services.create_api_key(team, alice, "s", scopes=["images"]).key
    assert scoped.allows("images", method="POST")
    assert not scoped.allows("credits", method="GET")
    assert scoped.permissions == []


def test_last_used_is_written_at_most_every_few_minutes(team, alice, django_assert_num_queries):
    full = services.create_api_key(team, alice, "k").full_key
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.authenticate(full)
    first = ApiKey.objects.get().last_used_at
    assert first == start
    soon = start + timedelta(minutes=4)
    with time_machine.travel(soon, tick=False), django_assert_num_queries(1):  # no write
        services.authenticate(full)
    assert ApiKey.objects.get().last_used_at == first
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        services.authenticate(full)
    assert ApiKey.objects.get().last_used_at == start + timedelta(minutes=6)
