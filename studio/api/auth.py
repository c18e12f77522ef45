"""Who is calling: issued API keys for the public API, sessions or access tokens for key management.

Public endpoints declare what they need in one place, their `auth`:

    @router.get("/models", auth=api_key(limit=RateClass.READ), response=...)
    @router.post("/generate/image", auth=api_key("images", limit=RateClass.GENERATION))

`api_key(scope, limit=..., dialect=...)` accepts the key in `X-API-Key` or `Authorization:
Bearer`, then, before the handler runs, checks the scope (403 FORBIDDEN), the member's role
(viewers may only read) and the rate limit (429). Handlers read the caller with
`caller_key(request)` / `caller_team(request)` and the dialect with `caller_dialect(request)`.

Key management (`account_auth`) never accepts an API key: a dashboard session (with CSRF on
unsafe methods) or a short-lived access token from `POST /api/auth/token`.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from django.conf import settings
from django.contrib.auth import authenticate as authenticate_password
from django.core import signing
from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from studio.accounts.models import Membership, Team, User
from studio.api.ratelimit import RateClass, check_subject, client_ip
from studio.errors import Forbidden, InvalidApiKey, InvalidFields, NotFound
from studio.vault import services as keys
from studio.vault.models import ApiKey

Dialect = Literal["kolbo", "krev", "auto"]
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _KeyAuthMixin:
    def __init__(self, scope: str | None, limit: RateClass, dialect: Dialect) -> None:
        self.scope = scope
        self.limit = limit
        self.dialect = dialect
        super().__init__()

    def check_key(self, request: HttpRequest, raw: str | None, via: str) -> ApiKey | None:
        if not raw:
            return None
        key = keys.authenticate(raw)
        authorize(
            key,
            self.scope,
            method=request.method or "GET",
            limit=self.limit,
            ip=client_ip(request),
        )
        request.studio_dialect = (  # type: ignore[attr-defined]
            self.dialect if self.dialect != "auto" else ("kolbo" if via == "header" else "krev")
        )
        return key


def authorize(key: ApiKey, scope: str | None, *, method: str, limit: RateClass, ip: str) -> None:
    """What an authenticated key may do, for every way in (REST endpoints, MCP tools).

    The scope (403 FORBIDDEN), the member's role (viewers may only read: a call that is not
    a safe method is refused) and the rate limit (429), in that order, before any work.
    """
    if not key.allows(scope, method=method):
        raise Forbidden(f"This API key lacks the '{scope}' scope")
    if method not in _SAFE_METHODS and keys.key_role(key) == "viewer":
        raise Forbidden("The key's owner is a viewer in this team and may only read")
    check_subject(limit, ip=ip, team=key.team, user_id=key.user_id)


class ApiKeyHeaderAuth(_KeyAuthMixin, APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return self.check_key(request, key, "header")


class ApiKeyBearerAuth(_KeyAuthMixin, HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return self.check_key(request, token, "bearer")


def api_key(
    scope: str | None = None,
    *,
    limit: RateClass = RateClass.READ,
    dialect: Dialect = "auto",
) -> list[AuthBase]:
    """The `auth=` of a public endpoint: key in either header, `scope`, rate class, dialect.

    `scope=None` means any valid key (models, voices). `dialect="auto"` picks Kolbo for
    `X-API-Key` and Krev for `Authorization: Bearer` (the one shared path, `POST /chat`);
    Krev-only paths pass `dialect="krev"` so errors such as INSUFFICIENT_CREDITS get
    Krev's status (402).
    """
    return [ApiKeyHeaderAuth(scope, limit, dialect), ApiKeyBearerAuth(scope, limit, dialect)]


def caller_key(request: HttpRequest) -> ApiKey:
    key = getattr(request, "auth", None)
    assert isinstance(key, ApiKey), "endpoint is not protected by api_key()"
    return key


def caller_team(request: HttpRequest) -> Team:
    return caller_key(request).team


def caller_dialect(request: HttpRequest) -> str:
    return getattr(request, "studio_dialect", "kolbo")


# --- Access tokens and dashboard sessions (key management only) ------------------------------

_TOKEN_SALT = "studio.api.access-token"  # noqa: S105 - a namespace, not a secret


def issue_access_token(email: str, password: str, request: HttpRequest) -> str:
    user = authenticate_password(request, username=email, password=password)
    if user is None or not user.is_active:
        raise InvalidApiKey("Wrong email or password")
    assert isinstance(user, User)
    # The session hash changes with the password, so a password change ends every token.
    return signing.dumps(
        {"u": user.pk, "h": user.get_session_auth_hash()[:20]}, salt=_TOKEN_SALT, compress=True
    )


def user_from_access_token(token: str) -> User:
    try:
        payload = signing.loads(
            token, salt=_TOKEN_SALT, max_age=settings.STUDIO_ACCESS_TOKEN_SECONDS
        )
    except signing.SignatureExpired:
        raise InvalidApiKey("The access token has expired; request a new one") from None
    except signing.BadSignature:
        raise InvalidApiKey("Invalid access token") from None
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None or user.get_session_auth_hash()[:20] != payload.get("h"):
        raise InvalidApiKey("Invalid access token")
    return user


class AccessTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if keys.looks_like_api_key(token.strip()):
            raise InvalidApiKey(
                "API keys cannot manage keys; use a dashboard session or an access token "
                "from POST /api/auth/token"
            )
        return user_from_access_token(token.strip())


class DashboardSessionAuth(AuthBase):
    """The signed-in dashboard user; unsafe methods must carry the CSRF token."""

    openapi_type = "apiKey"
    openapi_in = "cookie"
    openapi_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in _SAFE_METHODS and check_csrf(request) is not None:
            raise Forbidden("CSRF check failed: send the X-CSRFToken header of the dashboard")
        return user


account_auth: list[AuthBase] = [AccessTokenAuth(), DashboardSessionAuth()]


def acting_membership(request: HttpRequest, team_id: str | None = None) -> Membership:
    """The team a session or token call acts on: `X-Team-Id`/`team_id`, else the last team."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    wanted = team_id or request.headers.get("X-Team-Id") or request.GET.get("team_id")
    memberships = Membership.objects.select_related("team", "team__plan").filter(user=user)
    if wanted:
        try:
            membership = memberships.filter(team__uuid=UUID(str(wanted))).first()
        except ValueError:
            raise InvalidFields("'team_id' must be a team UUID") from None
    elif user.last_team_id:
        membership = memberships.filter(team_id=user.last_team_id).first()
        membership = membership or memberships.order_by("team__name").first()
    else:
        membership = memberships.order_by("team__name").first()
    if membership is None:
        raise NotFound("No such team")
    return membership
