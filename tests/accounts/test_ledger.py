"""The credit ledger: order of buckets, once-only debits and refunds, races, reconcile."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from studio.accounts import credits, services
from studio.accounts.models import Bucket, LedgerEntry, LedgerKind, Team
from studio.errors import InsufficientCredits
from tests.conftest import transactional


def _set_buckets(team: Team, plan: int, pack: int, redemption: int) -> None:
    """Bring each bucket to an exact balance through the ledger, so it still reconciles."""
    team.refresh_from_db()
    for bucket, target, current in (
        (Bucket.PLAN, plan, team.plan_credits),
        (Bucket.PACK, pack, team.pack_credits),
        (Bucket.REDEMPTION, redemption, team.redemption_credits),
    ):
        if target != current:
            credits.grant(team, target - current, bucket=bucket, kind=LedgerKind.ADJUSTMENT)
    team.refresh_from_db()
    assert (team.plan_credits, team.pack_credits, team.redemption_credits) == (
        plan,
        pack,
        redemption,
    )


def test_debit_takes_plan_credits_then_pack_then_redemption(team):
    _set_buckets(team, plan=30, pack=20, redemption=50)
    entry = credits.debit(team, 60, "generation:one")
    team.refresh_from_db()
    assert (entry.plan_delta, entry.pack_delta, entry.redemption_delta) == (-30, -20, -10)
    assert (team.plan_credits, team.pack_credits, team.redemption_credits) == (0, 0, 40)
    assert entry.balance_after == 40


def test_debit_over_the_balance_changes_nothing(team):
    _set_buckets(team, plan=10, pack=0, redemption=0)
    before = LedgerEntry.objects.count()
    with pytest.raises(InsufficientCredits):
        credits.debit(team, 11, "generation:too-big")
    team.refresh_from_db()
    assert team.total_credits == 10
    assert LedgerEntry.objects.count() == before


def test_a_cause_is_debited_only_once(team):
    _set_buckets(team, plan=100, pack=0, redemption=0)
    credits.debit(team, 10, "generation:same")
    with pytest.raises(credits.AlreadyCharged):
        credits.debit(team, 10, "generation:same")
    team.refresh_from_db()
    assert team.total_credits == 90


def test_refund_returns_credits_to_the_buckets_they_came_from(team):
    _set_buckets(team, plan=5, pack=5, redemption=5)
    credits.debit(team, 12, "generation:x")
    refund = credits.refund("generation:x")
    team.refresh_from_db()
    assert refund is not None and refund.amount == 12
    assert (team.plan_credits, team.pack_credits, team.redemption_credits) == (5, 5, 5)


def test_refunding_twice_refunds_once(team):
    _set_buckets(team, plan=50, pack=0, redemption=0)
    credits.debit(team, 20, "generation:y")
    assert credits.refund("generation:y") is not None
    assert credits.refund("generation:y") is None
    team.refresh_from_db()
    assert team.total_credits == 50
    assert LedgerEntry.objects.filter(kind=LedgerKind.REFUND, cause="generation:y").count() == 1


def test_refund_of_something_never_charged_does_nothing(team):
    assert credits.refund("generation:never") is None


def test_the_ledger_reconciles_after_a_mix_of_changes(team):
    _set_buckets(team, plan=40, pack=30, redemption=20)
    credits.debit(team, 50, "generation:a")
    credits.debit(team, 5, "generation:b")
    credits.refund("generation:a")
    assert credits.reconcile() == []


def test_a_refund_after_other_spending_still_returns_to_its_own_buckets(team):
    _set_buckets(team, plan=10, pack=10, redemption=10)
    credits.debit(team, 15, "generation:first")  # plan 10, pack 5
    credits.debit(team, 10, "generation:second")  # pack 5, redemption 5
    refund = credits.refund("generation:first")
    assert (refund.plan_delta, refund.pack_delta, refund.redemption_delta) == (10, 5, 0)
    team.refresh_from_db()
    assert (team.plan_credits, team.pack_credits, team.redemption_credits) == (10, 5, 5)


def test_a_debit_needs_a_positive_amount_and_a_cause(team):
    from studio.errors import InvalidFields

    with pytest.raises(InvalidFields):
        credits.debit(team, 0, "generation:zero")
    with pytest.raises(ValueError):
        credits.debit(team, 1, "")


def test_reconcile_reports_a_tampered_balance(team):
    Team.objects.filter(pk=team.pk).update(pack_credits=999)
    problems = credits.reconcile()
    assert [p.team.pk for p in problems] == [team.pk]


@transactional
def test_eight_racing_debits_for_a_balance_covering_five_leave_five_debits_and_zero(alice):
    team = services.create_team("Race", alice)
    _set_buckets(team, plan=20, pack=20, redemption=10)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        try:
            barrier.wait()
            credits.debit(team, 10, f"generation:race-{i}")
            result = "ok"
        except InsufficientCredits:
            result = "insufficient"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    team.refresh_from_db()
    assert sorted(outcomes) == ["insufficient"] * 3 + ["ok"] * 5
    assert team.total_credits == 0
    assert LedgerEntry.objects.filter(team=team, kind=LedgerKind.DEBIT).count() == 5
    assert credits.reconcile(Team.objects.filter(pk=team.pk)) == []
    assert connection.vendor in {"sqlite", "postgresql"}
