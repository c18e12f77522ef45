"""The content-safety policy a team's images are held to: the settings (studio/safety.py),
with what an admin overrode for the team (`SafetyPolicy`)."""

from __future__ import annotations

from generations.models import SafetyPolicy
from studio import safety


def policy_for(team_id: int | None) -> safety.Policy:
    default = safety.default_policy()
    override = SafetyPolicy.objects.filter(team_id=team_id).first() if team_id else None
    if override is None:
        return default
    return safety.Policy(
        override.threshold if override.threshold is not None else default.threshold,
        override.action or default.action,
    )
