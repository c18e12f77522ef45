"""Invitations by link: create, open, sign up or sign in, join with the right role."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from studio.accounts import services
from studio.accounts.models import Invitation, Membership, Role, User
from studio.accounts.views import team_home_url
from studio.errors import Conflict, Forbidden, NotFound
from tests.conftest import PASSWORD, client_for


def _create_link(client: Client, team, **data) -> Invitation:
    response = client.post(reverse("members", args=[team.uuid]), {"role": "member", **data})
    assert response.status_code == 302, response.content.decode()
    invitation = Invitation.objects.filter(team=team).latest("created_at")
    # Only the token's hash is stored: the link is the one the members page shows once.
    invitation.token = client.session["new_invitation"][1].rstrip("/").rsplit("/", 1)[-1]
    return invitation


def _signup(client: Client, invitation: Invitation, email: str, **extra):
    return client.post(
        reverse("signup"),
        {"invitation": invitation.token, "email": email, "password": PASSWORD, **extra},
    )


@override_settings(STUDIO_OPEN_SIGNUP=False)
def test_a_link_takes_a_new_person_from_anonymous_visit_into_the_team(alice_client, team):
    invitation = _create_link(alice_client, team, role="admin")
    link = services.invitation_url(invitation)
    members_page = alice_client.get(reverse("members", args=[team.uuid])).content.decode()
    assert link in members_page

    visitor = Client()
    page = visitor.get(reverse("accept_invitation", args=[invitation.token]))
    assert page.status_code == 200
    assert "Join Acme" in page.content.decode()
    assert "as <strong>admin</strong>" in page.content.decode()

    form = visitor.get(reverse("signup") + f"?invitation={invitation.token}")
    assert form.status_code == 200  # sign-up is closed, but not to someone holding a link
    response = _signup(visitor, invitation, "newcomer@example.com", name="Nia")
    assert response.status_code == 302
    assert response.url == team_home_url(team.uuid)

    newcomer = User.objects.get(email="newcomer@example.com")
    assert Membership.objects.get(team=team, user=newcomer).role == Role.ADMIN
    newcomer.refresh_from_db()
    assert newcomer.last_team_id == team.pk
    invitation.refresh_from_db()
    assert invitation.accepted_by == newcomer and invitation.accepted_at is not None
    welcome = visitor.get(reverse("credits", args=[team.uuid])).content.decode()
    assert "Welcome to Acme" in welcome
    assert 'data-testid="credit-badge"' in welcome


def test_an_existing_user_signs_in_from_the_link_and_joins(team, alice, charlie):
    invitation = services.invite(team, alice, role=Role.VIEWER)
    url = reverse("accept_invitation", args=[invitation.token])
    visitor = Client()
    response = visitor.post(
        reverse("login"), {"username": charlie.email, "password": PASSWORD, "next": url}
    )
    assert response.url == url
    assert "Join Acme" in visitor.get(url).content.decode()
    response = visitor.post(url)
    assert response.status_code == 302
    assert Membership.objects.get(team=team, user=charlie).role == Role.VIEWER


@override_settings(STUDIO_OPEN_SIGNUP=False)
def test_sign_up_stays_open_to_a_visitor_who_went_to_sign_in_from_a_link_first(team, alice):
    invitation = services.invite(team, alice)
    next_url = reverse("accept_invitation", args=[invitation.token])
    login_page = Client().get(reverse("login") + f"?next={next_url}").content.decode()
    assert f"{reverse('signup')}?next=" in login_page
    visitor = Client()
    page = visitor.get(reverse("signup"), {"next": next_url})
    assert page.status_code == 200
    assert "invited you" in page.content.decode() or "You were invited" in page.content.decode()
    response = visitor.post(
        reverse("signup") + f"?next={next_url}",
        {"email": "late@example.com", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert Membership.objects.filter(team=team, user__email="late@example.com").exists()


@override_settings(STUDIO_OPEN_SIGNUP=False)
def test_sign_up_without_a_link_is_closed_and_says_how_to_get_in(client, db):
    response = client.get(reverse("signup"))
    assert response.status_code == 403
    assert "invitation link" in response.content.decode()
    response = client.post(reverse("signup"), {"email": "x@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()


def test_an_email_bound_invitation_refuses_another_address_at_sign_up(team, alice):
    invitation = services.invite(team, alice, email="nia@example.com", send_email=False)
    visitor = Client()
    form = visitor.get(reverse("signup"), {"invitation": invitation.token}).content.decode()
    assert 'value="nia@example.com"' in form
    response = _signup(visitor, invitation, "someone-else@example.com")
    assert response.status_code == 200
    assert "This invitation is for nia@example.com" in response.content.decode()
    assert not User.objects.filter(email="someone-else@example.com").exists()
    _signup(visitor, invitation, "NIA@example.com")
    assert Membership.objects.filter(team=team, user__email="nia@example.com").exists()


def test_an_email_bound_invitation_refuses_another_signed_in_account(team, alice, charlie):
    invitation = services.invite(team, alice, email="nia@example.com", send_email=False)
    url = reverse("accept_invitation", args=[invitation.token])
    client = client_for(charlie)
    page = client.get(url).content.decode()
    assert "This invitation is for <strong>nia@example.com</strong>" in page
    assert 'data-testid="accept-invitation"' not in page
    response = client.post(url, follow=True)
    assert "sign in with that address" in response.content.decode()
    assert not Membership.objects.filter(team=team, user=charlie).exists()
    with pytest.raises(Forbidden):
        services.accept_invitation(invitation.token, charlie)


def test_an_invitation_with_an_email_sends_the_link(
    alice_client, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _create_link(alice_client, team, email="nia@example.com")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nia@example.com"]
    assert services.invitation_url(invitation) in mail.outbox[0].body
    assert "Acme" in mail.outbox[0].subject


def test_inviting_someone_already_in_the_team_says_so(alice_client, team):
    response = alice_client.post(
        reverse("members", args=[team.uuid]), {"email": "bob@example.com", "role": "member"}
    )
    assert response.status_code == 200
    assert "bob@example.com is already a member of Acme" in response.content.decode()
    assert not Invitation.objects.filter(team=team).exists()


def test_only_an_owner_invites_an_owner(team, bob):
    Membership.objects.filter(team=team, user=bob).update(role=Role.ADMIN)
    with pytest.raises(Forbidden):
        services.invite(team, bob, role=Role.OWNER)
    response = client_for(bob).post(
        reverse("members", args=[team.uuid]), {"email": "", "role": "owner"}
    )
    assert response.status_code == 200
    assert not Invitation.objects.filter(team=team).exists()


def test_a_revoked_link_is_404_and_says_so(alice_client, team, alice):
    invitation = services.invite(team, alice)
    alice_client.post(reverse("invitation_revoke", args=[team.uuid, invitation.uuid]))
    response = Client().get(reverse("accept_invitation", args=[invitation.token]))
    assert response.status_code == 404
    assert "This invitation was withdrawn" in response.content.decode()
    assert "Ask the person who invited you for a new link" in response.content.decode()
    members_page = alice_client.get(reverse("members", args=[team.uuid])).content.decode()
    assert invitation.token not in members_page


def test_an_expired_link_is_404(team, alice, charlie):
    invitation = services.invite(team, alice)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = Client().get(reverse("accept_invitation", args=[invitation.token]))
        assert response.status_code == 404
        assert "This invitation has expired" in response.content.decode()
        with pytest.raises(NotFound):
            services.accept_invitation(invitation.token, charlie)


def test_a_used_link_is_404_for_the_next_person(team, alice, charlie, make_user):
    invitation = services.invite(team, alice)
    services.accept_invitation(invitation.token, charlie)
    response = client_for(make_user("dave@example.com")).get(
        reverse("accept_invitation", args=[invitation.token])
    )
    assert response.status_code == 404
    assert "already been used" in response.content.decode()


def test_an_unknown_link_is_404(client, db):
    response = client.get(reverse("accept_invitation", args=["not-a-real-token"]))
    assert response.status_code == 404
    assert "check that you copied all of it" in response.content.decode()


def test_signing_up_with_a_dead_link_says_why(client, team, alice):
    invitation = services.invite(team, alice)
    services.revoke_invitation(invitation)
    response = client.get(reverse("signup"), {"invitation": invitation.token})
    assert response.status_code == 404
    assert "withdrawn" in response.content.decode()


def test_a_member_opening_their_own_teams_link_is_told_they_are_in(bob_client, team, alice):
    invitation = services.invite(team, alice)
    page = bob_client.get(reverse("accept_invitation", args=[invitation.token])).content.decode()
    assert "already a member" in page
    services.accept_invitation(
        invitation.token, Membership.objects.get(user__email="bob@example.com").user
    )
    invitation.refresh_from_db()
    assert invitation.accepted_at is None  # still usable by the person it was meant for


def test_a_signed_in_user_visiting_sign_up_goes_home(alice_client, team):
    response = alice_client.get(reverse("signup"))
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_accepting_the_same_link_twice_keeps_one_membership(team, alice, charlie):
    invitation = services.invite(team, alice)
    first = services.accept_invitation(invitation.token, charlie)
    with pytest.raises(NotFound):
        services.accept_invitation(invitation.token, charlie)
    assert Membership.objects.filter(team=team, user=charlie).count() == 1
    assert first.role == Role.MEMBER


def test_inviting_an_existing_member_by_email_is_a_conflict(team, alice):
    with pytest.raises(Conflict):
        services.invite(team, alice, email="BOB@example.com")


def test_only_a_hash_of_the_token_is_stored_and_the_link_is_shown_once(alice_client, team):
    invitation = _create_link(alice_client, team)
    link = services.invitation_url(invitation)
    stored = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert invitation.token not in str(stored)
    members = reverse("members", args=[team.uuid])
    assert link in alice_client.get(members).content.decode()
    again = alice_client.get(members).content.decode()
    assert link not in again
    assert "shown once" in again
    # The link still works for whoever holds it.
    assert Client().get(link.removeprefix(settings.BASE_URL)).status_code == 200
