"""The one way dashboard code reaches team data.

Outsiders get 404 (no existence leak), viewers get 403 on writes, and only owners/admins
pass `manage=True`. Every team-owned object is fetched through `team_object` so the team
filter cannot be forgotten.
"""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from studio.accounts.models import Membership, Team, User

M = TypeVar("M", bound=Model)


def get_membership(
    request: HttpRequest, team_uuid: UUID | str, *, write: bool = False, manage: bool = False
) -> Membership:
    user = request.user
    if not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("team", "team__plan")
        .filter(user=user, team__uuid=team_uuid)
        .first()
    )
    if membership is None:
        raise Http404("No such team")
    if (write or manage) and not membership.can_write:
        raise PermissionDenied("Viewers can look but not change anything")
    if manage and not membership.can_manage:
        raise PermissionDenied("Only owners and admins can do this")
    request.team = membership.team  # type: ignore[attr-defined]
    request.membership = membership  # type: ignore[attr-defined]
    assert isinstance(user, User)
    if user.last_team_id != membership.team_id:
        User.objects.filter(pk=user.pk).update(last_team=membership.team)
        user.last_team_id = membership.team_id
    return membership


def team_object(queryset: QuerySet[M], team: Team, **lookup: object) -> M:
    """The object matching `lookup` that belongs to `team`, or 404."""
    obj = queryset.filter(team=team, **lookup).first()
    if obj is None:
        raise Http404
    return obj
