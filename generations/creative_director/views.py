"""The Creative Director page: write a brief, pick the look, see the cost; the storyboard
fills scene by scene (its card polls every 2 s and stops with 286); download every scene as
one zip."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import PurePosixPath
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, reswap, retarget, trigger_client_event

from generations import assets, parents, pricing
from generations.creative_director import services
from generations.creative_director.forms import StoryboardForm
from generations.creative_director.presenters import scene_rows
from generations.creative_director.services import WORKFLOWS
from generations.forms import service_error_text
from generations.models import Generation, GenerationState, GenerationType
from generations.registry import resolve_model
from studio.accounts.access import get_membership, team_object
from studio.accounts.models import Membership, Team, User
from studio.errors import StudioError

RECENT = 8
TEMPLATE = "generations/creative_director.html"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _storyboards(team: Team) -> Any:
    return Generation.objects.filter(team=team, type=GenerationType.CREATIVE_DIRECTOR)


def _page_links(child: Generation) -> list[dict[str, str | None]]:
    """A finished scene's files as relative signed paths (pages work behind any host name)."""
    links = []
    for asset in child.assets.order_by("index"):
        url = assets.signed_path(str(asset.uuid), "file", PurePosixPath(asset.file.name or "").name)
        thumb = None
        if asset.thumbnail and asset.thumbnail.name:
            name = PurePosixPath(asset.thumbnail.name).name
            thumb = assets.signed_path(str(asset.uuid), "thumb", name)
        links.append({"url": url, "preview": thumb or url, "poster": thumb})
    return links


def _card(generation: Generation) -> dict[str, Any]:
    children = parents.children_of(generation)
    rows = scene_rows(generation, children)
    for scene, child in rows:
        scene["media"] = _page_links(child) if child.state == GenerationState.SUCCEEDED else []
        scene["can_remake"] = not child.is_active and generation.state != GenerationState.CANCELLED
    return {
        "g": generation,
        "scenes": [scene for scene, _ in rows],
        "progress": parents.live_progress(generation, children),
        "planning": generation.state == GenerationState.QUEUED,
        "video": generation.params.get("workflow_type") == "video",
        "planner": (generation.result_meta or {}).get("planner"),
        "breakdown": parents.credits_breakdown(generation, children),
        "any_done": any(c.state == GenerationState.SUCCEEDED for c in children),
    }


def _cost(team: Team, form: StoryboardForm) -> dict[str, Any] | None:
    workflow, count, seconds = form.cost_inputs()
    try:
        model = resolve_model(None, WORKFLOWS[workflow], team)
    except StudioError:
        return None
    each = pricing.quote(model, WORKFLOWS[workflow], {"count": 1, "duration": seconds}).credits
    return {"total": each * count, "each": each, "count": count, "workflow": workflow}


def _page_context(membership: Membership, form: StoryboardForm, **more: Any) -> dict[str, Any]:
    return {
        "team": membership.team,
        "membership": membership,
        "form": form,
        "cost": _cost(membership.team, form),
        **more,
    }


@login_required
def creative_director(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=request.method == "POST")
    team = membership.team
    if request.method != "POST":
        form = StoryboardForm(team)
        cards = [_card(g) for g in _storyboards(team)[:RECENT]]
        return render(request, TEMPLATE, _page_context(membership, form, cards=cards))
    form = StoryboardForm(team, request.POST)
    if form.is_valid():
        try:
            started = services.start(team, _user(request), form.raw_request())
        except StudioError as exc:
            form.add_error(None, service_error_text(exc))
        else:
            if not _is_htmx(request):
                messages.success(request, "Storyboard started: its scenes appear as they render.")
                return redirect(reverse("creative_director", args=[team.uuid]))
            card = {**_card(started.generation), "membership": membership}
            response = render(request, f"{TEMPLATE}#storyboard", card)
            return trigger_client_event(response, "credits-changed")
    context = _page_context(membership, form)
    if _is_htmx(request):
        response = render(request, f"{TEMPLATE}#storyboard-form", context)
        return reswap(retarget(response, "#storyboard-form"), "outerHTML")
    context["cards"] = [_card(g) for g in _storyboards(team)[:RECENT]]
    return render(request, TEMPLATE, context, status=400)


@login_required
@require_GET
def creative_director_cost(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    form = StoryboardForm(membership.team, request.GET)
    return render(request, f"{TEMPLATE}#cost", _page_context(membership, form))


@login_required
@require_GET
def storyboard(request: HttpRequest, team_uuid: UUID, generation_uuid: UUID) -> HttpResponse:
    """A storyboard's card, polled while it runs; 286 (stop polling) once it has finished."""
    membership = get_membership(request, team_uuid)
    generation = team_object(_storyboards(membership.team), membership.team, uuid=generation_uuid)
    card = {**_card(generation), "membership": membership}
    response = render(request, f"{TEMPLATE}#storyboard", card)
    if generation.is_active:
        return response
    return HttpResponseStopPolling(response.content)


@login_required
@require_GET
def storyboard_zip(request: HttpRequest, team_uuid: UUID, generation_uuid: UUID) -> FileResponse:
    """Every finished scene's file, named by its number and title, in one zip."""
    membership = get_membership(request, team_uuid)
    generation = team_object(_storyboards(membership.team), membership.team, uuid=generation_uuid)
    rows = scene_rows(generation, parents.children_of(generation))
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
    written = 0
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED) as archive:
        for scene, child in rows:
            for asset in child.assets.order_by("index"):
                suffix = PurePosixPath(asset.file.name or "").suffix
                name = f"{scene['scene_number']:02d}-{slugify(scene['title'])[:60]}{suffix}"
                with asset.file.open("rb") as source, archive.open(name, "w") as target:
                    while chunk := source.read(1024 * 1024):
                        target.write(chunk)
                written += 1
    if not written:
        raise Http404("No scene has finished yet")
    spool.seek(0)
    filename = f"storyboard-{slugify(generation.prompt)[:40] or generation.uuid}.zip"
    return FileResponse(
        spool, as_attachment=True, filename=filename, content_type="application/zip"
    )


@login_required
@require_POST
def remake_scene(
    request: HttpRequest, team_uuid: UUID, generation_uuid: UUID, number: int
) -> HttpResponse:
    """Make one scene again (charged like a new scene); answers the storyboard's card."""
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    generation = team_object(_storyboards(team), team, uuid=generation_uuid)
    error = None
    try:
        services.remake_scene(generation, number, _user(request))
    except StudioError as exc:
        error = service_error_text(exc)
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect(reverse("creative_director", args=[team.uuid]))
    generation.refresh_from_db()
    card = {**_card(generation), "membership": membership, "card_error": error}
    response = render(request, f"{TEMPLATE}#storyboard", card)
    return response if error else trigger_client_event(response, "credits-changed")
