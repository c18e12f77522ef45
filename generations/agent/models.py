"""Agent runs (Krev's async chat): a run answers one user message of a conversation with
language-model turns and tool calls, each a short step on the cluster.

A run's steps are rows: the transcript (user, assistant and tool messages) is read from
them, and a tool call's row is written (its intent, with an idempotency key) before the
tool runs, so a re-driven step finds it and never starts a paid call twice: a paid call is
an ordinary Generation started with that key, which replays the first one.
"""

from __future__ import annotations

import uuid as uuid_lib

from django.db import models
from django.utils import timezone


class AgentMode(models.TextChoices):
    AUTO = "auto", "Auto"
    ASSET = "asset", "Asset (creative)"
    DISCOVER = "discover", "Discover (research)"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.PROCESSING)


class AgentRun(models.Model):
    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    job_id = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="agent_runs")
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, default="api")
    api_key_id = models.UUIDField(null=True, blank=True)
    # A retried start with the same Idempotency-Key answers with this run.
    idempotency_key = models.CharField(max_length=255, blank=True)
    conversation = models.ForeignKey(
        "generations.ChatConversation", on_delete=models.CASCADE, related_name="agent_runs"
    )
    user_message = models.ForeignKey(
        "generations.ChatMessage", on_delete=models.CASCADE, related_name="+"
    )
    assistant_message = models.ForeignKey(
        "generations.ChatMessage", on_delete=models.CASCADE, related_name="+"
    )
    agent = models.CharField(max_length=10, choices=AgentMode.choices, default=AgentMode.AUTO)
    # `auto` resolved at start (asset or discover).
    mode = models.CharField(max_length=10, choices=AgentMode.choices, default=AgentMode.ASSET)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    # "model" (an upstream chat model calls the tools) or "rules" (the offline planner).
    planner = models.CharField(max_length=10, blank=True)
    model_identifier = models.CharField(max_length=120, blank=True)
    # {product_ids, reference_images} from the request, products found on the way.
    context = models.JSONField(default=dict, blank=True)
    # The rules planner's plan, or the model's conversation (OpenAI message dicts).
    plan = models.JSONField(default=list, blank=True)
    model_messages = models.JSONField(default=list, blank=True)
    steps_taken = models.PositiveIntegerField(default=0)
    turns_taken = models.PositiveIntegerField(default=0)
    token_credits = models.PositiveIntegerField(default=0)
    # Limits fixed at start (settings, raised by the team's plan).
    max_steps = models.PositiveIntegerField(default=12)
    max_credits = models.PositiveIntegerField(default=2000)
    deadline_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    final_text = models.TextField(blank=True)
    error = models.TextField(blank=True)
    webhook = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "lease_until"], name="agent_run_active"),
            models.Index(fields=["team", "idempotency_key"], name="agent_run_idempotency"),
        ]

    def __str__(self) -> str:
        return f"agent run {self.uuid}"


class StepRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    TOOL = "tool", "Tool"


class AgentStep(models.Model):
    """One transcript entry; a tool call's row is its intent until `done`."""

    uuid = models.UUIDField(default=uuid_lib.uuid4, unique=True, editable=False)
    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=StepRole.choices)
    content = models.TextField(blank=True)
    tool_name = models.CharField(max_length=60, blank=True)
    tool_call_id = models.CharField(max_length=120, blank=True)
    arguments = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # Paid calls: the generation started under `idempotency_key`.
    idempotency_key = models.CharField(max_length=200, blank=True)
    generation = models.ForeignKey(
        "generations.Generation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agent_steps",
    )
    done = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="agent_step_order"),
        ]

    def __str__(self) -> str:
        return f"{self.role} step {self.index} of {self.run_id}"
