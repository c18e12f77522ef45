"""Operator commands: provisioning by script, with clear errors for unknown names."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from studio.accounts import services
from studio.accounts.models import LedgerEntry, LedgerKind, Membership, Role, Team, User


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_team_makes_the_user_owner_and_prints_the_uuid(alice):
    out = run("create_team", "Acme", "--owner", "ALICE@example.com", "--plan", "pro")
    team = Team.objects.get(name="Acme")
    assert out.strip() == str(team.uuid)
    assert team.plan.slug == "pro" and team.plan_credits == 20000
    assert Membership.objects.get(team=team, user=alice).role == Role.OWNER


def test_create_team_with_an_unknown_owner_says_how_to_fix_it(db):
    with pytest.raises(CommandError, match=r"No user with email 'ghost@example\.com'"):
        run("create_team", "Acme", "--owner", "ghost@example.com")
    assert not Team.objects.exists()


def test_create_team_with_an_unknown_plan_lists_the_known_ones(alice):
    with pytest.raises(CommandError, match=r"known plans: .*free"):
        run("create_team", "Acme", "--owner", alice.email, "--plan", "platinum")


def test_create_team_with_a_blank_name_is_an_error(alice):
    with pytest.raises(CommandError, match="needs a name"):
        run("create_team", "   ", "--owner", alice.email)


def test_grant_credits_by_name_into_the_pack_bucket_by_default(team):
    out = run("grant_credits", "acme", "5000", "--note", "Invoice 42")
    team.refresh_from_db()
    assert team.pack_credits == 5000
    entry = LedgerEntry.objects.filter(team=team).first()
    assert (entry.kind, entry.note) == (LedgerKind.GRANT, "Invoice 42")
    assert "balance 6000" in out


def test_grant_credits_by_uuid_into_another_bucket(team):
    run("grant_credits", str(team.uuid), "70", "--bucket", "redemption")
    team.refresh_from_db()
    assert team.redemption_credits == 70


def test_a_negative_grant_is_an_adjustment_and_cannot_overdraw(team):
    run("grant_credits", "Acme", "-400", "--bucket", "plan")
    assert LedgerEntry.objects.filter(team=team).first().kind == LedgerKind.ADJUSTMENT
    with pytest.raises(CommandError, match="cannot remove"):
        run("grant_credits", "Acme", "-601", "--bucket", "plan")
    team.refresh_from_db()
    assert team.plan_credits == 600


def test_grant_credits_to_an_unknown_team_is_an_error(db):
    with pytest.raises(CommandError, match="No team named or with UUID 'Nope'"):
        run("grant_credits", "Nope", "10")
    with pytest.raises(CommandError, match="No team"):
        run("grant_credits", "00000000-0000-4000-8000-000000000000", "10")


def test_a_team_name_shared_by_two_teams_asks_for_the_uuid(alice, bob):
    services.create_team("Twin", alice)
    services.create_team("twin", bob)
    with pytest.raises(CommandError, match="use its UUID"):
        run("grant_credits", "Twin", "10")


def test_grant_credits_of_zero_is_an_error(team):
    with pytest.raises(CommandError, match="must not be zero"):
        run("grant_credits", "Acme", "0")


def test_set_plan_by_slug_or_name(team):
    run("set_plan", "Acme", "business")
    team.refresh_from_db()
    assert (team.plan.slug, team.plan_credits) == ("business", 100000)
    run("set_plan", str(team.uuid), "Pro")
    team.refresh_from_db()
    assert team.plan.slug == "pro"


def test_set_plan_with_unknown_team_or_plan_is_an_error(team):
    with pytest.raises(CommandError, match="known plans"):
        run("set_plan", "Acme", "platinum")
    with pytest.raises(CommandError, match="No team"):
        run("set_plan", "Nope", "pro")


def test_reconcile_credits_passes_on_a_clean_ledger_and_fails_on_a_tampered_one(funded_team):
    assert "All team balances match" in run("reconcile_credits")
    Team.objects.filter(pk=funded_team.pk).update(pack_credits=1)
    err = StringIO()
    with pytest.raises(CommandError, match="1 team"):
        call_command("reconcile_credits", stdout=StringIO(), stderr=err)
    assert "Acme" in err.getvalue() and "1000/1/0" in err.getvalue()


def test_seed_demo_is_repeatable_and_prints_the_login(db):
    first = run("seed_demo", "--email", "demo@example.com", "--password", "demo-pass-123")
    second = run("seed_demo", "--email", "demo@example.com", "--password", "demo-pass-123")
    assert "demo@example.com" in first and "demo-pass-123" in second
    user = User.objects.get(email="demo@example.com")
    assert user.is_superuser and user.check_password("demo-pass-123")
    assert Team.objects.filter(name="Demo Studio").count() == 1
    assert Team.objects.get(name="Demo Studio").pack_credits == 5000


def test_createsuperuser_noinput_reads_the_email_and_password_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough password")
    call_command("createsuperuser", interactive=False, stdout=StringIO())
    user = User.objects.get(email="root@example.com")
    assert user.is_superuser and user.is_staff
    assert user.check_password("a long enough password")


def test_an_out_of_range_grant_is_a_clear_command_error(team):
    with pytest.raises(CommandError, match="between -1,000,000,000,000 and 1,000,000,000,000"):
        run("grant_credits", "acme", "99999999999999999999")
    team.refresh_from_db()
    assert team.pack_credits == 0
    assert not LedgerEntry.objects.filter(team=team, kind=LedgerKind.GRANT).exists()
