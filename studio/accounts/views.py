"""Dashboard pages for teams, members, invitations, credits and the account."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from studio.accounts import credits, notices, services
from studio.accounts.access import get_membership, team_object
from studio.accounts.forms import (
    InviteForm,
    ProfileForm,
    RedeemForm,
    RoleForm,
    SignupForm,
    TeamForm,
)
from studio.accounts.models import Invitation, LedgerEntry, Membership, Role, User
from studio.accounts.usage import breakdowns as spending_breakdowns
from studio.errors import StudioError
from studio.pagination import CappedPaginator


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def team_home_url(team_uuid: UUID | str) -> str:
    # The Studio page is the team's home once generations exist; until then, credits.
    try:
        return reverse("studio", args=[team_uuid])
    except Exception:
        return reverse("credits", args=[team_uuid])


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    membership = None
    if user.last_team_id:
        membership = Membership.objects.filter(user=user, team_id=user.last_team_id).first()
    if membership is None:
        membership = Membership.objects.filter(user=user).order_by("team__name").first()
    if membership is None:
        return redirect("team_create")
    return redirect(team_home_url(membership.team.uuid))


@login_required
def team_home(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    return redirect(team_home_url(membership.team.uuid))


def _invitation_token(request: HttpRequest) -> str:
    """The invitation a visitor arrived with: `?invitation=`, or a `next` that is one.

    The invitation page's "I have an account" link goes to sign-in with `next` set to the
    invitation, and sign-in links to sign-up with the same `next`; without this, a visitor
    who changes their mind half-way lands on "sign-up is by invitation" holding one.
    """
    token = request.GET.get("invitation") or request.POST.get("invitation") or ""
    if token:
        return token
    next_url = request.GET.get("next") or request.POST.get("next") or ""
    if not next_url.startswith("/"):
        return ""
    try:
        match = resolve(urlsplit(next_url).path)
    except Http404:
        return ""
    return match.kwargs.get("token", "") if match.url_name == "accept_invitation" else ""


def signup(request: HttpRequest) -> HttpResponse:
    token = _invitation_token(request)
    invitation = None
    if token:
        try:
            invitation = services.find_usable_invitation(token)
        except StudioError as exc:
            return render(
                request, "accounts/invitation_invalid.html", {"error": exc.message}, status=404
            )
    if request.user.is_authenticated:
        if invitation:
            return redirect("accept_invitation", token=invitation.token)
        return redirect("home")
    if not settings.STUDIO_OPEN_SIGNUP and invitation is None:
        return render(request, "accounts/signup_closed.html", status=403)
    form = SignupForm(request.POST or None, invitation=invitation)
    if request.method == "POST" and form.is_valid():
        user = User.objects.create_user(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            name=form.cleaned_data["name"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if invitation is None:
            messages.success(request, "Welcome! Create your first team to get started.")
            return redirect("team_create")
        # Signing up through an invitation is accepting it: go straight into the team.
        try:
            membership = services.accept_invitation(invitation.token, user)
        except StudioError as exc:
            messages.error(request, exc.message)
            return redirect("accept_invitation", token=invitation.token)
        messages.success(request, f"Welcome to {membership.team.name}!")
        return redirect(team_home_url(membership.team.uuid))
    return render(request, "accounts/signup.html", {"form": form, "invitation": invitation})


@login_required
def team_create(request: HttpRequest) -> HttpResponse:
    if not services.can_create_team(_user(request)):
        return render(request, "accounts/team_create_closed.html", status=403)
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_own_team(form.cleaned_data["name"], _user(request))
        except StudioError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(request, f"Team {team.name} created.")
            return redirect(team_home_url(team.uuid))
    return render(request, "accounts/team_create.html", {"form": form})


def _assignable_roles(membership: Membership) -> list[tuple[str, str]]:
    """Roles this member may hand out: only owners make owners."""
    return [
        (value, label)
        for value, label in Role.choices
        if value != Role.OWNER or membership.role == Role.OWNER
    ]


_NEW_INVITATION = "new_invitation"


@login_required
def members(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    team = membership.team
    roles = _assignable_roles(membership)
    invite_form = InviteForm(roles=roles)
    if request.method == "POST":
        membership = get_membership(request, team_uuid, manage=True)
        invite_form = InviteForm(request.POST, roles=roles)
        if invite_form.is_valid():
            try:
                invitation = services.invite(
                    team,
                    _user(request),
                    role=invite_form.cleaned_data["role"],
                    email=invite_form.cleaned_data["email"],
                )
            except StudioError as exc:
                invite_form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    "Invitation created"
                    + (f" and emailed to {invitation.email}" if invitation.email else "")
                    + ". Copy the link below and send it to your teammate.",
                )
                # Only its hash is stored: the link can be shown this once, after the redirect.
                request.session[_NEW_INVITATION] = [
                    str(invitation.uuid),
                    services.invitation_url(invitation),
                ]
                return redirect("members", team_uuid=team.uuid)
    is_owner = membership.role == Role.OWNER
    team_members = list(team.memberships.select_related("user").order_by("user__email"))
    rows = [
        {
            "member": m,
            "is_me": m.pk == membership.pk,
            # Admins manage members and admins; owners are for owners to change.
            "can_change": membership.can_manage
            and m.pk != membership.pk
            and (is_owner or m.role != Role.OWNER),
        }
        for m in team_members
    ]
    invitations = []
    if membership.can_manage:
        new_uuid, new_url = request.session.pop(_NEW_INVITATION, None) or ("", "")
        invitations = [
            (i, new_url if str(i.uuid) == new_uuid else None)
            for i in team.invitations.filter(
                accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
            )
        ]
    managers = [m for m in team_members if m.can_manage and m.pk != membership.pk]
    return render(
        request,
        "accounts/members.html",
        {
            "team": team,
            "membership": membership,
            "rows": rows,
            "managers": managers,
            "invitations": invitations,
            "invite_form": invite_form,
            "role_choices": roles,
        },
    )


@login_required
@require_POST
def member_role(request: HttpRequest, team_uuid: UUID, member_id: int) -> HttpResponse:
    acting = get_membership(request, team_uuid, manage=True)
    target = team_object(Membership.objects.select_related("user"), acting.team, pk=member_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.change_role(acting, target, form.cleaned_data["role"])
            messages.success(request, f"{target.user.email} is now {form.cleaned_data['role']}.")
        except StudioError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, "Pick one of the listed roles.")
    return redirect("members", team_uuid=acting.team.uuid)


@login_required
@require_POST
def member_remove(request: HttpRequest, team_uuid: UUID, member_id: int) -> HttpResponse:
    acting = get_membership(request, team_uuid)
    target = team_object(Membership.objects.select_related("user"), acting.team, pk=member_id)
    if target.pk != acting.pk:
        acting = get_membership(request, team_uuid, manage=True)
    try:
        services.remove_member(acting, target)
    except StudioError as exc:
        messages.error(request, exc.message)
        return redirect("members", team_uuid=acting.team.uuid)
    if target.pk == acting.pk:
        messages.success(request, f"You left {acting.team.name}.")
        return redirect("home")
    messages.success(request, f"Removed {target.user.email} from the team.")
    return redirect("members", team_uuid=acting.team.uuid)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, team_uuid: UUID, invitation_uuid: UUID) -> HttpResponse:
    acting = get_membership(request, team_uuid, manage=True)
    invitation = team_object(Invitation.objects.all(), acting.team, uuid=invitation_uuid)
    services.revoke_invitation(invitation)
    messages.success(request, "Invitation revoked; the link no longer works.")
    return redirect("members", team_uuid=acting.team.uuid)


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.find_usable_invitation(token)
    except StudioError as exc:
        return render(
            request, "accounts/invitation_invalid.html", {"error": exc.message}, status=404
        )
    if not request.user.is_authenticated:
        return render(request, "accounts/invitation.html", {"invitation": invitation})
    if request.method == "POST":
        try:
            membership = services.accept_invitation(token, _user(request))
        except StudioError as exc:
            messages.error(request, exc.message)
            return redirect("accept_invitation", token=token)
        messages.success(request, f"You joined {membership.team.name}.")
        return redirect(team_home_url(membership.team.uuid))
    already = Membership.objects.filter(team=invitation.team, user=request.user).exists()
    user = _user(request)
    # Say so before the click: an invitation bound to another address cannot be accepted.
    wrong_account = bool(invitation.email) and invitation.email.lower() != user.email.lower()
    return render(
        request,
        "accounts/invitation.html",
        {"invitation": invitation, "already": already, "wrong_account": wrong_account},
    )


@login_required
def credits_page(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    team = membership.team
    redeem_form = RedeemForm()
    if request.method == "POST":
        get_membership(request, team_uuid, write=True)
        redeem_form = RedeemForm(request.POST)
        if redeem_form.is_valid():
            try:
                entry = credits.redeem_code(
                    team, redeem_form.cleaned_data["code"], user=_user(request)
                )
            except StudioError as exc:
                redeem_form.add_error("code", exc.message)
            else:
                messages.success(request, f"Redeemed {entry.amount:,} credits.")
                return redirect("credits", team_uuid=team.uuid)
    page = CappedPaginator(
        LedgerEntry.objects.filter(team=team).select_related("created_by"), 25
    ).get_page(request.GET.get("page"))
    usage = credits.daily_usage(team)
    peak = max((amount for _, amount in usage), default=0)
    context = {
        "team": team,
        "membership": membership,
        "page": page,
        "usage_bars": _usage_bars(usage, peak),
        "usage_peak": peak,
        "usage_total": sum(amount for _, amount in usage),
        "usage_by_member": credits.usage_by_member(team),
        "usage_breakdowns": spending_breakdowns(team),
        "redeem_form": redeem_form,
    }
    if getattr(request, "htmx", None) and request.htmx.target == "ledger":  # type: ignore[attr-defined]
        return render(request, "accounts/credits.html#ledger", context)
    return render(request, "accounts/credits.html", context)


_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    # A cell starting like a formula is kept as text when the file is opened in a spreadsheet.
    return f"'{value}" if value.startswith(_SPREADSHEET_FORMULA) else value


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def ledger_csv(request: HttpRequest, team_uuid: UUID) -> StreamingHttpResponse:
    """The team's whole ledger as CSV, oldest first, streamed (any size)."""
    membership = get_membership(request, team_uuid)
    team = membership.team
    entries = (
        LedgerEntry.objects.filter(team=team)
        .select_related("created_by")
        .order_by("created_at", "id")
        .iterator(chunk_size=1000)
    )
    writer = csv.writer(_Echo())
    header = ["when", "kind", "amount", "plan", "pack", "redemption", "balance_after"]
    header += ["cause", "note", "by"]

    def rows() -> Iterator[str]:
        yield writer.writerow(header)
        for e in entries:
            yield writer.writerow(
                [
                    e.created_at.isoformat(),
                    e.kind,
                    e.amount,
                    e.plan_delta,
                    e.pack_delta,
                    e.redemption_delta,
                    e.balance_after,
                    _csv_text(e.cause),
                    _csv_text(e.note),
                    _csv_text(e.created_by.email if e.created_by else ""),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    name = slugify(team.name) or "team"
    response["Content-Disposition"] = f'attachment; filename="{name}-ledger-{stamp}.csv"'
    return response


def _usage_bars(usage: list, peak: int) -> list[dict[str, object]]:
    """Bar geometry for the 600x160 usage chart, computed here to keep the template plain."""
    slot = 600 / max(len(usage), 1)
    bars = []
    for i, (day, amount) in enumerate(usage):
        height = round(130 * amount / peak) if peak else 0
        if amount and height < 2:
            height = 2  # a day with any spend stays visible
        bars.append(
            {
                "x": round(i * slot + slot * 0.15, 1),
                "width": round(slot * 0.7, 1),
                "y": 140 - height,
                "height": height,
                "day": day,
                "amount": amount,
            }
        )
    return bars


@login_required
def credit_badge(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    """The balance, and toasts for watched jobs that finished (the page's one poll)."""
    membership = get_membership(request, team_uuid)
    membership.team.refresh_from_db(fields=["plan_credits", "pack_credits", "redemption_credits"])
    watched = request.GET.get("watch", "").split(",")
    found = notices.collect(membership.team, watched)
    response = render(
        request,
        "partials/credit_badge.html",
        {"current_team": membership.team, "notices": found},
    )
    if found:
        response = trigger_client_event(response, "jobs-finished", {"ids": [n.key for n in found]})
    return response


@login_required
def team_settings(request: HttpRequest, team_uuid: UUID) -> HttpResponse:
    membership = get_membership(request, team_uuid)
    form = TeamForm(request.POST or None, initial={"name": membership.team.name})
    if request.method == "POST":
        membership = get_membership(request, team_uuid, manage=True)
        if form.is_valid():
            try:
                services.rename_team(membership, form.cleaned_data["name"])
            except StudioError as exc:
                form.add_error("name", exc.message)
            else:
                messages.success(request, "Team renamed.")
                return redirect("team_settings", team_uuid=membership.team.uuid)
    return render(
        request,
        "accounts/team_settings.html",
        {"team": membership.team, "membership": membership, "form": form},
    )


@login_required
def account(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("account")
    return render(request, "accounts/account.html", {"form": form})
