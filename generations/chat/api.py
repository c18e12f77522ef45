"""Kolbo's chat endpoints (the contract's "Chat (Kolbo)"), mounted at /api/v1 with the
generations routers.

`POST /chat` is claimed by both services: with `X-API-Key` it is Kolbo's chat (stateless
`messages`, answered inline within the wait bound, or the session form, answered at once
with a message id to poll); with `Authorization: Bearer` it is Krev's agent run
(generations/agent/api.py: 202 with the run to poll).
Chat paths answer INSUFFICIENT_CREDITS with 402 and unknown chat models with INVALID_MODEL.
"""

from __future__ import annotations

from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from generations import notify
from generations.agent import api as agent_api
from generations.chat import presenters, services
from generations.models import TERMINAL_STATES, Generation, GenerationState, Source
from studio.accounts.models import Team
from studio.api.auth import api_key, caller_dialect, caller_key, caller_team
from studio.api.ratelimit import RateClass
from studio.api.schemas import errors, with_errors
from studio.errors import GenerationError, InsufficientCredits

router = Router(tags=["Chat (Kolbo)"])


class Turn(Schema):
    role: Literal["system", "user", "assistant"]
    content: str = Field(..., max_length=services.MAX_MESSAGE_CHARS)


class ChatIn(Schema):
    """Either `message` (session form) or `messages` (stateless form)."""

    model_config = ConfigDict(extra="allow")

    message: str | None = Field(
        None, max_length=services.MAX_MESSAGE_CHARS, description="Session form: the message"
    )
    messages: list[Turn] | None = Field(
        None, description="Stateless form: the whole conversation, the user's message last"
    )
    model: str | None = Field(None, description="A chat model identifier; omit for Smart Select")
    session_id: str | None = Field(None, description="Continue this conversation")
    system_prompt: str | None = Field(
        None,
        max_length=services.MAX_SYSTEM_PROMPT_CHARS,
        description="New conversations only (ignored with session_id)",
    )
    enhance_prompt: bool | None = None
    web_search: bool | None = Field(None, description="Only models that declare web search")
    deep_think: bool | None = Field(None, description="Higher reasoning effort where supported")
    media_urls: list[str] | None = Field(None, description="Image URLs for a vision model")
    project_id: str | None = Field(None, max_length=120)
    max_tokens: int | None = Field(None, description="Most answer tokens (default a setting)")
    webhook_url: str | None = Field(None, description="POSTed (signed) when the answer is done")
    # Krev's async chat (Authorization: Bearer): an agent run.
    conversation_id: str | None = Field(None, description="Krev: continue this conversation")
    product_ids: list[str] | None = Field(None, description="Krev: products as context")
    reference_images: list[str] | None = Field(None, description="Krev: reference image URLs")
    agent: str | None = Field(None, description='Krev: "auto" (default), "asset" or "discover"')


KREV_FIELDS = ("conversation_id", "product_ids", "reference_images", "agent")


class SessionOut(Schema):
    success: Literal[True] = True
    message_id: str
    session_id: str
    type: Literal["chat"]
    model: str
    credits_charged: int
    poll_url: str
    poll_interval_hint: int


class InlineOut(Schema):
    success: Literal[True] = True
    content: str
    model: str
    credits_used: int


class QueuedOut(Schema):
    success: Literal[True] = True
    message_id: str
    poll_url: str
    poll_interval_hint: int


def _start(request: HttpRequest, raw: dict[str, Any]) -> services.ChatStarted:
    key = caller_key(request)
    try:
        return services.start_message(
            key.team,
            key.user,
            raw,
            source=Source.API,
            api_key_id=key.uuid,
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
    except InsufficientCredits as exc:
        raise InsufficientCredits(exc.message, status=402) from None  # chat paths (docs): 402


def _raw(payload: ChatIn) -> dict[str, Any]:
    raw = payload.dict(exclude_none=True)
    for name in list(raw):
        if name not in ChatIn.model_fields or name in KREV_FIELDS:
            raw.pop(name)  # unknown fields are ignored, as the docs' clients send extras
    return raw


def _reload(generation: Generation) -> Generation:
    return Generation.objects.get(pk=generation.pk)


async def _stateless(request: HttpRequest, raw: dict[str, Any]) -> Status:
    started = await sync_to_async(_start)(request, raw)
    generation = started.generation
    if generation.state not in TERMINAL_STATES and settings.STUDIO_INLINE_WAIT_SECONDS > 0:
        await notify.wait_for_finish(generation.pk, settings.STUDIO_INLINE_WAIT_SECONDS)
    generation = await sync_to_async(_reload)(generation)
    if generation.state == GenerationState.SUCCEEDED:
        content, _ = services.partial_text(generation)
        return Status(
            200,
            {
                "success": True,
                "content": content,
                "model": generation.model_identifier,
                "credits_used": generation.credits_charged - generation.credits_refunded,
            },
        )
    if generation.state in TERMINAL_STATES:  # failed or cancelled, and refunded
        raise GenerationError(
            f"The chat model could not answer: {generation.error or 'it failed'}. "
            f"Your {generation.credits_refunded} credits were refunded."
        )
    return Status(
        202,
        {
            "success": True,
            "message_id": str(generation.uuid),
            "poll_url": f"/api/v1/generate/{generation.uuid}/status",
            "poll_interval_hint": 2,
        },
    )


@router.post(
    "/chat",
    auth=api_key("chat", limit=RateClass.GENERATION, dialect="auto"),
    response={
        200: SessionOut | InlineOut,
        202: QueuedOut | agent_api.RunQueuedOut,
        **errors(400, 401, 402, 403, 404, 409, 413, 429, 500),
    },
    summary="Send a chat message (session form) or a whole conversation (stateless form)",
)
async def chat(request: HttpRequest, payload: ChatIn) -> Any:
    if caller_dialect(request) == "krev":  # Krev's async chat: an agent run
        body = await sync_to_async(agent_api.start)(request, payload.dict(exclude_none=True))
        return Status(202, body)
    raw = _raw(payload)
    if "messages" in raw:
        return await _stateless(request, raw)
    started = await sync_to_async(_start)(request, raw)
    return Status(200, presenters.start(started))


@router.post(
    "/chat/conversations",
    auth=api_key("chat", limit=RateClass.GENERATION, dialect="kolbo"),
    response={200: SessionOut, **errors(400, 401, 402, 403, 404, 409, 413, 429)},
    summary="Send a chat message (the docs' path for the session form)",
)
def chat_conversations_post(request: HttpRequest, payload: ChatIn) -> dict[str, Any]:
    raw = _raw(payload)
    raw.pop("messages", None)
    return presenters.start(_start(request, raw))


class Page(Schema):
    page: int = Field(1, ge=1, le=100_000)
    limit: int = Field(20, ge=1, le=50)


class MessagePage(Schema):
    page: int = Field(1, ge=1, le=100_000)
    limit: int = Field(50, ge=1, le=100)


class ConversationOut(Schema):
    session_id: str
    name: str
    last_activity: str | None
    created_at: str | None


class Pagination(Schema):
    page: int
    limit: int
    total: int
    pages: int


class ConversationsOut(Schema):
    success: Literal[True] = True
    conversations: list[ConversationOut]
    pagination: Pagination


class MessageModel(Schema):
    identifier: str
    name: str
    provider: str


class MessageOut(Schema):
    message_id: str
    role: str
    content: str
    status: str
    created_at: str | None
    model: MessageModel
    image_url: str | None = None
    video_url: str | None = None
    audio_url: str | None = None


class MessagesOut(Schema):
    success: Literal[True] = True
    session_id: str
    messages: list[MessageOut]
    pagination: Pagination


@router.get(
    "/chat/conversations",
    auth=api_key(limit=RateClass.READ, dialect="kolbo"),
    response=with_errors(ConversationsOut),
    summary="List your conversations, latest activity first",
)
def list_conversations(request: HttpRequest, query: Query[Page]) -> dict[str, Any]:
    return conversations_page(caller_team(request), query.page, query.limit)


def conversations_page(team: Team, page: int, limit: int) -> dict[str, Any]:
    rows = services.conversations(team)
    total = rows.count()
    start = (page - 1) * limit
    return {
        "success": True,
        "conversations": [presenters.conversation(c) for c in rows[start : start + limit]],
        "pagination": presenters.pagination(page, limit, total),
    }


@router.get(
    "/chat/conversations/{session_id}/messages",
    auth=api_key(limit=RateClass.READ, dialect="kolbo"),
    response=with_errors(MessagesOut, 404),
    summary="A conversation's messages, oldest first",
    exclude_none=True,
)
def list_messages(request: HttpRequest, session_id: str, query: Query[MessagePage]) -> dict:
    return messages_page(caller_team(request), session_id, query.page, query.limit)


def messages_page(team: Team, session_id: Any, page: int, limit: int) -> dict[str, Any]:
    conversation = services.team_conversation(team, session_id)
    rows = services.messages(conversation).select_related("model")
    total = rows.count()
    start = (page - 1) * limit
    return {
        "success": True,
        "session_id": str(conversation.uuid),
        "messages": [presenters.message(m) for m in rows[start : start + limit]],
        "pagination": presenters.pagination(page, limit, total),
    }
