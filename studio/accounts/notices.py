"""Notices carried by the credit badge's poll, the one poll every dashboard page makes.

The core knows nothing of what a notice is about: apps register a source, which gets the
team and the ids the browser watches (jobs it started) and returns what has happened to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from studio.accounts.models import Team

MAX_WATCHED = 50


@dataclass(frozen=True)
class Notice:
    key: str  # the watched id it settles; the browser stops watching it
    text: str
    url: str
    tone: str = "ok"  # "ok" or "err"


NoticeSource = Callable[[Team, list[str]], list[Notice]]
_sources: list[NoticeSource] = []


def register(source: NoticeSource) -> None:
    if source not in _sources:
        _sources.append(source)


def collect(team: Team, watched: list[str]) -> list[Notice]:
    watched = [w for w in watched if w][:MAX_WATCHED]
    if not watched:
        return []
    return [notice for source in _sources for notice in source(team, watched)]
