"""Every team page and action: outsiders get 404, viewers 403 on writes, members 403 on
managing, anonymous visitors go to sign-in. Parametrized over the URL names, and a guard
test fails when a team URL is added to accounts without being listed here."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, reverse

from studio.accounts import services
from studio.accounts.models import Invitation, Membership, Role, Team
from studio.accounts.urls import urlpatterns

# Pages anyone in the team may read (GET).
READ_PAGES = ["team_home", "members", "credits", "credit_badge", "ledger_csv", "team_settings"]
# Every write, with the data a valid request sends.
WRITES = {
    "members": {"email": "", "role": "member"},
    "member_role": {"role": "admin"},
    "member_remove": {},
    "invitation_revoke": {},
    "credits": {"code": "NOPE-NOPE-NOPE"},
    "team_settings": {"name": "Renamed"},
}
# Writes a plain member may make; the rest are for owners and admins.
MEMBER_WRITES = {"credits"}


def _url(name: str, team: Team) -> str:
    """The URL for `name` in `team`, pointing at a real object of that team where needed."""
    if name in {"member_role", "member_remove"}:
        # Someone other than the requester: the viewer's own membership is bob's target,
        # and bob's membership is everyone else's.
        target = Membership.objects.get(team=team, role=Role.MEMBER)
        return reverse(name, args=[team.uuid, target.pk])
    if name == "invitation_revoke":
        invitation = Invitation.objects.filter(team=team).first()
        if invitation is None:
            owner = Membership.objects.get(team=team, role=Role.OWNER).user
            invitation = services.invite(team, owner)
        return reverse(name, args=[team.uuid, invitation.uuid])
    return reverse(name, args=[team.uuid])


def test_every_team_url_in_accounts_is_covered_by_these_tests():
    team_urls = {
        p.name
        for p in urlpatterns
        if isinstance(p, URLPattern) and "team_uuid" in str(p.pattern) and p.name
    }
    assert team_urls == set(READ_PAGES) | set(WRITES)


@pytest.mark.parametrize("name", READ_PAGES)
def test_an_outsider_gets_404_on_every_team_page(charlie_client, team, name):
    assert charlie_client.get(_url(name, team)).status_code == 404


@pytest.mark.parametrize("name", sorted(WRITES))
def test_an_outsider_gets_404_on_every_team_action(charlie_client, team, name):
    before = Team.objects.get(pk=team.pk).name
    response = charlie_client.post(_url(name, team), WRITES[name])
    assert response.status_code == 404
    assert Team.objects.get(pk=team.pk).name == before
    assert Membership.objects.filter(team=team).count() == 3


@pytest.mark.parametrize("name", READ_PAGES)
def test_an_unknown_team_is_404(alice_client, name):
    url = reverse(name, args=["00000000-0000-4000-8000-000000000000"])
    assert alice_client.get(url).status_code == 404


@pytest.mark.parametrize("name", READ_PAGES)
def test_a_viewer_can_read_every_team_page(vera_client, team, name):
    assert vera_client.get(_url(name, team)).status_code in (200, 302)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_viewer_gets_403_on_every_team_action(vera_client, team, name):
    url = _url(name, team)
    roles = dict(Membership.objects.filter(team=team).values_list("pk", "role"))
    response = vera_client.post(url, WRITES[name])
    assert response.status_code == 403
    assert dict(Membership.objects.filter(team=team).values_list("pk", "role")) == roles
    assert Team.objects.get(pk=team.pk).name == "Acme"


@pytest.mark.parametrize("name", sorted(set(WRITES) - MEMBER_WRITES))
def test_a_member_gets_403_on_every_managing_action(bob_client, team, vera, name):
    url = _url(name, team)
    if name in {"member_role", "member_remove"}:  # bob acts on vera, not on himself
        url = reverse(name, args=[team.uuid, Membership.objects.get(team=team, user=vera).pk])
    assert bob_client.post(url, WRITES[name]).status_code == 403
    assert Membership.objects.filter(team=team).count() == 3


@pytest.mark.parametrize("name", sorted(MEMBER_WRITES))
def test_a_member_may_make_member_writes(bob_client, team, name):
    assert bob_client.post(_url(name, team), WRITES[name]).status_code in (200, 302)


@pytest.mark.parametrize("name", READ_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, team, name):
    response = client.get(_url(name, team))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_an_outsider_cannot_revoke_an_invitation_through_their_own_team(
    charlie_client, team, other_team, alice
):
    invitation = services.invite(team, alice)
    url = reverse("invitation_revoke", args=[other_team.uuid, invitation.uuid])
    assert charlie_client.post(url).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_the_404_page_does_not_reveal_the_team_name(charlie_client, team):
    response = charlie_client.get(reverse("members", args=[team.uuid]))
    assert b"Acme" not in response.content
