"""Endpoints and deliveries as the API and pages show them (secrets never)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from studio.integrations.models import Delivery, WebhookEndpoint


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def endpoint_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": str(endpoint.uuid),
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
        "dialect": endpoint.dialect,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "secret_last4": endpoint.secret_last4,
        "created_at": endpoint.created_at.isoformat(),
    }


def delivery_out(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": str(delivery.uuid),
        "kind": delivery.kind,
        "event_type": delivery.event_type,
        "url": delivery.url,
        "webhook_id": delivery.message_id,
        "status": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "response_excerpt": delivery.response_excerpt,
        "created_at": delivery.created_at.isoformat(),
        "completed_at": _iso(delivery.completed_at),
    }
