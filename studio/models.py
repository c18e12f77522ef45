"""Project-level tables: the API's fixed-window rate counters."""

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
