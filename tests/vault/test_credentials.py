"""The credential vault: encryption bound to its row, rotation, provisioning, the providers
page, the admin, health and notices, and a secret that never leaks anywhere."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from generations.providers import base as providers
from generations.providers.base import CredentialCheckFailed, ProviderAdapter, UpstreamCredential
from studio.accounts.models import Membership, Role, User
from studio.vault import credentials, crypto
from studio.vault.credentials import (
    available_credentials,
    create_credential,
    decrypt_for_worker,
    mark_unhealthy,
    to_upstream,
)
from studio.vault.crypto import VaultError
from studio.vault.models import ProviderCredential
from tests.conftest import client_for, transactional
from tests.fakes.server import LoopbackServer, Request, Response

SECRET = "sk-live-Zq8rT3vW9xY2pL5mN7bC4dF6gH1jK0aS"
OTHER_SECRET = "r8_Mw2Nq4Ls6Kp8Jo0Ih2Gf4Ed6Cb8Az"


def page(team):
    return reverse("provider_credentials", args=[team.uuid])


def action(name, credential, team=None):
    return reverse(name, args=[(team or credential.team).uuid, credential.uuid])


@pytest.fixture
def credential(team, alice) -> ProviderCredential:
    return create_credential(team, "fal", "Production", "https://queue.fal.run", SECRET, user=alice)


@pytest.fixture
def shared(db) -> ProviderCredential:
    return create_credential(None, "openai", "Operator", "https://api.openai.com/v1", OTHER_SECRET)


@pytest.fixture
def admin_member(team, make_user) -> User:
    user = make_user("ada@example.com", name="Ada")
    Membership.objects.create(user=user, team=team, role=Role.ADMIN)
    return user


# --- a tiny upstream and an adapter that tests a credential against it ----------------------


class CheckingAdapter(ProviderAdapter):
    """Calls GET /v1/me with `Authorization: Key <secret>`, like fal.ai's queue API."""

    name = "fal"

    def check_credential(self, credential: UpstreamCredential) -> None:
        with httpx.Client(trust_env=False, timeout=5) as client:
            response = client.get(
                f"{credential.base_url}/v1/me",
                headers={"Authorization": f"Key {credential.secret}"},
            )
        if response.status_code != 200:
            # A careless upstream (and adapter) echoing the header: the vault must scrub it.
            raise CredentialCheckFailed(f"HTTP {response.status_code}: {response.text}")


@pytest.fixture
def upstream(monkeypatch):
    def handle(request: Request) -> Response:
        if request.headers.get("authorization") == f"Key {SECRET}":
            return Response.json({"ok": True})
        return Response.json(
            {"detail": f"invalid credentials: {request.headers.get('authorization')}"}, 401
        )

    server = LoopbackServer(handle).start()
    monkeypatch.setitem(providers.ADAPTERS, "fal", CheckingAdapter())
    yield server
    server.stop()


@pytest.fixture
def live_credential(team, alice, upstream) -> ProviderCredential:
    return create_credential(team, "fal", "Loopback", upstream.url, SECRET, user=alice)


@pytest.fixture
def wrong_credential(team, alice, upstream) -> ProviderCredential:
    return create_credential(team, "fal", "Stale", upstream.url, OTHER_SECRET, user=alice)


# --- encryption -------------------------------------------------------------------------------


def test_a_secret_round_trips_through_the_vault(credential):
    credential.refresh_from_db()
    assert decrypt_for_worker(credential) == SECRET
    assert credential.secret_last4 == SECRET[-4:]


def test_the_stored_text_is_versioned_names_its_key_and_hides_the_secret(credential):
    version, kid, data = credential.secret_ciphertext.split(":")
    assert version == "v1"
    assert kid == crypto.current_key_id() and len(kid) == 8
    assert SECRET not in credential.secret_ciphertext
    assert SECRET.encode() not in base64.urlsafe_b64decode(data)


def test_encrypting_the_same_secret_twice_gives_different_ciphertexts(credential):
    again = crypto.encrypt(SECRET, row=credential.uuid)
    assert again != credential.secret_ciphertext
    assert crypto.decrypt(again, row=credential.uuid) == SECRET


def test_a_ciphertext_copied_to_another_row_fails_to_decrypt(credential, shared):
    ProviderCredential.objects.filter(pk=shared.pk).update(
        secret_ciphertext=credential.secret_ciphertext
    )
    shared.refresh_from_db()
    with pytest.raises(VaultError, match="another row") as failure:
        decrypt_for_worker(shared)
    assert SECRET not in str(failure.value)


def test_a_tampered_ciphertext_is_a_loud_error(credential):
    version, kid, data = credential.secret_ciphertext.split(":")
    blob = bytearray(base64.urlsafe_b64decode(data))
    blob[-1] ^= 1
    credential.secret_ciphertext = f"{version}:{kid}:{base64.urlsafe_b64encode(blob).decode()}"
    with pytest.raises(VaultError):
        decrypt_for_worker(credential)


def test_plain_text_in_the_column_is_never_used_as_the_secret(credential):
    credential.secret_ciphertext = SECRET
    with pytest.raises(VaultError) as failure:
        to_upstream(credential)
    assert SECRET not in str(failure.value)


def test_decrypting_with_the_wrong_key_is_a_loud_error(credential, settings):
    settings.STUDIO_VAULT_KEYS = [crypto.generate_key()]
    with pytest.raises(VaultError, match="not in STUDIO_VAULT_KEYS") as failure:
        decrypt_for_worker(credential)
    assert SECRET not in str(failure.value)


def test_a_vault_without_keys_is_improperly_configured_and_says_how_to_fix_it(db, settings):
    settings.STUDIO_VAULT_KEYS = []
    with pytest.raises(ImproperlyConfigured, match=r"Set STUDIO_VAULT_KEYS.*generate_key"):
        create_credential(None, "fal", "x", "https://queue.fal.run", SECRET)
    assert not ProviderCredential.objects.exists()


def test_a_malformed_key_is_improperly_configured_without_echoing_it(settings):
    settings.STUDIO_VAULT_KEYS = ["not-a-real-key"]
    with pytest.raises(ImproperlyConfigured, match="entry 1") as failure:
        crypto.encrypt("whatever", row="row")
    assert "not-a-real-key" not in str(failure.value)


def _settings_in_subprocess(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    clean.update(env, DJANGO_SETTINGS_MODULE="studio.settings")
    code = "from django.conf import settings; print(len(settings.STUDIO_VAULT_KEYS))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=clean,
        capture_output=True,
        text=True,
        cwd=Path(django_settings.BASE_DIR),
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.slow
def test_debug_derives_a_development_key_and_production_has_none_without_the_variable():
    assert _settings_in_subprocess(STUDIO_DEBUG="1") == "1"
    production = {
        "STUDIO_DEBUG": "0",
        "STUDIO_SECRET_KEY": "x" * 50,
        "STUDIO_API_KEY_PEPPER": "y" * 50,
    }
    assert _settings_in_subprocess(**production) == "0"
    two = f"{crypto.generate_key()},{crypto.generate_key()}"
    assert _settings_in_subprocess(**production, STUDIO_VAULT_KEYS=two) == "2"


# --- rotation ---------------------------------------------------------------------------------


def test_rotation_with_old_and_new_keys_reencrypts_every_row_and_the_old_key_can_then_go(
    team, settings
):
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.STUDIO_VAULT_KEYS = [old]
    mine = create_credential(team, "fal", "Mine", "https://queue.fal.run", SECRET)
    theirs = create_credential(
        None, "replicate", "Ops", "https://api.replicate.com/v1", OTHER_SECRET
    )
    old_kid = crypto.current_key_id()

    settings.STUDIO_VAULT_KEYS = [new, old]
    assert decrypt_for_worker(mine) == SECRET  # still readable before rotation
    out = StringIO()
    call_command("rotate_vault_keys", stdout=out)
    new_kid = crypto.current_key_id()
    assert f"Re-encrypted 2, already under key {new_kid}: 0, failed: 0" in out.getvalue()
    for row in (mine, theirs):
        row.refresh_from_db()
        assert crypto.token_key_id(row.secret_ciphertext) == new_kid != old_kid

    again = StringIO()
    call_command("rotate_vault_keys", stdout=again)
    assert "Re-encrypted 0, already under key" in again.getvalue()
    assert ": 2, failed: 0" in again.getvalue()

    settings.STUDIO_VAULT_KEYS = [new]
    assert decrypt_for_worker(mine) == SECRET
    assert decrypt_for_worker(theirs) == OTHER_SECRET


def test_a_dry_run_rotation_changes_nothing(credential, settings):
    before = credential.secret_ciphertext
    settings.STUDIO_VAULT_KEYS = [crypto.generate_key(), *settings.STUDIO_VAULT_KEYS]
    out = StringIO()
    call_command("rotate_vault_keys", "--dry-run", stdout=out)
    assert "Would re-encrypt 1" in out.getvalue()
    credential.refresh_from_db()
    assert credential.secret_ciphertext == before


def test_rotation_fails_loudly_when_an_old_key_was_removed_too_early(credential, settings):
    settings.STUDIO_VAULT_KEYS = [crypto.generate_key()]
    err = StringIO()
    with pytest.raises(CommandError, match="failed: 1"):
        call_command("rotate_vault_keys", stderr=err)
    assert str(credential.uuid) in err.getvalue()
    assert SECRET not in err.getvalue()


# --- services ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://queue.fal.run",
        "javascript:alert(1)",
        "queue.fal.run",
        "",
        "https://user:pw@queue.fal.run",
        "https://queue.fal.run/?key=x",
        "https://queue.fal.run:99999",
    ],
)
def test_a_credential_needs_an_http_base_url(team, url):
    with pytest.raises(credentials.InvalidFields):
        create_credential(team, "fal", "x", url, SECRET)
    assert not ProviderCredential.objects.exists()


def test_unknown_providers_and_short_secrets_are_refused(team):
    with pytest.raises(credentials.InvalidFields, match="Unknown provider"):
        create_credential(team, "acme", "x", "https://a.example", SECRET)
    with pytest.raises(credentials.InvalidFields, match="shorter"):
        create_credential(team, "fal", "x", "https://a.example", "abc")


def test_available_credentials_are_the_teams_own_first_then_shared_and_only_usable_ones(
    team, other_team
):
    def make(owner, label, provider="fal", **state):
        c = create_credential(owner, provider, label, "https://queue.fal.run", SECRET)
        ProviderCredential.objects.filter(pk=c.pk).update(**state)
        return c

    shared_one = make(None, "A shared")
    own = make(team, "Z own")
    make(team, "Disabled", enabled=False)
    make(team, "Broken", healthy=False)
    make(team, "Other provider", provider="replicate")
    make(other_team, "Not ours")
    assert list(available_credentials(team, "fal")) == [own, shared_one]
    assert list(available_credentials(team.pk, "fal")) == [own, shared_one]


def test_to_upstream_gives_the_worker_the_decrypted_secret_and_never_prints_it(credential):
    upstream = to_upstream(credential)
    assert upstream == UpstreamCredential(
        id=credential.pk, provider="fal", base_url="https://queue.fal.run", secret=SECRET
    )
    assert SECRET not in repr(upstream)


def test_replacing_a_secret_reencrypts_it_and_makes_the_credential_healthy_again(credential):
    mark_unhealthy(credential, "401 Unauthorized")
    credentials.set_secret(credential, OTHER_SECRET)
    credential.refresh_from_db()
    assert decrypt_for_worker(credential) == OTHER_SECRET
    assert credential.secret_last4 == OTHER_SECRET[-4:]
    assert credential.healthy and credential.last_error == ""


def test_marking_a_credential_unhealthy_emails_owners_and_admins_once(
    credential, admin_member, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mark_unhealthy(credential, "401 from upstream")
        mark_unhealthy(credential, "401 from upstream again")
    credential.refresh_from_db()
    assert not credential.healthy
    assert credential.last_error == "401 from upstream again"
    assert credential.last_checked_at is not None
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert sorted(email.to) == ["ada@example.com", "alice@example.com"]
    assert "Production" in email.subject
    assert page(credential.team) in email.body
    assert SECRET not in email.body


def test_an_unhealthy_shared_credential_tells_staff(
    shared, make_user, mailoutbox, django_capture_on_commit_callbacks
):
    make_user("ops@example.com", is_staff=True)
    make_user("nobody@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        mark_unhealthy(shared, "invalid api key")
    assert [m.to for m in mailoutbox] == [["ops@example.com"]]


def test_the_stored_error_never_holds_the_secret(credential):
    mark_unhealthy(credential, f"401: Authorization: Bearer {SECRET} rejected")
    credential.refresh_from_db()
    assert SECRET not in credential.last_error
    assert SECRET[:16] not in credential.last_error
    assert "[secret]" in credential.last_error


# --- testing a connection through a loopback upstream ----------------------------------------


def test_a_connection_test_that_succeeds_marks_the_credential_healthy(live_credential, upstream):
    result = credentials.test_connection(live_credential)
    assert result.ok, result.message
    live_credential.refresh_from_db()
    assert live_credential.healthy and live_credential.last_checked_at is not None
    assert upstream.hits["GET /v1/me"] == 1


def test_a_connection_test_that_fails_records_the_error_without_the_secret(
    wrong_credential, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = credentials.test_connection(wrong_credential)
    assert not result.ok
    assert "HTTP 401" in result.message
    assert OTHER_SECRET not in result.message
    wrong_credential.refresh_from_db()
    assert not wrong_credential.healthy
    assert "HTTP 401" in wrong_credential.last_error
    assert OTHER_SECRET not in wrong_credential.last_error
    assert len(mailoutbox) == 1 and OTHER_SECRET not in mailoutbox[0].body


def test_an_unreachable_upstream_fails_the_test_without_crashing(team, monkeypatch):
    monkeypatch.setitem(providers.ADAPTERS, "fal", CheckingAdapter())
    c = create_credential(team, "fal", "Nowhere", "http://127.0.0.1:9", SECRET)
    result = credentials.test_connection(c)
    assert not result.ok and "ConnectError" in result.message


def test_the_button_tests_the_connection_inline_with_htmx(
    live_credential, wrong_credential, alice_client
):
    ok = alice_client.post(
        action("provider_credential_test", live_credential), HTTP_HX_REQUEST="true"
    )
    assert ok.status_code == 200
    html = ok.content.decode()
    assert html.lstrip().startswith("<tr") and 'data-testid="test-result"' in html
    assert "Connected" in html and "badge ok" in html
    bad = alice_client.post(
        action("provider_credential_test", wrong_credential), HTTP_HX_REQUEST="true"
    )
    html = bad.content.decode()
    assert 'data-testid="unhealthy-badge"' in html and "HTTP 401" in html
    assert OTHER_SECRET not in html and SECRET not in html


def test_without_javascript_the_test_button_redirects_with_the_result(
    live_credential, alice_client
):
    response = alice_client.post(action("provider_credential_test", live_credential), follow=True)
    assert response.redirect_chain[-1][0] == page(live_credential.team)
    assert "Connected" in response.content.decode()


def test_the_page_shows_a_banner_and_badge_for_unhealthy_credentials(credential, bob_client):
    mark_unhealthy(credential, "HTTP 401: invalid key")
    html = bob_client.get(page(credential.team)).content.decode()
    assert 'data-testid="unhealthy-banner"' in html
    assert 'data-testid="unhealthy-badge"' in html
    assert "HTTP 401: invalid key" in html


# --- the providers page ------------------------------------------------------------------------


def test_the_page_lists_own_and_shared_credentials_with_only_the_last_four(
    credential, shared, alice_client
):
    response = alice_client.get(page(credential.team))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "Production" in html and "Operator" in html and "Shared by the operator" in html
    assert f"…{SECRET[-4:]}" in html and f"…{OTHER_SECRET[-4:]}" in html
    assert "https://queue.fal.run" in html and "60 submits/min" in html
    assert SECRET not in html and OTHER_SECRET not in html
    # The operator's row has no buttons for a team admin.
    assert html.count('data-testid="test-connection"') == 1


def test_the_sidebar_links_the_providers_page(team, alice_client):
    html = alice_client.get(reverse("api_keys", args=[team.uuid])).content.decode()
    assert f'href="{page(team)}"' in html and "Providers" in html


def test_an_owner_adds_a_credential_and_an_empty_base_url_means_the_providers_default(
    team, alice, alice_client
):
    response = alice_client.post(
        page(team),
        {
            "provider": "replicate",
            "label": "",
            "base_url": "",
            "secret": SECRET,
            "submits_per_minute": "10",
            "polls_per_minute": "300",
            "max_concurrent_jobs": "5",
        },
    )
    assert response.status_code == 302
    c = ProviderCredential.objects.get()
    assert (c.team, c.provider, c.label, c.base_url) == (
        team,
        "replicate",
        "Replicate",
        "https://api.replicate.com/v1",
    )
    assert (c.submits_per_minute, c.polls_per_minute, c.max_concurrent_jobs) == (10, 300, 5)
    assert c.created_by == alice and decrypt_for_worker(c) == SECRET


def test_a_form_error_brings_the_secret_field_back_empty(team, alice_client):
    response = alice_client.post(
        page(team),
        {
            "provider": "fal",
            "label": "x",
            "base_url": "ftp://nope",
            "secret": SECRET,
            "submits_per_minute": "60",
            "polls_per_minute": "600",
            "max_concurrent_jobs": "20",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "errorlist" in html and "http://" in html
    assert SECRET not in html
    assert 'type="password" name="secret"' in html
    assert not ProviderCredential.objects.exists()


def test_the_add_form_suggests_each_providers_base_url(team, alice_client):
    html = alice_client.get(page(team)).content.decode()
    for url in credentials.DEFAULT_BASE_URLS.values():
        assert url in html


def test_an_admin_disables_enables_and_deletes_a_credential(credential, admin_member):
    client = client_for(admin_member)
    assert client.post(action("provider_credential_disable", credential)).status_code == 302
    credential.refresh_from_db()
    assert not credential.enabled
    row = client.post(action("provider_credential_enable", credential), HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and 'badge ok">enabled' in row.content.decode()
    credential.refresh_from_db()
    assert credential.enabled
    assert client.post(action("provider_credential_delete", credential)).status_code == 302
    assert not ProviderCredential.objects.exists()


def test_shared_credentials_cannot_be_changed_through_a_team(team, shared, alice_client):
    for name in (
        "provider_credential_test",
        "provider_credential_disable",
        "provider_credential_delete",
    ):
        assert alice_client.post(action(name, shared, team)).status_code == 404
    shared.refresh_from_db()
    assert shared.enabled


def test_another_teams_credential_is_404(team, other_team, charlie, alice_client):
    theirs = create_credential(other_team, "fal", "Globex", "https://queue.fal.run", SECRET)
    assert alice_client.post(action("provider_credential_delete", theirs, team)).status_code == 404
    assert ProviderCredential.objects.filter(pk=theirs.pk).exists()


def test_writes_need_post_and_csrf(credential, alice):
    assert (
        client_for(alice).get(action("provider_credential_delete", credential)).status_code == 405
    )
    strict = client_for(alice)
    strict.handler.enforce_csrf_checks = True
    assert strict.post(action("provider_credential_delete", credential)).status_code == 403
    assert strict.post(page(credential.team), {"provider": "fal"}).status_code == 403
    assert ProviderCredential.objects.filter(pk=credential.pk).exists()


ADD = {
    "provider": "fal",
    "label": "New",
    "base_url": "https://queue.fal.run",
    "secret": OTHER_SECRET,
    "submits_per_minute": "60",
    "polls_per_minute": "600",
    "max_concurrent_jobs": "20",
}


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [
        ("alice", 200, 302),  # owner
        ("ada", 200, 302),  # admin
        ("bob", 200, 403),  # member
        ("vera", 200, 403),  # viewer
        ("charlie", 404, 404),  # outsider
    ],
)
def test_page_access_matrix(credential, admin_member, charlie, who, read, write):
    client = client_for(User.objects.get(email=f"{who}@example.com"))
    team = credential.team
    response = client.get(page(team))
    assert response.status_code == read
    if read == 200:
        html = response.content.decode()
        can_manage = write == 302
        assert ('data-testid="add-credential"' in html) is can_manage
        assert ('data-testid="test-connection"' in html) is can_manage
        assert SECRET not in html
    assert client.post(page(team), ADD).status_code == write
    for name in ("provider_credential_disable", "provider_credential_enable"):
        assert client.post(action(name, credential)).status_code == write
    delete = client.post(action("provider_credential_delete", credential)).status_code
    assert delete == write
    assert ProviderCredential.objects.filter(pk=credential.pk).exists() is (write != 302)


# --- the admin ---------------------------------------------------------------------------------


def test_the_admin_shows_the_last_four_never_the_secret_or_ciphertext(
    credential, shared, admin_client
):
    listing = admin_client.get(reverse("admin:vault_providercredential_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert f"…{SECRET[-4:]}" in html and "shared (every team)" in html
    change = admin_client.get(
        reverse("admin:vault_providercredential_change", args=[credential.pk])
    )
    html = change.content.decode()
    assert change.status_code == 200
    assert SECRET not in html
    assert credential.secret_ciphertext.split(":")[2][:20] not in html
    assert 'name="secret_ciphertext"' not in html
    assert 'type="password" name="new_secret"' in html
    filtered = admin_client.get(
        reverse("admin:vault_providercredential_changelist") + "?healthy__exact=1&q=Production"
    )
    assert filtered.status_code == 200 and "Production" in filtered.content.decode()


def _admin_form(credential, **extra):
    return {
        "team": credential.team_id or "",
        "provider": credential.provider,
        "label": credential.label,
        "base_url": credential.base_url,
        "submits_per_minute": credential.submits_per_minute,
        "polls_per_minute": credential.polls_per_minute,
        "max_concurrent_jobs": credential.max_concurrent_jobs,
        "enabled": "on",
        "healthy": "on",
        "last_error": "",
        **extra,
    }


def test_the_admins_new_secret_field_reencrypts_and_an_empty_one_keeps_the_secret(
    credential, admin_client
):
    url = reverse("admin:vault_providercredential_change", args=[credential.pk])
    assert admin_client.post(url, _admin_form(credential, label="Renamed")).status_code == 302
    credential.refresh_from_db()
    assert credential.label == "Renamed" and decrypt_for_worker(credential) == SECRET
    response = admin_client.post(url, _admin_form(credential, new_secret=OTHER_SECRET))
    assert response.status_code == 302
    credential.refresh_from_db()
    assert decrypt_for_worker(credential) == OTHER_SECRET
    assert credential.secret_last4 == OTHER_SECRET[-4:]


def test_the_admin_adds_a_shared_credential(db, admin_client):
    fake = ProviderCredential(provider="kolbo", label="Ops", base_url="https://api.kolbo.ai")
    data = _admin_form(fake, new_secret=SECRET)
    response = admin_client.post(reverse("admin:vault_providercredential_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    c = ProviderCredential.objects.get()
    assert c.team is None and decrypt_for_worker(c) == SECRET
    missing = admin_client.post(
        reverse("admin:vault_providercredential_add"), _admin_form(fake, label="No secret")
    )
    assert missing.status_code == 200 and "needs a secret" in missing.content.decode()


# --- add_credential ------------------------------------------------------------------------


def test_add_credential_reads_the_secret_from_the_named_environment_variable(team, monkeypatch):
    monkeypatch.setenv("FAL_KEY", SECRET)
    out = StringIO()
    call_command(
        "add_credential",
        "--team",
        "acme",
        "--provider",
        "fal",
        "--base-url",
        "https://queue.fal.run",
        "--secret-env",
        "FAL_KEY",
        "--label",
        "Scripted",
        "--submits-per-minute",
        "10",
        "--polls-per-minute",
        "300",
        "--max-concurrent",
        "4",
        stdout=out,
    )
    c = ProviderCredential.objects.get()
    assert (c.team, c.label, c.submits_per_minute, c.polls_per_minute) == (
        team,
        "Scripted",
        10,
        300,
    )
    assert c.max_concurrent_jobs == 4 and decrypt_for_worker(c) == SECRET
    assert SECRET not in out.getvalue() and f"…{SECRET[-4:]}" in out.getvalue()


def test_add_credential_takes_a_team_uuid_or_shares_with_every_team(team, monkeypatch):
    monkeypatch.setenv("KEY", SECRET)
    common = ["--provider", "krev", "--base-url", "https://app.krev.ai", "--secret-env", "KEY"]
    call_command("add_credential", "--team", str(team.uuid), *common, stdout=StringIO())
    call_command("add_credential", "--shared", *common, stdout=StringIO())
    assert sorted(str(c.team) for c in ProviderCredential.objects.all()) == ["Acme", "None"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--secret", SECRET],
        [f"--secret={SECRET}"],
        ["--secret", "FAL_KEY"],  # not an abbreviation of --secret-env either
        [SECRET],
    ],
)
def test_add_credential_never_accepts_the_secret_on_the_command_line(team, monkeypatch, argv):
    monkeypatch.setenv("FAL_KEY", OTHER_SECRET)
    args = ["--team", "Acme", "--provider", "fal", "--base-url", "https://queue.fal.run"]
    with pytest.raises(CommandError) as failure:
        call_command("add_credential", *args, "--secret-env", "FAL_KEY", *argv)
    assert SECRET not in str(failure.value)
    assert "never given on the command line" in str(failure.value)
    assert not ProviderCredential.objects.exists()


def test_add_credential_does_not_echo_a_secret_given_as_the_variable_name(team):
    args = ["--team", "Acme", "--provider", "fal", "--base-url", "https://queue.fal.run"]
    for wrong in (SECRET, "abcdefghijklmnopQRSTUVWXYZ0123456789"):
        with pytest.raises(CommandError) as failure:
            call_command("add_credential", *args, "--secret-env", wrong)
        assert wrong not in str(failure.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "Nope"], "No team named"),
        (["--team", "Acme", "--provider", "acme"], "Unknown provider"),
        (["--team", "Acme", "--secret-env", "EMPTY_VAR"], "EMPTY_VAR is not set or is empty"),
        (["--team", "Acme", "--secret-env", "UNSET_VAR"], "UNSET_VAR is not set or is empty"),
        (["--team", "Acme", "--base-url", "ftp://x"], "http"),
    ],
)
def test_add_credential_explains_what_is_wrong(team, monkeypatch, args, message):
    monkeypatch.setenv("FAL_KEY", SECRET)
    monkeypatch.setenv("EMPTY_VAR", "  ")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    defaults = {
        "--provider": "fal",
        "--base-url": "https://queue.fal.run",
        "--secret-env": "FAL_KEY",
    }
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [item for pair in {**defaults, **given}.items() for item in pair]
    with pytest.raises(CommandError, match=message):
        call_command("add_credential", *argv)


# --- the secret never leaks ------------------------------------------------------------------


def test_secrets_never_appear_in_logs_or_command_output(
    team, alice, upstream, settings, monkeypatch, caplog, capsys, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("FAL_KEY", SECRET)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        good = create_credential(team, "fal", "Good", upstream.url, SECRET, user=alice)
        bad = create_credential(team, "fal", "Bad", upstream.url, OTHER_SECRET, user=alice)
        call_command(
            "add_credential",
            "--shared",
            "--provider=fal",
            f"--base-url={upstream.url}",
            "--secret-env=FAL_KEY",
            stdout=out,
            stderr=out,
        )
        assert credentials.test_connection(good).ok
        assert not credentials.test_connection(bad).ok
        mark_unhealthy(good, f"Bearer {SECRET} refused")
        settings.STUDIO_VAULT_KEYS = [crypto.generate_key(), *settings.STUDIO_VAULT_KEYS]
        call_command("rotate_vault_keys", stdout=out, stderr=out)
    captured = capsys.readouterr()
    records = caplog.text + "".join(str(r.args) + r.getMessage() for r in caplog.records)
    assert caplog.records  # the actions above do log
    for secret in (SECRET, OTHER_SECRET):
        assert secret not in records
        assert secret not in out.getvalue()
        assert secret not in captured.out + captured.err


def test_no_task_is_ever_enqueued_with_a_secret(
    team, alice, upstream, monkeypatch, django_capture_on_commit_callbacks
):
    import django_q.tasks

    sent = []
    monkeypatch.setattr(django_q.tasks, "async_task", lambda *a, **k: sent.append((a, k)))
    with django_capture_on_commit_callbacks(execute=True):
        c = create_credential(team, "fal", "Bad", upstream.url, OTHER_SECRET, user=alice)
        credentials.test_connection(c)
        mark_unhealthy(c, "again")
    assert all(OTHER_SECRET not in repr(call) for call in sent)


def _every_value_in_the_database() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@transactional
def test_secrets_never_appear_in_plain_text_in_a_database_dump(
    team, alice, upstream, admin_user, admin_client
):
    good = create_credential(team, "fal", "Good", upstream.url, SECRET, user=alice)
    bad = create_credential(None, "fal", "Shared", upstream.url, OTHER_SECRET)
    credentials.test_connection(good)
    credentials.test_connection(bad)  # fails: its error text is stored
    admin_client.post(
        reverse("admin:vault_providercredential_change", args=[good.pk]),
        _admin_form(good, new_secret=SECRET),  # the admin's log entry must not keep it either
    )
    dump = StringIO()
    call_command("dumpdata", stdout=dump)
    everything = _every_value_in_the_database()
    for secret in (SECRET, OTHER_SECRET):
        encoded = base64.b64encode(secret.encode()).decode()
        assert secret not in dump.getvalue()
        assert secret not in everything and encoded not in everything
    assert good.secret_last4 in everything  # the scan does see the credential rows
    if connection.vendor == "sqlite":
        path = Path(connection.settings_dict["NAME"])
        raw = b"".join(
            p.read_bytes()
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
            if p.exists()
        )
        assert raw, "the test database is a file"
        assert SECRET.encode() not in raw and OTHER_SECRET.encode() not in raw


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}
    clean.update(env, DJANGO_SETTINGS_MODULE="studio.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=clean,
        capture_output=True,
        text=True,
        cwd=Path(django_settings.BASE_DIR),
        timeout=60,
        check=False,
    )


PRODUCTION = {
    "STUDIO_DEBUG": "0",
    "STUDIO_SECRET_KEY": "x" * 50,
    "STUDIO_API_KEY_PEPPER": "y" * 50,
    "STUDIO_ALLOWED_HOSTS": "studio.example.com",
}


def test_a_malformed_vault_key_stops_the_start_and_fails_the_deploy_check():
    result = _manage("check", "--deploy", **PRODUCTION, STUDIO_VAULT_KEYS="not-a-key")
    assert result.returncode != 0
    assert "STUDIO_VAULT_KEYS entry 1 is not a urlsafe-base64 32-byte key" in result.stderr


def test_the_deploy_check_passes_well_formed_keys_and_no_keys(settings):
    from studio.vault.checks import vault_keys_check

    settings.STUDIO_VAULT_KEYS = []
    assert vault_keys_check() == []
    settings.STUDIO_VAULT_KEYS = [crypto.generate_key()]
    assert vault_keys_check() == []
    settings.STUDIO_VAULT_KEYS = ["short"]
    assert [m.id for m in vault_keys_check()] == ["studio.E001"]
