"""Studio's own webhooks (Standard Webhooks): endpoints, secrets, events and their signing.

Every delivery carries `webhook-id` (the same on each attempt), `webhook-timestamp` (of the
attempt) and `webhook-signature` (`v1,<base64 HMAC>` made by the `standardwebhooks` package;
during a rotation's grace period a second signature with the old secret). The body is
`{type, timestamp, data}`, `data` being what the dialect's status endpoint returns.

A start's `webhook_url` is signed with the team's per-job secret (an endpoint row with
`for_job_urls`), created and rotated like an endpoint's.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from studio import http
from studio.accounts.models import Membership, Role, Team, User
from studio.errors import InvalidFields, MissingFields
from studio.integrations import deliveries
from studio.integrations.deliveries import NotDeliverable, Outcome, Prepared
from studio.integrations.models import (
    EVENT_TYPES,
    Delivery,
    DeliveryKind,
    Dialect,
    WebhookEndpoint,
)
from studio.vault import crypto

log = logging.getLogger(__name__)
MAX_ENDPOINTS_PER_TEAM = 20


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def clean_url(url: str, field: str = "url") -> str:
    """An http(s) URL on a public address (private ones only with STUDIO_ALLOW_PRIVATE_FETCH)."""
    url = (url or "").strip()
    if not url:
        raise MissingFields(f"{field} is required", field=field)
    if len(url) > 2000:
        raise InvalidFields(f"{field} is at most 2000 characters", field=field)
    try:
        http.check_public(url)
    except InvalidFields as exc:
        exc.field = field
        raise
    return url


def clean_event_types(event_types: Iterable[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(event_types or EVENT_TYPES))
    unknown = [name for name in chosen if name not in EVENT_TYPES]
    if unknown:
        raise InvalidFields(
            f"Unknown event type {unknown[0]!r}; choose from {', '.join(EVENT_TYPES)}",
            field="event_types",
        )
    return chosen


def _seal(endpoint: WebhookEndpoint, secret: str) -> None:
    endpoint.secret_encrypted = crypto.encrypt(secret, row=endpoint.uuid)
    endpoint.secret_last4 = secret[-4:]


def create_endpoint(
    team: Team,
    *,
    url: str,
    event_types: Iterable[str] | None = None,
    description: str = "",
    dialect: str = Dialect.KOLBO,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned here once, never again)."""
    if dialect not in Dialect.values:
        raise InvalidFields("dialect must be 'kolbo' or 'krev'", field="dialect")
    if len(description) > 200:
        raise InvalidFields("description is at most 200 characters", field="description")
    endpoint = WebhookEndpoint(
        team=team,
        url=clean_url(url),
        event_types=clean_event_types(event_types),
        description=description.strip(),
        dialect=dialect,
    )
    if WebhookEndpoint.objects.filter(team=team, for_job_urls=False).count() >= (
        MAX_ENDPOINTS_PER_TEAM
    ):
        raise InvalidFields(f"A team has at most {MAX_ENDPOINTS_PER_TEAM} webhook endpoints")
    secret = new_secret()
    _seal(endpoint, secret)
    endpoint.save()
    return endpoint, secret


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new secret; the old one keeps signing (beside it) for the grace period."""
    secret = new_secret()
    grace = timedelta(hours=settings.STUDIO_WEBHOOK_ROTATION_GRACE_HOURS)
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted if grace else ""
    endpoint.previous_secret_expires_at = timezone.now() + grace if grace else None
    _seal(endpoint, secret)
    endpoint.save(
        update_fields=[
            "secret_encrypted",
            "secret_last4",
            "previous_secret_encrypted",
            "previous_secret_expires_at",
        ]
    )
    return secret


def job_url_secret(team: Team) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(team=team, for_job_urls=True).first()


def make_job_url_secret(team: Team) -> str:
    """The team's secret for per-job `webhook_url` deliveries: made, or rotated, now."""
    existing = job_url_secret(team)
    if existing is not None:
        return rotate_secret(existing)
    endpoint = WebhookEndpoint(team=team, for_job_urls=True, event_types=EVENT_TYPES)
    secret = new_secret()
    _seal(endpoint, secret)
    endpoint.save()
    return secret


def clean_job_webhook_url(team: Team, url: str) -> str:
    """Check a start's `webhook_url` before anything is charged."""
    url = clean_url(url, "webhook_url")
    if job_url_secret(team) is None:
        raise InvalidFields(
            "webhook_url needs the team's signing secret for per-job webhooks: create it on "
            "the Integrations page or with POST /api/v1/webhooks/job-secret",
            field="webhook_url",
        )
    return url


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def disable_endpoint(endpoint_id: int, reason: str) -> bool:
    return (
        WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).update(
            enabled=False, disabled_reason=reason[:300]
        )
        == 1
    )


def enable_endpoint(endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=True, disabled_reason="")


# --- events ---------------------------------------------------------------------------------


def body_of(event_type: str, data: dict[str, Any]) -> bytes:
    event = {"type": event_type, "timestamp": timezone.now().isoformat(), "data": data}
    return json.dumps(event, separators=(",", ":"), default=str).encode()


def publish(
    team_id: int,
    event_type: str,
    present: Callable[[str], dict[str, Any]],
    *,
    job_url: str = "",
    job_dialect: str = Dialect.KOLBO,
) -> list[Delivery]:
    """Queue `event_type` for each of the team's enabled endpoints that want it, and for the
    job's own `webhook_url`; `present(dialect)` is the status endpoint's answer in that
    dialect. Call inside the transaction that made the change: the rows commit with it."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(team_id=team_id, enabled=True)
        if endpoint.for_job_urls or event_type in (endpoint.event_types or [])
    ]
    made: list[Delivery] = []
    bodies: dict[str, bytes] = {}

    def body(dialect: str) -> bytes:
        if dialect not in bodies:
            bodies[dialect] = body_of(event_type, present(dialect))
        return bodies[dialect]

    for endpoint in endpoints:
        if endpoint.for_job_urls:
            if job_url:
                made.append(
                    deliveries.create(
                        team_id,
                        DeliveryKind.WEBHOOK,
                        job_url,
                        event_type,
                        body(job_dialect),
                        endpoint=endpoint,
                    )
                )
            continue
        made.append(
            deliveries.create(
                team_id,
                DeliveryKind.WEBHOOK,
                endpoint.url,
                event_type,
                body(endpoint.dialect),
                endpoint=endpoint,
            )
        )
    for delivery in made:
        deliveries.enqueue_on_commit(delivery.pk)
    return made


def publish_safely(
    team_id: int, event_type: str, present: Callable[[str], dict[str, Any]], **job: str
) -> None:
    """`publish`, in a savepoint, logging instead of raising: an event must never undo
    the state change it reports."""
    try:
        with transaction.atomic():
            publish(team_id, event_type, present, **job)
    except Exception:
        log.exception("team %s: the %s event could not be queued", team_id, event_type)


# --- sending --------------------------------------------------------------------------------


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    found = [crypto.decrypt(endpoint.secret_encrypted, row=endpoint.uuid)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and expires > timezone.now():
        found.append(crypto.decrypt(endpoint.previous_secret_encrypted, row=endpoint.uuid))
    return found


def prepare(delivery: Delivery) -> Prepared:
    endpoint = delivery.endpoint
    if endpoint is None:
        raise NotDeliverable("The webhook endpoint (or the per-job secret) was deleted")
    if not endpoint.enabled:
        raise NotDeliverable(f"The endpoint is disabled: {endpoint.disabled_reason}")
    body = bytes(delivery.payload)
    moment = timezone.now().astimezone(UTC)
    text = body.decode()
    signatures = " ".join(
        Webhook(secret).sign(delivery.message_id, moment, text)
        for secret in signing_secrets(endpoint)
    )
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
    }
    return Prepared(delivery.url, body, headers)


def after_attempt(delivery: Delivery, outcome: Outcome) -> None:
    """`410 Gone` from a registered endpoint disables it, and its team's admins hear of it."""
    endpoint = delivery.endpoint
    if outcome.status != 410 or endpoint is None or endpoint.for_job_urls:
        return
    if disable_endpoint(endpoint.pk, "The receiver answered 410 Gone"):
        pk = endpoint.pk
        transaction.on_commit(lambda: email_disabled(pk))


def email_disabled(endpoint_id: int) -> None:
    """Tell the team's owners and admins that an endpoint was disabled (best effort)."""
    endpoint = WebhookEndpoint.objects.select_related("team").filter(pk=endpoint_id).first()
    if endpoint is None:
        return
    recipients = sorted(
        {
            email
            for email in User.objects.filter(
                is_active=True,
                pk__in=Membership.objects.filter(
                    team_id=endpoint.team_id, role__in=[Role.OWNER, Role.ADMIN]
                ).values("user_id"),
            ).values_list("email", flat=True)
            if email
        }
    )
    if not recipients:
        return
    page = settings.BASE_URL + reverse("integrations", args=[endpoint.team.uuid])
    send_mail(
        subject=f"[{settings.STUDIO_SITE_NAME}] Webhook endpoint disabled: {endpoint.url[:80]}",
        message=(
            f"The webhook endpoint {endpoint.url} of {endpoint.team.name} answered 410 Gone, "
            "so Studio stopped sending events to it.\n\n"
            f"Re-enable it or remove it here: {page}\n"
        ),
        from_email=None,
        recipient_list=recipients,
        fail_silently=True,
    )


deliveries.register(DeliveryKind.WEBHOOK, prepare, after_attempt)
