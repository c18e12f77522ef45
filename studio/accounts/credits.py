"""The credit ledger's use cases: the only code that changes a team's balances.

Concurrency: every change locks the team row (`select_for_update`, a no-op on SQLite where
IMMEDIATE transactions already serialise writers) and then applies a compare-and-swap
UPDATE on the balances it read, so a lost update is impossible on either database. The
CHECK constraints on the buckets and the unique (kind, cause) constraint on the ledger are
the last line: a bug can fail a request, never overdraw a team or charge a cause twice.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from studio.accounts.models import (
    Bucket,
    LedgerEntry,
    LedgerKind,
    Plan,
    Redemption,
    RedemptionCode,
    Team,
    User,
)
from studio.errors import Conflict, InsufficientCredits, InvalidFields, NotFound

log = logging.getLogger(__name__)

_BUCKET_FIELDS = {
    Bucket.PLAN: "plan_credits",
    Bucket.PACK: "pack_credits",
    Bucket.REDEMPTION: "redemption_credits",
}
_CAS_ATTEMPTS = 8
# One grant or adjustment moves at most a trillion credits, so no sum of buckets can leave
# the ledger's 64-bit columns; larger inputs are a clear error, never an OverflowError.
MAX_CREDIT_CHANGE = 10**12
_LEDGER_MAX = 2**63 - 1


class AlreadyCharged(Conflict):
    default_message = "This was already charged"


@dataclass(frozen=True)
class Balances:
    plan: int
    pack: int
    redemption: int

    @property
    def total(self) -> int:
        return self.plan + self.pack + self.redemption


def _locked_balances(team_id: int) -> tuple[Team, Balances]:
    team = (
        Team.objects.select_for_update()
        .only("id", "plan_credits", "pack_credits", "redemption_credits")
        .get(pk=team_id)
    )
    return team, Balances(team.plan_credits, team.pack_credits, team.redemption_credits)


def _apply(team_id: int, before: Balances, plan: int, pack: int, redemption: int) -> bool:
    """Compare-and-swap the three buckets; True when this caller's read was still current."""
    return (
        Team.objects.filter(
            pk=team_id,
            plan_credits=before.plan,
            pack_credits=before.pack,
            redemption_credits=before.redemption,
        ).update(
            plan_credits=F("plan_credits") + plan,
            pack_credits=F("pack_credits") + pack,
            redemption_credits=F("redemption_credits") + redemption,
        )
        == 1
    )


def _write_entry(
    team_id: int,
    kind: str,
    deltas: tuple[int, int, int],
    balance_after: int,
    cause: str,
    note: str,
    user: User | None,
) -> LedgerEntry:
    plan, pack, redemption = deltas
    return LedgerEntry.objects.create(
        team_id=team_id,
        kind=kind,
        plan_delta=plan,
        pack_delta=pack,
        redemption_delta=redemption,
        amount=plan + pack + redemption,
        balance_after=balance_after,
        cause=cause,
        note=note[:255],
        created_by=user,
    )


def balances(team: Team) -> Balances:
    fresh = Team.objects.only("plan_credits", "pack_credits", "redemption_credits").get(pk=team.pk)
    return Balances(fresh.plan_credits, fresh.pack_credits, fresh.redemption_credits)


def debit(
    team: Team, amount: int, cause: str, *, note: str = "", user: User | None = None
) -> LedgerEntry:
    """Take `amount` credits for `cause`: plan credits first, then pack, then redemption.

    Raises InsufficientCredits (nothing changes) or AlreadyCharged if `cause` was debited.
    Call it inside the transaction that creates the thing being paid for.
    """
    if amount <= 0:
        raise InvalidFields("A debit must be a positive number of credits")
    if not cause:
        raise ValueError("A debit needs a cause")
    with transaction.atomic():
        for _ in range(_CAS_ATTEMPTS):
            _, before = _locked_balances(team.pk)
            if before.total < amount:
                raise InsufficientCredits(
                    f"Not enough credits: this costs {amount}, the team has {before.total}"
                )
            from_plan = min(before.plan, amount)
            from_pack = min(before.pack, amount - from_plan)
            from_redemption = amount - from_plan - from_pack
            if _apply(team.pk, before, -from_plan, -from_pack, -from_redemption):
                break
        else:  # pragma: no cover - needs a writer that bypasses the row lock
            raise Conflict("The balance changed too often; please retry")
        try:
            with transaction.atomic():
                return _write_entry(
                    team.pk,
                    LedgerKind.DEBIT,
                    (-from_plan, -from_pack, -from_redemption),
                    before.total - amount,
                    cause,
                    note,
                    user,
                )
        except IntegrityError:
            # Re-raise out of the outer atomic so the bucket update rolls back with it.
            raise AlreadyCharged(f"{cause} was already charged") from None


def refund(cause: str, *, note: str = "", amount: int | None = None) -> LedgerEntry | None:
    """Return a cause's debit to the buckets it came from, exactly once.

    `amount` returns only part of it (a chat message settled below its estimate): the
    buckets drawn last (redemption, then pack, then plan) get theirs back first. Either way
    a cause has at most one refund entry.

    Returns the refund entry, or None when there was no debit or it was already refunded
    (so callers can refund on every failure path without double-counting).
    """
    with transaction.atomic():
        charge = LedgerEntry.objects.filter(kind=LedgerKind.DEBIT, cause=cause).first()
        if charge is None:
            return None
        deltas = (-charge.plan_delta, -charge.pack_delta, -charge.redemption_delta)
        if amount is not None:
            if not 0 < amount <= sum(deltas):
                raise ValueError(f"cannot refund {amount} of a {sum(deltas)}-credit debit")
            from_redemption = min(deltas[2], amount)
            from_pack = min(deltas[1], amount - from_redemption)
            deltas = (amount - from_redemption - from_pack, from_pack, from_redemption)
        for _ in range(_CAS_ATTEMPTS):
            _, before = _locked_balances(charge.team_id)
            if _apply(charge.team_id, before, *deltas):
                break
        else:  # pragma: no cover
            raise Conflict("The balance changed too often; please retry")
        try:
            with transaction.atomic():
                return _write_entry(
                    charge.team_id,
                    LedgerKind.REFUND,
                    deltas,
                    before.total + sum(deltas),
                    cause,
                    note or "Refund",
                    None,
                )
        except IntegrityError:
            transaction.set_rollback(True)
            return None


def refunded_amount(cause: str) -> int:
    entry = LedgerEntry.objects.filter(kind=LedgerKind.REFUND, cause=cause).only("amount").first()
    return entry.amount if entry else 0


def grant(
    team: Team,
    amount: int,
    *,
    bucket: str = Bucket.PACK,
    kind: str = LedgerKind.GRANT,
    note: str = "",
    user: User | None = None,
    cause: str = "",
) -> LedgerEntry:
    """Add (or, for adjustments, remove) credits in one bucket."""
    if bucket not in _BUCKET_FIELDS:
        raise InvalidFields(f"Unknown bucket {bucket!r}; use plan, pack or redemption")
    if amount == 0:
        raise InvalidFields("The amount must not be zero")
    if abs(amount) > MAX_CREDIT_CHANGE:
        raise InvalidFields(
            f"The amount must be between -{MAX_CREDIT_CHANGE:,} and {MAX_CREDIT_CHANGE:,} credits"
        )
    if amount < 0 and kind != LedgerKind.ADJUSTMENT:
        raise InvalidFields("Only adjustments can remove credits")
    deltas = (
        amount if bucket == Bucket.PLAN else 0,
        amount if bucket == Bucket.PACK else 0,
        amount if bucket == Bucket.REDEMPTION else 0,
    )
    with transaction.atomic():
        for _ in range(_CAS_ATTEMPTS):
            _, before = _locked_balances(team.pk)
            current = getattr(before, str(bucket))
            if current + amount < 0:
                raise InsufficientCredits(
                    f"The {Bucket(bucket).label.lower()} bucket holds {current}; "
                    f"cannot remove {-amount}"
                )
            if before.total + amount > _LEDGER_MAX:
                raise InvalidFields("The team's balance would exceed what the ledger can hold")
            if _apply(team.pk, before, *deltas):
                break
        else:  # pragma: no cover
            raise Conflict("The balance changed too often; please retry")
        return _write_entry(team.pk, kind, deltas, before.total + amount, cause, note, user)


def add_months(moment: datetime, months: int = 1) -> datetime:
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _reset_plan_bucket(
    team_id: int, new_allowance: int, cause: str, note: str, user: User | None
) -> LedgerEntry:
    for _ in range(_CAS_ATTEMPTS):
        _, before = _locked_balances(team_id)
        delta = new_allowance - before.plan
        if _apply(team_id, before, delta, 0, 0):
            break
    else:  # pragma: no cover
        raise Conflict("The balance changed too often; please retry")
    return _write_entry(
        team_id, LedgerKind.PLAN_RESET, (delta, 0, 0), before.total + delta, cause, note, user
    )


def start_first_period(team: Team, allowance: int, *, now: datetime) -> LedgerEntry:
    """A new team's first plan period with `allowance` credits instead of the plan's."""
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).update(
            plan_period_start=now, plan_renews_at=add_months(now)
        )
        return _reset_plan_bucket(
            team.pk,
            allowance,
            f"plan:{team.uuid}:{now:%Y-%m-%dT%H:%M}",
            "Starting credits of a new team",
            None,
        )


def reset_plan_if_due(team: Team, *, now: datetime | None = None) -> LedgerEntry | None:
    """Start the team's next plan period: the plan bucket is set to the monthly allowance.

    Unused plan credits do not roll over (packs and redemptions never expire). The cause
    names the period, so two workers running the monthly task reset a team once.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Team.objects.select_for_update().select_related("plan").get(pk=team.pk)
        if locked.plan_renews_at > now:
            return None
        period_start = locked.plan_renews_at
        next_renewal = add_months(period_start)
        while next_renewal <= now:  # a long outage resets once, to the current period
            period_start, next_renewal = next_renewal, add_months(next_renewal)
        cause = f"plan:{locked.uuid}:{period_start:%Y-%m-%dT%H:%M}"
        try:
            with transaction.atomic():
                entry = _reset_plan_bucket(
                    locked.pk,
                    locked.plan.monthly_credits,
                    cause,
                    f"Monthly allowance of the {locked.plan.name} plan",
                    None,
                )
        except IntegrityError:
            return None
        Team.objects.filter(pk=locked.pk).update(
            plan_period_start=period_start, plan_renews_at=next_renewal
        )
        return entry


def reset_due_plans(*, now: datetime | None = None) -> int:
    """The monthly cluster task: reset every team whose period has ended."""
    now = now or timezone.now()
    count = 0
    for team in Team.objects.filter(plan_renews_at__lte=now).only("pk").iterator():
        if reset_plan_if_due(team, now=now):
            count += 1
    if count:
        log.info("reset plan credits of %d teams", count)
    return count


def set_team_plan(team: Team, plan: Plan, *, user: User | None = None) -> LedgerEntry:
    """Move a team to `plan`: a new period starts now with the new plan's allowance."""
    now = timezone.now()
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).update(
            plan=plan, plan_period_start=now, plan_renews_at=add_months(now)
        )
        entry = _reset_plan_bucket(
            team.pk,
            plan.monthly_credits,
            f"plan:{team.uuid}:change:{now.isoformat()}",
            f"Changed to the {plan.name} plan",
            user,
        )
    team.refresh_from_db()
    return entry


def redeem_code(team: Team, code: str, *, user: User | None = None) -> LedgerEntry:
    normalized = code.strip().upper()
    if not normalized:
        raise InvalidFields("Enter a redemption code")
    with transaction.atomic():
        try:
            redemption_code = RedemptionCode.objects.select_for_update().get(code=normalized)
        except RedemptionCode.DoesNotExist:
            raise NotFound("That code does not exist") from None
        if redemption_code.expires_at and redemption_code.expires_at <= timezone.now():
            raise InvalidFields("That code has expired")
        if Redemption.objects.filter(code=redemption_code, team=team).exists():
            raise Conflict("Your team has already redeemed this code")
        claimed = RedemptionCode.objects.filter(
            pk=redemption_code.pk, redemption_count__lt=F("max_redemptions")
        ).update(redemption_count=F("redemption_count") + 1)
        if claimed != 1:
            raise Conflict("That code has been used up")
        try:
            with transaction.atomic():
                redemption = Redemption.objects.create(code=redemption_code, team=team, user=user)
        except IntegrityError:
            raise Conflict("Your team has already redeemed this code") from None
        return grant(
            team,
            redemption_code.credits,
            bucket=Bucket.REDEMPTION,
            kind=LedgerKind.REDEMPTION,
            note=f"Redeemed code {redemption_code.code[:4]}…",
            user=user,
            cause=f"redemption:{redemption.pk}",
        )


@dataclass(frozen=True)
class Discrepancy:
    team: Team
    cached: Balances
    ledger: Balances


def ledger_balances(teams: QuerySet[Team]) -> dict[int, Balances]:
    rows = (
        LedgerEntry.objects.filter(team__in=teams)
        .values("team_id")
        .annotate(plan=Sum("plan_delta"), pack=Sum("pack_delta"), red=Sum("redemption_delta"))
    )
    return {r["team_id"]: Balances(r["plan"] or 0, r["pack"] or 0, r["red"] or 0) for r in rows}


def reconcile(teams: QuerySet[Team] | None = None) -> list[Discrepancy]:
    """Compare each team's cached buckets with the sum of its ledger."""
    teams = teams if teams is not None else Team.objects.all()
    sums = ledger_balances(teams)
    problems = []
    for team in teams.only("id", "name", "plan_credits", "pack_credits", "redemption_credits"):
        cached = Balances(team.plan_credits, team.pack_credits, team.redemption_credits)
        expected = sums.get(team.pk, Balances(0, 0, 0))
        if cached != expected:
            problems.append(Discrepancy(team, cached, expected))
    return problems


def daily_usage(team: Team, days: int = 30) -> list[tuple[date, int]]:
    """Credits spent per day (debits minus refunds), oldest first, for the usage chart."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(start, time.min))
    # A range on created_at (the team's ledger index) rather than `created_at__date`, and
    # the day cut in the database: on SQLite, TruncDate is a Python function per row.
    rows = (
        LedgerEntry.objects.filter(
            team=team, kind__in=[LedgerKind.DEBIT, LedgerKind.REFUND], created_at__gte=since
        )
        .order_by()
        .annotate(day=DayOf("created_at"))
        .values("day")
        .annotate(total=Sum("amount"))
    )
    by_day = {_as_date(row["day"]): -(row["total"] or 0) for row in rows}
    return [
        (start + timedelta(days=i), max(0, by_day.get(start + timedelta(days=i), 0)))
        for i in range(days)
    ]


@dataclass(frozen=True)
class MemberUsage:
    user: User | None  # None: charges without a person (a system task)
    spent: int  # debits net of their refunds
    charges: int


def usage_by_member(team: Team, days: int = 30) -> list[MemberUsage]:
    """Credits each member spent over the last `days` days (debits net of their refunds;
    a debit carries the member who started it, its refund shares its cause), biggest first."""
    since = timezone.now() - timedelta(days=days)
    debits = LedgerEntry.objects.filter(team=team, kind=LedgerKind.DEBIT, created_at__gte=since)
    refunded = {
        cause: amount
        for cause, amount in LedgerEntry.objects.filter(
            team=team,
            kind=LedgerKind.REFUND,
            cause__in=debits.values("cause"),
        ).values_list("cause", "amount")
    }
    totals: dict[int | None, list[int]] = {}
    for user_id, cause, amount in debits.values_list("created_by_id", "cause", "amount"):
        row = totals.setdefault(user_id, [0, 0])
        row[0] += -amount - refunded.get(cause, 0)
        row[1] += 1
    users = User.objects.in_bulk([uid for uid in totals if uid is not None])
    rows = [
        MemberUsage(users.get(uid) if uid is not None else None, spent, count)
        for uid, (spent, count) in totals.items()
    ]
    return sorted(rows, key=lambda r: (-r.spent, r.user.display_name if r.user else ""))


class DayOf(TruncDate):
    """The UTC day of a timestamp, cut by the database itself (SQLite's native `date()`).

    Django's TruncDate calls a Python function per row on SQLite; Studio keeps TIME_ZONE at
    UTC, where the stored text's date is the day. Other databases use TruncDate.
    """

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        if self.get_tzname() not in (None, "UTC"):
            return super().as_sql(compiler, connection, **extra)
        sql, params = compiler.compile(self.lhs)
        return f"date({sql})", params


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
