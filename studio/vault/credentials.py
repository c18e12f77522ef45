"""Upstream provider credentials: the only code that changes `ProviderCredential` rows.

Secrets go in through `create_credential`/`set_secret` and come out only through
`decrypt_for_worker` (and `to_upstream`, which wraps it), called in a cluster worker right
before an upstream call. Nothing here logs a secret or stores one in an error message;
`last_error` is scrubbed of the secret before it is saved.

The engine uses three functions:

- `available_credentials(team, provider)`: enabled, healthy credentials the team may use,
  its own before the operator's shared ones;
- `to_upstream(credential)`: the decrypted `UpstreamCredential` an adapter takes;
- `mark_unhealthy(credential, message)`: after an auth failure; the first call tells the
  team's owners and admins (or staff, for a shared credential) by email and the dashboard.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from studio.accounts.models import Membership, Role, Team, User
from studio.errors import InvalidFields
from studio.upstream import CredentialCheckFailed, UpstreamCredential, check_credential
from studio.vault import crypto
from studio.vault.crypto import VaultError
from studio.vault.models import ProviderCredential

log = logging.getLogger(__name__)

PROVIDERS = dict(ProviderCredential.PROVIDERS)
# What the add form suggests for each provider's base URL.
DEFAULT_BASE_URLS = {
    "fal": "https://queue.fal.run",
    "openai": "https://api.openai.com/v1",
    "replicate": "https://api.replicate.com/v1",
    "kolbo": "https://api.kolbo.ai",
    "krev": "https://app.krev.ai",
    # Informational: Ad Library searches go to the operator's STUDIO_META_GRAPH_URL.
    "meta_ad_library": "https://graph.facebook.com",
}
MIN_SECRET_CHARS = 8
MAX_SECRET_CHARS = 4096
_ERROR_CHARS = ProviderCredential._meta.get_field("last_error").max_length or 500


# --- validation ---------------------------------------------------------------------------


def clean_provider(provider: str) -> str:
    provider = (provider or "").strip().lower()
    if provider not in PROVIDERS:
        raise InvalidFields(
            f"Unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}", field="provider"
        )
    return provider


def clean_base_url(base_url: str, *, team: Team | None = None) -> str:
    """An absolute http(s) URL without credentials, query or fragment; no trailing slash.

    A team's own credential must point at a public address: team admins are not operators,
    and Studio's workers would otherwise call (and download from) the operator's internal
    network for them. Shared credentials, set by the operator, may point anywhere, and
    STUDIO_ALLOW_PRIVATE_UPSTREAMS lifts the rule where team admins are trusted.
    """
    url = (base_url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise InvalidFields("Base URL is not a valid URL", field="base_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidFields(
            "Base URL must start with http:// or https:// and name a host", field="base_url"
        )
    if parts.username or parts.password:
        raise InvalidFields(
            "Base URL must not contain a user name or password; use the secret", field="base_url"
        )
    if parts.query or parts.fragment:
        raise InvalidFields("Base URL must not have a query string or fragment", field="base_url")
    if port is not None and not 0 < port < 65536:
        raise InvalidFields("Base URL has an invalid port", field="base_url")
    if len(url) > 300:
        raise InvalidFields("Base URL is longer than 300 characters", field="base_url")
    if team is not None and not settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS:
        from studio.http import BlockedAddress, check_public

        try:
            check_public(url)
        except BlockedAddress:
            raise InvalidFields(
                "Base URL points to a private address; only an operator can add such a "
                "provider (as a shared credential)",
                field="base_url",
            ) from None
    return url.rstrip("/")


def clean_secret(secret: str) -> str:
    secret = (secret or "").strip()
    if not secret:
        raise InvalidFields("The secret is empty", field="secret")
    if len(secret) < MIN_SECRET_CHARS:
        raise InvalidFields(
            f"The secret is shorter than {MIN_SECRET_CHARS} characters", field="secret"
        )
    if len(secret) > MAX_SECRET_CHARS:
        raise InvalidFields(
            f"The secret is longer than {MAX_SECRET_CHARS} characters", field="secret"
        )
    if any(ch in secret for ch in "\r\n\x00"):
        raise InvalidFields("The secret must be one line", field="secret")
    return secret


def _clean_limit(name: str, value: int, *, maximum: int, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
        raise InvalidFields(f"{name} must be a whole number from 1 to {maximum}", field=field)
    return value


def redact(message: str, secret: str | None) -> str:
    """`message` without the secret (nor its longer fragments), cut to fit `last_error`."""
    text = str(message)
    if secret:
        text = text.replace(secret, "[secret]")
        # Adapters may echo a header like "Bearer abc…": drop any long run of the secret too.
        if len(secret) >= 16:
            for start in range(0, len(secret) - 12):
                text = text.replace(secret[start : start + 12], "[secret]")
    return text[:_ERROR_CHARS]


# --- creating and changing ----------------------------------------------------------------


def create_credential(
    team: Team | None,
    provider: str,
    label: str,
    base_url: str,
    secret: str,
    *,
    submits_per_minute: int = 60,
    polls_per_minute: int = 600,
    max_concurrent_jobs: int = 20,
    enabled: bool = True,
    user: User | None = None,
) -> ProviderCredential:
    """A new credential for `team` (None: shared with every team), its secret encrypted."""
    provider = clean_provider(provider)
    label = (label or "").strip() or PROVIDERS[provider]
    if len(label) > 100:
        raise InvalidFields("Label is longer than 100 characters", field="label")
    credential = ProviderCredential(
        team=team,
        provider=provider,
        label=label,
        base_url=clean_base_url(base_url, team=team),
        submits_per_minute=_clean_limit(
            "Submits per minute",
            submits_per_minute,
            maximum=100_000,
            field="submits_per_minute",
        ),
        polls_per_minute=_clean_limit(
            "Polls per minute", polls_per_minute, maximum=1_000_000, field="polls_per_minute"
        ),
        max_concurrent_jobs=_clean_limit(
            "Concurrent jobs", max_concurrent_jobs, maximum=100_000, field="max_concurrent_jobs"
        ),
        enabled=enabled,
        created_by=user,
    )
    secret = clean_secret(secret)
    # The uuid exists before the row does, so the ciphertext can be bound to it now.
    credential.secret_ciphertext = crypto.encrypt(secret, row=credential.uuid)
    credential.secret_last4 = secret[-4:]
    credential.save()
    log.info(
        "Added %s credential %s (%s) for %s",
        provider,
        credential.uuid,
        credential.label,
        team.name if team else "every team (shared)",
    )
    return credential


def set_secret(credential: ProviderCredential, secret: str, *, user: User | None = None) -> None:
    """Replace the credential's secret (the upstream rotated it); its health is unknown again."""
    secret = clean_secret(secret)
    credential.secret_ciphertext = crypto.encrypt(secret, row=credential.uuid)
    credential.secret_last4 = secret[-4:]
    credential.healthy = True
    credential.last_error = ""
    credential.last_checked_at = None
    credential.save(
        update_fields=[
            "secret_ciphertext",
            "secret_last4",
            "healthy",
            "last_error",
            "last_checked_at",
        ]
    )
    log.info("Replaced the secret of credential %s (by %s)", credential.uuid, user or "the system")


rotate_secret = set_secret


def update_limits(
    credential: ProviderCredential,
    *,
    submits_per_minute: int,
    polls_per_minute: int,
    max_concurrent_jobs: int,
) -> None:
    credential.submits_per_minute = _clean_limit(
        "Submits per minute", submits_per_minute, maximum=100_000, field="submits_per_minute"
    )
    credential.polls_per_minute = _clean_limit(
        "Polls per minute", polls_per_minute, maximum=1_000_000, field="polls_per_minute"
    )
    credential.max_concurrent_jobs = _clean_limit(
        "Concurrent jobs", max_concurrent_jobs, maximum=100_000, field="max_concurrent_jobs"
    )
    credential.save(update_fields=["submits_per_minute", "polls_per_minute", "max_concurrent_jobs"])


def disable_credential(credential: ProviderCredential) -> None:
    credential.enabled = False
    credential.save(update_fields=["enabled"])
    log.info("Disabled credential %s", credential.uuid)


def enable_credential(credential: ProviderCredential) -> None:
    credential.enabled = True
    credential.save(update_fields=["enabled"])
    log.info("Enabled credential %s", credential.uuid)


def delete_credential(credential: ProviderCredential) -> None:
    """Delete the credential; generations keep running history (their FK is set to null)."""
    log.info("Deleting credential %s (%s)", credential.uuid, credential.label)
    credential.delete()


# --- using ----------------------------------------------------------------------------------


def decrypt_for_worker(credential: ProviderCredential) -> str:
    """The plaintext secret. Call only in a cluster worker, right before an upstream call.

    Raises VaultError (never returns the ciphertext) when the secret cannot be decrypted.
    """
    return crypto.decrypt(credential.secret_ciphertext, row=credential.uuid)


def to_upstream(credential: ProviderCredential) -> UpstreamCredential:
    """What an adapter takes: id, provider, base URL and the decrypted secret (worker only)."""
    return UpstreamCredential(
        id=credential.pk,
        provider=credential.provider,
        base_url=credential.base_url,
        secret=decrypt_for_worker(credential),
    )


def visible_credentials(team: Team) -> QuerySet[ProviderCredential]:
    """The team's own credentials and the shared ones, own first (what its pages list)."""
    return (
        ProviderCredential.objects.filter(Q(team=team) | Q(team__isnull=True))
        .select_related("team")
        .order_by(F("team_id").asc(nulls_last=True), "provider", "label", "id")
    )


def available_credentials(team: Team | int, provider: str) -> QuerySet[ProviderCredential]:
    """Enabled, healthy credentials for `provider` that `team` may use: its own, then shared.

    `team` is a Team or its primary key. A queryset, so the engine may narrow it further
    (e.g. `select_for_update(skip_locked=True)` or exclude saturated credentials).
    """
    team_id = team.pk if isinstance(team, Team) else team
    return ProviderCredential.objects.filter(
        Q(team_id=team_id) | Q(team__isnull=True),
        provider=provider,
        enabled=True,
        healthy=True,
    ).order_by(F("team_id").asc(nulls_last=True), "id")


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str


def test_connection(credential: ProviderCredential) -> ConnectionResult:
    """One cheap authenticated upstream call through the provider's adapter; records health.

    A failure is stored in `last_error` (scrubbed of the secret) and marks the credential
    unhealthy, which notifies admins the first time; a success marks it healthy again.
    """
    try:
        upstream = to_upstream(credential)
    except VaultError as exc:
        log.error("Cannot decrypt credential %s: %s", credential.uuid, exc)
        mark_unhealthy(credential, f"Cannot decrypt the stored secret: {exc}")
        return ConnectionResult(False, credential.last_error)
    try:
        if credential.provider == "meta_ad_library":
            from studio.integrations.ad_library import check_token

            check_token(upstream.secret)
        else:
            check_credential(upstream)
    except CredentialCheckFailed as exc:
        message = redact(str(exc) or "The upstream refused the credential", upstream.secret)
    except LookupError:
        message = f"No adapter is installed for {credential.provider}"
    except Exception as exc:  # an adapter bug or a network error must not crash the page
        message = redact(f"{type(exc).__name__}: {exc}", upstream.secret)
        log.warning("Testing credential %s failed: %s", credential.uuid, message)
    else:
        mark_healthy(credential)
        log.info("Credential %s passed its connection test", credential.uuid)
        return ConnectionResult(True, "Connected: the upstream accepted the credential.")
    mark_unhealthy(credential, message)
    return ConnectionResult(False, credential.last_error)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def mark_healthy(credential: ProviderCredential) -> None:
    credential.healthy = True
    credential.last_error = ""
    credential.last_checked_at = timezone.now()
    credential.save(update_fields=["healthy", "last_error", "last_checked_at"])


def mark_unhealthy(credential: ProviderCredential, message: str) -> None:
    """Record an auth failure: unhealthy, with the error; tell admins once per failure.

    Safe to call from many workers at once: only the call that flips `healthy` from true
    to false sends the notice. `message` must not contain the secret; it is also scrubbed
    here when the secret can be decrypted.
    """
    try:
        secret: str | None = decrypt_for_worker(credential)
    except VaultError:
        secret = None
    error = redact(message or "The upstream rejected the credential", secret) or "Unhealthy"
    del secret
    now = timezone.now()
    flipped = ProviderCredential.objects.filter(pk=credential.pk, healthy=True).update(
        healthy=False, last_error=error, last_checked_at=now
    )
    if not flipped:
        ProviderCredential.objects.filter(pk=credential.pk).update(
            last_error=error, last_checked_at=now
        )
    credential.healthy = False
    credential.last_error = error
    credential.last_checked_at = now
    log.warning(
        "Credential %s (%s, %s) marked unhealthy: %s",
        credential.uuid,
        credential.provider,
        credential.label,
        error,
    )
    if flipped:
        pk = credential.pk
        transaction.on_commit(lambda: notify_unhealthy(pk))


def admins_to_notify(credential: ProviderCredential) -> list[str]:
    """Email addresses of the team's owners and admins, or of staff for a shared credential."""
    if credential.team_id is None:
        users = User.objects.filter(is_staff=True, is_active=True)
    else:
        users = User.objects.filter(
            is_active=True,
            pk__in=Membership.objects.filter(
                team_id=credential.team_id, role__in=[Role.OWNER, Role.ADMIN]
            ).values("user_id"),
        )
    return sorted({email for email in users.values_list("email", flat=True) if email})


def notify_unhealthy(credential_id: int) -> None:
    """Email the people who can fix an unhealthy credential (best effort, never raises)."""
    credential = ProviderCredential.objects.select_related("team").filter(pk=credential_id).first()
    if credential is None or credential.healthy:
        return
    recipients = admins_to_notify(credential)
    if not recipients:
        return
    if credential.team is not None:
        where = credential.team.name
        page = settings.BASE_URL + reverse("provider_credentials", args=[credential.team.uuid])
    else:
        where = "every team (shared credential)"
        page = settings.BASE_URL + reverse("admin:vault_providercredential_changelist")
    send_mail(
        subject=(
            f"[{settings.STUDIO_SITE_NAME}] {credential.get_provider_display()} credential "
            f"“{credential.label}” stopped working"
        ),
        message=(
            f"The {credential.get_provider_display()} credential “{credential.label}” "
            f"(…{credential.secret_last4}) used by {where} was rejected by the upstream and "
            "is no longer used for new work.\n\n"
            f"Error: {credential.last_error}\n\n"
            f"Replace the secret or test it again here: {page}\n"
        ),
        from_email=None,
        recipient_list=recipients,
        fail_silently=True,
    )


def unhealthy_credentials(team: Team) -> list[ProviderCredential]:
    """Enabled credentials the team relies on that have failed: what the page's banner lists."""
    return list(visible_credentials(team).filter(enabled=True, healthy=False))
