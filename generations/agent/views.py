"""The Agent page: the team's agent conversations, a composer (message, mode, products), and
the selected run's transcript filling in live: its element polls `agent_run_live` every
1.5 s while the run is active and stops with 286 when it ends."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_htmx.http import (
    HttpResponseClientRedirect,
    HttpResponseStopPolling,
    trigger_client_event,
)

from generations import extensions
from generations.agent import presenters, services
from generations.agent.models import ACTIVE_RUN_STATUSES, AgentMode, AgentRun
from generations.chat.models import ChatConversation
from generations.models import Source
from studio.accounts.access import get_membership
from studio.accounts.models import Membership, Team, User
from studio.errors import NotFound, StudioError

LISTED_CONVERSATIONS = 30
PICKABLE_PRODUCTS = 24


def _run(team: Team, run_uuid: UUID) -> AgentRun:
    try:
        return services.team_run(team, run_uuid)
    except NotFound:
        raise Http404("No such run") from None


def _context(membership: Membership, run: AgentRun | None, **more: Any) -> dict[str, Any]:
    team = membership.team
    conversations = (
        ChatConversation.objects.filter(team=team, agent_runs__isnull=False)
        .distinct()
        .order_by("-last_activity")[:LISTED_CONVERSATIONS]
    )
    context: dict[str, Any] = {
        "team": team,
        "membership": membership,
        "conversations": conversations,
        "products": extensions.references().product_choices(team, PICKABLE_PRODUCTS),
        "modes": AgentMode.choices,
        "run": run,
        "history": [],
        **more,
    }
    if run is not None:
        context["history"] = list(
            run.conversation.agent_runs.exclude(pk=run.pk).order_by("created_at", "id")
        )
        data = presenters.run(run)
        for artifact in data["artifacts"]:  # same-origin links for the page
            link = urlsplit(artifact["url"])
            artifact["url"] = f"{link.path}?{link.query}" if link.query else link.path
        context["data"] = data
    return context


@login_required
def agent(request: HttpRequest, team_uuid: UUID, run_uuid: UUID | None = None) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=request.method == "POST")
    team = membership.team
    if request.method == "POST":
        raw: dict[str, Any] = {
            "message": request.POST.get("message", ""),
            "agent": request.POST.get("agent") or "auto",
            "product_ids": request.POST.getlist("product_ids"),
        }
        if request.POST.get("conversation_id"):
            raw["conversation_id"] = request.POST["conversation_id"]
        user = request.user
        assert isinstance(user, User)
        try:
            started = services.start_run(team, user, raw, source=Source.DASHBOARD)
        except StudioError as exc:
            context = _context(membership, None, error=exc.message, message=raw["message"])
            return render(request, "generations/agent.html", context, status=exc.status)
        url = reverse("agent_run", args=[team.uuid, started.uuid])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)  # type: ignore[attr-defined]
    run: AgentRun | None = _run(team, run_uuid) if run_uuid else None
    if run is None and request.GET.get("conversation"):
        try:  # the conversation's latest run
            run = AgentRun.objects.filter(
                team=team, conversation__uuid=UUID(request.GET["conversation"])
            ).first()
        except ValueError:
            raise Http404("No such conversation") from None
    return render(request, "generations/agent.html", _context(membership, run))


@login_required
@require_GET
def agent_run_live(request: HttpRequest, team_uuid: UUID, run_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    run = _run(membership.team, run_uuid)
    response = render(request, "generations/agent.html#run", _context(membership, run))
    if run.status not in ACTIVE_RUN_STATUSES:
        # The sidebar's balance refreshes on this event (the run spent credits).
        return trigger_client_event(HttpResponseStopPolling(response.content), "credits-changed")
    return response
