"""Key management APIs: Kolbo's /api/api-keys, Krev's /api/v1/keys, and /api/auth/token.

These are authenticated by a dashboard session (cookie + CSRF) or by an access token from
`POST /api/auth/token`, never by an API key (`account_auth`). They act on the caller's
last team, or the team named by the `X-Team-Id` header / `team_id` query parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from studio.accounts import throttle
from studio.accounts.models import Membership
from studio.api.auth import account_auth, acting_membership, issue_access_token
from studio.api.ratelimit import RateClass, check
from studio.api.schemas import KrevListResponse, KrevResponse, errors, krev, krev_list
from studio.errors import Forbidden, NotFound
from studio.vault import services
from studio.vault.models import ApiKey

# --- Access tokens ----------------------------------------------------------------------------

token_router = Router(tags=["Key management"])


class TokenIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=4096)


class TokenOut(Schema):
    success: Literal[True] = True
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_in: int


@token_router.post(
    "/token",
    auth=None,
    response={200: TokenOut, **errors(400, 401, 429)},
    summary="Exchange email and password for a short-lived access token",
)
def create_token(request: HttpRequest, payload: TokenIn) -> dict:
    check(RateClass.AUTH, request, team=None, user_id=None)
    throttle.sign_in_attempt(request, payload.email)
    token = issue_access_token(payload.email, payload.password, request)
    return {
        "success": True,
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.STUDIO_ACCESS_TOKEN_SECONDS,
    }


def _key_for(membership: Membership, key_id: str) -> ApiKey:
    try:
        key_uuid = UUID(key_id)
    except ValueError:
        raise NotFound("API key not found") from None
    key = ApiKey.objects.filter(team_id=membership.team_id, uuid=key_uuid).first()
    if key is None:
        raise NotFound("API key not found")
    return key


def _revoke(membership: Membership, key: ApiKey) -> None:
    if not services.can_revoke(membership, key):
        raise Forbidden("Only owners and admins can revoke other members' keys")
    services.revoke_api_key(key, by=membership.user)


def _team_keys(membership: Membership):
    return ApiKey.objects.filter(team_id=membership.team_id)


# --- Kolbo: /api/api-keys ---------------------------------------------------------------------

kolbo_keys_router = Router(tags=["Key management"], auth=account_auth)


Permission = Literal["read", "write"]
ALL_PERMISSIONS: tuple[Permission, ...] = ("read", "write")


class KolboKeyIn(Schema):
    name: str = Field(max_length=100)
    permissions: list[Permission] = Field(
        default_factory=lambda: list(ALL_PERMISSIONS), min_length=1
    )
    expiresInDays: int = Field(365, ge=1, le=services.MAX_EXPIRY_DAYS)


class KolboKey(Schema):
    id: str
    keyPrefix: str
    last4: str
    name: str
    permissions: list[str]
    createdAt: datetime
    expiresAt: datetime | None
    lastUsedAt: datetime | None
    revokedAt: datetime | None
    status: str


class KolboKeyCreated(Schema):
    success: Literal[True] = True
    status: Literal[True] = True
    data: KolboKey
    fullKey: str
    message: str


class KolboKeyOut(Schema):
    success: Literal[True] = True
    status: Literal[True] = True
    data: KolboKey


class KolboKeyList(Schema):
    success: Literal[True] = True
    status: Literal[True] = True
    data: list[KolboKey]
    count: int


class KolboMessage(Schema):
    success: Literal[True] = True
    status: Literal[True] = True
    message: str


def kolbo_key(key: ApiKey) -> dict:
    return {
        "id": str(key.uuid),
        "keyPrefix": key.prefix,
        "last4": key.last4,
        "name": key.name,
        "permissions": key.permissions,
        "createdAt": key.created_at,
        "expiresAt": key.expires_at,
        "lastUsedAt": key.last_used_at,
        "revokedAt": key.revoked_at,
        "status": key.status,
    }


def _kolbo(**fields: object) -> dict:
    return {"success": True, "status": True, **fields}


@kolbo_keys_router.post(
    "",
    response={201: KolboKeyCreated, **errors(400, 401, 403, 404, 409)},
    summary="Create an API key (Kolbo shape); the full key is returned only here",
)
def kolbo_create_key(request: HttpRequest, payload: KolboKeyIn):
    membership = acting_membership(request)
    issued = services.create_api_key(
        membership.team,
        membership.user,
        payload.name,
        scopes=services.scopes_from_permissions(list(payload.permissions)),
        expires_in_days=payload.expiresInDays,
    )
    return Status(
        201,
        _kolbo(
            data=kolbo_key(issued.key),
            fullKey=issued.full_key,
            message="API key created. Save the fullKey now: it will not be shown again.",
        ),
    )


@kolbo_keys_router.get("", response={200: KolboKeyList, **errors(400, 401, 404)})
def kolbo_list_keys(request: HttpRequest) -> dict:
    rows = [kolbo_key(k) for k in _team_keys(acting_membership(request))]
    return _kolbo(data=rows, count=len(rows))


@kolbo_keys_router.get("/{key_id}", response={200: KolboKeyOut, **errors(400, 401, 404)})
def kolbo_get_key(request: HttpRequest, key_id: str) -> dict:
    return _kolbo(data=kolbo_key(_key_for(acting_membership(request), key_id)))


@kolbo_keys_router.delete("/{key_id}", response={200: KolboMessage, **errors(400, 401, 403, 404)})
def kolbo_revoke_key(request: HttpRequest, key_id: str) -> dict:
    membership = acting_membership(request)
    _revoke(membership, _key_for(membership, key_id))
    return _kolbo(message="API key revoked")


# --- Krev: /api/v1/keys -----------------------------------------------------------------------

krev_keys_router = Router(tags=["Key management"], auth=account_auth)

ScopeName = Literal[
    "read",
    "images",
    "videos",
    "products",
    "credits",
    "ads",
    "conversions",
    "chat",
    "music",
    "speech",
    "sound",
    "visual_dna",
    "moodboards",
]


class KrevKeyIn(Schema):
    name: str = Field(max_length=100)
    scopes: list[ScopeName] | None = Field(None, min_length=1, description="Default: all scopes")
    expires_in_days: int | None = Field(None, ge=1, le=services.MAX_EXPIRY_DAYS)


class KrevKey(Schema):
    id: str
    name: str
    key_prefix: str
    last4: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    status: str


class KrevKeyCreated(KrevKey):
    key: str = Field(description="The full key; shown only in this response")


class KrevRevoked(Schema):
    id: str
    revoked: bool


def krev_key(key: ApiKey) -> dict:
    return {
        "id": str(key.uuid),
        "name": key.name,
        "key_prefix": key.prefix,
        "last4": key.last4,
        "scopes": key.scopes,
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "status": key.status,
    }


@krev_keys_router.post(
    "/keys",
    response={201: KrevResponse[KrevKeyCreated], **errors(400, 401, 403, 404, 409)},
    summary="Create an API key (Krev shape); the full key is returned only here",
)
def krev_create_key(request: HttpRequest, payload: KrevKeyIn):
    membership = acting_membership(request)
    issued = services.create_api_key(
        membership.team,
        membership.user,
        payload.name,
        scopes=list(payload.scopes) if payload.scopes is not None else None,
        expires_in_days=payload.expires_in_days,
    )
    return Status(201, krev({**krev_key(issued.key), "key": issued.full_key}))


@krev_keys_router.get("/keys", response={200: KrevListResponse[KrevKey], **errors(400, 401, 404)})
def krev_list_keys(request: HttpRequest) -> dict:
    return krev_list([krev_key(k) for k in _team_keys(acting_membership(request))])


@krev_keys_router.delete(
    "/keys", response={200: KrevResponse[KrevRevoked], **errors(400, 401, 403, 404)}
)
def krev_revoke_key(request: HttpRequest, id: str) -> dict:
    membership = acting_membership(request)
    key = _key_for(membership, id)
    _revoke(membership, key)
    return krev({"id": str(key.uuid), "revoked": True})
