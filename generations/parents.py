"""Parent jobs: a generation that plans, then runs child generations (a creative director's
scenes; later an ad's images, an agent run's paid tool calls) and finishes when they are.

    accepted: parent queued + N children held (queued, no lease: nobody sends them)
    plan:     parent queued → running, the children's prompts written and released (one
              transaction), then each child is an ordinary job of the engine
    finish:   every child terminal → parent succeeded (≥ 1 child succeeded) or failed

Money: each child is charged its own price under its own ledger cause when the parent is
accepted (same transaction), so a failed or cancelled child is refunded once by the
engine's ordinary rule. The parent has no debit of its own; its `credits_charged` and
`credits_refunded` report the sums of its children's. Stopping the parent (cancel, its
deadline) stops its unfinished children, each refunded once.

Crash safety: the plan step claims the parent by moving its lease (a duplicate delivery
loses the claim); a worker killed while planning leaves the parent queued with an expired
lease, which the sweeper re-sends (dispatch.sweep) to plan again; children are created only
at acceptance, so a re-driven plan never creates or charges one twice. `sweep` finishes a
parent whose last child ended while its worker died, and stops the children of a parent
that was stopped by a worker that died before it could stop them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from generations import engine, notify
from generations.models import (
    ACTIVE_STATES,
    PARENT_TYPES,
    AIModel,
    Generation,
    GenerationState,
    Source,
)
from generations.pricing import Quote
from generations.providers.base import Failure, FailureCategory
from studio.accounts.models import Team, User
from studio.errors import InvalidFields

log = logging.getLogger(__name__)

S = GenerationState
# How long one plan step may take before the sweeper plans again (a slow language model).
PLAN_LEASE = timedelta(minutes=3)
PLAN_DEADLINE = timedelta(minutes=10)


@dataclass(frozen=True)
class ChildSpec:
    """One child as accepted: its type, model, validated params and price."""

    type: str
    model: AIModel
    params: dict[str, Any]
    quote: Quote
    label: str  # what the ledger and the breakdown call it ("Scene 2")


@dataclass(frozen=True)
class ChildPlan:
    """What the plan step writes into one held child before releasing it."""

    prompt: str
    params: dict[str, Any] = field(default_factory=dict)  # merged into the child's params
    meta: dict[str, Any] = field(default_factory=dict)  # shown with it (title, shot…)


@dataclass(frozen=True)
class Plan:
    children: list[ChildPlan]
    meta: dict[str, Any] = field(default_factory=dict)  # about the plan ({"planner": …})


Planner = Callable[[Generation, list[Generation]], Plan]
_planners: dict[str, Planner] = {}


def register_planner(parent_type: str, planner: Planner) -> None:
    """Install the plan step of a parent type (its module calls this when imported)."""
    _planners[parent_type] = planner


def planner_for(parent_type: str) -> Planner:
    if parent_type not in _planners:
        import importlib

        importlib.import_module(f"generations.{parent_type}")  # registers itself
    return _planners[parent_type]


def is_parent(generation: Generation) -> bool:
    return generation.type in PARENT_TYPES


def is_held(generation: Generation) -> bool:
    """A child accepted but not yet released by its parent's plan step."""
    return (
        generation.parent_id is not None
        and generation.state == S.QUEUED
        and generation.lease_until is None
    )


# --- acceptance ---------------------------------------------------------------------------------


def start_parent(
    team: Team,
    user: User | None,
    parent_type: str,
    *,
    model: AIModel,
    params: dict[str, Any],
    prompt: str,
    children: list[ChildSpec],
    source: str = Source.DASHBOARD,
    api_key_id: UUID | None = None,
    idempotency_key: str | None = None,
    fingerprinted: dict[str, Any] | None = None,
) -> Any:
    """Create the parent and its held children, each child charged its own price, in one
    transaction; then enqueue the plan step. Returns services.Started. `fingerprinted` is
    what an Idempotency-Key retry must repeat (the request before defaults such as a
    random seed were filled in; `params` when not given)."""
    from generations import services

    if not children:
        raise InvalidFields("A parent job needs at least one child")
    fingerprint = services.fingerprint_of(
        parent_type, model.identifier, params if fingerprinted is None else fingerprinted
    )
    key = services.clean_idempotency_key(idempotency_key)
    if key:
        earlier = services.replay(team, key, fingerprint)
        if earlier is not None:
            return services.Started(earlier, True)
    now = timezone.now()
    child_deadline = max(engine.deadline_for(c.type) for c in children)
    deadline = now + PLAN_DEADLINE + child_deadline * len(children)
    total = sum(c.quote.credits for c in children)
    try:
        with transaction.atomic():
            parent = Generation.objects.create(
                team=team,
                created_by=user,
                source=source,
                api_key_id=api_key_id,
                type=parent_type,
                model=model,
                model_identifier=model.identifier,
                provider=model.provider,
                prompt=prompt,
                params=params,
                price={
                    "credits": total,
                    "children": [{"label": c.label, **c.quote.as_dict()} for c in children],
                },
                credits_charged=total,
                idempotency_key=key,
                request_fingerprint=fingerprint,
                deadline_at=deadline,
                lease_until=now + engine.REQUEUE_AFTER,
                created_at=now,
            )
            for spec in children:
                services.create_charged(
                    team,
                    user,
                    note=f"{parent.get_type_display()} · {spec.label} · {spec.model.name}",
                    source=source,
                    api_key_id=api_key_id,
                    parent=parent,
                    type=spec.type,
                    model=spec.model,
                    prompt=str(spec.params.get("prompt") or ""),
                    params=spec.params,
                    price={**spec.quote.as_dict(), "label": spec.label},
                    credits_charged=spec.quote.credits,
                    deadline_at=deadline,
                    lease_until=None,  # held until the plan step releases it
                    created_at=now,
                )
            transaction.on_commit(
                lambda: engine.enqueue("generations.tasks.submit_generation", parent.pk)
            )
    except IntegrityError:
        if not key:
            raise
        earlier = services.replay(team, key, fingerprint)
        if earlier is None:
            raise
        return services.Started(earlier, True)
    return services.Started(parent, False)


def add_child(
    parent: Generation,
    spec: ChildSpec,
    *,
    prompt: str,
    meta: dict[str, Any],
    user: User | None,
    still_wanted: Callable[[Generation], None] | None = None,
) -> Generation:
    """One more child for a planned parent (a scene made again), charged its own price in
    the same transaction; a finished parent runs again until it has. Conflict when the
    parent was cancelled or is still planning. `still_wanted(parent)` runs under the
    parent's lock and raises Conflict when a concurrent request already added the part (a
    double click must not charge twice)."""
    from generations import services
    from studio.errors import Conflict

    now = timezone.now()
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=parent.pk)
        if locked.state not in (S.RUNNING, S.SUCCEEDED, S.FAILED):
            raise Conflict(f"This {locked.get_type_display().lower()} cannot take another part now")
        if still_wanted is not None:
            still_wanted(locked)
        deadline = max(locked.deadline_at, now + engine.deadline_for(spec.type))
        child = services.create_charged(
            locked.team,
            user,
            note=f"{locked.get_type_display()} · {spec.label} · {spec.model.name}",
            source=locked.source,
            api_key_id=locked.api_key_id,
            parent=locked,
            type=spec.type,
            model=spec.model,
            prompt=prompt,
            params={**spec.params, "prompt": prompt},
            price={**spec.quote.as_dict(), "label": spec.label},
            credits_charged=spec.quote.credits,
            deadline_at=deadline,
            lease_until=now + engine.REQUEUE_AFTER,
            created_at=now,
        )
        planned = [
            *(locked.result_meta or {}).get("children", []),
            {**meta, "generation_id": str(child.uuid)},
        ]
        Generation.objects.filter(pk=locked.pk, state=locked.state).update(
            state=S.RUNNING,
            credits_charged=F("credits_charged") + spec.quote.credits,
            result_meta={**(locked.result_meta or {}), "children": planned},
            deadline_at=deadline,
            completed_at=None,
            error="",
            failure={},
        )
        transaction.on_commit(lambda: _send([child.pk]))
    return child


# --- the plan step ------------------------------------------------------------------------------


def plan(parent_id: int) -> None:
    """Plan a queued parent and release its children; safe to run twice (one claim wins,
    and the release is one conditional transaction)."""
    parent = Generation.objects.select_related("team", "model").filter(pk=parent_id).first()
    if parent is None or parent.state != S.QUEUED:
        return
    lease = timezone.now() + PLAN_LEASE
    claimed = Generation.objects.filter(
        pk=parent_id, state=S.QUEUED, lease_until=parent.lease_until
    ).update(lease_until=lease)
    if not claimed:
        return  # another worker plans it
    children = list(parent.children.order_by("pk"))
    try:
        made = planner_for(parent.type)(parent, children)
        if len(made.children) != len(children):
            raise ValueError(f"planned {len(made.children)} of {len(children)} children")
    except Exception as exc:
        log.exception("planning %s failed", parent.uuid, extra=engine.log_fields(parent, "plan"))
        # Only while still planning: a worker that lost its lease to a re-plan that already
        # released the children must not stop them.
        engine.fail(
            parent_id,
            Failure(f"The plan could not be made: {exc}", FailureCategory.INTERNAL, "PLAN_FAILED"),
            from_states=[S.QUEUED],
        )
        return
    now = timezone.now()
    released: list[int] = []
    with transaction.atomic():
        moved = Generation.objects.filter(pk=parent_id, state=S.QUEUED, lease_until=lease).update(
            state=S.RUNNING,
            lease_until=None,
            submitted_at=now,
            progress=5,
            result_meta={
                **made.meta,
                "children": [
                    {**c.meta, "generation_id": str(child.uuid)}
                    for child, c in zip(children, made.children, strict=True)
                ],
            },
        )
        if not moved:
            return  # cancelled (or re-planned after our lease ran out) meanwhile
        for child, child_plan in zip(children, made.children, strict=True):
            if Generation.objects.filter(
                pk=child.pk, state=S.QUEUED, lease_until__isnull=True
            ).update(
                prompt=child_plan.prompt,
                params={**child.params, **child_plan.params, "prompt": child_plan.prompt},
                lease_until=now + engine.REQUEUE_AFTER,
            ):
                released.append(child.pk)
        transaction.on_commit(lambda: _send(released))
    log.info(
        "parent %s planned: %d children",
        parent.uuid,
        len(released),
        extra=engine.log_fields(parent, "plan", planner=made.meta.get("planner")),
    )


def _send(children: list[int]) -> None:
    for pk in children:
        engine.enqueue("generations.tasks.submit_generation", pk)


# --- finishing ----------------------------------------------------------------------------------


def child_finished(parent_id: int) -> None:
    """A child reached a terminal state: raise the parent's progress, and finish the parent
    once every child has (succeeded if any child did). Safe to call any number of times."""
    with transaction.atomic():
        # The parent's lock orders this after any add_child (a scene made again), which
        # takes it too: the children read below are all the parent has.
        if not Generation.objects.select_for_update().filter(pk=parent_id).exists():
            return
        rows = list(
            Generation.objects.filter(parent_id=parent_id).values_list(
                "state", "progress", "credits_refunded"
            )
        )
        if not rows:
            return
        done = [state not in ACTIVE_STATES for state, _, _ in rows]
        progress = sum(100 if d else p for d, (_, p, _) in zip(done, rows, strict=True))
        refunded = sum(r for _, _, r in rows)
        # A derived sum: kept right even for a parent already stopped (its children's own
        # refunds land after it).
        Generation.objects.filter(pk=parent_id).update(credits_refunded=refunded)
        if not all(done):
            Generation.objects.filter(pk=parent_id, state=S.RUNNING).update(
                progress=Greatest("progress", min(progress // len(rows), 99))
            )
            return
        succeeded = sum(1 for state, _, _ in rows if state == S.SUCCEEDED)
        now = timezone.now()
        if succeeded:
            moved = Generation.objects.filter(pk=parent_id, state=S.RUNNING).update(
                state=S.SUCCEEDED,
                progress=100,
                credits_refunded=refunded,
                completed_at=now,
            )
        else:
            failure = Failure(
                "None of its parts finished; your credits were refunded",
                FailureCategory.INTERNAL,
                "ALL_CHILDREN_FAILED",
            )
            moved = Generation.objects.filter(pk=parent_id, state=S.RUNNING).update(
                state=S.FAILED,
                error=failure.message,
                failure=failure.as_dict(),
                credits_refunded=refunded,
                completed_at=now,
            )
        if moved:
            notify.notify_finished(parent_id)
    if moved:
        log.info("parent %s finished: %d of %d children succeeded", parent_id, succeeded, len(rows))


def stop_children(parent: Generation, state: str, failure: Failure) -> int | None:
    """The parent was cancelled or failed: stop its unfinished children (each refunded once
    by the engine) and record the refunds on the parent; returns its credits refunded (None
    for a generation of a parent type that runs without children)."""
    if not parent.children.exists():
        return None
    for pk in Generation.objects.filter(parent=parent, state__in=ACTIVE_STATES).values_list(
        "pk", flat=True
    ):
        if state == S.CANCELLED:
            engine.cancel(pk)
        else:
            engine.fail(pk, failure)
    return record_refunds(parent.pk)


def record_refunds(parent_id: int) -> int:
    refunded = sum(
        Generation.objects.filter(parent_id=parent_id).values_list("credits_refunded", flat=True)
    )
    Generation.objects.filter(pk=parent_id).update(credits_refunded=refunded)
    return refunded


def sweep(now: Any) -> dict[str, int]:
    """Repair parents a dead worker left half-way (see the module's docstring)."""
    counts = {"parents_finished": 0, "children_stopped": 0}
    running = Generation.objects.filter(
        type__in=PARENT_TYPES, state=S.RUNNING, children__isnull=False
    ).exclude(children__state__in=ACTIVE_STATES)
    for pk in running.distinct().values_list("pk", flat=True):
        child_finished(pk)
        counts["parents_finished"] += 1
    for pk in _stopped_with_active_children():
        with transaction.atomic():
            # Read again under the parent's lock, which add_child takes too: a scene made
            # again since the query above turned the parent back to running, and its new
            # child must not be stopped by what the sweeper read before.
            parent = (
                Generation.objects.select_for_update()
                .filter(pk=pk, state__in=[S.FAILED, S.CANCELLED])
                .first()
            )
            if parent is None:
                continue
            failure = Failure(
                parent.error or "Stopped with its parent",
                FailureCategory.CANCELLED,
                "PARENT_STOPPED",
            )
            stop_children(parent, parent.state, failure)
        counts["children_stopped"] += 1
    return counts


def _stopped_with_active_children() -> list[int]:
    """Parents that failed or were cancelled while a child was still running (a worker died
    between stopping the parent and stopping its children)."""
    return list(
        Generation.objects.filter(
            type__in=PARENT_TYPES,
            state__in=[S.FAILED, S.CANCELLED],
            children__state__in=ACTIVE_STATES,
        )
        .distinct()
        .values_list("pk", flat=True)
    )


# --- reading ------------------------------------------------------------------------------------


def children_of(parent: Generation) -> list[Generation]:
    return list(Generation.objects.filter(parent=parent).order_by("pk"))


def credits_breakdown(parent: Generation, children: list[Generation]) -> list[dict[str, Any]]:
    """What each child cost, then what came back: [{label, credits}] (refunds negative)."""
    lines: list[dict[str, Any]] = []
    refunds: list[dict[str, Any]] = []
    for index, child in enumerate(children):
        label = (child.price or {}).get("label") or f"Part {index + 1}"
        charge, *refund = credit_lines(child, label)
        lines.append(charge)
        refunds.extend(refund)
    return lines + refunds


def credit_lines(generation: Generation, label: str) -> list[dict[str, Any]]:
    """One job's charge line, then its refund line if any (the one format of
    `credits_breakdown`, for single jobs and parents' children alike)."""
    lines = [{"label": label, "credits": generation.credits_charged}]
    if generation.credits_refunded:
        why = {"cancelled": "cancelled", "failed": "failed"}.get(generation.state, "unused")
        lines.append({"label": f"Refund: {label} ({why})", "credits": -generation.credits_refunded})
    return lines


def live_progress(parent: Generation, children: list[Generation]) -> int:
    """The parent's progress from its children's (never below what was stored)."""
    if parent.state == S.SUCCEEDED:
        return 100
    if not children or parent.state == S.QUEUED:
        return parent.progress
    parts = [100 if c.is_finished else c.progress for c in children]
    return max(parent.progress, min(99, 5 + 95 * sum(parts) // (100 * len(parts))))
