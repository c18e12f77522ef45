"""Issued API keys.

A key is shown once, at creation; the database keeps only a lookup string (the first hex
characters of the secret, indexed), a keyed hash of the whole key (HMAC-SHA256 with
`STUDIO_API_KEY_PEPPER`, not `SECRET_KEY`, so a leaked database or a leaked secret key alone
cannot verify guesses offline) and the last four characters for people to recognise it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Krev's scope list, extended with Studio's other kinds of work. `read` is Kolbo's
# read permission: GET on everything, whatever the endpoint's own scope.
SCOPES = [
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
READ = "read"
SCOPE_CHOICES = [(READ, "Read everything (GET)")] + [(s, s.replace("_", " ")) for s in SCOPES]


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        )


class ApiKey(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="api_keys")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="Who created the key; the key acts as this member of the team.",
    )
    name = models.CharField(max_length=100)
    # e.g. "studio_live_3f9a0c1e": what pages show; the hex part is the lookup.
    prefix = models.CharField(max_length=60)
    lookup = models.CharField(max_length=16, db_index=True)
    hashed_key = models.CharField(max_length=64)
    last4 = models.CharField(max_length=4)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        indexes = [models.Index(fields=["user", "revoked_at"], name="apikey_user_revoked")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…{self.last4})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"

    def allows(self, scope: str | None, *, method: str) -> bool:
        """Whether the key may call an endpoint needing `scope` with HTTP `method`."""
        if scope is None:
            return True
        if method in ("GET", "HEAD") and READ in self.scopes:
            return True
        return scope in self.scopes

    @property
    def permissions(self) -> list[str]:
        """Kolbo's view of the scopes: `read` and, with every scope, `write`."""
        granted = set(self.scopes)
        perms = []
        if READ in granted or granted >= set(SCOPES):
            perms.append("read")
        if granted >= set(SCOPES):
            perms.append("write")
        return perms


class RateCounter(models.Model):
    """A fixed-window request counter, used when the cache cannot increment atomically.

    One row per limited subject (a user, an IP); the upsert in `studio.api.ratelimit`
    resets `hits` when the window moves on, so rows never pile up per minute.
    """

    subject = models.CharField(max_length=200, unique=True)
    window = models.BigIntegerField(help_text="Minutes since the epoch.")
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "rate-limit counter"

    def __str__(self) -> str:
        return f"{self.subject}: {self.hits} in minute {self.window}"
