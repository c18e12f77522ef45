"""The team storage quota's use cases: the only code that changes `Team.storage_used_bytes`.

Like the credit ledger, the counter is changed only by conditional UPDATEs:

- `charge` adds bytes only where they still fit (`storage_used_bytes <= limit - size`), in one
  statement, so two writers racing for the last megabytes cannot both win and a team never ends
  over its plan's limit. Writers charge first, in the transaction that writes the row that
  holds the bytes (an Asset, pending until its upload ends; a catalog image), and write the
  file second; a write that fails deletes the row and gives the bytes back with
  `release_deleted`. A process killed in between leaves a row holding its charge, never a
  charge held by nothing.
- `release_deleted` deletes the rows that hold stored bytes and gives the bytes back only when
  this caller's DELETE removed them, so two concurrent deletes of the same media return the
  bytes once.
- `check_room` is the early refusal before a job is accepted (the result's size is not known
  yet; the charge at collect time is the one that counts).

A release never takes the counter below zero (the CHECK constraint on the
column is the last line, as for credits). `reconcile` (manage.py reconcile_storage) compares
the counter with the rows that hold bytes, which the apps that own them register
(`register_holder`), and can set it right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Model, QuerySet, Value
from django.db.models.functions import Greatest

from studio.accounts.models import Plan, Team
from studio.errors import NoStorageLeft, UploadDoesNotFit

MB = 1024 * 1024


def limit_bytes(team: Team) -> int:
    """The team's current plan limit, read fresh (an admin may have changed the plan)."""
    limit = Plan.objects.filter(teams=team.pk).values_list("storage_limit_bytes", flat=True).first()
    return int(limit if limit is not None else team.plan.storage_limit_bytes)


def used_bytes(team: Team) -> int:
    used = Team.objects.filter(pk=team.pk).values_list("storage_used_bytes", flat=True).first()
    return int(used or 0)


def charge(team: Team, size: int, *, what: str = "this upload") -> None:
    """Count `size` bytes against the team's plan, or raise UploadDoesNotFit (413) and change
    nothing when they do not fit."""
    if size <= 0:
        return
    limit = limit_bytes(team)
    charged = Team.objects.filter(pk=team.pk, storage_used_bytes__lte=limit - size).update(
        storage_used_bytes=F("storage_used_bytes") + size
    )
    if charged != 1:
        raise UploadDoesNotFit(
            f"Your team's storage is full: {what} does not fit in the plan's {limit // MB:,} MB; "
            "delete something or move to a larger plan"
        )


def release(team_id: int | None, size: int) -> None:
    """Give `size` bytes back (a charge whose write failed, or a deletion the caller won)."""
    if team_id is None or size <= 0:
        return
    Team.objects.filter(pk=team_id).update(
        storage_used_bytes=Greatest(F("storage_used_bytes") - size, Value(0))
    )


def release_deleted(rows: QuerySet[Model], team_id: int | None, size: int) -> bool:
    """Delete `rows` and give `size` bytes back only if this call deleted them; True if it did.

    The DELETE and the release commit together, so the bytes come back exactly once however
    many callers delete the same rows at the same time."""
    with transaction.atomic():
        _, per_model = rows.delete()
        if not per_model.get(rows.model._meta.label, 0):
            return False
        release(team_id, size)
    return True


def check_room(team: Team) -> None:
    """Refuse new work (403) while the team's storage is already full."""
    if used_bytes(team) >= limit_bytes(team):
        raise NoStorageLeft(
            "Your team's storage is full; delete old generations or move to a larger plan"
        )


# --- reconciling -------------------------------------------------------------------------

# Each: the bytes that rows of one kind hold, per team id ({team_id: bytes}).
_holders: dict[str, Callable[[], dict[int, int]]] = {}


def register_holder(name: str, bytes_per_team: Callable[[], dict[int, int]]) -> None:
    """An app's rows that hold charged bytes (at app ready): `reconcile` adds them up."""
    _holders[name] = bytes_per_team


@dataclass(frozen=True)
class Drift:
    team: Team
    counted: int  # storage_used_bytes
    held: int  # what the registered rows hold


def reconcile(*, fix: bool = False, teams: Iterable[Team] | None = None) -> list[Drift]:
    """Teams whose counter differs from the bytes their rows hold; with `fix`, set it right.

    A fix is a conditional UPDATE (the counter still has the value read), so a charge or a
    release that lands meanwhile is never overwritten: run again to pick up such a team."""
    held: dict[int, int] = {}
    for bytes_per_team in _holders.values():
        for team_id, size in bytes_per_team().items():
            held[team_id] = held.get(team_id, 0) + int(size or 0)
    drifts = []
    for team in teams if teams is not None else Team.objects.order_by("pk"):
        counted, should = int(team.storage_used_bytes or 0), held.get(team.pk, 0)
        if counted == should:
            continue
        drifts.append(Drift(team, counted, should))
        if fix:
            Team.objects.filter(pk=team.pk, storage_used_bytes=counted).update(
                storage_used_bytes=should
            )
    return drifts
