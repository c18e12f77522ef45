"""The Integrations page: the Meta pixel, webhook endpoints and the delivery log.

One page, one POST view dispatching on the named submit button. A created or rotated secret
is rendered in that response only (never stored in the session, never shown again). Every
member sees the page; owners and admins change it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from studio.accounts.access import get_membership, team_object
from studio.accounts.models import Membership
from studio.errors import StudioError, form_field
from studio.integrations import deliveries, meta, webhooks
from studio.integrations.forms import DeliveryFilter, EndpointForm, PixelForm
from studio.integrations.models import Delivery, MetaPixel, WebhookEndpoint

LOG_ROWS = 50


def _uuid(value: str | None) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise Http404 from None


def _context(request: HttpRequest, membership: Membership, **extra: Any) -> dict[str, Any]:
    team = membership.team
    pixel = MetaPixel.objects.filter(team=team).first()
    log_filter = DeliveryFilter(request.GET or None)
    rows = Delivery.objects.filter(team=team)
    if log_filter.is_valid():
        if log_filter.cleaned_data["kind"]:
            rows = rows.filter(kind=log_filter.cleaned_data["kind"])
        if log_filter.cleaned_data["status"]:
            rows = rows.filter(state=log_filter.cleaned_data["status"])
    initial = (
        {"pixel_id": pixel.pixel_id, "test_event_code": pixel.test_event_code} if pixel else {}
    )
    return {
        "team": team,
        "membership": membership,
        "pixel": pixel,
        "pixel_form": PixelForm(initial=initial),
        "endpoint_form": EndpointForm(),
        "endpoints": WebhookEndpoint.objects.filter(team=team, for_job_urls=False),
        "job_secret": webhooks.job_url_secret(team),
        "log_filter": log_filter,
        "deliveries": list(rows.select_related("endpoint")[:LOG_ROWS]),
        **extra,
    }


@never_cache  # a response may hold a secret shown once
@login_required
def integrations(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    return render(request, "integrations/integrations.html", _context(request, membership))


@never_cache
@require_POST
@login_required
def integrations_action(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, manage=True)
    team = membership.team
    action = request.POST.get("action", "")
    extra: dict[str, Any] = {}
    if action == "connect_pixel":
        pixel_form = PixelForm(request.POST)
        if pixel_form.is_valid():
            try:
                meta.connect_pixel(team, **pixel_form.cleaned_data)
            except StudioError as exc:
                pixel_form.add_error(form_field(exc, pixel_form.fields), exc.message)
            else:
                messages.success(request, "Meta pixel connected.")
                return redirect("integrations", team_uuid=team.uuid)
        extra["pixel_form"] = pixel_form
    elif action == "test_event":
        extra["test_answer"] = meta.send_test_event(team)
    elif action == "disconnect_pixel":
        meta.disconnect_pixel(team)
        messages.success(request, "Meta pixel disconnected; its access token is deleted.")
        return redirect("integrations", team_uuid=team.uuid)
    elif action == "create_endpoint":
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = webhooks.create_endpoint(team, **form.cleaned_data)
            except StudioError as exc:
                form.add_error(form_field(exc, form.fields), exc.message)
            else:
                extra["new_secret"] = (endpoint.url, secret)
                form = EndpointForm()
        extra["endpoint_form"] = form
    elif action in ("rotate", "delete_endpoint", "enable_endpoint"):
        endpoint = team_object(
            WebhookEndpoint.objects.all(),
            team,
            uuid=_uuid(request.POST.get("endpoint")),
            for_job_urls=False,
        )
        if action == "rotate":
            extra["new_secret"] = (endpoint.url, webhooks.rotate_secret(endpoint))
        elif action == "enable_endpoint":
            webhooks.enable_endpoint(endpoint)
            messages.success(request, f"{endpoint.url} is enabled again.")
            return redirect("integrations", team_uuid=team.uuid)
        else:
            webhooks.delete_endpoint(endpoint)
            messages.success(request, f"Deleted the endpoint {endpoint.url}.")
            return redirect("integrations", team_uuid=team.uuid)
    elif action == "job_secret":
        extra["new_secret"] = ("per-job webhook_url", webhooks.make_job_url_secret(team))
    elif action == "resend":
        delivery = team_object(
            Delivery.objects.all(), team, uuid=_uuid(request.POST.get("delivery"))
        )
        try:
            deliveries.resend(delivery)
        except StudioError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Sent again (same webhook-id).")
        return redirect("integrations", team_uuid=team.uuid)
    else:
        messages.error(request, "Unknown action")
        return redirect("integrations", team_uuid=team.uuid)
    return render(request, "integrations/integrations.html", _context(request, membership, **extra))
