"""Outbound integrations: webhook endpoints, Meta pixels, and the deliveries made to both.

A `Delivery` is one message and its whole chain of attempts (one row, updated per attempt):
what a person reads in the delivery log and what the cluster retries.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

EVENT_TYPES = [
    "generation.completed",
    "generation.failed",
    "generation.cancelled",
    "chat.run.completed",
    "creative_director.completed",
    "product.analysed",
]


class Dialect(models.TextChoices):
    KOLBO = "kolbo", "Kolbo (fields at the top level)"
    KREV = "krev", "Krev (wrapped in data)"


class WebhookEndpoint(models.Model):
    """A team's receiver of events, or (`for_job_urls`) the team's secret that signs the
    deliveries to a `webhook_url` given with one start."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000, blank=True)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    dialect = models.CharField(max_length=8, choices=Dialect.choices, default=Dialect.KOLBO)
    for_job_urls = models.BooleanField(default=False)
    # The `whsec_` secret, encrypted by the vault and bound to this row; shown once.
    secret_encrypted = models.TextField()
    secret_last4 = models.CharField(max_length=4)
    # After a rotation the old secret signs too, until this moment.
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team"], condition=Q(for_job_urls=True), name="one_job_url_secret_per_team"
            )
        ]

    def __str__(self) -> str:
        return self.url or "per-job webhook_url secret"


class MetaPixel(models.Model):
    """A team's connected Meta pixel (one per team)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.OneToOneField(
        "accounts.Team", on_delete=models.CASCADE, related_name="meta_pixel"
    )
    pixel_id = models.CharField(max_length=32)
    access_token_encrypted = models.TextField()
    token_last4 = models.CharField(max_length=4)
    test_event_code = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"pixel {self.pixel_id}"


class DeliveryKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    META = "meta", "Meta conversions"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=8, choices=DeliveryKind.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pixel = models.ForeignKey(
        MetaPixel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    url = models.CharField(max_length=2000)
    event_type = models.CharField(max_length=60)
    # The receiver's idempotency key: `webhook-id` (the same on every attempt).
    message_id = models.CharField(max_length=60)
    payload = models.BinaryField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=8)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # An attempt in flight holds the row until then; a worker killed mid-attempt lets it go.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["team", "-created_at", "-id"], name="delivery_team_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.url}"


class MetaEventSent(models.Model):
    """One (pixel, event_name, event_id) forwarded to Meta: a repeat within 48 h is answered
    from `delivery` and not sent again."""

    pixel = models.ForeignKey(MetaPixel, on_delete=models.CASCADE, related_name="+")
    event_name = models.CharField(max_length=100)
    event_id = models.CharField(max_length=200)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pixel", "event_name", "event_id"], name="meta_event_once_per_pixel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id}"
