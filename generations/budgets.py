"""Per-credential upstream budgets: submits and polls per minute, and concurrent jobs.

Rates use GCRA slots stored on the credential row (`submit_tat`, `poll_tat`): slot times
are spaced `window / limit` apart; a caller may use slots that are due (not in the future)
and at most `lag` seconds old, and takes them with a compare-and-swap UPDATE, so several
workers and the dispatcher share one budget without a lock. The row also counts the slots
granted (`submit_slots`, `poll_slots`): slot number n is the n-th call on that budget.

Why the upstream never sees more than its limit in any window, whatever its alignment: it
is enough that call n + limit reaches the upstream a whole window after call n. Slots only
move later, at least `interval` apart, and no call leaves before its slot, so call n + limit
arrives no earlier than `slot(n) + limit * interval = slot(n) + window + D`, with
`interval = (window + D) / limit`. So a call that arrives within D of its slot is safe; D =
`lag` + `jitter_margin`. For every other call `settle` moves the slots not granted yet so
that call n + limit's slot is at least `arrival(n) + window`: with S slots granted so far,
the next slot becomes `Greatest(tat, arrival(n) - D + (S - n) * interval)` (an on-time call
never moves it, two late calls move it by the later one's need, not by the sum).

`arrival(n)` is bounded from what the HTTP client saw of the call (`sending` hears it, see
`studio.http.on_send`): no later than its answer arrived, and no later than `send_allowance`
after its last byte was written, whichever is earlier. The first bound is certain; the
second only assumes the upstream counts a request within `send_allowance` of its last byte
leaving here, and it is what keeps a slow answer (a synchronous submit that renders for
20 s, one hung poll of a batch) from pushing the budget for nothing. Calls made outside
`sending` count as arriving when `settle` runs, which is later and so safe, only slower.
No margin alone can be safe on a loaded machine: the scheduling delay has no upper bound
(see `JITTER`); the margin only keeps pushes rare. The push is in time when `settle` runs
before `limit` more slots have been granted, i.e. within about a window of the call (the
HTTP read timeout, 30 s, is well inside the 60 s window).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from generations.models import ACTIVE_STATES, Generation
from studio import http
from studio.vault.models import ProviderCredential

_ATTEMPTS = 6
_SETTLE_ATTEMPTS = 20

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


def send_allowance() -> float:
    """How soon after its last byte was written a request is taken to have reached the
    upstream (the network, the upstream's ingress), for a call answered later than that.
    The jitter margin: 0.5 s at a 60 s window."""
    return jitter_margin()


def interval(limit_per_window: int) -> float:
    # 98.8% of the limit at a 60 s window; 93% at the 1.5 s window the tests use.
    return (window_seconds() + lag() + jitter_margin()) / max(1, limit_per_window)


@dataclass
class Call:
    """What the HTTP client saw of one call made under `sending`."""

    written: datetime | None = None  # its last byte handed to the connection
    answered: datetime | None = None  # the answer's headers received

    def heard(self, event: str) -> None:
        if event.endswith("send_request_body.complete"):
            self.written = timezone.now()
        elif event.endswith("receive_response_headers.complete"):
            self.answered = timezone.now()

    def arrived_by(self, fallback: datetime) -> datetime:
        """The latest the upstream can have counted this call (see the module's docstring)."""
        if self.written is None:
            # Not written (failed, or a transport that tells nothing): the answer, if any,
            # else `fallback`, the moment the calls are settled.
            return self.answered or fallback
        bound = self.written + timedelta(seconds=send_allowance())
        return min(bound, self.answered) if self.answered else bound


@dataclass(eq=False)
class Grant:
    """Slots taken on one credential's budget: `count` of them, the first at `first_slot`,
    `interval` seconds apart, numbered from `first_number`. `calls`: what was heard of the
    calls made under `sending` (None: nobody listened)."""

    credential_id: int
    kind: str
    count: int = 0
    first_slot: datetime | None = None
    first_number: int = 0
    interval: float = 0.0
    calls: list[Call] | None = field(default=None, repr=False)


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
    """`claim`, returning the grant itself: make the calls under `sending(grant)`, then hand
    it to `settle`.

    With `ahead`, slots due within that many seconds are granted too: the caller must not
    call before `first_slot` (see `wait_for_slot`).
    """
    tat_field, count_field = f"{kind}_tat", f"{kind}_slots"
    limit_field = f"{kind}s_per_minute"
    for _ in range(_ATTEMPTS):
        row = (
            ProviderCredential.objects.filter(pk=credential_id)
            .values(tat_field, count_field, limit_field)
            .first()
        )
        if row is None:
            return Grant(credential_id, kind)
        now = now or timezone.now()
        seconds = interval(row[limit_field])
        step = timedelta(seconds=seconds)
        tat: datetime | None = row[tat_field]
        start = max(tat, now - timedelta(seconds=lag())) if tat else now
        horizon = now + timedelta(seconds=ahead)
        if start > horizon:
            return Grant(credential_id, kind)
        granted = min(want, int((horizon - start) / step) + 1)
        if _swap(credential_id, kind, tat, row[count_field], start + step * granted, granted):
            return Grant(credential_id, kind, granted, start, row[count_field], seconds)
        now = None  # somebody else took slots: look again
    return Grant(credential_id, kind)


def _swap(
    credential_id: int, kind: str, tat: datetime | None, count: int, new_tat: datetime, more: int
) -> bool:
    """Compare-and-swap the budget's (tat, slots granted) pair."""
    tat_field, count_field = f"{kind}_tat", f"{kind}_slots"
    query = ProviderCredential.objects.filter(pk=credential_id, **{count_field: count})
    query = query.filter(**{tat_field: tat} if tat else {f"{tat_field}__isnull": True})
    return bool(query.update(**{tat_field: new_tat, count_field: count + more}))


@contextlib.contextmanager
def sending(*grants: Grant | None) -> Iterator[None]:
    """Listen to every request made in this context (and in tasks created in it) through a
    studio.http client: `settle` then bounds each call's arrival by when it was written and
    answered, not by when the caller got round to settling. Every upstream call goes through
    studio.http, so a grant whose calls were heard of none made none."""
    live = [g for g in grants if g is not None and g.count]
    if not live:
        yield
        return
    for grant in live:
        if grant.calls is None:
            grant.calls = []

    def start() -> Callable[[str], None]:
        call = Call()
        for grant in live:
            assert grant.calls is not None
            grant.calls.append(call)
        return call.heard

    token = http.on_send.set(start)
    try:
        yield
    finally:
        http.on_send.reset(token)


def settle(grant: Grant | None, *, returned_at: datetime | None = None) -> float:
    """The granted calls have been made: move the budget's next slots if any was late.

    Each call's arrival is bounded by `Call.arrived_by` (calls not made under `sending`: by
    `returned_at`, default now); the arrivals go with the slots in order. A call
    that arrived more than D = `lag + jitter_margin` after its slot moves the next slot to
    `Greatest(tat, arrival - D + (slots granted since it) * interval)` (see the module's
    docstring). Call it once per grant, after its calls (for a batch of polls: once, after
    the batch). Returns the push in seconds (0 when every call was on time).
    """
    if grant is None or not grant.count or grant.first_slot is None:
        return 0.0
    settled_at = returned_at or timezone.now()
    if grant.calls is None:
        arrivals = [settled_at]
    else:
        # More requests than slots (a submit that uploads a file first): the latest count.
        arrivals = sorted(call.arrived_by(settled_at) for call in grant.calls)[-grant.count :]
    if not arrivals:
        return 0.0
    step = timedelta(seconds=grant.interval or interval(1))
    budget = timedelta(seconds=lag() + jitter_margin())
    # The latest slot each call could have had and still been on time, shifted to the
    # grant's first slot: call i's slot is first_slot + i * step.
    latest = max(arrival - budget - step * i for i, arrival in enumerate(arrivals))
    if latest <= grant.first_slot:
        return 0.0
    tat_field, count_field = f"{grant.kind}_tat", f"{grant.kind}_slots"
    for _ in range(_SETTLE_ATTEMPTS):
        row = (
            ProviderCredential.objects.filter(pk=grant.credential_id)
            .values(tat_field, count_field)
            .first()
        )
        if row is None or row[tat_field] is None:
            return 0.0
        tat, granted = row[tat_field], row[count_field]
        target = latest + step * (granted - grant.first_number)
        if target <= tat:
            return 0.0
        if _swap(grant.credential_id, grant.kind, tat, granted, target, 0):
            return (target - tat).total_seconds()
    # Lost every race (a storm of takes): push by the whole lateness, which is always safe.
    late = latest - grant.first_slot
    ProviderCredential.objects.filter(
        pk=grant.credential_id, **{f"{tat_field}__isnull": False}
    ).update(**{tat_field: F(tat_field) + late})
    return late.total_seconds()


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
    on success (`generation.credential` is then set; call under `sending(grant)`, then
    `settle` the grant), or (None, when to try again) when every budget is spent, or (None, None)
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
