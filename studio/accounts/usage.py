"""Breakdowns of a team's spending shown on the Credits page, contributed by apps.

The ledger knows who started each charge (the per-member table in `credits`); what a charge
was made through (an API key) is known to the app that made it, which registers here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from studio.accounts.models import Team


@dataclass(frozen=True)
class UsageRow:
    label: str
    detail: str  # a second, quieter line (a key's prefix)
    spent: int
    jobs: int


@dataclass(frozen=True)
class Breakdown:
    title: str
    rows: list[UsageRow]


BreakdownSource = Callable[[Team, int], Breakdown | None]
_sources: list[BreakdownSource] = []


def register(source: BreakdownSource) -> None:
    if source not in _sources:
        _sources.append(source)


def breakdowns(team: Team, days: int = 30) -> list[Breakdown]:
    found = (source(team, days) for source in _sources)
    return [b for b in found if b is not None and b.rows]
