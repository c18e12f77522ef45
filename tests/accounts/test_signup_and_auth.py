"""Sign-up, sign-in, sign-out, password change and reset, and the account page."""

from __future__ import annotations

import re

from django.core import mail
from django.test import override_settings
from django.urls import reverse

from studio.accounts.models import Membership, User
from tests.conftest import PASSWORD


@override_settings(STUDIO_OPEN_SIGNUP=True)
def test_open_sign_up_creates_an_account_and_asks_for_a_first_team(client, db):
    response = client.post(
        reverse("signup"), {"name": "Nia", "email": "Nia@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("team_create")
    user = User.objects.get(email="nia@example.com")
    assert user.name == "Nia"
    response = client.post(reverse("team_create"), {"name": "Nia's studio"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=user)
    assert (membership.team.name, membership.role) == ("Nia's studio", "owner")
    user.refresh_from_db()
    assert user.last_team == membership.team


@override_settings(STUDIO_OPEN_SIGNUP=True)
def test_sign_up_refuses_an_address_that_has_an_account_whatever_its_case(client, alice):
    response = client.post(reverse("signup"), {"email": "ALICE@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert "sign in instead" in response.content.decode()
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


@override_settings(STUDIO_OPEN_SIGNUP=True)
def test_sign_up_refuses_a_weak_password_and_says_why(client, db):
    response = client.post(reverse("signup"), {"email": "nia@example.com", "password": "123"})
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="nia@example.com").exists()


def test_sign_in_with_any_case_of_the_email(client, alice, team):
    response = client.post(
        reverse("login"), {"username": "Alice@EXAMPLE.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_a_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post(reverse("login"), {"username": alice.email, "password": "nope"})
    assert response.status_code == 200
    assert "correct email and password" in response.content.decode()


def test_a_signed_in_user_visiting_sign_in_is_sent_on(alice_client, team):
    assert alice_client.get(reverse("login")).status_code == 302


def test_sign_out_needs_a_post_and_ends_the_session(alice_client, team):
    assert alice_client.get(reverse("logout")).status_code == 405
    response = alice_client.post(reverse("logout"))
    assert response.status_code == 302
    assert alice_client.get(reverse("members", args=[team.uuid])).status_code == 302


def test_sign_out_returns_to_a_safe_next_page_only(alice_client, team):
    response = alice_client.post(reverse("logout"), {"next": "https://evil.example/"})
    assert response.url == reverse("login")


def test_a_password_change_keeps_the_session_and_the_new_password_works(
    alice_client, client, alice
):
    response = alice_client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert alice_client.get(reverse("account")).status_code == 200
    assert client.login(username=alice.email, password="a brand new passphrase")


def test_a_password_reset_by_email_works_once(client, alice):
    response = client.post(reverse("password_reset"), {"email": "ALICE@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link).url  # Django swaps the token for a session marker
    response = client.post(
        form_url, {"new_password1": "reset passphrase 42", "new_password2": "reset passphrase 42"}
    )
    assert response.status_code == 302
    assert client.login(username=alice.email, password="reset passphrase 42")
    client.logout()
    assert "doesn't work" in client.get(link, follow=True).content.decode()


def test_a_password_reset_for_an_unknown_address_looks_the_same(client, db):
    response = client.post(reverse("password_reset"), {"email": "ghost@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_the_account_page_saves_the_name(alice_client, alice, team):
    page = alice_client.get(reverse("account")).content.decode()
    assert "alice@example.com" in page
    assert 'data-testid="credit-badge"' in page  # the navigation keeps the last team
    response = alice_client.post(reverse("account"), {"name": "Alice L."}, follow=True)
    assert "Profile saved." in response.content.decode()
    alice.refresh_from_db()
    assert alice.name == "Alice L."


def test_the_auth_pages_render_for_anonymous_visitors(client, db):
    for name in ("login", "password_reset", "password_reset_done", "password_reset_complete"):
        assert client.get(reverse(name)).status_code == 200
