"""How chat looks to the outside: Kolbo's shapes for a message's status, conversations and
messages (the contract's "Chat (Kolbo)")."""

from __future__ import annotations

from typing import Any

from generations.chat import services
from generations.models import ChatConversation, ChatMessage, Generation


def iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _media(urls: list[str], kind: str) -> list[str]:
    return [u for u in urls if isinstance(u, str) and _kind(u) == kind]


def _kind(url: str) -> str:
    lowered = url.split("?")[0].lower()
    if lowered.endswith((".mp4", ".webm", ".mov")):
        return "video"
    if lowered.endswith((".mp3", ".wav", ".ogg", ".m4a", ".flac")):
        return "audio"
    return "image"


def chat_result(generation: Generation) -> dict[str, Any]:
    """`result` of a finished chat message's status."""
    content, reasoning = services.partial_text(generation)
    produced = (generation.result_meta or {}).get("media_urls") or []
    return {
        "content": content,
        "reasoning_content": reasoning,
        "image_urls": _media(produced, "image"),
        "video_urls": _media(produced, "video"),
        "audio_urls": _media(produced, "audio"),
        "model": generation.model_identifier,
        "created_at": iso(generation.created_at),
    }


def start(started: services.ChatStarted) -> dict[str, Any]:
    generation = started.generation
    return {
        "success": True,
        "message_id": str(generation.uuid),
        "session_id": str(started.conversation.uuid),
        "type": "chat",
        "model": generation.model_identifier,
        "credits_charged": generation.credits_charged,
        "poll_url": f"/api/v1/generate/{generation.uuid}/status",
        "poll_interval_hint": 2,
    }


def conversation(row: ChatConversation) -> dict[str, Any]:
    return {
        "session_id": str(row.uuid),
        "name": row.title,
        "last_activity": iso(row.last_activity),
        "created_at": iso(row.created_at),
    }


def message(row: ChatMessage) -> dict[str, Any]:
    model = row.model
    body: dict[str, Any] = {
        "message_id": str(row.uuid),
        "role": row.role,
        "content": row.content,
        "status": services.message_state(row),
        "created_at": iso(row.created_at),
        "model": {
            "identifier": row.model_identifier,
            "name": model.name if model else row.model_identifier,
            "provider": model.provider if model else "",
        },
    }
    for kind in ("image", "video", "audio"):
        urls = _media(row.media_urls or [], kind)
        if urls:
            body[f"{kind}_url"] = urls[0]
    return body


def pagination(page: int, limit: int, total: int) -> dict[str, int]:
    return {"page": page, "limit": limit, "total": total, "pages": -(-total // limit)}
