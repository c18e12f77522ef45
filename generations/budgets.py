"""Per-credential upstream budgets: submits and polls per minute, and concurrent jobs.

Rates use GCRA slots stored on the credential row (`submit_tat`, `poll_tat`): slot times
are spaced `window / limit` apart; a caller may use slots that are due (not in the future)
and at most `LAG` seconds old, and takes them with a compare-and-swap UPDATE, so several
workers and the dispatcher share one budget without a lock. Because a used slot is never
more than LAG old, any sliding window of `window` seconds sees at most
(window + lag) / interval calls; the interval is stretched by that margin (and by a
margin for the delay between taking a slot and the request arriving), so the upstream
never sees more than its limit in any window, whatever its window alignment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from generations.models import ACTIVE_STATES, Generation
from studio.vault.models import ProviderCredential

_ATTEMPTS = 6


def window_seconds() -> float:
    """The upstream's rate window: 60 s; tests shrink it to run a minute in a second."""
    return float(getattr(settings, "STUDIO_UPSTREAM_RATE_WINDOW", 60.0))


def lag() -> float:
    """How stale a slot may be and still be used: about one dispatcher round."""
    return min(0.25, window_seconds() / 40)


def jitter_margin() -> float:
    """Room for delay between taking a slot and the request reaching the upstream."""
    return min(0.5, window_seconds() / 20)


def interval(limit_per_window: int) -> float:
    # 98.8% of the limit at a 60 s window; 93% at the 1.5 s window the tests use.
    return (window_seconds() + lag() + jitter_margin()) / max(1, limit_per_window)


def claim(credential_id: int, kind: str, want: int = 1, *, now: datetime | None = None) -> int:
    """Take up to `want` due slots of the credential's `kind` ("submit"/"poll") budget.

    Returns how many were granted (0 when the budget is spent for now).
    """
    field, limit_field = f"{kind}_tat", f"{kind}s_per_minute"
    for _ in range(_ATTEMPTS):
        row = ProviderCredential.objects.filter(pk=credential_id).values(field, limit_field).first()
        if row is None:
            return 0
        now = now or timezone.now()
        step = timedelta(seconds=interval(row[limit_field]))
        tat: datetime | None = row[field]
        start = max(tat, now - timedelta(seconds=lag())) if tat else now
        if start > now:
            return 0
        granted = min(want, int((now - start) / step) + 1)
        new_tat = start + step * granted
        query = ProviderCredential.objects.filter(pk=credential_id)
        query = query.filter(**{field: tat}) if tat else query.filter(**{f"{field}__isnull": True})
        if query.update(**{field: new_tat}):
            return granted
        now = None  # somebody else took slots: look again
    return 0


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


def admit(generation: Generation) -> tuple[ProviderCredential | None, datetime | None]:
    """Pick a credential with room for one more job and take one submit slot on it.

    Spreads a team's jobs over its credentials (least busy first). Returns (credential,
    None) on success, or (None, when to try again) when every budget is spent, or
    (None, None) when the team has no usable credential at all.
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
        if claim(credential.pk, "submit"):
            generation.credential = credential
            return credential, None
        slot = next_slot_at(credential.pk, "submit")
        retry_at = min(retry_at, slot) if retry_at else slot
    return None, retry_at
