"""Generations and the model registry.

The registry (`AIModel`, `Voice`) is data: seeded by migrations, edited in the admin. Each
public model identifier maps to a provider, the upstream's own model id, the generation
types it does, its allowed parameter values and its price.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class GenerationType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    VIDEO_FROM_IMAGE = "video_from_image", "Video from image"
    MUSIC = "music", "Music"
    SPEECH = "speech", "Speech"
    SOUND = "sound", "Sound effect"
    CHAT = "chat", "Chat"
    IMAGE_EDIT = "image_edit", "Image edit"
    # Parent jobs: they plan and start child generations (see `Generation.parent`).
    CREATIVE_DIRECTOR = "creative_director", "Creative director"
    AD = "ad", "Ad"


# Parent-job types are done by no model of their own: their children use image/video models.
PARENT_TYPES = frozenset({GenerationType.CREATIVE_DIRECTOR, GenerationType.AD})
MODEL_TYPES = frozenset(GenerationType.values) - PARENT_TYPES


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
    PER_1K_TOKENS = "per_1k_tokens", "Per 1K tokens in and out (chat)"


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
    # Chat models (pricing unit per_1k_tokens): credits per 1K prompt and answer tokens.
    input_token_rate = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, help_text="Credits per 1K input tokens."
    )
    output_token_rate = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, help_text="Credits per 1K output tokens."
    )
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


class GenerationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SUBMITTING = "submitting", "Submitting"
    RUNNING = "running", "Running"
    COLLECTING = "collecting", "Collecting"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATES = [
    GenerationState.QUEUED,
    GenerationState.SUBMITTING,
    GenerationState.RUNNING,
    GenerationState.COLLECTING,
]
TERMINAL_STATES = [GenerationState.SUCCEEDED, GenerationState.FAILED, GenerationState.CANCELLED]


class Source(models.TextChoices):
    DASHBOARD = "dashboard", "Dashboard"
    API = "api", "API"


class Generation(models.Model):
    """One paid job. Its state only moves by conditional UPDATEs in `generations.engine`."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="generations")
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.DASHBOARD)
    # A child generation of a parent job (a creative director's scene, an ad's image): the
    # parent plans, starts its children and finishes when they are terminal.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    # The public id of the API key that started it (kept even if the key is deleted).
    api_key_id = models.UUIDField(null=True, blank=True)
    type = models.CharField(max_length=20, choices=GenerationType.choices)
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="generations")
    # Snapshots: the registry may change after the job was accepted.
    model_identifier = models.CharField(max_length=120)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict)
    state = models.CharField(
        max_length=12, choices=GenerationState.choices, default=GenerationState.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)
    upstream_handle = models.JSONField(default=dict, blank=True)
    # The upstream account the job runs on (its polls and cancel must use the same one).
    credential = models.ForeignKey(
        "vault.ProviderCredential",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generations",
    )
    price = models.JSONField(default=dict, help_text="How the cost was computed, for receipts.")
    credits_charged = models.PositiveIntegerField(default=0)
    credits_refunded = models.PositiveIntegerField(default=0)
    result_meta = models.JSONField(default=dict, blank=True)  # e.g. music title, lyrics
    error = models.TextField(blank=True)
    failure = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # A claimed submit a worker handed to the async runner (generations/runner.py): what the
    # worker prepared for the call ({"inputs": {name: path}, "prompt": str}); `runner` names
    # the runner that took it, blank until one does (the sweeper re-queues an untaken one).
    handoff = models.JSONField(null=True, blank=True)
    runner = models.CharField(max_length=120, blank=True)
    deadline_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The whole ordering, tie-breaker included: pages read it without sorting.
            models.Index(fields=["team", "-created_at", "-id"], name="gen_team_recent"),
            models.Index(fields=["team", "state"], name="gen_team_state"),
            models.Index(fields=["state", "next_poll_at"], name="gen_due_polls"),
            models.Index(fields=["state", "lease_until"], name="gen_expired_leases"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="gen_idempotency_key_per_team",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="gen_progress_lte_100"),
            models.CheckConstraint(
                condition=Q(credits_refunded__lte=F("credits_charged")),
                name="gen_refund_within_charge",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.uuid}"

    @property
    def ledger_cause(self) -> str:
        return f"generation:{self.uuid}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_finished(self) -> bool:
        return self.state in TERMINAL_STATES


def asset_upload_to(asset: Asset, filename: str) -> str:
    return f"generations/{asset.generation.team.uuid}/{asset.generation.uuid}/{filename}"


class AssetKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"


class AssetRole(models.TextChoices):
    OUTPUT = "output", "Output"
    # An ad image without its text layer: kept so the copy can be re-set without a new
    # render; not one of the generation's results (pages and API answers list outputs).
    PLAIN = "plain", "Without text (for re-editing)"


class StoredAssets(models.Manager["Asset"]):
    """Assets whose files are stored: a pending row (its bytes charged, its upload not yet
    finished; see generations/assets.py `store_output`) is nobody's to show or link."""

    def get_queryset(self) -> models.QuerySet[Asset]:
        return super().get_queryset().filter(pending=False)


class Asset(models.Model):
    """One output file of a generation, stored in Studio's own storage."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="assets")
    index = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=AssetKind.choices)
    role = models.CharField(max_length=10, choices=AssetRole.choices, default=AssetRole.OUTPUT)
    file = models.FileField(upload_to=asset_upload_to, max_length=300)
    mime_type = models.CharField(max_length=60)
    size_bytes = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)
    thumbnail = models.FileField(upload_to=asset_upload_to, max_length=300, blank=True)
    thumbnail_size_bytes = models.PositiveBigIntegerField(default=0)
    # Content safety (studio/safety.py): the image's NSFW score (0-1; None when not scored)
    # and whether it was over the team's threshold (its preview is then blurred or flagged).
    safety_score = models.FloatField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    # Charged for, upload not finished: the row holds the charge until the files are stored
    # (a crashed collect re-driven reuses it; a failure or delete releases it once).
    pending = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    all_objects = models.Manager()  # pending rows included: only assets.py needs them
    objects = StoredAssets()

    class Meta:
        default_manager_name = "objects"  # related managers (`generation.assets`) hide pending
        ordering = ["generation", "index"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "index"], name="asset_once_per_index")
        ]

    def __str__(self) -> str:
        return f"{self.generation_id}#{self.index}"

    @property
    def stored_bytes(self) -> int:
        return self.size_bytes + self.thumbnail_size_bytes


class SafetyAction(models.TextChoices):
    FLAG = "flag", "Flag the result"
    BLUR = "blur", "Flag it and blur the preview"
    REFUSE = "refuse", "Refuse it (the job fails and is refunded)"


class SafetyPolicy(models.Model):
    """An admin's override of the content-safety settings for one team."""

    team = models.OneToOneField(
        "accounts.Team", on_delete=models.CASCADE, related_name="safety_policy"
    )
    threshold = models.FloatField(
        null=True, blank=True, help_text="0-1; empty: STUDIO_SAFETY_THRESHOLD."
    )
    action = models.CharField(
        max_length=10,
        choices=SafetyAction.choices,
        blank=True,
        help_text="Empty: STUDIO_SAFETY_ACTION.",
    )

    class Meta:
        verbose_name_plural = "safety policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(threshold__isnull=True) | Q(threshold__gte=0, threshold__lte=1),
                name="safety_threshold_0_to_1",
            )
        ]

    def __str__(self) -> str:
        return f"Safety policy of {self.team}"


class Lease(models.Model):
    """A named lock with an expiry, held by one process at a time (dispatcher, sweeper)."""

    name = models.CharField(max_length=60, unique=True)
    holder = models.CharField(max_length=120, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Last time a holder took or renewed it; kept on release, so /healthz can tell a
    # dispatcher that runs every minute from one that stopped.
    renewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


# Chat's and agent runs' tables live in their own rooms but belong to this app (Django finds
# models here).
from generations.agent.models import AgentRun, AgentStep  # noqa: E402, F401
from generations.chat.models import ChatConversation, ChatMessage, ChatRole  # noqa: E402, F401
