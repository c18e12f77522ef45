"""Webhook events of finished generations (Studio's own webhooks, studio/integrations).

The engine announces each terminal state through `notify.notify_finished`, inside the
transaction that made it when there is one, so the deliveries commit with the state change.
The payload is what the status endpoint of each dialect returns.
"""

from __future__ import annotations

from typing import Any

from generations import presenters
from generations.models import Generation, GenerationState

EVENT_OF_STATE = {
    GenerationState.SUCCEEDED: "generation.completed",
    GenerationState.FAILED: "generation.failed",
    GenerationState.CANCELLED: "generation.cancelled",
}


def event_type(generation: Generation) -> str | None:
    if generation.type == "creative_director" and generation.state == GenerationState.SUCCEEDED:
        return "creative_director.completed"
    return EVENT_OF_STATE.get(generation.state)  # type: ignore[call-overload]


def present(generation: Generation, dialect: str) -> dict[str, Any]:
    if dialect == "krev":
        return presenters.krev_generation(generation)
    return presenters.kolbo_status(generation)


def generation_finished(generation_id: int) -> None:
    """Queue the webhooks of a generation that just reached a terminal state (never raises:
    a webhook must not undo the state change it reports)."""
    from studio.integrations import webhooks

    # Its assets are read only when a receiver wants the payload.
    generation = Generation.objects.filter(pk=generation_id).first()
    if generation is not None and generation.state in EVENT_OF_STATE:
        from generations.agent import services as agent_runs

        agent_runs.generation_finished(generation_id)  # an agent run's paid call ended
    if generation is None or generation.parent_id is not None:
        return  # children are reported through their parent
    name = event_type(generation)
    if name is None:
        return
    job = generation.params.get("webhook") or {}
    webhooks.publish_safely(
        generation.team_id,
        name,
        lambda dialect: present(generation, dialect),
        job_url=job.get("url", ""),
        job_dialect=job.get("dialect", "kolbo"),
    )
