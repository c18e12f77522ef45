"""Pages of the Studio and Gallery, their htmx partials, and signed media delivery.

Live status: the Studio page (and a running job's detail page) holds one poller element
that asks `studio_poll` every 2 s, while the tab is visible, for the cards it lists as
active; the answer swaps each card out of band and replaces the poller itself, without its
trigger (status 286) once nothing runs. A poll is two indexed reads, whatever the number
of jobs, and never reaches an upstream.
"""

from __future__ import annotations

import tempfile
import uuid as uuid_lib
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.timesince import timesince
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import (
    HttpResponseClientRedirect,
    HttpResponseStopPolling,
    reswap,
    retarget,
    trigger_client_event,
)

from generations import assets, extensions, params, pricing, services
from generations.forms import (
    SMART_SELECT,
    STUDIO_TYPES,
    TYPE_INFO,
    GalleryFilterForm,
    StudioForm,
    models_for,
    pick_model,
    source_images,
    unit_label,
)
from generations.models import (
    ACTIVE_STATES,
    Asset,
    AssetKind,
    AssetRole,
    Generation,
    GenerationType,
)
from generations.services import in_session
from studio import media
from studio.accounts.access import get_membership, team_object
from studio.accounts.models import Membership, Team, User
from studio.errors import InsufficientCredits, StorageFull, StudioError
from studio.pagination import CappedPaginator

RECENT_CARDS = 12
GALLERY_PAGE_SIZE = 24
MAX_POLLED_CARDS = 100


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _htmx_target(request: HttpRequest) -> str | None:
    htmx = getattr(request, "htmx", None)
    return htmx.target if htmx else None


# --- cards -------------------------------------------------------------------------------------


def card_queryset(team: Team) -> QuerySet[Generation]:
    """A team's generations with what a card shows, in two queries however many there are."""
    return (
        # Chat answers are not media cards: they live on the Chat page; a storyboard lives on
        # the Creative Director page (its scenes are cards of their own).
        Generation.objects.filter(team=team)
        .exclude(type__in=[GenerationType.CHAT, GenerationType.CREATIVE_DIRECTOR])
        .select_related("model", "created_by")
        .prefetch_related("assets")
    )


def _media(asset: Asset) -> dict[str, Any]:
    """Links for one asset: relative signed paths, so pages work behind any host name."""
    name = Path(asset.file.name or "").name
    url = assets.signed_path(str(asset.uuid), "file", name)
    thumb = None
    if asset.thumbnail and asset.thumbnail.name:
        thumb = assets.signed_path(str(asset.uuid), "thumb", Path(asset.thumbnail.name).name)
    return {
        "asset": asset,
        "kind": asset.kind,
        "url": url,
        "thumbnail_url": thumb,
        "preview_url": thumb or (url if asset.kind == AssetKind.IMAGE else None),
        "download_url": f"{url}&download=1",
        "name": name,
    }


def decorate(generations: list[Generation]) -> list[Generation]:
    """Attach the links and labels the card templates read (templates cannot call helpers)."""
    now = timezone.now()
    for g in generations:
        g.media = [  # type: ignore[attr-defined]
            _media(a) for a in g.assets.all() if a.role == AssetRole.OUTPUT
        ]
        g.age = (  # type: ignore[attr-defined]
            "just now"
            if now - g.created_at < timedelta(minutes=1)
            else f"{timesince(g.created_at, now, depth=1)} ago"
        )
        g.type_icon = TYPE_INFO[g.type].icon if g.type in TYPE_INFO else "◇"  # type: ignore[attr-defined]
    return generations


def _poller_context(team: Team, generations: list[Generation]) -> dict[str, Any]:
    return {"polling": any(g.is_active for g in generations)}


# --- Studio ------------------------------------------------------------------------------------


def _studio_form(
    request: HttpRequest, team: Team, generation_type: str, data: Any, *, bound: bool
) -> StudioForm:
    models = models_for(generation_type, team)
    model = pick_model(models, data.get("model"))
    sources = []
    if generation_type in (GenerationType.VIDEO_FROM_IMAGE, GenerationType.IMAGE_EDIT):
        # An Edit or Animate link names its image: offered (and picked) however old it is.
        wanted = data.getlist("source") if hasattr(data, "getlist") else [data.get("source")]
        sources = source_images(team, wanted=[w for w in wanted if w])
    kwargs: dict[str, Any] = {
        "generation_type": generation_type,
        "models": models,
        "model": model,
        "sources": sources,
    }
    if bound:
        bound_form = StudioForm(data, **kwargs)
        extensions.references().add_pickers(bound_form, team, generation_type)  # catalog
        return bound_form
    initial = {k: data.get(k) for k in data if k not in ("csrfmiddlewaretoken",)}
    initial["type"] = generation_type
    form = StudioForm(initial=initial, **kwargs)
    extensions.references().add_pickers(form, team, generation_type)
    if any(k not in ("type", "csrfmiddlewaretoken") for k in data):
        # The form shows these values (after Generate, a model switch, an "open in Studio"
        # link): the price line prices them too, not the defaults.
        form.pricing_form = _studio_form(  # type: ignore[attr-defined]
            request, team, generation_type, data, bound=True
        )
    return form


def _type_from(data: Any) -> str:
    value = data.get("type") or GenerationType.IMAGE
    return value if value in TYPE_INFO else GenerationType.IMAGE


def _quote_context(form: StudioForm, team: Team) -> dict[str, Any]:
    """The live cost line: price of what the form holds now, and the balance next to it."""
    team.refresh_from_db(fields=["plan_credits", "pack_credits", "redemption_credits"])
    balance = team.total_credits
    context: dict[str, Any] = {"balance": balance, "quote": None, "quote_error": None}
    if form.model is None:
        context["quote_error"] = "No model can do this yet; an admin can enable one."
        return context
    priced: StudioForm = getattr(form, "pricing_form", form)
    try:
        validated = params.validate(priced.generation_type, priced.preview_request(), form.model)
        quote = pricing.quote(form.model, form.generation_type, validated)
    except StudioError as exc:
        context["quote_error"] = exc.message
        return context
    context["quote"] = quote
    context["shortfall"] = max(quote.credits - balance, 0)
    return context


def _form_context(
    request: HttpRequest, membership: Membership, form: StudioForm, **extra: Any
) -> dict[str, Any]:
    team = membership.team
    return {
        "team": team,
        "membership": membership,
        "form": form,
        "types": STUDIO_TYPES,
        "current_type": TYPE_INFO[form.generation_type],
        "model": form.model,
        "model_unit": unit_label(form.model) if form.model else "",
        "smart_select": SMART_SELECT,
        "source_media": [_media(a) for a in form.sources],
        **_quote_context(form, team),
        **extra,
    }


def _error_action(exc: StudioError, team: Team) -> dict[str, str] | None:
    """What to do next after a refused start: a link, and the sentence a message ends with."""
    if isinstance(exc, InsufficientCredits):
        return {
            "url": reverse("credits", args=[team.uuid]),
            "label": "Add credits",
            "hint": "Add credits on the Credits page",
        }
    if isinstance(exc, StorageFull):
        return {
            "url": reverse("gallery", args=[team.uuid]),
            "label": "Free up space in the Gallery",
            "hint": "Free up space in the Gallery",
        }
    return None


@login_required
def studio(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    """The Studio: a form per type, a cost preview, and the team's recent jobs as live cards."""
    membership = get_membership(request, team_uuid)
    team = membership.team
    if request.method == "POST":
        return _start_from_form(request, team_uuid)
    data: QueryDict = request.GET
    if request.GET.get("from"):  # "Open in Studio": a past job's settings, by its id
        data = _settings_of(_generation_or_404(team, request.GET["from"]))
    generation_type = _type_from(data)
    form = _studio_form(request, team, generation_type, data, bound=False)
    context = _form_context(request, membership, form)
    if _htmx_target(request) == "studio-form":
        return render(request, "generations/studio.html#studio-form", context)
    recent = decorate(list(card_queryset(team)[:RECENT_CARDS]))
    context.update({"recent": recent, **_poller_context(team, recent)})
    return render(request, "generations/studio.html", context)


def _generation_or_404(team: Team, value: str) -> Generation:
    try:
        wanted = uuid_lib.UUID(value)
    except ValueError:
        raise Http404("No such generation") from None
    return team_object(card_queryset(team), team, uuid=wanted)


def _settings_of(generation: Generation) -> QueryDict:
    """A past job's settings as the Studio form's values (the link names only the job, so a
    long prompt never travels in a URL)."""
    data = QueryDict(mutable=True)
    for key, value in services.rerun_request(generation).items():
        if isinstance(value, bool):
            data[key] = "on" if value else ""
        elif isinstance(value, (str, int, float)):
            data[key] = str(value)
    data["type"] = generation.type
    return data


def _start_from_form(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    generation_type = _type_from(request.POST)
    form = _studio_form(request, team, generation_type, request.POST, bound=True)
    error_action = None
    if form.is_valid():
        try:
            started = services.start_generation(
                team,
                _user(request),
                generation_type,
                # The catalog pickers' ids (products, preset, Visual DNA, moodboard).
                {**form.raw_request(), **extensions.references().picked(form)},
            )
        except StudioError as exc:
            form.add_service_error(exc)
            error_action = _error_action(exc, team)
        else:
            return _started_response(request, membership, form, started.generation)
    context = _form_context(request, membership, form, error_action=error_action)
    if _is_htmx(request):
        response = render(request, "generations/studio.html#studio-form", context)
        return reswap(retarget(response, "#studio-form"), "outerHTML")
    recent = decorate(list(card_queryset(team)[:RECENT_CARDS]))
    context.update({"recent": recent, **_poller_context(team, recent)})
    return render(request, "generations/studio.html", context, status=400)


def _started_response(
    request: HttpRequest, membership: Membership, form: StudioForm, generation: Generation
) -> HttpResponse:
    team = membership.team
    if not _is_htmx(request):
        messages.success(
            request, f"{generation.get_type_display()} started: it appears below as it runs."
        )
        url = reverse("studio", args=[team.uuid]) + f"?type={generation.type}"
        return redirect(url)
    # Tasks may have run already (synchronous cluster); show the card as it is now.
    card = decorate(list(card_queryset(team).filter(pk=generation.pk)))[0]
    fresh_form = _studio_form(request, team, form.generation_type, request.POST, bound=False)
    context = _form_context(request, membership, fresh_form)
    context.update({"g": card, "polling": card.is_active, "started": True})
    response = render(request, "generations/studio.html#started", context)
    response = trigger_client_event(response, "credits-changed")
    # The browser watches the job, for a toast wherever in the dashboard it finishes.
    return trigger_client_event(response, "job-started", {"id": str(card.uuid)})


@login_required
@require_http_methods(["GET", "POST"])
def studio_quote(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    """The cost preview line for the form's current values (priced, never charged), or the
    whole form re-drawn for them (a model switch). The page POSTs, so a long prompt never
    lands in a URL; nothing changes either way."""
    membership = get_membership(request, team_uuid)
    team = membership.team
    data = request.POST if request.method == "POST" else request.GET
    generation_type = _type_from(data)
    if _htmx_target(request) == "studio-form":
        form = _studio_form(request, team, generation_type, data, bound=False)
        return render(
            request, "generations/studio.html#studio-form", _form_context(request, membership, form)
        )
    form = _studio_form(request, team, generation_type, data, bound=True)
    context = _form_context(request, membership, form)
    return render(request, "generations/studio.html#cost", context)


@login_required
@require_GET
def studio_poll(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    """The one poll of a page: fresh cards for the listed active jobs, out of band."""
    membership = get_membership(request, team_uuid)
    team = membership.team
    wanted = []
    for value in request.GET.getlist("g")[:MAX_POLLED_CARDS]:
        try:
            wanted.append(uuid_lib.UUID(value))
        except ValueError:
            continue
    cards = decorate(list(card_queryset(team).filter(uuid__in=wanted))) if wanted else []
    layout = "tile" if request.GET.get("layout") == "tile" else "card"
    context = {"team": team, "membership": membership, "cards": cards, "layout": layout}
    context.update(_poller_context(team, cards))
    response = render(request, "generations/cards.html#poll", context)
    if not context["polling"]:
        stop = HttpResponseStopPolling(response.content)
        return stop
    return response


# --- Gallery -----------------------------------------------------------------------------------


def _members(team: Team) -> list[tuple[int, str]]:
    return [
        (m.user_id, m.user.display_name)
        for m in Membership.objects.filter(team=team).select_related("user").order_by("user__name")
    ]


@login_required
@require_GET
def gallery(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    team = membership.team
    filters = GalleryFilterForm(request.GET or None, members=_members(team))
    queryset = card_queryset(team)
    active_filters = False
    if filters.is_bound and filters.is_valid():
        data = filters.cleaned_data
        if data.get("q", "").strip():
            queryset = queryset.filter(prompt__icontains=data["q"].strip())
        if data.get("type"):
            queryset = queryset.filter(type=data["type"])
        if data.get("state") == "active":
            queryset = queryset.filter(state__in=ACTIVE_STATES)
        elif data.get("state"):
            queryset = queryset.filter(state=data["state"])
        if data.get("member"):
            queryset = queryset.filter(created_by_id=data["member"])
        # Ranges on created_at, not `created_at__date`: the team's index serves a range,
        # while a date cast (a Python function per row on SQLite) reads every row.
        if data.get("since"):
            queryset = queryset.filter(created_at__gte=start_of_day(data["since"]))
        if data.get("until"):
            queryset = queryset.filter(
                created_at__lt=start_of_day(data["until"] + timedelta(days=1))
            )
        if data.get("session"):
            queryset = queryset.filter(in_session(data["session"]))
        if data.get("project"):
            queryset = queryset.filter(params__project_id=data["project"])
        active_filters = any(
            data.get(k)
            for k in ("q", "type", "state", "member", "since", "until", "session", "project")
        )
    page = CappedPaginator(queryset, GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    tiles = decorate(list(page.object_list))
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    context = {
        "team": team,
        "membership": membership,
        "filters": filters,
        "active_filters": active_filters,
        "page": page,
        "tiles": tiles,
        "query": urlencode(query),
        "layout": "tile",
        **_poller_context(team, tiles),
    }
    if _htmx_target(request) == "gallery-results":
        return render(request, "generations/gallery.html#gallery-results", context)
    return render(request, "generations/gallery.html", context)


def _price_lines(generation: Generation) -> list[str]:
    price = generation.price or {}
    unit = price.get("unit")
    unit_price, quantity = price.get("unit_price"), price.get("quantity")
    multiplier = price.get("multiplier") or 1
    if unit_price is None:
        return []
    nouns = {
        "per_image": "image",
        "per_second": "second",
        "per_100_chars": "100 characters",
    }
    if unit == "flat":
        line = f"{unit_price} credits flat"
    else:
        noun = nouns.get(str(unit), "unit")
        plural = "s" if quantity != 1 and noun not in ("100 characters",) else ""
        line = f"{unit_price} credits × {quantity} {noun}{plural}"  # noqa: RUF001
        if noun == "100 characters" and quantity != 1:
            line = f"{unit_price} credits × {quantity} blocks of 100 characters"  # noqa: RUF001
    if multiplier != 1:
        line += f" × {multiplier} (HD)"  # noqa: RUF001
    return [line]


PARAMETER_LABELS = {
    "hd": "HD",
    "image_url": "Source image",
    "reference_images": "Reference images",
    "product_ids": "Products",
    "visual_dna_ids": "Visual DNA",
    "moodboard_id": "Moodboard",
    "preset_id": "Style preset",
    "source_images": "Edited images",
    "count": "Images",
    "vocal_gender": "Vocals",
    "audio_mode": "Audio",
}


def _linked_media(team: Team, values: list[Any]) -> list[tuple[str, str]]:
    """Studio result links or references → (a name, the result's detail page)."""
    wanted: dict[str, str] = {}
    for value in values:
        link = media.parse_own_link(str(value)) if isinstance(value, str) else None
        if link is not None and link.kind is media.ASSET_LINKS:
            wanted[str(value)] = link.uuid
    found = {
        str(a.uuid): a
        for a in Asset.objects.filter(uuid__in=wanted.values(), generation__team=team)
        .select_related("generation")
        .only("uuid", "generation__uuid", "generation__prompt", "generation__type")
    }
    rows = []
    for value in values:
        asset = found.get(wanted.get(str(value), ""))
        if asset is None:
            rows.append(("an image", ""))
            continue
        prompt = asset.generation.prompt[:40] or asset.generation.get_type_display()
        url = reverse("gallery_detail", args=[team.uuid, asset.generation.uuid])
        rows.append((f"Result: {prompt}", url))
    return rows


def _parameters(generation: Generation) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(label, text, links) per parameter: catalog ids and Studio results become names with
    links, durations get their unit."""
    rows = []
    for key, value in generation.params.items():
        if value in (None, "", [], {}) or key in ("prompt", "text"):
            continue
        links: list[tuple[str, str]] = []
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value)
        else:
            shown = str(value)
        if key in extensions.CATALOG_FIELDS:
            ids = value if isinstance(value, list) else [value]
            links = extensions.describe_catalog_ids(generation.team, key, ids)
        elif key in ("reference_images", "source_images") and isinstance(value, list):
            links = _linked_media(generation.team, value)
        elif key == "image_url":
            links = [x for x in _linked_media(generation.team, [value]) if x[1]]
            if not links and shown.startswith("data:"):
                shown = "(inline image)"
        elif key in ("duration", "max_duration") and isinstance(value, int | float):
            shown = f"{value:g} s"
        label = PARAMETER_LABELS.get(key, key.replace("_", " ").capitalize())
        rows.append((label, shown, links))
    return rows


@login_required
@require_GET
def generation_detail(request: HttpRequest, team_uuid: UUID, generation_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    team = membership.team
    generation = team_object(card_queryset(team), team, uuid=generation_uuid)
    decorate([generation])
    elapsed = None
    if generation.completed_at:
        elapsed = (generation.completed_at - generation.created_at).total_seconds()
    context = {
        "team": team,
        "membership": membership,
        "g": generation,
        "price_lines": _price_lines(generation),
        "parameters": _parameters(generation),
        "elapsed": elapsed,
        "polling": generation.is_active,
        "net_credits": generation.credits_charged - generation.credits_refunded,
    }
    if _is_htmx(request) and _htmx_target(request) == "detail-body":
        response = render(request, "generations/detail.html#detail-body", context)
        # A finished job may have refunded: the balance badge re-reads itself.
        return (
            response if generation.is_active else trigger_client_event(response, "credits-changed")
        )
    return render(request, "generations/detail.html", context)


def _back(request: HttpRequest, team: Team, generation: Generation) -> str:
    target = request.POST.get("next") or ""
    if target.startswith(f"/t/{team.uuid}/") and "//" not in target:
        return target
    return reverse("gallery_detail", args=[team.uuid, generation.uuid])


@login_required
@require_POST
def generation_cancel(request: HttpRequest, team_uuid: UUID, generation_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    generation = team_object(Generation.objects.all(), team, uuid=generation_uuid)
    error = None
    refunded = 0
    try:
        refunded = services.cancel_generation(generation).credits_refunded
    except StudioError as exc:
        error = exc.message
    if _is_htmx(request):
        card = decorate(list(card_queryset(team).filter(pk=generation.pk)))[0]
        layout = "tile" if request.POST.get("layout") == "tile" else "card"
        context = {"team": team, "membership": membership, "g": card, "card_error": error}
        response = render(request, f"generations/cards.html#job-{layout}", context)
        return trigger_client_event(response, "credits-changed")
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Cancelled; {refunded:,} credits went back to the team.")
    return redirect(_back(request, team, generation))


@login_required
def generation_delete(request: HttpRequest, team_uuid: UUID, generation_uuid: UUID) -> HttpResponse:
    """GET asks for confirmation (pages without JavaScript); POST deletes."""
    membership = get_membership(request, team_uuid, write=request.method == "POST")
    team = membership.team
    generation = team_object(card_queryset(team), team, uuid=generation_uuid)
    if request.method != "POST":
        decorate([generation])
        return render(
            request,
            "generations/delete.html",
            {"team": team, "membership": membership, "g": generation},
        )
    try:
        services.delete_generation(generation)
    except StudioError as exc:
        messages.error(request, exc.message)
        return redirect("gallery_detail", team_uuid=team.uuid, generation_uuid=generation.uuid)
    messages.success(request, "Deleted, and its storage freed.")
    url = reverse("gallery", args=[team.uuid])
    if _is_htmx(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


@login_required
@require_POST
def generation_rerun(request: HttpRequest, team_uuid: UUID, generation_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    generation = team_object(Generation.objects.all(), team, uuid=generation_uuid)
    try:
        started = services.start_generation(
            team, _user(request), generation.type, services.rerun_request(generation)
        )
    except StudioError as exc:
        action = _error_action(exc, team)
        messages.error(request, exc.message + (f" — {action['hint']}." if action else ""))
        return redirect("gallery_detail", team_uuid=team.uuid, generation_uuid=generation.uuid)
    messages.success(
        request,
        f"Started again with the same settings ({started.generation.credits_charged:,} credits).",
    )
    response = redirect(
        "gallery_detail", team_uuid=team.uuid, generation_uuid=started.generation.uuid
    )
    return response


MAX_ZIP_GENERATIONS = 100


def _zip_response(rows: list[tuple[Asset, Generation]], filename: str) -> FileResponse:
    """The files in one zip, each under its download name; spooled to disk past 16 MB."""
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED) as archive:
        for asset, generation in rows:
            with (
                asset.file.open("rb") as source,
                archive.open(assets.download_name(asset, generation), "w") as target,
            ):
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
    spool.seek(0)
    return FileResponse(
        spool, as_attachment=True, filename=filename, content_type="application/zip"
    )


def _outputs(generations: list[Generation]) -> list[tuple[Asset, Generation]]:
    return [
        (a, g)
        for g in generations
        for a in sorted(g.assets.all(), key=lambda a: a.index)
        if a.role == AssetRole.OUTPUT and a.file and a.file.name
    ]


@login_required
@require_GET
def generation_zip(
    request: HttpRequest, team_uuid: UUID, generation_uuid: UUID
) -> HttpResponseBase:
    """Every file of one job (a batch of variants) in a zip with meaningful names."""
    membership = get_membership(request, team_uuid)
    generation = team_object(card_queryset(membership.team), membership.team, uuid=generation_uuid)
    rows = _outputs([generation])
    if not rows:
        raise Http404("This generation has no files")
    name = assets.download_name(rows[0][0], generation).rsplit("-", 1)[0]
    return _zip_response(rows, f"{name}.zip")


@login_required
@require_POST
def gallery_zip(request: HttpRequest, team_uuid: UUID) -> HttpResponseBase:
    """The files of the generations picked in the Gallery, in one zip."""
    membership = get_membership(request, team_uuid)
    wanted = []
    for value in request.POST.getlist("g")[:MAX_ZIP_GENERATIONS]:
        try:
            wanted.append(uuid_lib.UUID(value))
        except ValueError:
            continue
    picked = list(card_queryset(membership.team).filter(uuid__in=wanted)) if wanted else []
    rows = _outputs(picked)
    if not rows:
        messages.error(request, "Pick finished results to download.")
        return redirect("gallery", team_uuid=membership.team.uuid)
    stamp = timezone.now().strftime("%Y-%m-%d")
    return _zip_response(rows, f"{slugify(membership.team.name) or 'studio'}-{stamp}.zip")


# --- media -------------------------------------------------------------------------------------


@require_GET
def media_file(
    request: HttpRequest, asset_uuid: UUID, variant: str, filename: str
) -> HttpResponseBase:
    """Serve a stored result to anyone holding a valid signed link (no session, no key)."""
    if not assets.verify(str(asset_uuid), variant, request.GET.get("e"), request.GET.get("s")):
        raise Http404
    asset = Asset.objects.filter(uuid=asset_uuid).select_related("generation").first()
    if asset is None:
        raise Http404
    field = asset.thumbnail if variant == "thumb" else asset.file
    if not field or not field.name:
        raise Http404
    content_type = "image/webp" if variant == "thumb" else asset.mime_type
    # The name in the link is not signed: a download is named from the job, never the URL.
    download = None
    if request.GET.get("download") == "1":
        download = (
            Path(field.name).name
            if variant == "thumb"
            else assets.download_name(asset, asset.generation)
        )
    return media.stored_file_response(request, field.name, content_type, download_name=download)


def start_of_day(day: date) -> datetime:
    """Midnight starting `day` in the current time zone, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))
