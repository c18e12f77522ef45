"""Helpers for generation tests: start a job and run its queued step inline."""

from __future__ import annotations

from typing import Any

from generations import services
from generations.models import Generation


def start(team, user, generation_type: str, raw: dict[str, Any], **kwargs: Any) -> Generation:
    """Start a generation without running it (on_commit callbacks do not fire in `db` tests)."""
    return services.start_generation(team, user, generation_type, raw, **kwargs).generation


def run(generation: Generation) -> Generation:
    from generations import engine

    engine.submit(generation.pk)
    generation.refresh_from_db()
    return generation
