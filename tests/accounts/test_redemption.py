"""Redemption codes: an admin creates them, any member redeems, each team once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from studio.accounts import credits, services
from studio.accounts.models import LedgerEntry, LedgerKind, Redemption, RedemptionCode, Team
from studio.errors import Conflict, InvalidFields, NotFound
from tests.conftest import transactional


def test_redeeming_a_code_fills_the_redemption_bucket_and_writes_the_ledger(team, bob):
    code = RedemptionCode.objects.create(credits=300)
    entry = credits.redeem_code(team, f"  {code.code.lower()} ", user=bob)
    team.refresh_from_db()
    assert team.redemption_credits == 300
    assert (entry.kind, entry.redemption_delta, entry.created_by) == (
        LedgerKind.REDEMPTION,
        300,
        bob,
    )
    code.refresh_from_db()
    assert code.redemption_count == 1
    assert credits.reconcile() == []


def test_a_team_redeems_a_code_only_once(team):
    code = RedemptionCode.objects.create(credits=300, max_redemptions=5)
    credits.redeem_code(team, code.code)
    with pytest.raises(Conflict, match="already redeemed"):
        credits.redeem_code(team, code.code)
    team.refresh_from_db()
    assert team.redemption_credits == 300


def test_a_code_stops_after_max_redemptions(team, other_team, alice):
    third = services.create_team("Initech", alice)
    code = RedemptionCode.objects.create(credits=10, max_redemptions=2)
    credits.redeem_code(team, code.code)
    credits.redeem_code(other_team, code.code)
    with pytest.raises(Conflict, match="used up"):
        credits.redeem_code(third, code.code)
    third.refresh_from_db()
    assert third.redemption_credits == 0


def test_an_expired_code_is_refused(team):
    code = RedemptionCode.objects.create(
        credits=10, expires_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(InvalidFields, match="expired"):
        credits.redeem_code(team, code.code)
    assert not Redemption.objects.exists()


def test_an_unknown_or_empty_code_is_refused(team):
    with pytest.raises(NotFound):
        credits.redeem_code(team, "NOPE-NOPE-NOPE")
    with pytest.raises(InvalidFields):
        credits.redeem_code(team, "   ")


def test_redemption_credits_are_spent_last(team):
    code = RedemptionCode.objects.create(credits=100)
    credits.redeem_code(team, code.code)
    entry = credits.debit(team, 1050, "generation:big")
    assert (entry.plan_delta, entry.pack_delta, entry.redemption_delta) == (-1000, 0, -50)


@transactional
def test_racing_teams_cannot_redeem_a_code_more_often_than_its_limit(make_user):
    owner = make_user("racer@example.com")
    teams = [services.create_team(f"Team {i}", owner) for i in range(6)]
    code = RedemptionCode.objects.create(credits=10, max_redemptions=3)
    barrier = threading.Barrier(len(teams))
    outcomes: list[str] = []

    def redeem(team: Team) -> None:
        try:
            barrier.wait()
            credits.redeem_code(team, code.code)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("used up")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem, args=(t,)) for t in teams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] * 3 + ["used up"] * 3
    code.refresh_from_db()
    assert code.redemption_count == 3
    assert LedgerEntry.objects.filter(kind=LedgerKind.REDEMPTION).count() == 3
    assert credits.reconcile() == []


@transactional
def test_one_team_redeeming_twice_at_once_gets_the_credits_once(make_user):
    team = services.create_team("Twice", make_user("twice@example.com"))
    code = RedemptionCode.objects.create(credits=10, max_redemptions=5)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def redeem() -> None:
        try:
            barrier.wait()
            credits.redeem_code(team, code.code)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * 3
    team.refresh_from_db()
    assert team.redemption_credits == 10
