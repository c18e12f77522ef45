"""The API keys page (create, shown once; list; revoke) and the upstream providers page.

Providers: every member sees the team's credentials and the shared ones (never a secret,
only its last four characters); owners and admins add, test, disable, enable and delete the
team's own. Shared credentials are managed by the operator (`add_credential --shared`, admin).
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from studio.accounts.access import get_membership, team_object
from studio.accounts.models import Membership
from studio.errors import StudioError, form_field
from studio.vault import credentials, services
from studio.vault.forms import ApiKeyForm, ProviderCredentialForm
from studio.vault.models import ApiKey, ProviderCredential

# After a key is created the browser is redirected (a reload never re-posts) and the new key
# rides along once in a short-lived signed cookie, scoped to this page: it is the user's own
# secret, so it may pass through their browser, but never through the database or the logs.
_ISSUED_KEY_COOKIE = "studio_new_api_key"
_ISSUED_KEY_SALT = "studio.vault.issued-key"
_ISSUED_KEY_SECONDS = 120


def _issued_key_cookie_path(membership: Membership) -> str:
    return reverse("api_keys", args=[membership.team.uuid])


def _read_issued_key(request: HttpRequest, membership: Membership) -> services.IssuedKey | None:
    value = request.get_signed_cookie(
        _ISSUED_KEY_COOKIE, default=None, salt=_ISSUED_KEY_SALT, max_age=_ISSUED_KEY_SECONDS
    )
    if not value or ":" not in value:
        return None
    key_uuid, full_key = value.split(":", 1)
    key = ApiKey.objects.filter(team=membership.team, uuid=key_uuid).first()
    return services.IssuedKey(key=key, full_key=full_key) if key else None


@never_cache  # the response may hold a full key: no-store, never in any cache
@login_required
def api_keys(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    form = ApiKeyForm(request.POST or None)
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
                field = form_field(exc, form.fields, {"expiresInDays": "expires_in_days"})
                form.add_error(field, exc.message)
            else:
                created = redirect("api_keys", team_uuid=membership.team.uuid)
                created.set_signed_cookie(
                    _ISSUED_KEY_COOKIE,
                    f"{issued.key.uuid}:{issued.full_key}",
                    salt=_ISSUED_KEY_SALT,
                    max_age=_ISSUED_KEY_SECONDS,
                    path=_issued_key_cookie_path(membership),
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Strict",
                )
                return created
    keys = ApiKey.objects.filter(team=membership.team).select_related("user")
    context = {
        "team": membership.team,
        "membership": membership,
        "form": form,
        "issued": _read_issued_key(request, membership) if request.method == "GET" else None,
        "rows": [(key, services.can_revoke(membership, key)) for key in keys],
        "docs_url": reverse("api:openapi-view"),
        "openapi_url": reverse("api:openapi-json"),
        "api_base": request.build_absolute_uri("/api/v1"),
    }
    response = render(request, "vault/api_keys.html", context)
    if _ISSUED_KEY_COOKIE in request.COOKIES:  # shown once: the next load shows nothing
        response.delete_cookie(
            _ISSUED_KEY_COOKIE, path=_issued_key_cookie_path(membership), samesite="Strict"
        )
    return response


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


def _providers_context(membership: Membership, form: ProviderCredentialForm) -> dict[str, object]:
    rows = list(credentials.visible_credentials(membership.team))
    return {
        "team": membership.team,
        "membership": membership,
        "form": form,
        "own": [c for c in rows if c.team_id is not None],
        "shared": [c for c in rows if c.team_id is None],
        "unhealthy": [c for c in rows if c.enabled and not c.healthy],
        "can_manage": membership.can_manage,
    }


@never_cache
@login_required
def provider_credentials(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, manage=request.method == "POST")
    form = ProviderCredentialForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            credential = credentials.create_credential(
                membership.team,
                data["provider"],
                data["label"],
                data["base_url"],
                data["secret"],
                submits_per_minute=data["submits_per_minute"],
                polls_per_minute=data["polls_per_minute"],
                max_concurrent_jobs=data["max_concurrent_jobs"],
                user=membership.user,
            )
        except StudioError as exc:
            form.add_error(form_field(exc, form.fields), exc.message)
        else:
            messages.success(
                request,
                f"Added {credential.label} (…{credential.secret_last4}). "
                "Test the connection to check it works.",
            )
            return redirect("provider_credentials", team_uuid=membership.team.uuid)
    return render(request, "vault/provider_credentials.html", _providers_context(membership, form))


def _own_credential(membership: Membership, credential_uuid: UUID) -> ProviderCredential:
    """One of the team's own credentials; shared ones are the operator's (404 here)."""
    return team_object(ProviderCredential.objects.all(), membership.team, uuid=credential_uuid)


def _after_change(
    request: HttpRequest,
    membership: Membership,
    credential: ProviderCredential,
    **extra: object,
) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        context = {
            "team": membership.team,
            "c": credential,
            "can_manage": membership.can_manage,
            **extra,
        }
        return render(request, "vault/provider_credentials.html#credential-row", context)
    return redirect("provider_credentials", team_uuid=membership.team.uuid)


@require_POST
@login_required
def provider_credential_test(
    request: HttpRequest, team_uuid: UUID, credential_uuid: UUID
) -> HttpResponse:
    membership = get_membership(request, team_uuid, manage=True)
    credential = _own_credential(membership, credential_uuid)
    result = credentials.test_connection(credential)
    if not request.htmx:  # type: ignore[attr-defined]
        if result.ok:
            messages.success(request, f"{credential.label}: {result.message}")
        else:
            messages.error(request, f"{credential.label}: {result.message}")
    return _after_change(request, membership, credential, test_result=result)


@require_POST
@login_required
def provider_credential_toggle(
    request: HttpRequest, team_uuid: UUID, credential_uuid: UUID, enabled: bool
) -> HttpResponse:
    membership = get_membership(request, team_uuid, manage=True)
    credential = _own_credential(membership, credential_uuid)
    if enabled:
        credentials.enable_credential(credential)
        done = f"Enabled {credential.label}."
    else:
        credentials.disable_credential(credential)
        done = f"Disabled {credential.label}; new work will not use it."
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, done)
    return _after_change(request, membership, credential)


@require_POST
@login_required
def provider_credential_delete(
    request: HttpRequest, team_uuid: UUID, credential_uuid: UUID
) -> HttpResponse:
    membership = get_membership(request, team_uuid, manage=True)
    credential = _own_credential(membership, credential_uuid)
    label = credential.label
    credentials.delete_credential(credential)
    messages.success(request, f"Deleted {label}.")
    return redirect("provider_credentials", team_uuid=membership.team.uuid)
