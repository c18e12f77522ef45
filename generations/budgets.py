"""Per-credential upstream budgets: submits and polls per minute, and concurrent jobs.

Rates use GCRA slots stored on the credential row (`submit_tat`, `poll_tat`): slot times
are spaced `window / limit` apart; a caller may use slots that are due (not in the future)
and at most `lag` seconds old, and takes them with a compare-and-swap UPDATE, so several
workers and the dispatcher share one budget without a lock.

Why the upstream never sees more than its limit in any window, whatever its alignment: take
`limit + 1` calls; the first and last slots are at least `limit * interval` apart, the last
call arrives no earlier than its slot, and the first arrives at most D after its slot. So
the calls span at least `limit * interval - D`, which is a whole window when
`interval = (window + D) / limit`. The interval budgets D = `lag` + `jitter_margin`, and
`settle` takes care of every call for which D was not enough: once the call has returned
(it arrived no later than that), a call that came back more than `lag + jitter_margin` after
its slot pushes the not-yet-granted slots back by the excess, so the call `limit` slots later
still starts a full window after it arrived. No margin alone can be safe on a loaded
machine: the scheduling delay has no upper bound (see `JITTER`); the margin only keeps such
pushes rare. The push is in time as long as a call returns within a window of its slot
(the HTTP read timeout, 30 s, is well inside the 60 s window).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from generations.models import ACTIVE_STATES, Generation
from studio.vault.models import ProviderCredential

_ATTEMPTS = 6

# Seconds between taking a slot and the call's answer, measured on a 2-core machine with four
# CPU-bound processes beside the workers (tests/generations/test_budgets.py under load:
# p90 0.12 s, p99 0.18 s, worst 0.52 s; a thread asking to sleep 5 ms beside the same load
# and one busy Python sibling woke 88 ms late at p99, 0.73 s at worst). The margin covers
# the usual case; `settle` covers the tail, which no margin can bound.
JITTER = 0.5


def window_seconds() -> float:
    """The upstream's rate window: 60 s; tests shrink it to run a minute in a second."""
    return float(settings.STUDIO_UPSTREAM_RATE_WINDOW)


def lag() -> float:
    """How stale a slot may be and still be used: about one dispatcher round."""
    return min(0.25, window_seconds() / 40)


def jitter_margin() -> float:
    """Room for delay between taking a slot and the request reaching the upstream.

    `JITTER`, but never more than 5% of the window: a window compressed for tests cannot
    spend half a second per slot, and `settle` re-times the calls the margin did not cover.
    """
    return min(JITTER, window_seconds() / 20)


def interval(limit_per_window: int) -> float:
    # 98.8% of the limit at a 60 s window; 93% at the 1.5 s window the tests use.
    return (window_seconds() + lag() + jitter_margin()) / max(1, limit_per_window)


@dataclass(frozen=True)
class Grant:
    """Slots taken on one credential's budget: `count` of them, the first at `first_slot`."""

    credential_id: int
    kind: str
    count: int = 0
    first_slot: datetime | None = None


def claim(credential_id: int, kind: str, want: int = 1, *, now: datetime | None = None) -> int:
    """Take up to `want` due slots of the credential's `kind` ("submit"/"poll") budget.

    Returns how many were granted (0 when the budget is spent for now).
    """
    return take(credential_id, kind, want, now=now).count


def take(
    credential_id: int,
    kind: str,
    want: int = 1,
    *,
    now: datetime | None = None,
    ahead: float = 0.0,
) -> Grant:
    """`claim`, returning the grant itself: hand it to `settle` once the calls have returned.

    With `ahead`, slots due within that many seconds are granted too: the caller must not
    call before `first_slot` (see `wait_for_slot`).
    """
    field, limit_field = f"{kind}_tat", f"{kind}s_per_minute"
    for _ in range(_ATTEMPTS):
        row = ProviderCredential.objects.filter(pk=credential_id).values(field, limit_field).first()
        if row is None:
            return Grant(credential_id, kind)
        now = now or timezone.now()
        step = timedelta(seconds=interval(row[limit_field]))
        tat: datetime | None = row[field]
        start = max(tat, now - timedelta(seconds=lag())) if tat else now
        horizon = now + timedelta(seconds=ahead)
        if start > horizon:
            return Grant(credential_id, kind)
        granted = min(want, int((horizon - start) / step) + 1)
        new_tat = start + step * granted
        query = ProviderCredential.objects.filter(pk=credential_id)
        query = query.filter(**{field: tat}) if tat else query.filter(**{f"{field}__isnull": True})
        if query.update(**{field: new_tat}):
            return Grant(credential_id, kind, granted, start)
        now = None  # somebody else took slots: look again
    return Grant(credential_id, kind)


def settle(grant: Grant | None, *, returned_at: datetime | None = None) -> float:
    """The granted calls have returned: re-time the budget if they were late.

    A call that came back more than `lag + jitter_margin` after its slot may have reached the
    upstream that late; the slots not granted yet move back by the excess, so the call
    `limit` slots later still reaches the upstream a whole window after this one. (Slots
    granted after the first of a batch were later, so the first one bounds them all.)
    Returns the push in seconds (0 for a call on time).
    """
    if grant is None or not grant.count or grant.first_slot is None:
        return 0.0
    returned_at = returned_at or timezone.now()
    late = (returned_at - grant.first_slot).total_seconds() - lag() - jitter_margin()
    if late <= 0:
        return 0.0
    field = f"{grant.kind}_tat"
    ProviderCredential.objects.filter(pk=grant.credential_id, **{f"{field}__isnull": False}).update(
        **{field: F(field) + timedelta(seconds=late)}
    )
    return late


def next_slot_at(credential_id: int, kind: str) -> datetime:
    tat = (
        ProviderCredential.objects.filter(pk=credential_id)
        .values_list(f"{kind}_tat", flat=True)
        .first()
    )
    now = timezone.now()
    return tat if tat and tat > now else now


def in_flight(credential_id: int) -> int:
    return Generation.objects.filter(
        credential_id=credential_id, state__in=ACTIVE_STATES[1:]
    ).count()


def usable_credentials(team_id: int, provider: str) -> list[ProviderCredential]:
    """Enabled, healthy credentials the team may use: its own first, then shared ones."""
    from studio.vault.credentials import available_credentials

    return list(available_credentials(team_id, provider))


def admit(generation: Generation) -> tuple[Grant | None, datetime | None]:
    """Pick a credential with room for one more job and take one submit slot on it.

    Spreads a team's jobs over its credentials (least busy first). Returns (the grant, None)
    on success (`generation.credential` is then set; `settle` the grant once the submit call
    has returned), or (None, when to try again) when every budget is spent, or (None, None)
    when the team has no usable credential at all.
    """
    candidates = usable_credentials(generation.team_id, generation.provider)
    if not candidates:
        return None, None
    loads = {c.pk: in_flight(c.pk) for c in candidates}
    retry_at: datetime | None = None
    for credential in sorted(candidates, key=lambda c: (c.team_id is None, loads[c.pk])):
        if loads[credential.pk] >= credential.max_concurrent_jobs:
            soon = timezone.now() + timedelta(seconds=2)
            retry_at = min(retry_at, soon) if retry_at else soon
            continue
        # Recorded before the slot is taken: after the slot, nothing may wait on a database
        # write before the request goes out (see `jitter_margin`).
        Generation.objects.filter(pk=generation.pk).update(credential=credential)
        grant = take(credential.pk, "submit", ahead=lead())
        if grant.count:
            generation.credential = credential
            wait_for_slot(grant)
            return grant, None
        # Sent again a little before the slot (see `lead`), to be there when it is due.
        slot = next_slot_at(credential.pk, "submit") - timedelta(seconds=lead())
        retry_at = min(retry_at, slot) if retry_at else slot
    return None, retry_at


def lead() -> float:
    """How far ahead a worker may take the next submit slot, and wait for it.

    A job re-sent at its slot's time would reach `take` only after the dispatcher's round and
    the worker's queries (tens of ms, hundreds under load), by when part of the slot's `lag`
    is gone, and the budget goes unspent. Re-sent this much earlier, the first job of the
    dispatcher's round (the team whose turn it is) takes the slot and waits for it.
    """
    return min(0.25, window_seconds() / 20)


def wait_for_slot(grant: Grant) -> None:
    """Sleep until the grant's first slot is due: a call must never leave before its slot."""
    if grant.first_slot is None:
        return
    while (early := (grant.first_slot - timezone.now()).total_seconds()) > 0:
        time.sleep(early)
