"""Catalog pages: products (grid, drag-and-drop upload with live analysis, product page),
Visual DNA and moodboards, and the signed file view their images are served by.

Every team object is fetched through `get_membership`/`team_object`: outsiders get 404,
viewers may look but every POST answers them 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from catalog import services
from catalog.forms import MoodboardForm, ProductForm, VisualDnaForm
from catalog.models import (
    AnalysisStatus,
    CatalogImage,
    Moodboard,
    Product,
    ProductSource,
    VisualDNA,
)
from catalog.presenters import image_path
from studio import media
from studio.accounts.access import get_membership, team_object
from studio.accounts.models import Team, User
from studio.errors import StudioError, form_field
from studio.pagination import CappedPaginator

MAX_FILES_PER_DROP = 20
CATALOG_PAGE_SIZE = 60
MAX_POLLED_CARDS = 100


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _products(team: Team) -> QuerySet[Product]:
    return Product.objects.filter(team=team).select_related("original", "cutout")


def _decorate(products: list[Product]) -> list[Product]:
    for p in products:
        p.photo_url = image_path(p.original)  # type: ignore[attr-defined]
        p.cutout_url = image_path(p.cutout) if p.cutout else None  # type: ignore[attr-defined]
        p.colours = (p.metadata or {}).get("colorSwatches") or []  # type: ignore[attr-defined]
    return products


@require_GET
def catalog_file(request: HttpRequest, image_uuid: UUID, filename: str) -> HttpResponseBase:
    """A catalog image for anyone holding a valid signed link (no session, no key)."""
    if not media.verify(
        media.CATALOG_LINKS, str(image_uuid), "", request.GET.get("e"), request.GET.get("s")
    ):
        raise Http404
    image = CatalogImage.objects.filter(uuid=image_uuid).first()
    if image is None or not image.file.name:
        raise Http404
    return media.stored_file_response(request, image.file.name, image.mime_type)


# --- products ---------------------------------------------------------------------------------


@login_required
def catalog(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    """The product grid with search and category filter; POST uploads (drag and drop)."""
    if request.method == "POST":
        return _upload(request, team_uuid)
    membership = get_membership(request, team_uuid)
    team = membership.team
    query = (request.GET.get("q") or "").strip()[:100]
    category = (request.GET.get("category") or "").strip()[:60]
    products = _products(team)
    if query:
        products = products.filter(Q(name__icontains=query) | Q(category__icontains=query))
    if category:
        products = products.filter(category=category)
    categories = team_categories(team)
    # A page of the newest, never the whole catalog: a 10k-product team's page costs what
    # a small team's does (the count stops at the paginator's cap).
    page = CappedPaginator(products, CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = _decorate(list(page.object_list))
    filtered = bool(query or category)
    context = {
        "team": team,
        "membership": membership,
        "products": shown,
        "page": page,
        "page_query": urlencode({k: v for k, v in (("q", query), ("category", category)) if v}),
        "polling": any(p.is_analysing for p in shown),
        "query": query,
        "category": category,
        "categories": categories,
        "filtered": filtered,
        # Only the empty search result names it ("clear the search to see all N").
        "total": Product.objects.filter(team=team).count() if filtered and not shown else 0,
    }
    if request.headers.get("HX-Target") == "product-grid":
        return render(request, "catalog/catalog.html#product-grid", context)
    return render(request, "catalog/catalog.html", context)


# One index probe per category (team_id, then the next category above the last one).
CATEGORY_WALK_SQL = """
    WITH RECURSIVE walk(category) AS (
        SELECT MIN(category) FROM {table} WHERE team_id = %s
        UNION ALL
        SELECT (
            SELECT MIN(category) FROM {table}
            WHERE team_id = %s AND category > walk.category
        )
        FROM walk WHERE walk.category IS NOT NULL
    )
    SELECT category FROM walk WHERE category IS NOT NULL AND category <> ''
"""


def team_categories(team: Team) -> list[str]:
    """The team's product categories, A to Z: one index probe per category.

    A DISTINCT reads every product (PostgreSQL scans the table); this walks the
    (team, category) index from one category to the next (a "loose index scan"), so a
    10k-product catalog costs what a 10-product one does.
    """
    sql = CATEGORY_WALK_SQL.format(table=connection.ops.quote_name(Product._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [team.pk, team.pk])
        return sorted(row[0] for row in cursor.fetchall())


def _upload(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=True)
    team = membership.team
    files = request.FILES.getlist("file")
    created: list[Product] = []
    problems: list[str] = []
    if not files:
        problems.append("Choose or drop one or more JPG, PNG or WebP images.")
    for file in files[:MAX_FILES_PER_DROP]:
        try:
            upload = services.check_upload_file(file)
            created.append(
                services.create_product(
                    team, _user(request), upload, source=ProductSource.DASHBOARD
                )
            )
        except StudioError as exc:
            problems.append(f"{file.name}: {exc.message}")
    if len(files) > MAX_FILES_PER_DROP:
        problems.append(f"Only the first {MAX_FILES_PER_DROP} files were uploaded.")
    if not _is_htmx(request):
        for problem in problems:
            messages.error(request, problem)
        if created:
            messages.success(request, f"{len(created)} product(s) uploaded; analysis is running.")
        return redirect("catalog", team.uuid)
    # Tasks may have run already (synchronous cluster): show the cards as they are now.
    fresh = _decorate(list(_products(team).filter(pk__in=[p.pk for p in created])))
    # The poller (swapped out of band) takes over the new cards and any still on the page.
    polling = (
        any(p.is_analysing for p in fresh)
        or _products(team)
        .filter(analysis_status__in=[AnalysisStatus.QUEUED, AnalysisStatus.RUNNING])
        .exists()
    )
    context = {
        "team": team,
        "membership": membership,
        "products": fresh,
        "problems": problems,
        "polling": polling,
    }
    return render(request, "catalog/catalog.html#uploaded", context)


@login_required
@require_GET
def catalog_poll(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    """The grid's one poll: fresh cards, out of band, for the analysing ones it lists; 286
    (stop polling) once none of them is analysing any more. One indexed read."""
    membership = get_membership(request, team_uuid)
    team = membership.team
    wanted = []
    for value in request.GET.getlist("p")[:MAX_POLLED_CARDS]:
        try:
            wanted.append(UUID(value))
        except ValueError:
            continue
    cards = _decorate(list(_products(team).filter(pk__in=wanted))) if wanted else []
    polling = any(p.is_analysing for p in cards)
    context = {"team": team, "membership": membership, "products": cards, "polling": polling}
    response = render(request, "catalog/catalog.html#poll", context)
    return response if polling else HttpResponseStopPolling(response.content)


@login_required
def product_detail(request: HttpRequest, team_uuid: UUID, product_id: UUID) -> HttpResponse:
    write = request.method == "POST"
    membership = get_membership(request, team_uuid, write=write)
    team = membership.team
    product = team_object(_products(team), team, pk=product_id)
    form = ProductForm(request.POST if write else None, initial=ProductForm.initial_for(product))
    if write and form.is_valid():
        try:
            services.update_product(
                product,
                name=form.cleaned_data["name"],
                category=form.cleaned_data["category"],
                metadata=form.metadata(product.metadata),
            )
        except StudioError as exc:
            form.add_error(form_field(exc, form.fields), exc.message)
        else:
            messages.success(request, "Product saved.")
            return redirect("catalog_product", team.uuid, product.pk)
    context = {
        "team": team,
        "membership": membership,
        "p": _decorate([product])[0],
        "form": form,
        "analysis": [
            (label, value)
            for label, value in _analysis_rows(product.metadata or {})
            if value not in (None, "", [])
        ],
        "polling": product.is_analysing and not services.analysis_is_stale(product),
        "stale": services.analysis_is_stale(product),
    }
    return render(request, "catalog/product.html", context, status=400 if write else 200)


def _analysis_rows(metadata: dict[str, Any]) -> list[tuple[str, Any]]:
    def listed(value: Any) -> str:
        return ", ".join(str(v) for v in value) if isinstance(value, list) else (value or "")

    return [
        ("Brand", metadata.get("brandName")),
        ("Product name", metadata.get("productName")),
        ("Type", metadata.get("productType")),
        ("Colours", listed(metadata.get("colors"))),
        ("Materials", listed(metadata.get("materials"))),
    ]


@login_required
@require_POST
def product_delete(request: HttpRequest, team_uuid: UUID, product_id: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=True)
    product = team_object(_products(membership.team), membership.team, pk=product_id)
    services.delete_product(product)
    messages.success(request, f"Deleted \u201c{product.name or 'product'}\u201d.")
    return redirect("catalog", membership.team.uuid)


@login_required
@require_POST
def product_retry(request: HttpRequest, team_uuid: UUID, product_id: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=True)
    product = team_object(_products(membership.team), membership.team, pk=product_id)
    services.retry_analysis(product)
    return redirect("catalog_product", membership.team.uuid, product.pk)


# --- Visual DNA -------------------------------------------------------------------------------


def _dnas(team: Team) -> QuerySet[VisualDNA]:
    return VisualDNA.objects.filter(Q(team=team) | Q(team__isnull=True)).prefetch_related("images")


def _dna_cards(dnas: list[VisualDNA]) -> list[VisualDNA]:
    for dna in dnas:
        thumb = services.dna_thumbnail(dna)
        dna.thumb_url = image_path(thumb) if thumb else None  # type: ignore[attr-defined]
        dna.image_urls = [image_path(i) for i in services.dna_images(dna)]  # type: ignore[attr-defined]
    return dnas


def _dna_object(team: Team, dna_id: UUID) -> VisualDNA:
    dna = _dnas(team).filter(pk=dna_id).first()
    if dna is None:
        raise Http404
    return dna


@login_required
def dna_list(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    write = request.method == "POST"
    membership = get_membership(request, team_uuid, write=write)
    team = membership.team
    form = VisualDnaForm(request.POST if write else None)
    if write and form.is_valid():
        try:
            uploads = [services.check_upload_file(f) for f in request.FILES.getlist("images")]
            dna = services.create_visual_dna(
                team, _user(request), uploads=uploads, **form.cleaned_data
            )
        except StudioError as exc:
            form.add_error(form_field(exc, form.fields), exc.message)
        else:
            messages.success(request, f"Visual DNA \u201c{dna.name}\u201d created.")
            return redirect("catalog_dna_detail", team.uuid, dna.pk)
    context = {
        "team": team,
        "membership": membership,
        "form": form,
        "dnas": _dna_cards(list(_dnas(team))),
    }
    return render(request, "catalog/dna_list.html", context, status=400 if write else 200)


@login_required
@require_GET
def dna_detail(request: HttpRequest, team_uuid: UUID, dna_id: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    dna = _dna_cards([_dna_object(membership.team, dna_id)])[0]
    context = {"team": membership.team, "membership": membership, "dna": dna}
    return render(request, "catalog/dna_detail.html", context)


@login_required
@require_POST
def dna_delete(request: HttpRequest, team_uuid: UUID, dna_id: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=True)
    dna = _dna_object(membership.team, dna_id)
    try:
        services.delete_visual_dna(dna)
    except StudioError as exc:
        messages.error(request, exc.message)
        return redirect("catalog_dna_detail", membership.team.uuid, dna.pk)
    messages.success(request, f"Deleted Visual DNA \u201c{dna.name}\u201d.")
    return redirect("catalog_dna", membership.team.uuid)


# --- moodboards -------------------------------------------------------------------------------


def _boards(team: Team) -> QuerySet[Moodboard]:
    return Moodboard.objects.filter(Q(team=team) | Q(team__isnull=True)).prefetch_related("images")


def _board_cards(boards: list[Moodboard]) -> list[Moodboard]:
    for board in boards:
        board.image_urls = [  # type: ignore[attr-defined]
            image_path(i) for i in sorted(board.images.all(), key=lambda i: i.pk)
        ]
    return boards


def _board_object(team: Team, board_id: UUID) -> Moodboard:
    board = _boards(team).filter(pk=board_id).first()
    if board is None:
        raise Http404
    return board


@login_required
def moodboard_list(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    write = request.method == "POST"
    membership = get_membership(request, team_uuid, write=write)
    team = membership.team
    form = MoodboardForm(request.POST if write else None)
    if write and form.is_valid():
        try:
            uploads = [services.check_upload_file(f) for f in request.FILES.getlist("images")]
            board = services.create_moodboard(
                team, _user(request), uploads=uploads, **form.cleaned_data
            )
        except StudioError as exc:
            form.add_error(form_field(exc, form.fields), exc.message)
        else:
            messages.success(request, f"Moodboard \u201c{board.name}\u201d created.")
            return redirect("catalog_moodboard_detail", team.uuid, board.pk)
    scope = request.GET.get("scope")
    boards = _boards(team)
    if scope == "personal":
        boards = boards.filter(team__isnull=False)
    elif scope == "preset":
        boards = boards.filter(team__isnull=True)
    context = {
        "team": team,
        "membership": membership,
        "form": form,
        "scope": scope if scope in ("personal", "preset") else "",
        "boards": _board_cards(list(boards)),
    }
    return render(request, "catalog/moodboards.html", context, status=400 if write else 200)


@login_required
@require_GET
def moodboard_detail(request: HttpRequest, team_uuid: UUID, moodboard_id: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    board = _board_cards([_board_object(membership.team, moodboard_id)])[0]
    studio_url = (
        reverse("studio", args=[membership.team.uuid]) + f"?type=image&moodboard_id={board.pk}"
    )
    context = {
        "team": membership.team,
        "membership": membership,
        "board": board,
        "studio_url": studio_url,
    }
    return render(request, "catalog/moodboard_detail.html", context)


@login_required
@require_POST
def moodboard_delete(request: HttpRequest, team_uuid: UUID, moodboard_id: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid, write=True)
    board = _board_object(membership.team, moodboard_id)
    try:
        services.delete_moodboard(board)
    except StudioError as exc:
        messages.error(request, exc.message)
        return redirect("catalog_moodboard_detail", membership.team.uuid, board.pk)
    messages.success(request, f"Deleted moodboard \u201c{board.name}\u201d.")
    return redirect("catalog_moodboards", membership.team.uuid)
