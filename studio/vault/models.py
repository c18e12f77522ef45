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


class ProviderCredential(models.Model):
    """A key for an upstream provider, encrypted at rest (see `studio.vault.crypto`).

    `team` null means an operator-wide credential shared with every team. The secret is
    decrypted only in a cluster worker right before a call; pages and the admin show
    `secret_last4`. The `*_tat` columns are the budgets' state (GCRA "theoretical arrival
    time"): a call may go when its tat is not in the future, and each call pushes it on by
    60 s / the per-minute limit, so the upstream never sees more than its limit.
    """

    PROVIDERS = [
        ("fal", "fal.ai"),
        ("openai", "OpenAI-compatible"),
        ("replicate", "Replicate"),
        ("kolbo", "Kolbo"),
        ("krev", "Krev"),
        # Not a generation provider: the agent's research_ads searches Meta's Ad Library.
        ("meta_ad_library", "Meta Ad Library"),
    ]

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="provider_credentials",
        help_text="Empty: shared by the operator with every team.",
    )
    provider = models.CharField(max_length=20, choices=PROVIDERS)
    label = models.CharField(max_length=100)
    base_url = models.URLField(max_length=300)
    secret_ciphertext = models.TextField(editable=False)
    secret_last4 = models.CharField(max_length=4, editable=False)
    submits_per_minute = models.PositiveIntegerField(default=60)
    polls_per_minute = models.PositiveIntegerField(default=600)
    max_concurrent_jobs = models.PositiveIntegerField(default=20)
    enabled = models.BooleanField(default=True)
    healthy = models.BooleanField(default=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    submit_tat = models.DateTimeField(null=True, blank=True, editable=False)
    poll_tat = models.DateTimeField(null=True, blank=True, editable=False)
    # How many slots each budget has granted: a late call's push counts the slots granted
    # since its own (see generations/budgets.py).
    submit_slots = models.PositiveBigIntegerField(default=0, editable=False)
    poll_slots = models.PositiveBigIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["provider", "label"]
        indexes = [models.Index(fields=["provider", "enabled"], name="cred_provider_enabled")]

    def __str__(self) -> str:
        owner = self.team.name if self.team is not None else "shared"
        return f"{self.get_provider_display()} · {self.label} ({owner}, …{self.secret_last4})"
