"""Home, team creation, the team switcher and team settings."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from studio.accounts import credits, services
from studio.accounts.models import LedgerEntry, LedgerKind, Membership, Team, User
from studio.accounts.views import team_home_url
from tests.conftest import client_for


def test_home_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_home_opens_the_last_team(alice, team):
    second = services.create_team("Zeta", alice)
    User.objects.filter(pk=alice.pk).update(last_team=second)
    response = client_for(alice).get(reverse("home"))
    assert response.url == team_home_url(second.uuid)


def test_home_falls_back_to_a_team_still_joined_when_the_last_one_was_left(bob, team, make_user):
    other = services.create_team("Aardvark", make_user("z@example.com"))
    Membership.objects.create(user=bob, team=other)
    User.objects.filter(pk=bob.pk).update(last_team=None)
    response = client_for(bob).get(reverse("home"))
    assert response.url == team_home_url(other.uuid)  # first by name


def test_home_without_a_team_asks_to_create_one(make_user):
    response = client_for(make_user("new@example.com")).get(reverse("home"))
    assert response.url == reverse("team_create")


def test_the_team_switcher_lists_every_team_and_remembers_the_choice(alice, team):
    second = services.create_team("Zeta", alice)
    client = client_for(alice)
    page = client.get(reverse("credits", args=[team.uuid])).content.decode()
    switcher = page.split('data-testid="team-switcher"')[1].split("</details>")[0]
    assert "Acme" in switcher and "Zeta" in switcher
    assert reverse("team_home", args=[second.uuid]) in switcher
    response = client.get(reverse("team_home", args=[second.uuid]))
    assert response.url == team_home_url(second.uuid)
    alice.refresh_from_db()
    assert alice.last_team == second
    assert client.get(reverse("home")).url == team_home_url(second.uuid)


def test_the_switcher_does_not_list_teams_the_user_is_not_in(alice_client, team, other_team):
    page = alice_client.get(reverse("credits", args=[team.uuid])).content.decode()
    assert "Globex" not in page


def test_creating_a_team_makes_the_creator_owner_and_opens_it(alice_client, alice, team):
    response = alice_client.post(reverse("team_create"), {"name": "  Second  "})
    created = Membership.objects.get(user=alice, team__name="Second")
    assert created.role == "owner"
    assert response.url == team_home_url(created.team.uuid)


def test_a_team_name_is_required(alice_client):
    response = alice_client.post(reverse("team_create"), {"name": "   "})
    assert response.status_code == 200
    assert "required" in response.content.decode()


def test_an_admin_renames_the_team(alice_client, team):
    response = alice_client.post(
        reverse("team_settings", args=[team.uuid]), {"name": "Acme Labs"}, follow=True
    )
    assert "Team renamed." in response.content.decode()
    team.refresh_from_db()
    assert team.name == "Acme Labs"


def test_a_member_sees_the_settings_but_cannot_rename(bob_client, team):
    page = bob_client.get(reverse("team_settings", args=[team.uuid])).content.decode()
    assert "Only owners and admins can rename the team" in page
    assert "1,000 credits a month" in page


# --- who may create teams (STUDIO_TEAM_CREATION) and with how much (STUDIO_NEW_TEAM_CREDITS)


def test_with_team_creation_off_nobody_creates_a_team_from_the_dashboard(
    settings, alice_client, alice, team
):
    settings.STUDIO_TEAM_CREATION = "off"
    page = alice_client.get(reverse("team_create"))
    assert page.status_code == 403
    assert "created by the operators" in page.content.decode()
    posted = alice_client.post(reverse("team_create"), {"name": "Sneaky"})
    assert posted.status_code == 403
    assert not Team.objects.filter(name="Sneaky").exists()
    studio_page = alice_client.get(reverse("team_settings", args=[team.uuid])).content.decode()
    assert reverse("team_create") not in studio_page


def test_with_team_creation_for_admins_only_staff_may_and_others_may_not(
    settings, alice_client, alice, make_user, team
):
    settings.STUDIO_TEAM_CREATION = "admins"
    assert alice_client.post(reverse("team_create"), {"name": "Nope"}).status_code == 403
    operator = make_user("ops@example.com", is_staff=True)
    response = client_for(operator).post(reverse("team_create"), {"name": "Ops team"})
    assert response.status_code == 302
    assert Membership.objects.get(team__name="Ops team").user == operator


def test_a_team_created_in_the_dashboard_starts_with_the_configured_credits(settings, alice_client):
    settings.STUDIO_NEW_TEAM_CREDITS = 250
    alice_client.post(reverse("team_create"), {"name": "Small start"})
    team = Team.objects.get(name="Small start")
    assert team.total_credits == 250
    entry = LedgerEntry.objects.get(team=team)
    assert (entry.kind, entry.amount, entry.note) == (
        LedgerKind.PLAN_RESET,
        250,
        "Starting credits of a new team",
    )
    assert team.plan_renews_at > timezone.now()
    assert credits.reconcile() == []
