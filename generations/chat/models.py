"""Conversations and their messages. Imported by generations/models.py (app `generations`).

A user message and the assistant message answering it are written when the message is
accepted, in the transaction that charges it; the assistant message points at its
Generation (type "chat"), whose uuid is the public `message_id`. The answer (content,
reasoning, tokens, cost) is written once, when the generation succeeds; while it runs or
after it failed, the assistant message's status is read from its generation (one source of
truth, no second state to keep in step).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class ChatConversation(models.Model):
    # The public `session_id`.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="chat_conversations"
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=120, blank=True)
    system_prompt = models.TextField(blank=True)
    # The model of the latest message (a conversation may switch models between turns).
    model = models.ForeignKey(
        "generations.AIModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    project_id = models.CharField(max_length=120, blank=True)
    # A stateless `POST /chat` (`messages`) is stored as a hidden conversation of one turn.
    stateless = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_activity = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_activity", "-id"]
        indexes = [
            models.Index(
                fields=["team", "stateless", "-last_activity"], name="chat_conv_team_recent"
            )
        ]

    def __str__(self) -> str:
        return self.title or str(self.uuid)


class ChatRole(models.TextChoices):
    SYSTEM = "system", "System"
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"


class ChatMessage(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(
        ChatConversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=ChatRole.choices)
    content = models.TextField(blank=True)
    reasoning_content = models.TextField(blank=True)
    # Images the user attached (user messages) or media an answer produced (assistant).
    media_urls = models.JSONField(default=list, blank=True)
    model = models.ForeignKey(
        "generations.AIModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model_identifier = models.CharField(max_length=120, blank=True)
    # The answering generation (assistant messages); its uuid is the public message_id.
    generation = models.OneToOneField(
        "generations.Generation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_message",
    )
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    credits = models.PositiveIntegerField(default=0, help_text="What the answer cost, settled.")
    # Written with the answer ("completed"); otherwise see `ChatMessage.state`.
    status = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["conversation", "created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="chat_msg_order")]

    def __str__(self) -> str:
        return f"{self.role} {self.uuid}"
