"""The monthly plan reset: once per period, no rollover of plan credits, packs untouched."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django_q.models import Schedule

from studio.accounts import credits, services, tasks
from studio.accounts.models import Bucket, LedgerEntry, LedgerKind, Plan, Team


@pytest.fixture
def january_team(alice):
    with time_machine.travel(datetime(2026, 1, 15, 9, 0, tzinfo=UTC), tick=False):
        team = services.create_team("January", alice)
    credits.grant(team, 500, bucket=Bucket.PACK)
    team.refresh_from_db()
    return team


def _resets(team: Team) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(team=team, kind=LedgerKind.PLAN_RESET).order_by("id"))


def test_a_new_team_starts_with_its_plans_allowance(team):
    assert team.plan_credits == team.plan.monthly_credits == 1000
    assert len(_resets(team)) == 1
    assert team.plan_renews_at == credits.add_months(team.plan_period_start)


def test_a_team_past_its_renewal_is_reset_exactly_once_when_the_task_runs_twice(january_team):
    credits.debit(january_team, 700, "generation:spend")  # 300 plan credits left unused
    with time_machine.travel(datetime(2026, 2, 15, 9, 30, tzinfo=UTC), tick=False):
        assert tasks.reset_due_plans() == 1
        assert tasks.reset_due_plans() == 0
    january_team.refresh_from_db()
    assert january_team.plan_credits == 1000  # the unused 300 did not roll over
    assert january_team.pack_credits == 500
    assert len(_resets(january_team)) == 2
    assert _resets(january_team)[-1].plan_delta == 700
    assert january_team.plan_period_start == datetime(2026, 2, 15, 9, 0, tzinfo=UTC)
    assert january_team.plan_renews_at == datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
    assert credits.reconcile() == []


def test_unused_plan_credits_do_not_roll_over_and_packs_are_untouched(january_team):
    with time_machine.travel(datetime(2026, 2, 16, tzinfo=UTC), tick=False):
        credits.reset_due_plans()
    january_team.refresh_from_db()
    assert (january_team.plan_credits, january_team.pack_credits) == (1000, 500)
    assert _resets(january_team)[-1].amount == 0


def test_a_team_not_yet_due_is_left_alone(january_team):
    with time_machine.travel(datetime(2026, 2, 15, 8, 59, tzinfo=UTC), tick=False):
        assert credits.reset_due_plans() == 0
    assert len(_resets(january_team)) == 1


def test_a_long_outage_resets_once_into_the_current_period(january_team):
    with time_machine.travel(datetime(2026, 5, 20, tzinfo=UTC), tick=False):
        assert credits.reset_due_plans() == 1
        assert credits.reset_due_plans() == 0
    january_team.refresh_from_db()
    assert january_team.plan_period_start == datetime(2026, 5, 15, 9, 0, tzinfo=UTC)
    assert january_team.plan_renews_at == datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
    assert len(_resets(january_team)) == 2


def test_a_reset_for_a_period_already_recorded_changes_nothing(january_team):
    with time_machine.travel(datetime(2026, 2, 15, 10, 0, tzinfo=UTC), tick=False):
        credits.reset_due_plans()
        # A second worker that read the old renewal date before the first one committed.
        Team.objects.filter(pk=january_team.pk).update(
            plan_renews_at=datetime(2026, 2, 15, 9, 0, tzinfo=UTC)
        )
        credits.debit(january_team, 10, "generation:between")
        assert credits.reset_plan_if_due(january_team) is None
    january_team.refresh_from_db()
    assert january_team.plan_credits == 990
    assert len(_resets(january_team)) == 2


def test_a_refund_after_a_reset_goes_back_to_the_buckets_it_came_from(january_team):
    charge = credits.debit(january_team, 1200, "generation:straddle")
    assert (charge.plan_delta, charge.pack_delta) == (-1000, -200)
    with time_machine.travel(datetime(2026, 2, 15, 9, 30, tzinfo=UTC), tick=False):
        credits.reset_due_plans()
        refund = credits.refund("generation:straddle")
    assert refund is not None
    assert (refund.plan_delta, refund.pack_delta, refund.redemption_delta) == (1000, 200, 0)
    january_team.refresh_from_db()
    assert january_team.pack_credits == 500
    assert january_team.plan_credits == 2000  # the new allowance plus the returned plan credits
    assert credits.reconcile() == []


def test_changing_plan_starts_a_new_period_with_the_new_allowance(january_team, alice):
    pro = Plan.objects.get(slug="pro")
    with time_machine.travel(datetime(2026, 1, 20, tzinfo=UTC), tick=False):
        entry = credits.set_team_plan(january_team, pro, user=alice)
    january_team.refresh_from_db()
    assert january_team.plan == pro
    assert january_team.plan_credits == 20000
    assert january_team.pack_credits == 500
    assert (entry.kind, entry.created_by) == (LedgerKind.PLAN_RESET, alice)
    assert january_team.plan_renews_at == datetime(2026, 2, 20, tzinfo=UTC)


def test_month_ends_are_clamped_to_the_shorter_month():
    assert credits.add_months(datetime(2026, 1, 31, tzinfo=UTC)) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
    assert credits.add_months(datetime(2026, 12, 15, tzinfo=UTC)) == datetime(
        2027, 1, 15, tzinfo=UTC
    )


def test_the_reset_runs_on_a_schedule_created_by_a_migration(db):
    schedule = Schedule.objects.get(func="studio.accounts.tasks.reset_due_plans")
    assert schedule.schedule_type == Schedule.HOURLY
