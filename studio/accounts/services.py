"""Team use cases: creating teams, invitations, roles. Credits live in `credits.py`."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from studio.accounts import credits
from studio.accounts.models import (
    Invitation,
    Membership,
    Plan,
    Role,
    Team,
    User,
    hash_invitation_token,
)
from studio.errors import Conflict, Forbidden, InvalidFields, NotFound


def default_plan() -> Plan:
    plan = Plan.objects.filter(is_default=True).first()
    if plan is None:
        plan = Plan.objects.filter(slug=settings.STUDIO_DEFAULT_PLAN).first()
    if plan is None:
        raise NotFound("No default plan is configured; create one in the admin")
    return plan


def can_create_team(user: User) -> bool:
    """Whether `user` may create a team from the dashboard (STUDIO_TEAM_CREATION)."""
    policy = settings.STUDIO_TEAM_CREATION
    return policy == "open" or (policy == "admins" and user.is_staff)


def create_own_team(name: str, owner: User) -> Team:
    """A team a user creates for themselves: the setting decides who may, and with how much."""
    if not can_create_team(owner):
        raise Forbidden("Creating teams is turned off here; ask an operator to create one")
    return create_team(name, owner, starting_credits=settings.STUDIO_NEW_TEAM_CREDITS)


def create_team(
    name: str, owner: User, *, plan: Plan | None = None, starting_credits: int | None = None
) -> Team:
    """A new team with `owner` as its owner and its first plan period started (with
    `starting_credits` instead of the plan's allowance when given)."""
    name = name.strip()
    if not name:
        raise InvalidFields("A team needs a name")
    if len(name) > 100:
        raise InvalidFields("Team names are at most 100 characters")
    plan = plan or default_plan()
    now = timezone.now()
    with transaction.atomic():
        team = Team.objects.create(name=name, plan=plan, plan_period_start=now, plan_renews_at=now)
        Membership.objects.create(user=owner, team=team, role=Role.OWNER)
        # The first period starts now; the reset writes the allowance to the ledger.
        if starting_credits is None:
            credits.reset_plan_if_due(team, now=now)
        else:
            credits.start_first_period(team, starting_credits, now=now)
        if owner.last_team_id is None:
            User.objects.filter(pk=owner.pk).update(last_team=team)
            owner.last_team = team
    team.refresh_from_db()
    return team


def invitation_url(invitation: Invitation) -> str:
    return settings.BASE_URL + reverse("accept_invitation", args=[invitation.token])


def invite(
    team: Team, by: User, *, role: str = Role.MEMBER, email: str = "", send_email: bool = True
) -> Invitation:
    if role not in Role.values:
        raise InvalidFields(f"Unknown role {role!r}")
    if (
        role == Role.OWNER
        and not Membership.objects.filter(team=team, user=by, role=Role.OWNER).exists()
    ):
        raise Forbidden("Only an owner can invite another owner")
    email = email.strip().lower()
    if email and Membership.objects.filter(team=team, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member of {team.name}")
    invitation = Invitation.objects.create(
        team=team,
        role=role,
        email=email,
        invited_by=by,
        expires_at=Invitation.default_expiry(settings.STUDIO_INVITATION_DAYS),
    )
    if email and send_email:
        transaction.on_commit(lambda: _send_invitation_email(invitation))
    return invitation


def _send_invitation_email(invitation: Invitation) -> None:
    inviter = invitation.invited_by.display_name if invitation.invited_by else "A teammate"
    send_mail(
        subject=f"{inviter} invited you to {invitation.team.name} on {settings.STUDIO_SITE_NAME}",
        message=(
            f"{inviter} invited you to join {invitation.team.name} as "
            f"{invitation.get_role_display().lower()}.\n\n"
            f"Accept here: {invitation_url(invitation)}\n\n"
            f"The link expires on {invitation.expires_at:%Y-%m-%d}."
        ),
        from_email=None,
        recipient_list=[invitation.email],
        fail_silently=True,
    )


def find_usable_invitation(token: str) -> Invitation:
    """The open invitation behind `token`, or NotFound saying why the link is dead."""
    invitation = (
        Invitation.objects.select_related("team", "invited_by")
        .filter(token_hash=hash_invitation_token(token))
        .first()
    )
    # The token is the secret, so whoever holds it may learn why it no longer works.
    if invitation is None:
        raise NotFound("This invitation link is not valid; check that you copied all of it")
    invitation.token = token
    if invitation.revoked_at is not None:
        raise NotFound("This invitation was withdrawn")
    if invitation.accepted_at is not None:
        raise NotFound("This invitation has already been used")
    if not invitation.is_usable:
        raise NotFound("This invitation has expired")
    return invitation


def accept_invitation(token: str, user: User) -> Membership:
    with transaction.atomic():
        invitation = find_usable_invitation(token)
        if invitation.email and invitation.email.lower() != user.email.lower():
            raise Forbidden(f"This invitation is for {invitation.email}; sign in with that address")
        existing = Membership.objects.filter(team=invitation.team, user=user).first()
        if existing:
            return existing
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(accepted_at=timezone.now(), accepted_by=user)
        if claimed != 1:
            raise NotFound("This invitation has already been used")
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    user=user, team=invitation.team, role=invitation.role
                )
        except IntegrityError:
            return Membership.objects.get(team=invitation.team, user=user)
        User.objects.filter(pk=user.pk).update(last_team=invitation.team)
        return membership


def revoke_invitation(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def _lock_owners(team_id: int) -> list[int]:
    """Lock the team's owner memberships and return their ids.

    Locking only the membership being changed lets two owners demote (or remove) each
    other at once on PostgreSQL, each seeing the other still there, and leaves the team
    ownerless. Locking every owner row, in a fixed order, serialises those changes; a
    waiter re-reads the rows after the winner commits and no longer counts a demoted owner.
    """
    return list(
        Membership.objects.select_for_update()
        .filter(team_id=team_id, role=Role.OWNER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def change_role(acting: Membership, target: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise InvalidFields(f"Unknown role {role!r}")
    if not acting.can_manage:
        raise Forbidden("Only owners and admins manage members")
    if Role.OWNER in (role, target.role) and acting.role != Role.OWNER:
        raise Forbidden("Only an owner can grant or take away the owner role")
    with transaction.atomic():
        owners = _lock_owners(target.team_id)
        locked = Membership.objects.select_for_update().filter(pk=target.pk).first()
        if locked is None:
            raise NotFound("That person is no longer a member of the team")
        if Role.OWNER in (role, locked.role) and acting.pk not in owners:
            raise Forbidden("Only an owner can grant or take away the owner role")
        if locked.role == Role.OWNER and role != Role.OWNER and owners == [locked.pk]:
            raise Conflict("A team needs at least one owner; make someone else owner first")
        locked.role = role
        locked.save(update_fields=["role"])
    return locked


def remove_member(acting: Membership, target: Membership) -> None:
    leaving = acting.pk == target.pk
    if not leaving and not acting.can_manage:
        raise Forbidden("Only owners and admins remove members")
    if not leaving and target.role == Role.OWNER and acting.role != Role.OWNER:
        raise Forbidden("Only an owner can remove an owner")
    with transaction.atomic():
        owners = _lock_owners(target.team_id)
        locked = Membership.objects.select_for_update().filter(pk=target.pk).first()
        if locked is None:
            raise NotFound("That person is no longer a member of the team")
        if locked.role == Role.OWNER and owners == [locked.pk]:
            raise Conflict(
                "The last owner cannot leave; make someone else owner first"
                if leaving
                else "A team needs at least one owner; make someone else owner first"
            )
        User.objects.filter(pk=locked.user_id, last_team_id=locked.team_id).update(last_team=None)
        locked.delete()


def rename_team(membership: Membership, name: str) -> Team:
    if not membership.can_manage:
        raise Forbidden("Only owners and admins rename the team")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidFields("Team names are 1 to 100 characters")
    Team.objects.filter(pk=membership.team_id).update(name=name)
    membership.team.name = name
    return membership.team
