"""The contract's shapes of an agent run and of an agent conversation."""

from __future__ import annotations

from typing import Any

from generations import presenters
from generations.agent import services
from generations.agent.models import AgentRun, AgentStep, StepRole
from generations.chat.models import ChatConversation
from generations.models import Generation, GenerationState, GenerationType

ARTIFACT_TYPES = {GenerationType.IMAGE: "image", GenerationType.AD: "ad"}


def _step(step: AgentStep, context: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(step.uuid),
        "role": step.role,
        "content": step.content,
        "created_at": presenters.iso(step.created_at),
    }
    if step.role == StepRole.TOOL:
        body["tool_name"] = step.tool_name
        body["arguments"] = {
            key: context.get("product_ids", []) if value == "$matched" else value
            for key, value in step.arguments.items()
        }
        body["result"] = step.result if step.done else None
        body["status"] = "done" if step.done else "running"
        if step.generation is not None:
            body["generation_id"] = str(step.generation.uuid)
        if not step.content:
            body["content"] = step.tool_name.replace("_", " ")
    return body


def artifacts(generations: list[Generation], titles: dict[int, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for generation in generations:
        if generation.state != GenerationState.SUCCEEDED:
            continue
        kind = ARTIFACT_TYPES.get(generation.type, "video")  # type: ignore[call-overload]
        meta = (generation.result_meta or {}).get("ad", {})
        variants = meta.get("variants") or []
        title = titles.get(generation.pk) or generation.prompt[:80]
        for index, link in enumerate(presenters.asset_links(generation)):
            artifact: dict[str, Any] = {
                "type": kind,
                "title": title,
                "url": link["url"],
                "generation_id": str(generation.uuid),
            }
            if kind == "ad":
                variant = variants[index] if index < len(variants) else {}
                artifact["data"] = {"ad_copy": variant.get("copy") or meta.get("ad_copy")}
            found.append(artifact)
    return found


def run(row: AgentRun) -> dict[str, Any]:
    steps = list(row.steps.select_related("generation").order_by("index"))
    generations = [s.generation for s in steps if s.generation is not None]
    titles = {s.generation.pk: s.content for s in steps if s.generation is not None and s.content}
    latest = next((s.content for s in reversed(steps) if s.role == StepRole.ASSISTANT), "")
    records = [presenters.krev_generation(g) for g in generations]
    return {
        "run_id": str(row.uuid),
        "conversation_id": str(row.conversation.uuid),
        "job_id": str(row.job_id),
        "agent": row.agent,
        "mode": row.mode,
        "planner": row.planner,
        "status": row.status,
        "progress": row.progress,
        "latest_assistant_text": latest,
        "transcript": [_step(s, row.context) for s in steps],
        "artifacts": artifacts(generations, titles),
        "generation_ids": [str(g.uuid) for g in generations],
        "generations": records,
        "media_urls": [url for record in records for url in record["output"]["urls"]],
        "credits_used": services.spent(row),
        "limits": {"max_steps": row.max_steps, "max_credits": row.max_credits},
        "error": row.error or None,
        "created_at": presenters.iso(row.created_at),
        "completed_at": presenters.iso(row.completed_at),
    }


def conversation(row: ChatConversation) -> dict[str, Any]:
    return {
        "id": str(row.uuid),
        "title": row.title,
        "created_at": presenters.iso(row.created_at),
        "updated_at": presenters.iso(row.last_activity),
        "messages": [
            {
                "id": str(m.uuid),
                "role": m.role,
                "content": m.content,
                "status": m.status or "completed",
                "media_urls": m.media_urls or [],
                "created_at": presenters.iso(m.created_at),
            }
            for m in row.messages.order_by("created_at", "id")
        ],
        "runs": [
            {
                "run_id": str(r.uuid),
                "status": r.status,
                "created_at": presenters.iso(r.created_at),
            }
            for r in row.agent_runs.order_by("created_at", "id")
        ],
    }
