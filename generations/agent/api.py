"""Krev's async chat: `POST /chat` with a Bearer key queues an agent run (dispatched from
generations/chat/api.py, which owns the shared path); the run and its conversation are
polled here."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from generations.agent import presenters, services
from generations.chat.services import team_conversation
from generations.models import Source
from studio.api.auth import api_key, caller_key, caller_team
from studio.api.ratelimit import RateClass
from studio.api.schemas import errors, krev

router = Router(tags=["Async chat (Krev)"])


class RunQueued(Schema):
    conversation_id: str
    user_message_id: str
    assistant_message_id: str
    run_id: str
    job_id: str
    status: str
    poll_url: str


class RunQueuedOut(Schema):
    success: bool = True
    data: RunQueued


def start(request: HttpRequest, raw: dict[str, Any]) -> dict[str, Any]:
    key = caller_key(request)
    run = services.start_run(
        key.team,
        key.user,
        raw,
        source=Source.API,
        api_key_id=key.uuid,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return krev(
        {
            "conversation_id": str(run.conversation.uuid),
            "user_message_id": str(run.user_message.uuid),
            "assistant_message_id": str(run.assistant_message.uuid),
            "run_id": str(run.uuid),
            "job_id": str(run.job_id),
            "status": run.status,
            "poll_url": request.build_absolute_uri(f"/api/v1/chat/runs/{run.uuid}"),
        }
    )


@router.get(
    "/chat/runs/{run_id}",
    auth=api_key("chat", limit=RateClass.POLL, dialect="krev"),
    response={200: dict, **errors(401, 403, 404, 429)},
    summary="Poll an agent run: status, transcript, artifacts, generations, media URLs",
)
def get_run(request: HttpRequest, run_id: str) -> dict[str, Any]:
    return krev(presenters.run(services.team_run(caller_team(request), run_id)))


@router.get(
    "/chat/conversations/{conversation_id}",
    auth=api_key("chat", limit=RateClass.READ, dialect="krev"),
    response={200: dict, **errors(401, 403, 404, 429)},
    summary="An async chat conversation: its messages and runs",
)
def get_conversation(request: HttpRequest, conversation_id: str) -> dict[str, Any]:
    found = team_conversation(caller_team(request), conversation_id)
    return krev(presenters.conversation(found))
