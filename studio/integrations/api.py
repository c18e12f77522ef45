"""Integrations endpoints: Meta conversions (Krev) and Studio's webhook endpoints.

- `POST /api/v1/conversions/meta` (scope `conversions`): one event or `{data: [...]}`.
- `POST/GET /api/v1/webhooks`, `DELETE /api/v1/webhooks/{id}` (also `?id=`), `POST
  /api/v1/webhooks/{id}/rotate`, `POST /api/v1/webhooks/job-secret`, `GET
  /api/v1/webhooks/deliveries`: any key of the team reads; changes need an owner's or an
  admin's key (as on the page); secrets appear only in the answer that creates them.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from studio.accounts.models import Role, Team
from studio.api.auth import api_key, caller_key, caller_team
from studio.api.ratelimit import RateClass
from studio.api.schemas import with_errors
from studio.errors import Forbidden, InvalidFields, NotFound
from studio.integrations import meta, webhooks
from studio.integrations.models import Delivery, WebhookEndpoint
from studio.integrations.presenters import delivery_out, endpoint_out
from studio.vault.services import key_role

router = Router(tags=["Integrations"])


class ConversionOut(Schema):
    success: Literal[True] = True
    status: Literal["sent"] = "sent"
    events_received: int
    fbtrace_id: str = ""
    deduplicated: int | None = None


@router.post(
    "/conversions/meta",
    auth=api_key("conversions", limit=RateClass.READ, dialect="krev"),
    response=with_errors(ConversionOut, 502),
    summary="Send Meta conversion events through the team's pixel",
    exclude_none=True,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def send_meta_conversion(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise InvalidFields("The request body must be JSON") from None
    return meta.forward(caller_team(request), body)


class EndpointIn(Schema):
    url: str = Field(..., max_length=2000)
    event_types: list[str] | None = Field(None, description="Default: every event type")
    description: str = Field("", max_length=200)
    dialect: Literal["kolbo", "krev"] = Field(
        "kolbo", description="Shape of `data`: the Kolbo or the Krev status endpoint's answer"
    )


class EndpointOut(Schema):
    id: str
    url: str
    description: str
    event_types: list[str]
    dialect: str
    enabled: bool
    disabled_reason: str
    secret_last4: str
    created_at: str


class EndpointCreated(Schema):
    success: Literal[True] = True
    webhook: EndpointOut
    secret: str = Field(description="The signing secret (whsec_…): shown this once")


class EndpointList(Schema):
    success: Literal[True] = True
    webhooks: list[EndpointOut]
    count: int


class SecretOut(Schema):
    success: Literal[True] = True
    secret: str
    message: str


class DeletedOut(Schema):
    success: Literal[True] = True
    message: str


class DeliveryOut(Schema):
    id: str
    kind: str
    event_type: str
    url: str
    webhook_id: str
    status: str
    attempts: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str
    response_excerpt: str
    created_at: str
    completed_at: str | None


class DeliveryList(Schema):
    success: Literal[True] = True
    deliveries: list[DeliveryOut]
    count: int


def _managed_team(request: HttpRequest) -> Team:
    """The caller's team, when the key's owner may change its integrations (owner, admin),
    as on the Integrations page."""
    key = caller_key(request)
    if key_role(key) not in (Role.OWNER, Role.ADMIN):
        raise Forbidden("Only the team's owners and admins manage webhooks")
    return key.team


def _secret_answer(response: HttpResponse) -> None:
    response["Cache-Control"] = "no-store"  # a secret: never in any cache


def _endpoint(request: HttpRequest, endpoint_id: str, *, manage: bool = False) -> WebhookEndpoint:
    try:
        wanted = UUID(str(endpoint_id))
    except ValueError:
        raise NotFound("No such webhook endpoint") from None
    team = caller_team(request)
    endpoint = WebhookEndpoint.objects.filter(team=team, uuid=wanted, for_job_urls=False).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint")
    if manage:
        _managed_team(request)  # after the lookup: another team's id is 404, never 403
    return endpoint


@router.post(
    "/webhooks",
    auth=api_key(dialect="kolbo"),
    response=with_errors(EndpointCreated, status=201),
    summary="Register a webhook endpoint (its secret is shown once)",
)
def create_webhook(request: HttpRequest, response: HttpResponse, payload: EndpointIn) -> Status:
    _secret_answer(response)
    endpoint, secret = webhooks.create_endpoint(
        _managed_team(request),
        url=payload.url,
        event_types=payload.event_types,
        description=payload.description,
        dialect=payload.dialect,
    )
    return Status(201, {"success": True, "webhook": endpoint_out(endpoint), "secret": secret})


@router.get(
    "/webhooks",
    auth=api_key(dialect="kolbo"),
    response=with_errors(EndpointList),
    summary="List the team's webhook endpoints",
)
def list_webhooks(request: HttpRequest) -> dict[str, Any]:
    endpoints = WebhookEndpoint.objects.filter(team=caller_team(request), for_job_urls=False)
    items = [endpoint_out(e) for e in endpoints]
    return {"success": True, "webhooks": items, "count": len(items)}


@router.get(
    "/webhooks/deliveries",
    auth=api_key(dialect="kolbo"),
    response=with_errors(DeliveryList),
    summary="The team's latest deliveries (webhooks and Meta conversions)",
)
def list_deliveries(
    request: HttpRequest, status: str | None = None, kind: str | None = None, limit: int = 50
) -> dict[str, Any]:
    rows = Delivery.objects.filter(team=caller_team(request))
    if status:
        rows = rows.filter(state=status)
    if kind:
        rows = rows.filter(kind=kind)
    items = [delivery_out(d) for d in rows[: max(1, min(limit, 200))]]
    return {"success": True, "deliveries": items, "count": len(items)}


@router.post(
    "/webhooks/job-secret",
    auth=api_key(dialect="kolbo"),
    response=with_errors(SecretOut),
    summary="Create (or rotate) the secret that signs per-job webhook_url deliveries",
)
def make_job_secret(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    _secret_answer(response)
    secret = webhooks.make_job_url_secret(_managed_team(request))
    return {
        "success": True,
        "secret": secret,
        "message": "Deliveries to a start's webhook_url are signed with this secret; "
        "it is not shown again.",
    }


@router.get(
    "/webhooks/{endpoint_id}",
    auth=api_key(dialect="kolbo"),
    response=with_errors(EndpointList, 404),
    summary="One webhook endpoint",
)
def get_webhook(request: HttpRequest, endpoint_id: str) -> dict[str, Any]:
    return {
        "success": True,
        "webhooks": [endpoint_out(_endpoint(request, endpoint_id))],
        "count": 1,
    }


@router.post(
    "/webhooks/{endpoint_id}/rotate",
    auth=api_key(dialect="kolbo"),
    response=with_errors(SecretOut, 404),
    summary="Rotate an endpoint's secret (the old one signs too during the grace period)",
)
def rotate_webhook_secret(
    request: HttpRequest, response: HttpResponse, endpoint_id: str
) -> dict[str, Any]:
    _secret_answer(response)
    secret = webhooks.rotate_secret(_endpoint(request, endpoint_id, manage=True))
    return {
        "success": True,
        "secret": secret,
        "message": "Deliveries carry signatures with the old and the new secret for the grace "
        "period; the new secret is not shown again.",
    }


@router.delete(
    "/webhooks/{endpoint_id}",
    auth=api_key(dialect="kolbo"),
    response=with_errors(DeletedOut, 404),
    summary="Delete a webhook endpoint",
)
def delete_webhook(request: HttpRequest, endpoint_id: str) -> dict[str, Any]:
    webhooks.delete_endpoint(_endpoint(request, endpoint_id, manage=True))
    return {"success": True, "message": "Webhook endpoint deleted"}


@router.delete(
    "/webhooks",
    auth=api_key(dialect="kolbo"),
    response=with_errors(DeletedOut, 404),
    summary="Delete a webhook endpoint (`?id=`, as Krev deletes keys)",
)
def delete_webhook_by_query(request: HttpRequest, id: str = "") -> dict[str, Any]:
    webhooks.delete_endpoint(_endpoint(request, id, manage=True))
    return {"success": True, "message": "Webhook endpoint deleted"}
