"""Shared by the management commands that take a team: find it by UUID or by name."""

from django.core.management.base import CommandError

from studio.accounts.models import Team


def find_team(ref: str) -> Team:
    """A team by UUID or exact (case-insensitive) name, or a clear error."""
    import uuid

    team = None
    try:
        team = Team.objects.filter(uuid=uuid.UUID(ref)).first()
    except ValueError:  # not a UUID: look it up by name
        team = None
    if team is None:
        matches = list(Team.objects.filter(name__iexact=ref)[:2])
        if len(matches) > 1:
            raise CommandError(f"More than one team is named {ref!r}; use its UUID")
        team = matches[0] if matches else None
    if team is None:
        raise CommandError(f"No team named or with UUID {ref!r}")
    return team
