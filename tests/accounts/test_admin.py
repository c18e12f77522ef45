"""The admin: credit actions write the ledger, the ledger is read-only, lists stay usable."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.accounts import credits
from studio.accounts.models import (
    LedgerEntry,
    LedgerKind,
    Plan,
    RedemptionCode,
    Team,
    User,
)


def _action(admin_client, action: str, teams, **data):
    return admin_client.post(
        reverse("admin:accounts_team_changelist"),
        {"action": action, "_selected_action": [t.pk for t in teams], "apply": "1", **data},
        follow=True,
    )


def test_the_grant_action_asks_for_an_amount_first(admin_client, team):
    response = admin_client.post(
        reverse("admin:accounts_team_changelist"),
        {"action": "grant_credits", "_selected_action": [team.pk]},
    )
    assert response.status_code == 200
    assert 'name="amount"' in response.content.decode()
    assert not LedgerEntry.objects.filter(kind=LedgerKind.GRANT).exists()


def test_the_grant_action_writes_a_ledger_entry_per_team(
    admin_client, admin_user, team, other_team
):
    response = _action(
        admin_client, "grant_credits", [team, other_team], amount=250, bucket="pack", note="Promo"
    )
    assert "Credits changed for 2 team(s)" in response.content.decode()
    for t in (team, other_team):
        entry = LedgerEntry.objects.filter(team=t).first()
        assert (entry.kind, entry.pack_delta, entry.note, entry.created_by) == (
            LedgerKind.GRANT,
            250,
            "Promo",
            admin_user,
        )
    assert credits.reconcile() == []


def test_a_negative_grant_is_an_adjustment_and_an_overdraft_is_reported(admin_client, team):
    _action(admin_client, "grant_credits", [team], amount=-100, bucket="plan", note="")
    assert LedgerEntry.objects.filter(team=team).first().kind == LedgerKind.ADJUSTMENT
    response = _action(admin_client, "grant_credits", [team], amount=-5000, bucket="plan")
    body = response.content.decode()
    assert "cannot remove 5000" in body
    assert "Credits changed for 0" not in body
    team.refresh_from_db()
    assert team.plan_credits == 900


def test_the_change_plan_action_moves_the_team_and_writes_the_ledger(admin_client, team):
    pro = Plan.objects.get(slug="pro")
    response = _action(admin_client, "change_plan", [team], plan=pro.pk)
    assert "Plan changed for 1 team(s)" in response.content.decode()
    team.refresh_from_db()
    assert team.plan == pro and team.plan_credits == pro.monthly_credits
    entry = LedgerEntry.objects.filter(team=team).first()
    assert entry.kind == LedgerKind.PLAN_RESET and "Pro" in entry.note


def test_the_plan_cannot_be_edited_on_the_team_form(admin_client, team):
    body = admin_client.get(reverse("admin:accounts_team_change", args=[team.pk])).content
    assert b'name="plan"' not in body


def test_a_team_added_in_the_admin_gets_its_first_allowance(admin_client):
    free = Plan.objects.get(slug="free")
    response = admin_client.post(
        reverse("admin:accounts_team_add"),
        {
            "name": "Added",
            "plan": free.pk,
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(name="Added")
    assert team.plan_credits == 1000
    assert credits.reconcile() == []


def test_ledger_entries_are_read_only_in_the_admin(admin_client, funded_team):
    entry = LedgerEntry.objects.filter(team=funded_team).first()
    changelist = admin_client.get(reverse("admin:accounts_ledgerentry_changelist"))
    assert changelist.status_code == 200
    assert b"test pack" in changelist.content
    detail = admin_client.get(reverse("admin:accounts_ledgerentry_change", args=[entry.pk]))
    assert detail.status_code == 200
    assert b'type="submit"' not in detail.content.split(b'id="content-main"')[1]
    assert admin_client.get(reverse("admin:accounts_ledgerentry_add")).status_code == 403
    url = reverse("admin:accounts_ledgerentry_change", args=[entry.pk])
    admin_client.post(url, {"amount": 1_000_000, "note": "hacked"})
    delete = admin_client.post(
        reverse("admin:accounts_ledgerentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    entry.refresh_from_db()
    assert entry.note == "test pack" and entry.amount == 10_000


@pytest.mark.parametrize(
    "model", ["user", "team", "membership", "plan", "invitation", "ledgerentry", "redemptioncode"]
)
def test_every_accounts_list_renders_and_searches(admin_client, funded_team, model):
    RedemptionCode.objects.create(credits=10, note="launch")
    url = reverse(f"admin:accounts_{model}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "acme"}).status_code == 200


def test_a_team_can_be_found_by_its_uuid(admin_client, team, other_team):
    response = admin_client.get(reverse("admin:accounts_team_changelist"), {"q": str(team.uuid)})
    assert b"Acme" in response.content and b"Globex" not in response.content


def test_a_redemption_code_created_in_the_admin_is_normalised_and_credited_to_its_creator(
    admin_client, admin_user
):
    response = admin_client.post(
        reverse("admin:accounts_redemptioncode_add"),
        {
            "code": " launch-2026 ",
            "credits": 500,
            "max_redemptions": 10,
            "note": "Launch",
            "redemptions-TOTAL_FORMS": "0",
            "redemptions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    code = RedemptionCode.objects.get()
    assert (code.code, code.created_by) == ("LAUNCH-2026", admin_user)


def test_the_admin_adds_a_user_who_can_sign_in(admin_client, client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New@Example.com",
            "password1": "a long enough pw 1",
            "password2": "a long enough pw 1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert User.objects.filter(email="new@example.com").exists()
    assert client.login(username="NEW@example.com", password="a long enough pw 1")


def test_the_admin_refuses_a_user_whose_email_differs_only_in_case(admin_client, alice):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "ALICE@example.com",
            "password1": "a long enough pw 1",
            "password2": "a long enough pw 1",
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


def test_the_user_change_form_saves(admin_client, bob):
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[bob.pk]),
        {"email": "bob@example.com", "name": "Robert", "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    bob.refresh_from_db()
    assert bob.name == "Robert"


def test_invitation_tokens_are_not_shown_in_the_admin(admin_client, team, alice):
    from studio.accounts import services

    invitation = services.invite(team, alice)
    body = admin_client.get(reverse("admin:accounts_invitation_change", args=[invitation.pk]))
    assert invitation.token.encode() not in body.content


def test_a_non_staff_user_cannot_reach_the_admin(alice_client):
    response = alice_client.get(reverse("admin:accounts_team_changelist"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_an_out_of_range_grant_is_a_form_error_not_a_server_error(admin_client, team):
    response = _action(
        admin_client, "grant_credits", [team], amount="99999999999999999999", bucket="pack"
    )
    assert response.status_code == 200
    assert "less than or equal to 1000000000000" in response.content.decode()
    assert not LedgerEntry.objects.filter(team=team, kind=LedgerKind.GRANT).exists()


def test_the_team_list_shows_balances_and_credits_spent_in_the_last_30_days(
    admin_client, funded_team, other_team
):
    credits.debit(funded_team, 700, "test:job-1")
    credits.debit(funded_team, 300, "test:job-2")
    credits.refund("test:job-2")
    response = admin_client.get(reverse("admin:accounts_team_changelist"), {"o": "3"})
    body = response.content.decode()
    assert response.status_code == 200
    assert '<td class="field-spent_30_days">700</td>' in body
    assert '<td class="field-balance">10,300</td>' in body
