"""The one outbound delivery mechanism: webhooks and Meta conversions both go through here.

A `Delivery` row is one message and its chain of attempts. An attempt claims the row with a
conditional UPDATE that takes a lease (`lease_until`) and counts the attempt; it then makes
one POST through the outbound wrapper (`studio.http.post_bytes`: private addresses refused,
DNS pinned, timeouts) and writes the outcome with a conditional UPDATE on the attempt it
claimed. A worker killed mid-attempt leaves the row pending with a lease that expires, and
the picker tries it again: the receiver may see that message twice, always with the same
idempotency key (`webhook-id`, Meta's `event_id`), never lose it.

Retried: timeouts, transport errors, 429 (after `Retry-After` when it says) and 5xx, on the
kind's schedule with jitter. Never retried: other 4xx, redirects, private addresses.

Due retries are picked by this app's own one-minute schedule (`tasks.run_deliveries`, seeded
by migration 0002), which loops while something falls due before its next run (so a 5 s
retry waits about 5 s) and otherwise gives its worker back at once; the first attempt of a
webhook is enqueued as a task when the event's transaction commits.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from studio import http
from studio.accounts.models import Team
from studio.errors import Conflict, InvalidFields
from studio.integrations.models import (
    Delivery,
    DeliveryKind,
    DeliveryState,
    MetaPixel,
    WebhookEndpoint,
)
from studio.vault.crypto import VaultError

log = logging.getLogger(__name__)

# An attempt holds its row this long: the longest POST (15 s) plus room to write the answer.
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 15.0
EXCERPT_CHARS = 1000
LONGEST_WAIT = timedelta(hours=10)
# Seconds to wait after attempt N fails (N = 1, 2, …); the chain's length is one more.
RETRY_DELAYS: dict[str, list[float]] = {
    # The contract's schedule (Standard Webhooks' common one).
    DeliveryKind.WEBHOOK: [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600],
    # Meta conversions are retried within the API call that sends them.
    DeliveryKind.META: [0.5, 2.0, 4.0, 8.0],
}


@dataclass(frozen=True)
class Prepared:
    """What one attempt sends: built at send time (fresh signatures, decrypted tokens)."""

    url: str
    body: bytes
    headers: dict[str, str]
    user_supplied: bool = True


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status: int | None = None
    error: str = ""
    excerpt: str = ""
    permanent: bool = False  # not worth another attempt (4xx, private address, …)
    retry_after: float | None = None


class NotDeliverable(Exception):
    """Raised by a sender when the message can no longer be sent (endpoint gone, no key)."""


Sender = Callable[[Delivery], Prepared]
AfterAttempt = Callable[[Delivery, Outcome], None]
_senders: dict[str, Sender] = {}
_after: dict[str, AfterAttempt] = {}


def register(kind: str, sender: Sender, after_attempt: AfterAttempt | None = None) -> None:
    """Install how deliveries of `kind` are built (and what follows each attempt)."""
    _senders[kind] = sender
    if after_attempt is not None:
        _after[kind] = after_attempt


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def create(
    team: Team | int,
    kind: str,
    url: str,
    event_type: str,
    payload: bytes,
    *,
    endpoint: WebhookEndpoint | None = None,
    pixel: MetaPixel | None = None,
    first_attempt_at: datetime | None = None,
    message_id: str | None = None,
    max_attempts: int | None = None,
) -> Delivery:
    return Delivery.objects.create(
        team_id=team if isinstance(team, int) else team.pk,
        kind=kind,
        endpoint=endpoint,
        pixel=pixel,
        url=url,
        event_type=event_type,
        message_id=message_id or new_message_id(),
        payload=payload,
        max_attempts=max_attempts or len(RETRY_DELAYS[kind]) + 1,
        next_attempt_at=first_attempt_at or timezone.now(),
    )


def enqueue_on_commit(delivery_id: int) -> None:
    """Make the first attempt on the cluster as soon as the current transaction commits."""

    def send() -> None:
        from django_q.tasks import async_task

        async_task("studio.integrations.tasks.deliver", delivery_id, group="deliveries")

    transaction.on_commit(send)


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    claimed = (
        Delivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING)
        .filter(next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("endpoint", "pixel").get(pk=delivery_id)


def attempt(delivery_id: int) -> Delivery | None:
    """Make the delivery's next attempt if it is due and nobody else is making it; the row
    as this attempt left it, or None when there was nothing to do."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    outcome = send(delivery)
    return _record(delivery, outcome)


def send(delivery: Delivery) -> Outcome:
    """One POST of `delivery`, classified (never raises for the receiver's behaviour)."""
    try:
        prepared = _senders[delivery.kind](delivery)
        response = http.post_bytes(
            prepared.url,
            prepared.body,
            prepared.headers,
            user_supplied=prepared.user_supplied,
            timeout=TIMEOUT_SECONDS,
        )
    except NotDeliverable as exc:
        return Outcome(False, error=str(exc), permanent=True)
    except VaultError as exc:
        return Outcome(False, error=f"The stored secret could not be read: {exc}", permanent=True)
    except InvalidFields as exc:  # a private address, a malformed URL: not worth retrying
        return Outcome(False, error=exc.message, permanent=True)
    except httpx.TimeoutException:
        return Outcome(False, error=f"No answer within {TIMEOUT_SECONDS:.0f} s")
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"Could not connect: {exc.__class__.__name__}")
    return classify(response)


def classify(response: httpx.Response) -> Outcome:
    status = response.status_code
    excerpt = response.content.decode("utf-8", "replace")[:EXCERPT_CHARS]
    if 200 <= status < 300:
        return Outcome(True, status, excerpt=excerpt)
    if status == 429:
        return Outcome(
            False,
            status,
            "Rate limited by the receiver",
            excerpt,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
    if status >= 500:
        return Outcome(False, status, f"The receiver answered HTTP {status}", excerpt)
    if 300 <= status < 400:
        return Outcome(False, status, "Redirects are not followed", excerpt, permanent=True)
    return Outcome(False, status, f"The receiver answered HTTP {status}", excerpt, permanent=True)


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` in seconds (delta or HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - timezone.now()).total_seconds())


def next_delay(kind: str, attempts: int, retry_after: float | None = None) -> timedelta:
    """The wait after failed attempt number `attempts`: the kind's schedule with ±10%
    jitter (so a receiver's outage does not end in a thundering herd), or the receiver's
    `Retry-After` when it gave one."""
    if retry_after is not None:
        return min(timedelta(seconds=max(retry_after, 1.0)), LONGEST_WAIT)
    delays = RETRY_DELAYS[kind]
    base = delays[min(attempts, len(delays)) - 1]
    return timedelta(seconds=base * random.uniform(0.9, 1.1))


def _record(delivery: Delivery, outcome: Outcome) -> Delivery:
    now = timezone.now()
    fields: dict[str, object] = {
        "lease_until": None,
        "last_status_code": outcome.status,
        "last_error": outcome.error[:500],
        "response_excerpt": outcome.excerpt,
    }
    if outcome.delivered:
        fields.update(state=DeliveryState.SUCCEEDED, next_attempt_at=None, completed_at=now)
    elif outcome.permanent or delivery.attempts >= delivery.max_attempts:
        fields.update(state=DeliveryState.FAILED, next_attempt_at=None, completed_at=now)
    else:
        delay = next_delay(delivery.kind, delivery.attempts, outcome.retry_after)
        fields.update(next_attempt_at=now + delay)
    # Only the attempt that claimed the row writes its outcome (a resend may have reset it).
    Delivery.objects.filter(
        pk=delivery.pk, state=DeliveryState.PENDING, attempts=delivery.attempts
    ).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)
    if not outcome.delivered:
        log.info(
            "delivery %s attempt %d failed: %s",
            delivery.uuid,
            delivery.attempts,
            outcome.error,
            extra={"delivery": str(delivery.uuid), "status": outcome.status},
        )
    after = _after.get(delivery.kind)
    if after is not None:
        after(delivery, outcome)
    return delivery


# --- the picker ----------------------------------------------------------------------------


def due_ids(limit: int = 200) -> list[int]:
    now = timezone.now()
    return list(
        Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def _attempt_in_thread(delivery_id: int) -> None:
    try:
        attempt(delivery_id)
    except Exception:
        log.exception("delivery %s: attempt raised", delivery_id)
    finally:
        close_old_connections()


def deliver_due(concurrency: int = 8) -> int:
    """Attempt every due delivery once (a few at a time: one slow receiver must not hold
    up the others); how many were due."""
    ids = due_ids()
    if len(ids) == 1:
        attempt(ids[0])
    elif ids:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(_attempt_in_thread, ids))
    return len(ids)


def run_for(seconds: float, interval: float = 1.0) -> None:
    """Keep delivering due rows for `seconds` (the minute schedule's loop), returning early
    (freeing the worker) once nothing falls due before the next run."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if deliver_due():
            continue
        left = deadline - time.monotonic()
        soonest = (
            Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__isnull=False)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if soonest is None or soonest > timezone.now() + timedelta(seconds=left):
            return
        time.sleep(min(interval, max(left, 0.0)))


def purge_finished(older_than: timedelta) -> int:
    """Forget finished deliveries older than `older_than` (the log keeps what is recent)."""
    cutoff = timezone.now() - older_than
    deleted, _ = (
        Delivery.objects.exclude(state=DeliveryState.PENDING).filter(created_at__lt=cutoff).delete()
    )
    return deleted


def resend(delivery: Delivery) -> Delivery:
    """Start a finished delivery's chain again, with the same message id."""
    reset = (
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(state=DeliveryState.PENDING)
        .update(
            state=DeliveryState.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            completed_at=None,
            lease_until=None,
        )
    )
    if not reset:
        raise Conflict("This delivery is still being attempted")
    delivery.refresh_from_db()
    enqueue_on_commit(delivery.pk)
    return delivery


def payload_json(delivery: Delivery) -> object:
    return json.loads(bytes(delivery.payload))
