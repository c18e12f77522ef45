"""The Chat page: conversations in a sidebar, messages, and answers that appear as written.

Everything here goes through `generations.chat.services` (start, retry, rename, delete,
reads) and `generations.chat.tokens` (prices); this module only renders. While an answer
is being written, its message element polls `chat_message` every second (while the tab is
visible) and is replaced by the fresh partial, which reads the partial text the engine keeps
in `Generation.result_meta["partial"]`; once the answer is final the response is status 286
and the polling stops (the Studio page's cards do the same).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import (
    HttpResponseClientRedirect,
    HttpResponseStopPolling,
    push_url,
    reswap,
    retarget,
    trigger_client_event,
)

from generations import assets, extensions
from generations.chat import services, tokens
from generations.forms import source_images
from generations.models import (
    Asset,
    ChatConversation,
    ChatMessage,
    ChatRole,
    GenerationType,
)
from generations.providers import offline_llm
from generations.registry import enabled_models
from studio.accounts.access import get_membership
from studio.accounts.models import Membership, Team, User
from studio.errors import InsufficientCredits, InvalidModel, NotFound, StudioError

# The newest messages a conversation page shows (older ones stay in the API's history).
SHOWN_MESSAGES = 200
LISTED_CONVERSATIONS = 50
ATTACHABLE_IMAGES = 12


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _conversation(team: Team, session_id: UUID | str) -> ChatConversation:
    try:
        return services.team_conversation(team, session_id)
    except NotFound:
        raise Http404("No such conversation") from None


def _assistant_message(team: Team, message_uuid: UUID) -> ChatMessage:
    found = (
        ChatMessage.objects.select_related("generation", "conversation", "model")
        .filter(
            uuid=message_uuid,
            role=ChatRole.ASSISTANT,
            conversation__team=team,
            conversation__stateless=False,
        )
        .first()
    )
    if found is None:
        raise Http404("No such message")
    return found


# --- what the templates read -------------------------------------------------------------------


def _rate(value: Decimal) -> str:
    """0.100 -> '0.1', 2 -> '2'."""
    text = f"{value.normalize():f}"
    return text


def chat_models(team: Team) -> list[dict[str, Any]]:
    """The chat models the team can use, with their prices per 1K tokens (in and out)."""
    found = []
    for model in enabled_models(team):
        if not model.does(GenerationType.CHAT):
            continue
        rate_in, rate_out = tokens.rates(model)
        found.append(
            {
                "model": model,
                "identifier": model.identifier,
                "rate_in": _rate(rate_in),
                "rate_out": _rate(rate_out),
                "vision": bool((model.params or {}).get("vision")),
                "offline": model.identifier == offline_llm.MODEL_IDENTIFIER,
            }
        )
    return found


def _picked_model(models: list[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    for entry in models:
        if entry["identifier"] == wanted:
            return entry
    return models[0] if models else None


def _attachment(url: str, team: Team) -> dict[str, str]:
    """How an attached image is shown: a preview link for Studio's own images."""
    from studio.media import ASSET_LINKS, parse_own_link

    own = parse_own_link(url)
    if own is not None and own.kind is ASSET_LINKS:
        asset = Asset.objects.filter(uuid=own.uuid, generation__team=team).first()
        if asset is not None:
            return {"url": _asset_preview(asset), "label": asset.generation.prompt[:60]}
        return {"url": "", "label": "an image that was deleted"}
    if url.startswith("data:"):
        return {"url": "", "label": "an uploaded image"}
    return {"url": url, "label": "attached image"}


def _asset_preview(asset: Asset) -> str:
    from pathlib import Path

    if asset.thumbnail and asset.thumbnail.name:
        return assets.signed_path(str(asset.uuid), "thumb", Path(asset.thumbnail.name).name)
    return assets.signed_path(str(asset.uuid), "file", Path(asset.file.name or "").name)


def _failure_hint(message: ChatMessage, team: Team) -> dict[str, str]:
    """What to do after an answer failed: a sentence, and a link where one helps."""
    generation = message.generation
    code = (generation.failure or {}).get("code") if generation else ""
    if code == "MODEL_NOT_INSTALLED":
        return {
            "text": f"The offline model is not installed on this server: run "
            f"`{offline_llm.INSTALL_COMMAND}` and restart Studio, or pick another model.",
        }
    if code == "CONTEXT_LENGTH_EXCEEDED":
        return {"text": "Shorten the message, or start a new conversation."}
    return {
        "text": "Retry, or pick another model. If it keeps failing, check the provider on "
        "the Providers page.",
        "url": reverse("provider_credentials", args=[team.uuid]),
        "label": "Providers",
    }


def decorate(messages: list[ChatMessage], team: Team) -> list[ChatMessage]:
    """Attach the state, text so far, cost and attachments the templates read."""
    for m in messages:
        state = services.message_state(m)
        m.state = state  # type: ignore[attr-defined]
        m.attachments = [_attachment(u, team) for u in (m.media_urls or [])]  # type: ignore[attr-defined]
        if m.role != ChatRole.ASSISTANT:
            continue
        generation = m.generation
        if state == "completed":
            m.text, m.reasoning = m.content, m.reasoning_content  # type: ignore[attr-defined]
            m.cost = m.credits  # type: ignore[attr-defined]
        elif generation is not None:
            m.text, m.reasoning = services.partial_text(generation)  # type: ignore[attr-defined]
            m.cost = generation.credits_charged - generation.credits_refunded  # type: ignore[attr-defined]
        else:
            m.text, m.reasoning, m.cost = "", "", 0  # type: ignore[attr-defined]
        if state in ("failed", "cancelled"):
            m.error = (generation.error if generation else "") or "The answer did not complete."  # type: ignore[attr-defined]
            m.refunded = generation.credits_refunded if generation else 0  # type: ignore[attr-defined]
            m.hint = _failure_hint(m, team)  # type: ignore[attr-defined]
    return messages


def _shown_messages(conversation: ChatConversation, team: Team) -> list[ChatMessage]:
    rows = services.messages(conversation).select_related("model")
    newest = list(rows.order_by("-created_at", "-id")[:SHOWN_MESSAGES])
    newest.reverse()
    return decorate([m for m in newest if m.role != ChatRole.SYSTEM], team)


def _attachables(team: Team) -> dict[str, Any]:
    gallery = [
        {
            "value": f"studio-asset:{a.uuid}/file",
            "preview": _asset_preview(a),
            "label": a.generation.prompt[:60],
        }
        for a in source_images(team, ATTACHABLE_IMAGES)
    ]
    catalog = [
        {"value": image.url, "preview": image.url, "label": image.label}
        for image in extensions.references().images(team, ATTACHABLE_IMAGES)
    ]
    return {"gallery_images": gallery, "catalog_images": catalog}


def _context(
    request: HttpRequest,
    membership: Membership,
    conversation: ChatConversation | None,
    **extra: Any,
) -> dict[str, Any]:
    team = membership.team
    models = chat_models(team)
    wanted = extra.pop("model_identifier", None) or (
        conversation.model.identifier if conversation and conversation.model else None
    )
    search = request.GET.get("q", "").strip()[:120]
    context: dict[str, Any] = {
        "team": team,
        "membership": membership,
        "conversation": conversation,
        "conversations": services.conversations(team, search=search)[:LISTED_CONVERSATIONS],
        "search": search,
        "models": models,
        "picked": _picked_model(models, wanted),
        "install_command": offline_llm.INSTALL_COMMAND,
        "draft": "",
        "system_prompt": "",
        "attached": [],
        **_attachables(team),
    }
    if conversation is not None:
        context["messages"] = _shown_messages(conversation, team)
        context["conversation_cost"] = services.conversation_credits(conversation)
    context.update(extra)
    return context


# --- pages -------------------------------------------------------------------------------------


@login_required
@require_GET
def chat(request: HttpRequest, team_uuid: UUID, session_id: UUID | None = None) -> HttpResponse:
    """The Chat page: a new conversation, or the one named in the URL."""
    membership = get_membership(request, team_uuid)
    conversation = _conversation(membership.team, session_id) if session_id else None
    context = _context(request, membership, conversation)
    if getattr(request, "htmx", None) and request.htmx.target == "conversation-list":  # type: ignore[attr-defined]
        return render(request, "chat/chat.html#conversation-list", context)
    return render(request, "chat/chat.html", context)


def _answer_started(
    request: HttpRequest, membership: Membership, started: services.ChatStarted
) -> HttpResponseBase:
    url = reverse("chat_conversation", args=[membership.team.uuid, started.conversation.uuid])
    if not _is_htmx(request):
        return redirect(url)
    context = _context(request, membership, started.conversation)
    response = render(request, "chat/chat.html#started", context)
    response = reswap(retarget(response, "#chat-main"), "outerHTML")
    return trigger_client_event(push_url(response, url), "credits-changed")


def _start_error(exc: StudioError, team: Team) -> dict[str, str]:
    """The refusal's message and what to do next."""
    found = {"message": exc.message}
    if isinstance(exc, InsufficientCredits):
        found.update(url=reverse("credits", args=[team.uuid]), label="Add credits")
    elif isinstance(exc, InvalidModel):
        found.update(hint="Pick another model from the list.")
    elif exc.field == "media_urls":
        found.update(hint="Remove the images, or pick a model marked “reads images”.")
    elif exc.field == "message":
        found.update(hint="Shorten the message, or start a new conversation.")
    return found


@login_required
@require_POST
def chat_send(request: HttpRequest, team_uuid: UUID) -> HttpResponseBase:
    """Send a message: into the conversation named by `session_id`, or a new one."""
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    post = request.POST
    session_id = post.get("session_id") or None
    conversation = _conversation(team, session_id) if session_id else None
    raw: dict[str, Any] = {
        "message": post.get("message", ""),
        "model": post.get("model") or None,
        "session_id": session_id,
        "media_urls": post.getlist("media")[: services.MAX_MEDIA_URLS + 1],
    }
    if conversation is None and post.get("system_prompt", "").strip():
        raw["system_prompt"] = post["system_prompt"]
    try:
        started = services.start_message(team, _user(request), raw)
    except StudioError as exc:
        context = _context(
            request,
            membership,
            conversation,
            model_identifier=raw["model"],
            draft=raw["message"],
            system_prompt=post.get("system_prompt", ""),
            attached=raw["media_urls"],
            error=_start_error(exc, team),
        )
        if _is_htmx(request):
            response = render(request, "chat/chat.html#composer", context)
            return reswap(retarget(response, "#chat-composer"), "outerHTML")
        return render(request, "chat/chat.html", context, status=exc.status)
    return _answer_started(request, membership, started)


@login_required
@require_GET
def chat_message(request: HttpRequest, team_uuid: UUID, message_uuid: UUID) -> HttpResponse:
    """One assistant message as it is now; 286 (stop polling) once it is no longer written."""
    membership = get_membership(request, team_uuid)
    team = membership.team
    message = decorate([_assistant_message(team, message_uuid)], team)[0]
    context: dict[str, Any] = {"team": team, "membership": membership, "m": message}
    if message.state == "processing":  # type: ignore[attr-defined]
        return render(request, "chat/chat.html#message-poll", context)
    # Done: the settled cost also updates the conversation's total and the sidebar's line.
    conversation = message.conversation
    context.update(
        conversation=conversation,
        conversation_cost=services.conversation_credits(conversation),
        conversations=services.conversations(team)[:LISTED_CONVERSATIONS],
        search="",
    )
    response = render(request, "chat/chat.html#message-poll", context)
    return trigger_client_event(HttpResponseStopPolling(response.content), "credits-changed")


@login_required
@require_POST
def chat_retry(request: HttpRequest, team_uuid: UUID, message_uuid: UUID) -> HttpResponseBase:
    """Ask the question an answer answered again (a new answer, charged as a new message)."""
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    message = _assistant_message(team, message_uuid)
    try:
        started = services.retry_message(team, _user(request), message)
    except StudioError as exc:
        context = _context(request, membership, message.conversation, error=_start_error(exc, team))
        if _is_htmx(request):
            response = render(request, "chat/chat.html#composer", context)
            return reswap(retarget(response, "#chat-composer"), "outerHTML")
        return render(request, "chat/chat.html", context, status=exc.status)
    return _answer_started(request, membership, started)


@login_required
@require_POST
def chat_rename(request: HttpRequest, team_uuid: UUID, session_id: UUID) -> HttpResponseBase:
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    conversation = _conversation(team, session_id)
    url = reverse("chat_conversation", args=[team.uuid, conversation.uuid])
    try:
        services.rename_conversation(team, conversation.uuid, request.POST.get("title", ""))
    except StudioError as exc:
        context = _context(request, membership, conversation, rename_error=exc.message)
        if _is_htmx(request):
            response = render(request, "chat/chat.html#chat-main", context)
            return reswap(retarget(response, "#chat-main"), "outerHTML")
        return render(request, "chat/chat.html", context, status=exc.status)
    if not _is_htmx(request):
        return redirect(url)
    context = _context(request, membership, _conversation(team, conversation.uuid))
    response = render(request, "chat/chat.html#started", context)
    return reswap(retarget(response, "#chat-main"), "outerHTML")


@login_required
@require_POST
def chat_delete(request: HttpRequest, team_uuid: UUID, session_id: UUID) -> HttpResponseBase:
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    conversation = _conversation(team, session_id)
    services.delete_conversation(team, conversation.uuid)
    url = reverse("chat", args=[team.uuid])
    if _is_htmx(request):
        return trigger_client_event(HttpResponseClientRedirect(url), "credits-changed")
    return redirect(url)
