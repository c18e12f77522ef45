"""Chat use cases: start a message, read and edit conversations, settle a finished answer.

A message is a Generation of type "chat": validated, priced (an estimate of its tokens),
charged and created in one transaction with its conversation rows, then run by the engine
like any job (crash safety, refunds, Idempotency-Key). When the engine has the answer it
calls `settle`, which marks the generation succeeded, refunds the unused part of the
estimate (one refund entry) and writes the answer into the assistant message — exactly once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from generations import engine, notify, pricing, services
from generations.chat import tokens
from generations.models import (
    AIModel,
    ChatConversation,
    ChatMessage,
    ChatRole,
    Generation,
    GenerationState,
    GenerationType,
    PricingUnit,
    Source,
)
from generations.registry import resolve_model
from studio.accounts import credits
from studio.accounts.models import Team, User
from studio.errors import (
    InvalidFields,
    InvalidModel,
    MissingFields,
    ModelNotFound,
    NotFound,
    WrongModelType,
)

log = logging.getLogger(__name__)

S = GenerationState
CHAT = GenerationType.CHAT
MAX_MESSAGE_CHARS = 32000
MAX_SYSTEM_PROMPT_CHARS = 8000
MAX_STATELESS_MESSAGES = 200
MAX_MEDIA_URLS = 4
# What an attached image adds to the prompt (OpenAI's count for a 1024² image, high detail).
IMAGE_TOKENS = 765
TITLE_CHARS = 60
ROLES = (ChatRole.SYSTEM, ChatRole.USER, ChatRole.ASSISTANT)


@dataclass(frozen=True)
class ChatStarted:
    generation: Generation
    conversation: ChatConversation
    replayed: bool  # an Idempotency-Key returned an earlier message


# --- reading the request -----------------------------------------------------------------------


def _text(raw: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = raw.get(name)
    if value is None or (value == "" and not required):
        if required:
            raise MissingFields.of(name)
        return ""
    if not isinstance(value, str):
        raise InvalidFields.about(name, "must be a string")
    if "\x00" in value:
        raise InvalidFields.about(name, "may not contain NUL characters")
    if required and not value.strip():
        raise MissingFields.of(name)
    if len(value) > limit:
        raise InvalidFields.about(name, f"is too long ({len(value)} characters; at most {limit})")
    return value


def _flag(raw: dict[str, Any], name: str, default: bool) -> bool:
    value = raw.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidFields.about(name, "must be true or false")
    return value


def _stateless_messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise InvalidFields.about("messages", "must be a non-empty list of {role, content}")
    if len(value) > MAX_STATELESS_MESSAGES:
        raise InvalidFields.about("messages", f"takes at most {MAX_STATELESS_MESSAGES} messages")
    out = []
    for index, item in enumerate(value):
        name = f"messages[{index}]"
        if not isinstance(item, dict):
            raise InvalidFields.about(name, "must be an object {role, content}")
        role = item.get("role")
        if role not in ROLES:
            raise InvalidFields.about(f"{name}.role", "must be system, user or assistant")
        content = item.get("content")
        if not isinstance(content, str):
            raise InvalidFields.about(f"{name}.content", "must be a string")
        if len(content) > MAX_MESSAGE_CHARS:
            raise InvalidFields.about(f"{name}.content", f"is over {MAX_MESSAGE_CHARS} characters")
        out.append({"role": str(role), "content": content})
    if out[-1]["role"] != ChatRole.USER or not out[-1]["content"].strip():
        raise InvalidFields.about("messages", "must end with the user's message")
    return out


def chat_model(identifier: Any, team: Team) -> AIModel:
    """The chat model a request names (Smart Select without one), or 400 INVALID_MODEL."""
    try:
        return resolve_model(identifier, CHAT, team)
    except (ModelNotFound, WrongModelType) as exc:
        if identifier in (None, "", "auto"):
            from generations.providers import offline_llm

            raise InvalidModel(
                "No chat model is available: install the offline language model "
                f"({offline_llm.INSTALL_COMMAND}) or add an OpenAI-compatible provider "
                "such as Ollama",
                field="model",
            ) from exc
        raise InvalidModel(
            f"Unknown or unavailable chat model: {identifier}", field="model"
        ) from exc


def _fingerprint(model: AIModel, body: dict[str, Any]) -> str:
    data = json.dumps({"type": CHAT, "model": model.identifier, "body": body}, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


def team_conversation(team: Team, session_id: Any) -> ChatConversation:
    """The team's (visible) conversation, or 404 NOT_FOUND, another team's included."""
    try:
        key = UUID(str(session_id))
    except ValueError:
        raise NotFound("Conversation not found") from None
    found = ChatConversation.objects.filter(team=team, uuid=key, stateless=False).first()
    if found is None:
        raise NotFound("Conversation not found")
    return found


def _history(conversation: ChatConversation) -> list[dict[str, str]]:
    """The answered turns of a conversation, oldest first: each user message with its
    completed answer (a question whose answer failed, or is still being written, is left out)."""
    rows = list(
        conversation.messages.filter(role__in=[ChatRole.USER, ChatRole.ASSISTANT])
        .order_by("created_at", "id")
        .values_list("role", "content", "status")
    )
    out: list[dict[str, str]] = []
    for index, (role, content, _) in enumerate(rows):
        if role == ChatRole.USER:
            answer = rows[index + 1] if index + 1 < len(rows) else None
            if answer and answer[0] == ChatRole.ASSISTANT and answer[2] == "completed":
                out.append({"role": role, "content": content})
                out.append({"role": answer[0], "content": answer[1]})
    return out


# --- starting a message ------------------------------------------------------------------------


def start_message(
    team: Team,
    user: User | None,
    raw: dict[str, Any],
    *,
    source: str = Source.DASHBOARD,
    api_key_id: UUID | None = None,
    idempotency_key: str | None = None,
) -> ChatStarted:
    """Validate, price, charge and store one chat message, then enqueue its answer.

    `raw` is Kolbo's session form (`message`, `session_id`, `system_prompt`, `media_urls`,
    `web_search`, `deep_think`, `enhance_prompt`, `project_id`, `max_tokens`, `model`) or the
    stateless form (`messages: [{role, content}]`). Either the team is charged and the message
    exists and will be answered, or nothing changed.
    """
    if not isinstance(raw, dict):
        raise InvalidFields("The request body must be a JSON object")
    stateless = raw.get("messages") is not None
    if stateless:
        given = _stateless_messages(raw["messages"])
        message = given[-1]["content"]
    else:
        message = _text(raw, "message", MAX_MESSAGE_CHARS, required=True)
    model = chat_model(raw.get("model"), team)
    params = model.params or {}
    web_search = _flag(raw, "web_search", False)
    if web_search and not params.get("web_search"):
        raise InvalidFields.about(
            "web_search", f"is not available on {model.identifier}; pick a model with web search"
        )
    deep_think = _flag(raw, "deep_think", False)
    enhance_prompt = _flag(raw, "enhance_prompt", True)
    media = raw.get("media_urls")
    if media in (None, []):
        media = []
    elif not isinstance(media, list) or not all(isinstance(u, str) for u in media):
        raise InvalidFields.about("media_urls", "must be a list of image URLs")
    elif not params.get("vision"):
        raise InvalidFields.about(
            "media_urls", f"{model.identifier} does not read images; pick a vision model"
        )
    if len(media) > MAX_MEDIA_URLS:
        raise InvalidFields.about("media_urls", f"takes at most {MAX_MEDIA_URLS} images")
    project_id = _text(raw, "project_id", 120)
    max_tokens = raw.get("max_tokens")
    limit = tokens.max_output_tokens(model)
    if max_tokens is None:
        max_tokens = tokens.default_max_tokens(model)
    elif isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise InvalidFields.about("max_tokens", "must be an integer")
    elif not 1 <= max_tokens <= limit:
        raise InvalidFields.about("max_tokens", f"must be between 1 and {limit} on this model")

    conversation: ChatConversation | None = None
    if stateless:
        system = [m for m in given[:-1] if m["role"] == ChatRole.SYSTEM]
        history = [m for m in given[:-1] if m["role"] != ChatRole.SYSTEM]
        system_prompt = "\n\n".join(m["content"] for m in system)
    else:
        session_id = raw.get("session_id")
        if session_id not in (None, ""):
            conversation = team_conversation(team, session_id)
            system_prompt = conversation.system_prompt  # the request's is ignored (docs)
        else:
            system_prompt = _text(raw, "system_prompt", MAX_SYSTEM_PROMPT_CHARS)
        system = [{"role": "system", "content": system_prompt}] if system_prompt else []
        history = _history(conversation) if conversation else []

    body = {
        k: raw.get(k)
        for k in (
            "messages", "message", "session_id", "system_prompt", "web_search", "deep_think",
            "enhance_prompt", "media_urls", "project_id", "max_tokens",
        )
    }  # fmt: skip
    fingerprint = _fingerprint(model, body)
    key = services.clean_idempotency_key(idempotency_key)
    if key:
        earlier = services.replay(team, key, fingerprint)
        if earlier is not None:
            return _replayed(earlier)

    current = {"role": "user", "content": message}
    budget = tokens.context_tokens(model) - max_tokens - IMAGE_TOKENS * len(media)
    if tokens.count_messages([*system, current]) > budget:
        raise InvalidFields.about(
            "message",
            f"is too long for {model.identifier}'s context window "
            f"({tokens.context_tokens(model)} tokens, {max_tokens} kept for the answer)",
        )
    sent = tokens.fit_to_window(system, history, current, budget)
    prompt_tokens = tokens.count_messages(sent) + IMAGE_TOKENS * len(media)
    media = [services.checked_image_url(u.strip(), team, "media_urls") for u in media]
    webhook = (
        services.job_webhook(team, raw["webhook_url"], "kolbo") if raw.get("webhook_url") else None
    )
    validated: dict[str, Any] = {
        "messages": sent,
        "max_tokens": max_tokens,
        "prompt_tokens": prompt_tokens,
        "deep_think": deep_think,
        "web_search": web_search,
        "enhance_prompt": enhance_prompt,
        "history_dropped": len(system) + len(history) + 1 - len(sent),
    }
    if media:
        # The engine fetches these like any input image (ref0..N) before the call.
        validated["reference_images"] = media
    if webhook:
        validated["webhook"] = webhook
    options = _upstream_options(model, deep_think=deep_think, web_search=web_search)
    if options:
        validated["upstream_options"] = options
    quote = pricing.quote(model, CHAT, validated)
    now = timezone.now()
    try:
        with transaction.atomic():
            if conversation is None:
                conversation = ChatConversation.objects.create(
                    team=team,
                    created_by=user,
                    title=_title(message),
                    system_prompt=system_prompt,
                    model=model,
                    project_id=project_id,
                    stateless=stateless,
                    created_at=now,
                    last_activity=now,
                )
            else:
                ChatConversation.objects.filter(pk=conversation.pk).update(
                    model=model, last_activity=now
                )
            validated["session_id"] = str(conversation.uuid)
            generation = services.create_charged(
                team,
                user,
                note=f"Chat · {model.name}",
                source=source,
                api_key_id=api_key_id,
                type=CHAT,
                model=model,
                prompt=message,
                params=validated,
                price=quote.as_dict(),
                credits_charged=quote.credits,
                idempotency_key=key,
                request_fingerprint=fingerprint,
                deadline_at=now + engine.deadline_for(CHAT),
                lease_until=now + engine.REQUEUE_AFTER,
                created_at=now,
            )
            ChatMessage.objects.create(
                conversation=conversation,
                role=ChatRole.USER,
                content=message,
                media_urls=media,
                model=model,
                model_identifier=model.identifier,
                status="completed",
                created_at=now,
            )
            ChatMessage.objects.create(
                uuid=generation.uuid,  # the public message_id is the generation's id
                conversation=conversation,
                role=ChatRole.ASSISTANT,
                model=model,
                model_identifier=model.identifier,
                generation=generation,
                created_at=now,
            )
            transaction.on_commit(lambda: engine.start(generation))
    except IntegrityError:
        if not key:
            raise
        earlier = services.replay(team, key, fingerprint)  # a concurrent retry won the race
        if earlier is None:
            raise
        return _replayed(earlier)
    return ChatStarted(generation, conversation, False)


def _upstream_options(model: AIModel, *, deep_think: bool, web_search: bool) -> dict[str, Any]:
    """What the model's declared abilities add to the upstream call (model params)."""
    params = model.params or {}
    options: dict[str, Any] = {}
    if deep_think and params.get("reasoning_effort"):
        options["reasoning_effort"] = "high"
    if web_search:
        options["web_search_options"] = {}
    if isinstance(params.get("max_tokens_field"), str):
        options["max_tokens_field"] = params["max_tokens_field"]
    return options


def _title(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def _replayed(generation: Generation) -> ChatStarted:
    message = ChatMessage.objects.select_related("conversation").filter(generation=generation)
    found = message.first()
    if found is None:  # the key was used by another kind of request
        from studio.errors import Conflict

        raise Conflict("This Idempotency-Key was already used with a different request body")
    return ChatStarted(generation, found.conversation, True)


def retry_message(team: Team, user: User | None, assistant: ChatMessage) -> ChatStarted:
    """Ask the question an assistant message answered again, in the same conversation."""
    earlier = assistant.conversation.messages.filter(
        role=ChatRole.USER, created_at__lte=assistant.created_at
    )
    question = earlier.order_by("-created_at", "-id").first()
    if question is None:
        raise NotFound("Message not found")
    raw: dict[str, Any] = {
        "message": question.content,
        "session_id": str(assistant.conversation.uuid),
        "model": assistant.model_identifier or None,
    }
    if question.media_urls:
        raw["media_urls"] = question.media_urls
    return start_message(team, user, raw)


# --- the answer --------------------------------------------------------------------------------


def settle(generation: Generation) -> bool:
    """The engine's collect step for a chat answer: succeed, settle, write it — once.

    The answer is in `result_meta` ({content, reasoning_content, model, usage}). The charge
    is settled to the reported token counts (estimates where the upstream reported none),
    never above what was charged; the difference comes back as one refund entry. False when
    the generation was no longer collecting (cancelled meanwhile, or settled already).
    """
    meta = generation.result_meta or {}
    content = str(meta.get("content") or "")
    reasoning = str(meta.get("reasoning_content") or "")
    estimate = int(generation.params.get("prompt_tokens") or 0)
    prompt, completion = tokens.usage_counts(meta.get("usage"), estimate, content)
    charged = generation.credits_charged
    if generation.price.get("unit") == PricingUnit.PER_1K_TOKENS:
        cost = min(charged, tokens.token_credits(generation.model, prompt, completion))
    else:
        cost = charged
    price = {
        **generation.price,
        "settled": {"prompt_tokens": prompt, "completion_tokens": completion, "credits": cost},
    }
    now = timezone.now()
    with transaction.atomic():
        moved = Generation.objects.filter(pk=generation.pk, state=S.COLLECTING).update(
            state=S.SUCCEEDED,
            progress=100,
            completed_at=now,
            lease_until=None,
            price=price,
            result_meta={
                "content": content,
                "reasoning_content": reasoning,
                "model": str(meta.get("model") or generation.model_identifier),
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
            },
        )
        if not moved:
            return False
        refunded = 0
        if cost < charged:
            entry = credits.refund(
                generation.ledger_cause,
                note=f"Chat settled: {prompt} tokens in, {completion} out",
                amount=charged - cost,
            )
            refunded = entry.amount if entry is not None else 0
            Generation.objects.filter(pk=generation.pk).update(credits_refunded=refunded)
        ChatMessage.objects.filter(generation=generation).update(
            content=content,
            reasoning_content=reasoning,
            prompt_tokens=prompt,
            completion_tokens=completion,
            credits=charged - refunded,
            status="completed",
        )
        ChatConversation.objects.filter(messages__generation=generation).update(last_activity=now)
        notify.notify_finished(generation.pk)
    log.info(
        "chat %s answered: %d tokens in, %d out, %d of %d credits",
        generation.uuid,
        prompt,
        completion,
        charged - refunded,
        charged,
        extra=engine.log_fields(generation, "collect", credits=charged - refunded),
    )
    return True


# --- reading and editing conversations ---------------------------------------------------------


def conversations(
    team: Team, *, search: str = "", include_stateless: bool = False
) -> QuerySet[ChatConversation]:
    """The team's conversations, latest activity first, with `message_count` and the
    credits their answers cost so far (`credits_total`: settled, or charged while running)."""
    rows = ChatConversation.objects.filter(team=team)
    if not include_stateless:
        rows = rows.filter(stateless=False)
    if search.strip():
        rows = rows.filter(title__icontains=search.strip())
    return rows.annotate(
        message_count=Count("messages", distinct=True),
        credits_total=Sum("messages__generation__credits_charged")
        - Sum("messages__generation__credits_refunded"),
    ).order_by("-last_activity", "-id")


def rename_conversation(team: Team, session_id: Any, title: str) -> ChatConversation:
    conversation = team_conversation(team, session_id)
    title = " ".join(str(title or "").split())
    if not title:
        raise MissingFields.of("title")
    if len(title) > 120:
        raise InvalidFields.about("title", "is at most 120 characters")
    ChatConversation.objects.filter(pk=conversation.pk).update(title=title)
    conversation.title = title
    return conversation


def delete_conversation(team: Team, session_id: Any) -> None:
    """Delete a conversation and its messages; answers still being written are cancelled
    (and refunded) first. The generations stay in the team's history and ledger."""
    conversation = team_conversation(team, session_id)
    running = Generation.objects.filter(
        chat_message__conversation=conversation,
        state__in=[S.QUEUED, S.SUBMITTING, S.RUNNING, S.COLLECTING],
    ).values_list("pk", flat=True)
    for pk in list(running):
        engine.cancel(pk)
    conversation.delete()


def messages(conversation: ChatConversation) -> QuerySet[ChatMessage]:
    return conversation.messages.select_related("generation").order_by("created_at", "id")


MESSAGE_STATE: dict[str, str] = {
    S.QUEUED: "processing",
    S.SUBMITTING: "processing",
    S.RUNNING: "processing",
    S.COLLECTING: "processing",
    S.SUCCEEDED: "completed",
    S.FAILED: "failed",
    S.CANCELLED: "cancelled",
}


def message_state(message: ChatMessage) -> str:
    """completed | processing | failed | cancelled."""
    if message.status == "completed" or message.role != ChatRole.ASSISTANT:
        return "completed"
    if message.generation is None:  # an agent run's answer, or a deleted generation
        return message.status if message.status in ("processing", "failed") else "failed"
    return MESSAGE_STATE[message.generation.state]


def partial_text(generation: Generation) -> tuple[str, str]:
    """(content, reasoning_content) written so far: the answer once final, else the partial
    text the provider reported while writing it."""
    meta = generation.result_meta or {}
    if generation.state == S.SUCCEEDED:
        return str(meta.get("content") or ""), str(meta.get("reasoning_content") or "")
    partial = meta.get("partial") or {}
    return str(partial.get("content") or ""), str(partial.get("reasoning_content") or "")


def conversation_credits(conversation: ChatConversation) -> int:
    totals = Generation.objects.filter(chat_message__conversation=conversation).aggregate(
        charged=Sum("credits_charged"), refunded=Sum("credits_refunded")
    )
    return (totals["charged"] or 0) - (totals["refunded"] or 0)
