"""Issuing, revoking and checking API keys: the only code that changes `ApiKey` rows.

Keys look like ``<prefix>_live_<40 hex>``. The first `LOOKUP_CHARS` hex characters are
stored in the clear and indexed, so authentication is one indexed read followed by a
constant-time comparison of HMAC-SHA256(pepper, key) with the stored hash.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from studio.accounts.models import Membership, Role, Team, User
from studio.errors import Conflict, Forbidden, InvalidApiKey, InvalidFields, NotFound
from studio.vault.models import READ, SCOPES, ApiKey

log = logging.getLogger(__name__)

SECRET_HEX = 40
LOOKUP_CHARS = 8
MAX_EXPIRY_DAYS = 730
_KEY_RE = re.compile(r"^(?P<prefix>[A-Za-z0-9]{1,40})_live_(?P<secret>[0-9a-f]{40})$")


def hash_key(full_key: str) -> str:
    pepper = settings.STUDIO_API_KEY_PEPPER.encode()
    return hmac.new(pepper, full_key.encode(), hashlib.sha256).hexdigest()


def looks_like_api_key(value: str) -> bool:
    return bool(_KEY_RE.match(value))


def clean_scopes(scopes: list[str] | None) -> list[str]:
    """Validated, de-duplicated scopes in canonical order; None means every scope."""
    if scopes is None:
        return list(SCOPES)
    unknown = sorted({s for s in scopes if s not in SCOPES and s != READ})
    if unknown:
        raise InvalidFields(
            f"Unknown scope(s) in 'scopes': {', '.join(unknown)}; use {', '.join([READ, *SCOPES])}",
            field="scopes",
        )
    if not scopes:
        raise InvalidFields("'scopes' must name at least one scope", field="scopes")
    wanted = set(scopes)
    return [s for s in [READ, *SCOPES] if s in wanted]


def scopes_from_permissions(permissions: list[str] | None) -> list[str]:
    """Kolbo's permissions: `read` is GET on everything, `write` is every scope."""
    if permissions is None:
        return list(SCOPES)
    unknown = sorted(set(permissions) - {"read", "write"})
    if unknown:
        raise InvalidFields(
            f"Unknown permission(s) in 'permissions': {', '.join(unknown)}; use read, write",
            field="permissions",
        )
    if not permissions:
        raise InvalidFields(
            "'permissions' must name at least one of read, write", field="permissions"
        )
    return list(SCOPES) if "write" in permissions else [READ]


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    full_key: str  # shown once; never stored, logged or returned again


def create_api_key(
    team: Team,
    user: User,
    name: str,
    *,
    scopes: list[str] | None = None,
    expires_in_days: int | None = None,
) -> IssuedKey:
    """Issue a key acting as `user` in `team`. The full key is in the result, and only there."""
    name = (name or "").strip()
    if not name:
        raise InvalidFields("'name' must not be empty", field="name")
    if len(name) > 100:
        raise InvalidFields("'name' must be at most 100 characters", field="name")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise InvalidFields(
            f"'expiresInDays' must be between 1 and {MAX_EXPIRY_DAYS}", field="expiresInDays"
        )
    scopes = clean_scopes(scopes)
    membership = Membership.objects.filter(team=team, user=user).only("role").first()
    if membership is None:
        raise NotFound("No such team")
    if not membership.can_write:
        raise Forbidden("Viewers cannot create API keys")

    secret = secrets.token_hex(SECRET_HEX // 2)
    prefix = f"{settings.STUDIO_API_KEY_PREFIX}_live_"
    full_key = prefix + secret
    now = timezone.now()
    with transaction.atomic():
        # Lock the user's row so two concurrent creations cannot both pass the limit
        # (a no-op on SQLite, where IMMEDIATE transactions already serialise writers).
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        active = ApiKey.objects.active().filter(user=user).count()
        if active >= settings.STUDIO_API_KEYS_PER_USER:
            raise Conflict(
                f"You already have {active} active API keys (the limit is "
                f"{settings.STUDIO_API_KEYS_PER_USER}); revoke one first"
            )
        key = ApiKey.objects.create(
            team=team,
            user=user,
            name=name,
            prefix=prefix + secret[:LOOKUP_CHARS],
            lookup=secret[:LOOKUP_CHARS],
            hashed_key=hash_key(full_key),
            last4=secret[-4:],
            scopes=scopes,
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
    log.info("api key %s created for team %s by user %s", key.uuid, team.pk, user.pk)
    return IssuedKey(key=key, full_key=full_key)


def revoke_api_key(key: ApiKey, *, by: User) -> bool:
    """Revoke `key`; True if this call revoked it (False: it already was)."""
    revoked = (
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        == 1
    )
    key_cache.forget(key.hashed_key)  # at once here; other processes within the cache bound
    if revoked:
        log.info("api key %s revoked by user %s", key.uuid, by.pk)
    key.refresh_from_db(fields=["revoked_at"])
    return revoked


def can_revoke(membership: Membership, key: ApiKey) -> bool:
    """Owners and admins may revoke any key of the team; others only their own."""
    return key.team_id == membership.team_id and (
        membership.can_manage or (key.user_id == membership.user_id and membership.can_write)
    )


class _KeyCache:
    """Recently authenticated keys of this process, by HMAC digest, for a few seconds.

    Every API call authenticates; the lookup was a quarter of a status poll's time. A hit
    hands out a copy of the key, its team, plan and user as they were read at most
    `STUDIO_API_KEY_CACHE_SECONDS` ago, so revoking a key, removing its owner from the
    team or changing their role takes effect within that bound in every process (at once in
    the process that revokes). Expiry is checked on every hit. Balances must be read fresh
    (see `studio.accounts.api`), never from the cached team.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, ApiKey]] = {}

    def get(self, digest: str) -> ApiKey | None:
        ttl = settings.STUDIO_API_KEY_CACHE_SECONDS
        entry = self.entries.get(digest)
        if entry is None or ttl <= 0:
            return None
        read_at, key = entry
        if not 0 <= time.time() - read_at < ttl:  # stale, or the clock went back
            self.entries.pop(digest, None)
            return None
        return _copy_key(key)

    def put(self, digest: str, key: ApiKey) -> None:
        if settings.STUDIO_API_KEY_CACHE_SECONDS <= 0:
            return
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        self.entries[digest] = (time.time(), _copy_key(key))

    def forget(self, digest: str) -> None:
        self.entries.pop(digest, None)

    def clear(self) -> None:
        self.entries.clear()


def _copy_key(key: ApiKey) -> ApiKey:
    # A request may change its objects (a handler refreshes its team's balances): each
    # request gets its own copies, never the cached ones.
    fresh = copy.copy(key)
    fresh.team = copy.copy(key.team)
    if key.team.plan_id is not None:
        fresh.team.plan = copy.copy(key.team.plan)
    fresh.user = copy.copy(key.user)
    return fresh


key_cache = _KeyCache()


def authenticate(raw_key: str) -> ApiKey:
    """The active key `raw_key` names, with its team, plan and user loaded, or InvalidApiKey.

    From this process's key cache when it was read within `STUDIO_API_KEY_CACHE_SECONDS`
    (no query); otherwise one query: the key row joined to its team, plan and user, plus the
    creator's current role in the team (a key stops working when its creator leaves the team).
    """
    raw_key = (raw_key or "").strip()
    match = _KEY_RE.match(raw_key)
    if match is None:
        raise InvalidApiKey()
    digest = hash_key(raw_key)
    cached = key_cache.get(digest)
    if cached is not None:
        if cached.is_expired:
            key_cache.forget(digest)
            raise InvalidApiKey("This API key has expired")
        return cached
    lookup = match.group("secret")[:LOOKUP_CHARS]
    role = Membership.objects.filter(team_id=OuterRef("team_id"), user_id=OuterRef("user_id"))
    candidates = (
        ApiKey.objects.filter(lookup=lookup)
        .order_by()  # no ORDER BY: this is the hot path of every API call
        .select_related("team__plan", "user")
        .annotate(member_role=Subquery(role.values("role")[:1]))
    )
    found = None
    for candidate in candidates:
        if hmac.compare_digest(candidate.hashed_key, digest):
            found = candidate
    if found is None:
        raise InvalidApiKey()
    if found.revoked_at is not None:
        raise InvalidApiKey("This API key has been revoked")
    if found.is_expired:
        raise InvalidApiKey("This API key has expired")
    if not found.user.is_active or found.member_role is None:  # type: ignore[attr-defined]
        raise InvalidApiKey("This API key's owner is no longer a member of the team")
    _touch(found)
    key_cache.put(digest, found)
    return found


def key_role(key: ApiKey) -> str:
    return getattr(key, "member_role", None) or Role.VIEWER


def _touch(key: ApiKey) -> None:
    """Record use, at most once per `STUDIO_API_KEY_TOUCH_SECONDS` (a conditional UPDATE)."""
    now = timezone.now()
    every = timedelta(seconds=settings.STUDIO_API_KEY_TOUCH_SECONDS)
    if key.last_used_at is not None and now - key.last_used_at < every:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - every)
    ).update(last_used_at=now)
    key.last_used_at = now
