"""Generation use cases: start, cancel, delete, re-run. Views, API handlers and tasks call these."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from generations import assets, engine, extensions, params, pricing
from generations.models import AIModel, Generation, GenerationState, GenerationType, Source
from generations.registry import resolve_model
from studio.accounts import credits, storage_quota
from studio.accounts.models import Team, User
from studio.errors import Conflict, InvalidFields, NotFound, StudioError

IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Started:
    generation: Generation
    replayed: bool  # True when an Idempotency-Key returned an earlier generation


def fingerprint_of(generation_type: str, model_identifier: str, validated: dict[str, Any]) -> str:
    """What an Idempotency-Key replay compares: the request as validated."""
    body = json.dumps(
        {"type": generation_type, "model": model_identifier, "params": validated},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def clean_idempotency_key(key: str | None) -> str:
    key = (key or "").strip()
    if len(key) > 255:
        raise InvalidFields("Idempotency-Key is at most 255 characters")
    return key


def create_charged(
    team: Team, user: User | None, *, note: str, model: AIModel, **fields: Any
) -> Generation:
    """A new generation and the debit of its `credits_charged`, inside the caller's
    transaction: the one place a job is charged when it is accepted (starts, chat messages,
    a parent's children). The debit's cause is the job's own, so it is refunded once."""
    assert transaction.get_connection().in_atomic_block, "charge inside the caller's transaction"
    generation = Generation.objects.create(
        team=team,
        created_by=user,
        model=model,
        model_identifier=model.identifier,
        provider=model.provider,
        **fields,
    )
    credits.debit(team, generation.credits_charged, generation.ledger_cause, note=note, user=user)
    return generation


def replay(team: Team, key: str, fingerprint: str) -> Generation | None:
    """The generation an earlier request with this Idempotency-Key started, if any (Conflict
    when that request's body differed)."""
    existing = Generation.objects.filter(team=team, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.created_at < timezone.now() - IDEMPOTENCY_WINDOW:
        # The window has passed: the key is free again.
        Generation.objects.filter(pk=existing.pk).update(idempotency_key="")
        return None
    if existing.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used with a different request body")
    return existing


def _check_input_urls(validated: dict[str, Any], team: Team) -> None:
    """Reject bad input images now, before anything is charged (see `checked_image_url`)."""
    if validated.get("image_url"):
        validated["image_url"] = checked_image_url(validated["image_url"], team, "image_url")
    if validated.get("inspiration_image"):  # an ad's palette guide
        validated["inspiration_image"] = checked_image_url(
            validated["inspiration_image"], team, "inspiration_image"
        )
    for field in ("reference_images", "source_images"):
        if validated.get(field):
            validated[field] = [checked_image_url(u, team, field) for u in validated[field]]


def checked_image_url(url: str, team: Team, field: str) -> str:
    """One input image source checked now, before anything is charged; the form to store.

    Inline data and Studio's own links are read and checked in full (cheap, local); own
    links are then kept as lasting `studio-asset:` references, because a signed link may
    expire before a queued job (or a re-run next week) reads it. Remote URLs are checked
    against the private-address policy and fetched later by the worker.
    """
    from generations import inputs
    from studio.http import check_public
    from studio.media import parse_own_link

    try:
        own = parse_own_link(url)
        if own is not None and own.reference:
            url = own.reference
        if own is not None or url.startswith("data:"):
            data, _ = inputs.fetch_input(url, team)
            inputs.check_image(data, "image")
        else:
            check_public(url)
    except StudioError as exc:
        # The readers know a URL, not the request field it came in: name it for the forms.
        exc.field = exc.field or field
        raise
    return url


def job_webhook(team: Team, url: Any, dialect: str) -> dict[str, str]:
    """A start's `webhook_url`, checked now (before any charge): this job's own receiver,
    told of its end in the dialect the job was started in."""
    from studio.integrations.webhooks import clean_job_webhook_url

    if not isinstance(url, str):
        raise InvalidFields("webhook_url must be a URL", field="webhook_url")
    return {"url": clean_job_webhook_url(team, url), "dialect": dialect}


def start_generation(
    team: Team,
    user: User | None,
    generation_type: str,
    raw: dict[str, Any],
    *,
    source: str = Source.DASHBOARD,
    api_key_id: UUID | None = None,
    idempotency_key: str | None = None,
    dialect: str = "kolbo",
) -> Started:
    """Validate, price, charge and create a generation in one transaction, then enqueue it.

    Either the team is charged and the job exists and will run, or nothing changed.
    """
    if not isinstance(raw, dict):
        raise InvalidFields("The request body must be a JSON object")
    raw = dict(raw)
    webhook_url = raw.pop("webhook_url", None)
    model = resolve_model(raw.get("model"), generation_type, team)
    validated = params.validate(generation_type, raw, model)
    # Unknown (or another team's) products, DNAs, moodboards and presets: 404/400 now,
    # before anything is charged.
    extensions.references().check(team, validated)
    if webhook_url:
        validated["webhook"] = job_webhook(team, webhook_url, dialect)
    fingerprint = fingerprint_of(generation_type, model.identifier, validated)
    key = clean_idempotency_key(idempotency_key)
    if key:
        replay_of = replay(team, key, fingerprint)
        if replay_of is not None:
            return Started(replay_of, True)
    if validated.get("seed", "absent") is None:
        # Fixed now, so a re-run of the same job after a crash renders the same thing.
        validated["seed"] = secrets.randbelow(2**31)
    # The early refusal; the result's own charge at collect time is the one that counts.
    storage_quota.check_room(team)
    _check_input_urls(validated, team)
    quote = pricing.quote(model, generation_type, validated)
    now = timezone.now()
    try:
        with transaction.atomic():
            generation = create_charged(
                team,
                user,
                note=f"{GenerationType(generation_type).label} · {model.name}",
                source=source,
                api_key_id=api_key_id,
                type=generation_type,
                model=model,
                prompt=params.prompt_of(generation_type, validated),
                params=validated,
                price=quote.as_dict(),
                credits_charged=quote.credits,
                idempotency_key=key,
                request_fingerprint=fingerprint,
                deadline_at=now + engine.deadline_for(generation_type),
                lease_until=now + engine.REQUEUE_AFTER,
                created_at=now,
            )
            transaction.on_commit(lambda: engine.start(generation))
    except IntegrityError:
        if not key:
            raise
        # A concurrent request with the same key won the race; answer as it did.
        replay_of = replay(team, key, fingerprint)
        if replay_of is None:
            raise
        return Started(replay_of, True)
    return Started(generation, False)


def team_generation(team: Team, generation_id: Any) -> Generation:
    """The team's generation with this public id, or NOT_FOUND (another team's id included)."""
    try:
        uuid = UUID(str(generation_id))
    except ValueError:
        raise NotFound("Generation not found") from None
    # No prefetch: the presenters read assets only once a generation has succeeded, so a
    # poll of a running job is one query and the final one two (the rows, then its assets).
    # order_by(): one row by a unique key needs no ORDER BY (compiling the model's ordering
    # was a tenth of a poll).
    found = list(Generation.objects.filter(team=team, uuid=uuid).order_by()[:1])
    if not found:
        raise NotFound("Generation not found")
    return found[0]


def cancel_generation(generation: Generation, *, reason: str = "") -> Generation:
    """Cancel and refund; Conflict if it already finished. `reason` (an operator's) is kept
    on the job and in the refund's ledger note."""
    cancelled = engine.cancel(generation.pk, reason=reason)
    if cancelled is None:
        generation.refresh_from_db()
        raise Conflict(
            f"This generation already {generation.get_state_display().lower()}; "
            "only queued or running generations can be cancelled"
        )
    return cancelled


def delete_generation(generation: Generation) -> None:
    """Delete a finished generation and its files (running ones must be cancelled first)."""
    if generation.state not in (
        GenerationState.SUCCEEDED,
        GenerationState.FAILED,
        GenerationState.CANCELLED,
    ):
        raise Conflict("Cancel this generation before deleting it")
    for child in generation.children.all():  # a parent job's scenes go with it
        assets.delete_assets(child)
    assets.delete_assets(generation)
    generation.delete()


def rerun_request(generation: Generation) -> dict[str, Any]:
    """The raw request that starts the same generation again (with a fresh seed)."""
    raw = {k: v for k, v in generation.params.items() if k not in ("seed", "webhook")}
    raw["model"] = generation.model_identifier
    return raw


def in_session(session_id: str) -> Q:
    """Generations of one session: the client's `session_id`, or a job's own group id (a
    job without one is its own group; a parent's children are in the parent's)."""
    match = Q(params__session_id=session_id)
    try:
        group = UUID(session_id)
    except ValueError:
        return match
    return match | Q(uuid=group, params__session_id__isnull=True) | Q(parent__uuid=group)
