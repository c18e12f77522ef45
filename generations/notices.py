"""Toasts for jobs a browser started: which of the watched ids have finished."""

from __future__ import annotations

import uuid

from django.urls import reverse

from generations.models import TERMINAL_STATES, Generation, GenerationState
from studio.accounts.models import Team
from studio.accounts.notices import Notice


def finished_jobs(team: Team, watched: list[str]) -> list[Notice]:
    ids = []
    for value in watched:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    finished = Generation.objects.filter(team=team, uuid__in=ids, state__in=TERMINAL_STATES).only(
        "uuid", "type", "state", "credits_refunded", "team_id"
    )
    notices = []
    for g in finished:
        label = g.get_type_display()
        if g.state == GenerationState.SUCCEEDED:
            text, tone = f"{label} is ready", "ok"
        elif g.state == GenerationState.FAILED:
            text, tone = f"{label} failed; {g.credits_refunded:,} credits refunded", "err"
        else:
            text, tone = f"{label} cancelled; {g.credits_refunded:,} credits refunded", "err"
        url = reverse("gallery_detail", args=[team.uuid, g.uuid])
        notices.append(Notice(key=str(g.uuid), text=text, url=url, tone=tone))
    return notices
