"""Generations and the model registry.

The registry (`AIModel`, `Voice`) is data: seeded by migrations, edited in the admin. Each
public model identifier maps to a provider, the upstream's own model id, the generation
types it does, its allowed parameter values and its price.
"""

from __future__ import annotations

from django.db import models


class GenerationType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    VIDEO_FROM_IMAGE = "video_from_image", "Video from image"
    MUSIC = "music", "Music"
    SPEECH = "speech", "Speech"
    SOUND = "sound", "Sound effect"
    CHAT = "chat", "Chat"


class Provider(models.TextChoices):
    LOCAL = "local", "Offline engine"
    FAL = "fal", "fal.ai"
    OPENAI = "openai", "OpenAI-compatible"
    REPLICATE = "replicate", "Replicate"
    KOLBO = "kolbo", "Kolbo"
    KREV = "krev", "Krev"


class PricingUnit(models.TextChoices):
    PER_IMAGE = "per_image", "Per image"
    PER_SECOND = "per_second", "Per second of output"
    PER_100_CHARS = "per_100_chars", "Per 100 characters of text"
    FLAT = "flat", "Flat per generation"


class AIModel(models.Model):
    identifier = models.CharField(
        max_length=120, unique=True, help_text="Public identifier clients pass as `model`."
    )
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    upstream_model = models.CharField(
        max_length=200, blank=True, help_text="The upstream's own model id or path."
    )
    types = models.JSONField(default=list, help_text='Generation types, e.g. ["image"].')
    pricing_unit = models.CharField(max_length=20, choices=PricingUnit.choices)
    credit = models.PositiveIntegerField(help_text="Credits per pricing unit.")
    supported_aspect_ratios = models.JSONField(default=list, blank=True)
    supported_durations = models.JSONField(
        default=list, blank=True, help_text="Allowed durations in seconds; empty means any."
    )
    max_reference_images = models.PositiveSmallIntegerField(default=0)
    # Extra per-model parameter rules (e.g. {"max_duration": 30, "styles": [...]}).
    params = models.JSONField(default=dict, blank=True)
    recommended = models.BooleanField(default=False)
    new_model = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = "model"
        indexes = [models.Index(fields=["enabled", "provider"], name="aimodel_enabled_provider")]

    def __str__(self) -> str:
        return self.identifier

    def does(self, generation_type: str) -> bool:
        return generation_type in (self.types or [])


class Voice(models.Model):
    voice_id = models.CharField(max_length=120)
    name = models.CharField(max_length=120)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    language = models.CharField(max_length=60)
    language_code = models.CharField(max_length=20)
    gender = models.CharField(max_length=20, blank=True)
    accent = models.CharField(max_length=60, blank=True)
    preview_url = models.URLField(blank=True)
    styles = models.JSONField(default=list, blank=True)
    custom = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider", "language_code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "voice_id"], name="voice_unique_per_provider"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.voice_id})"
