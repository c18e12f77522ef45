from django.http import HttpRequest

from studio.accounts.models import Membership, User
from studio.accounts.services import can_create_team


def current_team(request: HttpRequest) -> dict[str, object]:
    """The team the page is about and the user's other teams, for the navigation.

    Pages that are not about a team (the account, a new team, an invitation) keep the
    navigation of the team the user was last in, rather than an empty sidebar.
    """
    if not request.user.is_authenticated:
        return {"current_team": None}
    memberships = getattr(request, "_all_memberships", None)
    if memberships is None:
        memberships = list(
            Membership.objects.filter(user=request.user)
            .select_related("team")
            .order_by("team__name")
        )
    team = getattr(request, "team", None)
    if team is None and memberships:
        last_team_id = getattr(request.user, "last_team_id", None)
        fallback = next((m for m in memberships if m.team_id == last_team_id), memberships[0])
        team = fallback.team
    return {
        "current_team": team,
        "current_membership": getattr(request, "membership", None),
        "my_memberships": memberships,
        "can_create_team": isinstance(request.user, User) and can_create_team(request.user),
    }
