from django.http import HttpRequest

from studio.accounts.models import Membership


def current_team(request: HttpRequest) -> dict[str, object]:
    """The team the page is about and the user's other teams, for the navigation."""
    team = getattr(request, "team", None)
    if not request.user.is_authenticated:
        return {"current_team": None}
    memberships = getattr(request, "_all_memberships", None)
    if memberships is None:
        memberships = list(
            Membership.objects.filter(user=request.user)
            .select_related("team")
            .order_by("team__name")
        )
    return {
        "current_team": team,
        "current_membership": getattr(request, "membership", None),
        "my_memberships": memberships,
    }
