"""The API keys page: create (the full key is shown once), list, revoke."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from studio.accounts.access import get_membership, team_object
from studio.errors import StudioError
from studio.vault import services
from studio.vault.forms import ApiKeyForm
from studio.vault.models import ApiKey


@never_cache  # the response may hold a full key: no-store, never in any cache
@login_required
def api_keys(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    form = ApiKeyForm(request.POST or None)
    issued = None
    if request.method == "POST":
        if not membership.can_write:
            raise PermissionDenied("Viewers cannot create API keys")
        if form.is_valid():
            try:
                issued = services.create_api_key(
                    membership.team,
                    membership.user,
                    form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_in_days=form.cleaned_data["expires_in_days"],
                )
            except StudioError as exc:
                form.add_error(None, exc.message)
            else:
                form = ApiKeyForm()
    keys = ApiKey.objects.filter(team=membership.team).select_related("user")
    context = {
        "team": membership.team,
        "membership": membership,
        "form": form,
        "issued": issued,
        "rows": [(key, services.can_revoke(membership, key)) for key in keys],
        "docs_url": reverse("api:openapi-view"),
        "openapi_url": reverse("api:openapi-json"),
        "api_base": request.build_absolute_uri("/api/v1"),
    }
    # A created key is rendered in this response only (no redirect through the session).
    return render(request, "vault/api_keys.html", context)


@require_POST
@login_required
def api_key_revoke(request: HttpRequest, team_uuid: UUID, key_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=True)
    key = team_object(ApiKey.objects.all(), membership.team, uuid=key_uuid)
    if not services.can_revoke(membership, key):
        raise PermissionDenied("Only owners and admins can revoke other members' keys")
    services.revoke_api_key(key, by=membership.user)
    messages.success(request, f"Revoked {key.name}; it stops working immediately.")
    return redirect("api_keys", team_uuid=membership.team.uuid)
