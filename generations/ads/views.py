"""The Ads page: pick products and a style, write the brief, watch the variants finish
(each running ad's card polls itself every 2 s and stops with 286), edit an image's copy
and re-set its text without a new render or charge, download."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, reswap, retarget, trigger_client_event

from generations import pricing
from generations.ads import presenters, services, styles
from generations.ads.forms import AdCopyForm, AdForm
from generations.forms import service_error_text
from generations.models import Generation, GenerationType
from generations.registry import resolve_model
from studio.accounts.access import get_membership, team_object
from studio.accounts.models import Membership, Team, User
from studio.errors import StudioError

RECENT_ADS = 12


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _ads(team: Team) -> Any:
    return (
        Generation.objects.filter(team=team, type=GenerationType.AD)
        .select_related("created_by")
        .prefetch_related("assets")
    )


def _card(generation: Generation, membership: Membership) -> dict[str, Any]:
    variants = presenters.page_variants(generation) if generation.state == "succeeded" else []
    for variant in variants:
        variant["form"] = AdCopyForm(
            initial=variant["copy"], prefix=f"{generation.uuid}-{variant['index']}"
        )
    meta = (generation.result_meta or {}).get("ad", {})
    style = styles.get_style(generation.params.get("style_id"))
    return {
        "g": generation,
        "variants": variants,
        "style": style,
        "copy_source": meta.get("copy_source", ""),
        "count": generation.params.get("count", 1),
        "membership": membership,
    }


def _cost(team: Team, count: int) -> int | None:
    try:
        model = resolve_model(None, GenerationType.AD, team)
    except StudioError:
        return None
    return pricing.quote(model, GenerationType.AD, {"count": count}).credits


def _page_context(
    request: HttpRequest, membership: Membership, form: AdForm, **more: Any
) -> dict[str, Any]:
    team = membership.team
    count = form.data.get("count") if form.is_bound else form.fields["count"].initial
    try:
        count = int(count or 1)
    except ValueError:
        count = 1
    return {
        "team": team,
        "membership": membership,
        "form": form,
        "styles": styles.STYLES,
        "cost": _cost(team, count),
        **more,
    }


@login_required
def ads(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=request.method == "POST")
    team = membership.team
    if request.method != "POST":
        form = AdForm(team)
        cards = [_card(g, membership) for g in _ads(team)[:RECENT_ADS]]
        return render(
            request, "generations/ads.html", _page_context(request, membership, form, cards=cards)
        )
    form = AdForm(team, request.POST)
    if form.is_valid():
        try:
            started = services.start_ad(
                team, _user(request), form.raw_request(), source="dashboard"
            )
        except StudioError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, service_error_text(exc))
        else:
            if not _is_htmx(request):
                messages.success(request, "Ad started: it appears below as it renders.")
                return redirect(reverse("ads", args=[team.uuid]))
            generation = _ads(team).get(pk=started.generation.pk)
            response = render(
                request, "generations/ads.html#ad-card", _card(generation, membership)
            )
            return trigger_client_event(response, "credits-changed")
    context = _page_context(request, membership, form)
    if _is_htmx(request):
        response = render(request, "generations/ads.html#ad-form", context)
        return reswap(retarget(response, "#ad-form"), "outerHTML")
    context["cards"] = [_card(g, membership) for g in _ads(team)[:RECENT_ADS]]
    return render(request, "generations/ads.html", context, status=400)


@login_required
@require_GET
def ads_cost(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    form = AdForm(membership.team, request.GET)
    return render(request, "generations/ads.html#cost", _page_context(request, membership, form))


@login_required
@require_GET
def ad_card(request: HttpRequest, team_uuid: UUID, generation_uuid: UUID) -> HttpResponse:
    """A running ad's card, polled; once it has finished, with status 286 (stop polling)."""
    membership = get_membership(request, team_uuid)
    generation = team_object(_ads(membership.team), membership.team, uuid=generation_uuid)
    response = render(request, "generations/ads.html#ad-card", _card(generation, membership))
    if generation.is_active:
        return response
    return HttpResponseStopPolling(response.content)


@login_required
@require_POST
def ad_copy(
    request: HttpRequest, team_uuid: UUID, generation_uuid: UUID, index: int
) -> HttpResponse:
    """Re-set one ad image's text with edited copy (no render, no charge)."""
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    generation = team_object(_ads(team), team, uuid=generation_uuid)
    form = AdCopyForm(request.POST, prefix=f"{generation.uuid}-{index}")
    error = None
    if form.is_valid():
        try:
            services.edit_ad_copy(generation, index, form.cleaned_data)
        except StudioError as exc:
            error = service_error_text(exc)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    generation = _ads(team).get(pk=generation.pk)
    card = _card(generation, membership)
    variants = [v for v in card["variants"] if v["index"] == index]
    if not variants:
        raise Http404
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect(reverse("ads", args=[team.uuid]))
    variant = variants[0]
    if error:
        variant["form"] = form
    context = {**card, "v": variant, "error": error, "saved": not error}
    return render(request, "generations/ads.html#variant", context, status=200)
