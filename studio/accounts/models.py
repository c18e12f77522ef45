"""Users, teams, roles, plans and the credit ledger.

Credits live in three buckets cached on the team (plan, pack, redemption). Every change to
a bucket is an append-only `LedgerEntry` written in the same transaction; the cached
balances are guarded by CHECK constraints and the ledger by partial unique constraints so
that a cause (a generation, a redemption, a plan period) is debited, refunded or granted at
most once, whatever the application code does.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # The team the dashboard opens on; any team the user belongs to.
    last_team = models.ForeignKey(
        "Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []  # type: ignore[misc]  # email is the username field

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        # Sign-in looks addresses up case-insensitively, so two accounts differing only in
        # case would make that lookup ambiguous; forms (the admin's too) store them lowercase
        # and their uniqueness check then catches the duplicate.
        super().clean()
        self.email = self.email.strip().lower()

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.display_name


class Plan(models.Model):
    """What a team pays for: a monthly credit allowance, storage, and rate limits."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    monthly_credits = models.PositiveIntegerField(default=0)
    storage_limit_bytes = models.PositiveBigIntegerField(default=1024**3)
    # Per-minute request limits; null means "use the site default from the contract".
    generation_rate_limit = models.PositiveIntegerField(null=True, blank=True)
    read_rate_limit = models.PositiveIntegerField(null=True, blank=True)
    poll_rate_limit = models.PositiveIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["monthly_credits", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_plan"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="teams")
    # Cached bucket balances; the ledger is the truth (see reconcile_credits).
    plan_credits = models.BigIntegerField(default=0)
    pack_credits = models.BigIntegerField(default=0)
    redemption_credits = models.BigIntegerField(default=0)
    plan_period_start = models.DateTimeField(default=timezone.now)
    plan_renews_at = models.DateTimeField()
    storage_used_bytes = models.BigIntegerField(default=0)
    # Per-team overrides of the plan's rate limits (null: the plan decides).
    generation_rate_limit = models.PositiveIntegerField(null=True, blank=True)
    read_rate_limit = models.PositiveIntegerField(null=True, blank=True)
    poll_rate_limit = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(plan_credits__gte=0), name="team_plan_credits_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(pack_credits__gte=0), name="team_pack_credits_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(redemption_credits__gte=0), name="team_redemption_credits_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(storage_used_bytes__gte=0), name="team_storage_used_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def total_credits(self) -> int:
        return self.plan_credits + self.pack_credits + self.redemption_credits


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_user_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role != Role.VIEWER

    @property
    def can_manage(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)


def _invitation_token() -> str:  # the default of 0001's clear-text column
    return secrets.token_urlsafe(32)


def hash_invitation_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class Invitation(models.Model):
    """A copyable join link; the token is the secret, so it is long and single-use.

    Only its SHA-256 is stored (a database dump yields no working link): the token itself
    is in the link, known to the instance that created it (`token`) and to whoever
    presents it (`services.find_usable_invitation`)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    # The link's secret: set on a new invitation (and on one found by its token), never stored.
    token = ""

    def __str__(self) -> str:
        return f"Invitation to {self.team} ({self.email or 'link'})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.token_hash:
            self.token = secrets.token_urlsafe(32)
            self.token_hash = hash_invitation_token(self.token)
        super().save(*args, **kwargs)

    @property
    def is_usable(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )

    @staticmethod
    def default_expiry(days: int) -> datetime:
        return timezone.now() + timedelta(days=days)


class LedgerKind(models.TextChoices):
    GRANT = "grant", "Grant"
    PLAN_RESET = "plan_reset", "Plan reset"
    DEBIT = "debit", "Debit"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Adjustment"
    REDEMPTION = "redemption", "Redemption"


class Bucket(models.TextChoices):
    PLAN = "plan", "Plan credits"
    PACK = "pack", "Credit pack"
    REDEMPTION = "redemption", "Redemption"


class LedgerEntry(models.Model):
    """One append-only change to a team's credits, split per bucket, tied to its cause.

    `cause` is a stable string such as ``generation:<uuid>``; for debits, refunds, plan
    resets and redemptions it is unique per kind, which is what makes "charged once,
    refunded once" a database fact rather than a hope.
    """

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    plan_delta = models.BigIntegerField(default=0)
    pack_delta = models.BigIntegerField(default=0)
    redemption_delta = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(help_text="Sum of the bucket deltas; negative for debits.")
    balance_after = models.BigIntegerField(help_text="Team total right after this entry.")
    cause = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        # The whole ordering, tie-breaker included: the ledger's pages read it without sorting.
        indexes = [models.Index(fields=["team", "-created_at", "-id"], name="ledger_team_recent")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "cause"],
                condition=Q(kind__in=["debit", "refund", "plan_reset", "redemption"]),
                name="ledger_once_per_cause",
            ),
            models.CheckConstraint(
                condition=Q(amount=F("plan_delta") + F("pack_delta") + F("redemption_delta")),
                name="ledger_amount_is_sum_of_deltas",
            ),
            models.CheckConstraint(
                condition=~Q(kind="debit") | Q(amount__lte=0), name="ledger_debit_not_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind="refund") | Q(amount__gte=0), name="ledger_refund_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+d} ({self.team})"


def _redemption_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


class RedemptionCode(models.Model):
    """A code an admin creates and a team redeems for credits in the redemption bucket."""

    code = models.CharField(max_length=40, unique=True, default=_redemption_code)
    credits = models.PositiveIntegerField()
    max_redemptions = models.PositiveIntegerField(
        default=1, help_text="How many teams may redeem it (each team once)."
    )
    redemption_count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(redemption_count__lte=F("max_redemptions")),
                name="redemption_count_within_max",
            )
        ]

    def __str__(self) -> str:
        return self.code


class Redemption(models.Model):
    code = models.ForeignKey(RedemptionCode, on_delete=models.PROTECT, related_name="redemptions")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="redemptions")
    user = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "team"], name="one_redemption_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.code} by {self.team}"
