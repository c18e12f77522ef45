"""Project-level tables: the API's fixed-window rate counters, the audit of admin actions."""

from __future__ import annotations

from django.db import models


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


class AdminAudit(models.Model):
    """One change an operator made in the admin: who, to what, the old and the new value.

    Written in the same transaction as the change (`studio.audit.record`); append-only.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)  # kept if the user goes
    action = models.CharField(max_length=60)  # "change", "cancel and refund", "grant credits"…
    target_type = models.CharField(max_length=100)  # "generations.aimodel"
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200)
    field = models.CharField(max_length=100, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "admin audit entry"
        verbose_name_plural = "admin audit"
        indexes = [models.Index(fields=["target_type", "target_id"], name="adminaudit_target")]

    def __str__(self) -> str:
        return f"{self.actor_email} {self.action} {self.target_repr}"
