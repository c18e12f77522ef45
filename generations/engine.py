"""The generation state machine.

queued → submitting → running → collecting → succeeded | failed | cancelled

Every transition is a conditional UPDATE (`filter(pk=…, state=old).update(state=new)`); the
one caller that gets 1 back owns the side effects (billing, refunds, downloads). No
transaction is held across an upstream call. Every step can run twice (the broker delivers
at least once, the sweeper re-drives expired leases) without changing the outcome.
"""

from __future__ import annotations

import base64
import logging
import shutil
import struct
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from generations.models import (
    ACTIVE_STATES,
    Asset,
    AssetKind,
    Generation,
    GenerationState,
)
from generations.providers.base import (
    Failed,
    Failure,
    FailureCategory,
    Finished,
    Job,
    Outcome,
    Pending,
    UpstreamCredential,
    get_adapter,
)
from studio.accounts import credits
from studio.accounts.models import Team
from studio.errors import StudioError

log = logging.getLogger(__name__)

S = GenerationState
COLLECT_LEASE = timedelta(minutes=5)
# A queued job nobody claimed this long is enqueued again (a lost broker message);
# duplicates are harmless because only one claim can win.
REQUEUE_AFTER = timedelta(minutes=3)
MAX_SUBMIT_ATTEMPTS = 3
DEADLINES = {
    "image": timedelta(minutes=10),
    "video": timedelta(minutes=30),
    "video_from_image": timedelta(minutes=30),
    "music": timedelta(minutes=15),
    "speech": timedelta(minutes=10),
    "sound": timedelta(minutes=10),
    "chat": timedelta(minutes=5),
}


def deadline_for(generation_type: str) -> timedelta:
    return DEADLINES.get(generation_type, timedelta(minutes=15))


def work_dir(generation: Generation) -> Path:
    return Path(settings.MEDIA_ROOT) / "work" / str(generation.uuid)


class ProgressWriter:
    """Writes progress (never downwards) and keeps the step's lease alive while work goes on."""

    def __init__(self, generation_id: int, lease_seconds: int) -> None:
        self.generation_id = generation_id
        self.lease = timedelta(seconds=lease_seconds)
        self.last_value = 0
        self.last_write = 0.0

    def __call__(self, value: int) -> None:
        value = max(0, min(int(value), 99))  # 100 is written only with success
        now = time.monotonic()
        if value <= self.last_value or (now - self.last_write < 0.4 and value < 99):
            return
        self.last_value, self.last_write = value, now
        Generation.objects.filter(
            pk=self.generation_id,
            progress__lt=value,
            state__in=[S.SUBMITTING, S.RUNNING, S.COLLECTING],
        ).update(progress=value, lease_until=timezone.now() + self.lease)


# --- inputs ------------------------------------------------------------------------------------


def _fetch_input(url: str, team: Team) -> tuple[bytes, str]:
    """The bytes behind a user-supplied image URL: a Studio media link of the same team, a
    data: URL, or a public http(s) URL fetched through the outbound wrapper."""
    from generations import storage
    from studio.errors import InvalidFields
    from studio.http import fetch_bytes

    limit = settings.STUDIO_MAX_INPUT_BYTES
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if ";base64" not in header:
            raise InvalidFields("data: URLs must be base64-encoded")
        try:
            data = base64.b64decode(payload, validate=True)
        except ValueError:
            raise InvalidFields("The data: URL is not valid base64") from None
        if len(data) > limit:
            from studio.errors import PayloadTooLarge

            raise PayloadTooLarge(f"Input images are limited to {limit} bytes")
        return data, header[5:].split(";")[0]
    own = storage.parse_own_link(url)
    if own is None and url.startswith("studio-asset:"):
        asset_uuid, _, variant = url.removeprefix("studio-asset:").partition("/")
        own = (asset_uuid, variant)
    if own is not None:
        try:
            asset = Asset.objects.filter(uuid=own[0], generation__team=team).first()
        except (ValueError, ValidationError):
            asset = None
        if asset is None:
            raise InvalidFields("That media link does not belong to this team")
        field = asset.thumbnail if own[1] == "thumb" else asset.file
        with field.open("rb") as handle:
            return handle.read(), asset.mime_type
    return fetch_bytes(url, max_bytes=limit, user_supplied=True)


def fetch_inputs(generation: Generation, directory: Path) -> dict[str, Path]:
    params = generation.params
    wanted: dict[str, str] = {}
    if params.get("image_url"):
        wanted["image_url"] = params["image_url"]
    for i, url in enumerate(params.get("reference_images") or []):
        wanted[f"ref{i}"] = url
    inputs: dict[str, Path] = {}
    if wanted:
        directory.mkdir(parents=True, exist_ok=True)
    for name, url in wanted.items():
        data, _ = _fetch_input(url, generation.team)
        path = directory / f"input-{name}"
        path.write_bytes(data)
        _check_image(path, name)
        inputs[name] = path
    # Catalog hook (catalog/references.py): product cut-outs, Visual DNA and moodboard images
    # become further ref<N> inputs after the user's own (an offline product-led video also
    # gets a still of the product as its image_url), and their style text (preset, DNA
    # system prompts, moodboard style guide) joins the prompt the provider sees; the stored
    # prompt stays as the user wrote it. Unknown or other-team ids raise NotFound.
    from catalog.references import resolve_references

    first = len(params.get("reference_images") or [])
    catalog_inputs, style = resolve_references(generation, directory, first)
    inputs.update(catalog_inputs)
    if style:
        generation.params = {**params, "prompt": f"{params.get('prompt') or ''} {style}".strip()}
    return inputs


def _check_image(path: Path, name: str) -> None:
    check_image_bytes(path.read_bytes(), name)


def check_image_bytes(data: bytes, name: str) -> None:
    """Raise InvalidFields unless `data` is a readable image of sane size."""
    import io

    from PIL import Image, UnidentifiedImageError

    from studio.errors import InvalidFields

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG", "WEBP"):
                raise InvalidFields(f"{name} must be a JPG, PNG or WebP image")
            if image.width * image.height > 60_000_000:
                raise InvalidFields(f"{name}: the image is too large (over 60 megapixels)")
            image.verify()
    except (
        UnidentifiedImageError,
        OSError,
        Image.DecompressionBombError,
        SyntaxError,  # Pillow's "broken PNG file"
        ValueError,
        struct.error,
    ):
        raise InvalidFields(f"{name} is not a readable image (JPG, PNG or WebP)") from None


# --- steps -------------------------------------------------------------------------------------


def upstream_credential(generation: Generation) -> UpstreamCredential | None:
    """The job's credential, decrypted here in the worker right before a call."""
    credential = generation.credential if generation.credential_id else None
    if credential is None:
        return None
    from studio.vault.credentials import to_upstream

    return to_upstream(credential)


def _job(generation: Generation, inputs: dict[str, Path] | None = None) -> Job:
    return Job(
        generation_id=str(generation.uuid),
        team_id=str(generation.team.uuid),
        type=generation.type,
        upstream_model=generation.model.upstream_model or generation.model_identifier,
        params=generation.params,
        handle=generation.upstream_handle or {},
        work_dir=work_dir(generation),
        inputs=inputs or {},
        credential=upstream_credential(generation),
    )


def submit(generation_id: int) -> None:
    """Step 1: fetch the inputs, claim the queued generation, make the one upstream call."""
    generation = Generation.objects.select_related("team", "model").filter(pk=generation_id).first()
    if generation is None or generation.state != S.QUEUED:
        return
    adapter = get_adapter(generation.provider)
    # Inputs are fetched before the claim: a slow input server can then never outlast the
    # submit lease (the sweeper would refund a job this worker was about to send).
    directory = work_dir(generation)
    try:
        inputs = fetch_inputs(generation, directory)
    except StudioError as exc:
        # Only a job nobody has claimed: a duplicate delivery must not fail a running job.
        fail(
            generation_id,
            Failure(exc.message, FailureCategory.INVALID_INPUT, exc.code),
            from_states=[S.QUEUED],
        )
        return
    except Exception as exc:
        log.exception("fetching the inputs of %s raised", generation.uuid)
        fail(
            generation_id,
            Failure(f"An input could not be read: {exc}", FailureCategory.INTERNAL, "INPUT_ERROR"),
            from_states=[S.QUEUED],
        )
        return
    now = timezone.now()
    claimed = Generation.objects.filter(pk=generation_id, state=S.QUEUED).update(
        state=S.SUBMITTING,
        lease_until=now + timedelta(seconds=adapter.submit_lease_seconds),
        submitted_at=now,
        next_poll_at=None,
        attempts=F("attempts") + 1,
    )
    if claimed != 1:
        return  # another worker has it, or it was cancelled meanwhile
    # The submit slot is taken last, right before the call, so the time between taking it
    # and the request reaching the upstream stays within the budget's jitter margin.
    if adapter.needs_credential and not _admit(generation):
        Generation.objects.filter(pk=generation_id).update(attempts=F("attempts") - 1)
        return
    progress = ProgressWriter(generation_id, adapter.submit_lease_seconds)
    try:
        outcome = adapter.submit(_job(generation, inputs), progress)
    except Exception as exc:  # an adapter bug must not leave the job hanging
        log.exception("submit of %s raised", generation.uuid)
        outcome = Failed(
            Failure(str(exc) or exc.__class__.__name__, FailureCategory.INTERNAL, "SUBMIT_ERROR")
        )
    apply_outcome(generation_id, outcome, S.SUBMITTING, collect_inline=True)


def _admit(generation: Generation) -> bool:
    """Give a claimed job a credential and a submit slot, or put it back to wait its turn."""
    from generations import budgets

    credential, retry_at = budgets.admit(generation)
    if credential is not None:
        return True
    if retry_at is None:
        fail(
            generation.pk,
            Failure(
                f"No usable {generation.get_provider_display()} credential: an admin of the "
                "team must add (or re-enable) one on the Providers page",
                FailureCategory.AUTH,
                "NO_CREDENTIAL",
                provider=generation.provider,
            ),
        )
        return False
    # Every budget is spent: wait (queued) until a slot frees; the dispatcher re-sends it.
    Generation.objects.filter(pk=generation.pk, state=S.SUBMITTING).update(
        state=S.QUEUED,
        lease_until=timezone.now() + REQUEUE_AFTER,
        next_poll_at=retry_at,
    )
    return False


def apply_outcome(
    generation_id: int, outcome: Outcome, from_state: str, *, collect_inline: bool
) -> None:
    now = timezone.now()
    if isinstance(outcome, Finished):
        outputs: list[dict[str, Any]] = [
            {"path": str(o.path) if o.path else None, "url": o.url, "mime_type": o.mime_type}
            for o in outcome.outputs
        ]
        moved = Generation.objects.filter(pk=generation_id, state=from_state).update(
            state=S.COLLECTING,
            upstream_handle={**_handle(generation_id), "outputs": outputs},
            result_meta=outcome.meta,
            lease_until=now + COLLECT_LEASE,
            next_poll_at=None,
        )
        if moved:
            if collect_inline:
                collect(generation_id)
            else:
                enqueue("generations.tasks.collect_generation", generation_id)
        else:  # cancelled or failed while it ran: its files must not linger
            shutil.rmtree(
                Path(settings.MEDIA_ROOT) / "work" / str(_uuid_of(generation_id)),
                ignore_errors=True,
            )
        return
    if isinstance(outcome, Pending):
        updates: dict[str, Any] = {
            "state": S.RUNNING,
            "upstream_handle": outcome.handle,
            "next_poll_at": now + timedelta(seconds=outcome.poll_after),
            "lease_until": None,
        }
        moved = Generation.objects.filter(pk=generation_id, state=from_state).update(**updates)
        if not moved:
            _orphaned_upstream_job(generation_id, outcome.handle)
            return
        if outcome.progress is not None:
            raise_progress(generation_id, outcome.progress)
        return
    assert isinstance(outcome, Failed)
    failure = outcome.failure
    generation = (
        Generation.objects.filter(pk=generation_id).only("attempts", "credential_id").first()
    )
    if failure.category == FailureCategory.UNKNOWN_OUTCOME and from_state == S.SUBMITTING:
        # The upstream may or may not have the job: never refund or resubmit blindly. The
        # sweeper asks the upstream (reconcile) once this short lease runs out.
        Generation.objects.filter(pk=generation_id, state=S.SUBMITTING).update(
            lease_until=now + timedelta(seconds=5)
        )
        return
    if failure.category == FailureCategory.AUTH and generation and generation.credential_id:
        _credential_rejected(generation.credential_id, failure.message)
    if (
        failure.retryable
        and from_state == S.SUBMITTING
        and generation is not None
        and generation.attempts < MAX_SUBMIT_ATTEMPTS
    ):
        backoff = failure.retry_after or min(60.0, 2.0**generation.attempts)
        Generation.objects.filter(pk=generation_id, state=S.SUBMITTING).update(
            state=S.QUEUED,
            lease_until=now + REQUEUE_AFTER,
            next_poll_at=now + timedelta(seconds=backoff),
        )
        return
    fail(generation_id, failure)


def _orphaned_upstream_job(generation_id: int, handle: dict[str, Any]) -> None:
    """The upstream accepted a job we had already cancelled, failed or refunded meanwhile
    (a user's cancel, the deadline): keep its handle and tell the upstream to stop it."""
    stopped = Generation.objects.filter(pk=generation_id, state__in=[S.CANCELLED, S.FAILED]).update(
        upstream_handle=handle
    )
    if stopped:
        enqueue("generations.tasks.cancel_upstream", generation_id)


def _credential_rejected(credential_id: int, message: str) -> None:
    from studio.vault.credentials import mark_unhealthy
    from studio.vault.models import ProviderCredential

    credential = ProviderCredential.objects.filter(pk=credential_id).first()
    if credential is not None and credential.healthy:
        mark_unhealthy(credential, message)


def _uuid_of(generation_id: int) -> str:
    return str(Generation.objects.filter(pk=generation_id).values_list("uuid", flat=True).first())


def _handle(generation_id: int) -> dict[str, Any]:
    row = Generation.objects.filter(pk=generation_id).values_list("upstream_handle", flat=True)
    return dict(row.first() or {})


def raise_progress(generation_id: int, value: int) -> None:
    value = max(0, min(int(value), 99))
    Generation.objects.filter(
        pk=generation_id, progress__lt=value, state__in=[S.SUBMITTING, S.RUNNING, S.COLLECTING]
    ).update(progress=value)


def _kind(mime_type: str) -> str:
    if mime_type.startswith("image/"):
        return AssetKind.IMAGE
    if mime_type.startswith("video/"):
        return AssetKind.VIDEO
    return AssetKind.AUDIO


_EXTENSIONS = {
    "image/png": "png",
    "image/webp": "webp",
    "image/jpeg": "jpg",
    "video/mp4": "mp4",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
}


def _store(generation: Generation, index: int, source: Path) -> None:
    """Copy one output into storage as Asset `index` (skipped if it is already there)."""
    from generations.providers import local as media

    if Asset.objects.filter(generation=generation, index=index).exists():
        return
    info = media.probe(source)
    mime = info["mime_type"]
    ext = _EXTENSIONS.get(mime, source.suffix.lstrip(".") or "bin")
    base = f"generations/{generation.team.uuid}/{generation.uuid}"
    name = f"{base}/{index}.{ext}"
    thumb_name = ""
    thumb_size = 0
    thumb = media.make_thumbnail(
        media.RenderedFile(
            path=source,
            mime_type=mime,
            width=info.get("width"),
            height=info.get("height"),
            duration=info.get("duration"),
            size_bytes=info.get("size_bytes", 0),
        ),
        out_dir=source.parent,
    )
    # Names are fixed per (generation, index): a re-run overwrites rather than piling up.
    for stale in (name, f"{base}/{index}-thumb.webp"):
        if default_storage.exists(stale):
            default_storage.delete(stale)
    with open(source, "rb") as handle:
        stored = default_storage.save(name, File(handle))
    if thumb is not None:
        with open(thumb.path, "rb") as handle:
            thumb_name = default_storage.save(f"{base}/{index}-thumb.webp", File(handle))
        thumb_size = thumb.path.stat().st_size
    size = int(info.get("size_bytes") or source.stat().st_size)
    with transaction.atomic():
        Asset.objects.create(
            generation=generation,
            index=index,
            kind=_kind(mime),
            file=stored,
            mime_type=mime,
            size_bytes=size,
            width=info.get("width"),
            height=info.get("height"),
            duration=info.get("duration"),
            thumbnail=thumb_name,
            thumbnail_size_bytes=thumb_size,
        )
        Team.objects.filter(pk=generation.team_id).update(
            storage_used_bytes=F("storage_used_bytes") + size + thumb_size
        )


def _download(url: str, directory: Path, index: int, *, untrusted: bool) -> Path:
    from studio.http import fetch_bytes

    data, _ = fetch_bytes(url, max_bytes=2 * 1024**3, user_supplied=untrusted, time_limit=200)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"download-{index}"
    path.write_bytes(data)
    return path


def collect(generation_id: int) -> None:
    """Step 3: copy the outputs into storage, then mark the generation succeeded."""
    generation = Generation.objects.select_related("team", "model").filter(pk=generation_id).first()
    if generation is None or generation.state != S.COLLECTING:
        return
    Generation.objects.filter(pk=generation_id, state=S.COLLECTING).update(
        lease_until=timezone.now() + COLLECT_LEASE
    )
    directory = work_dir(generation)
    outputs = (generation.upstream_handle or {}).get("outputs") or []
    # A team's own credential is the team admin's choice of upstream: its result URLs get
    # the same private-address policy as URLs users type in.
    credential = generation.credential if generation.credential_id else None
    untrusted = bool(
        credential and credential.team_id and not settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS
    )
    try:
        if not outputs:
            raise ValueError("the upstream reported success with no output files")
        for index, output in enumerate(outputs):
            if output.get("path"):
                source = Path(output["path"])
            else:
                source = _download(output["url"], directory, index, untrusted=untrusted)
            _store(generation, index, source)
    except Exception as exc:
        log.exception("collecting %s failed", generation.uuid)
        fail(
            generation_id,
            Failure(
                f"The result could not be stored: {exc}",
                FailureCategory.INTERNAL,
                "COLLECT_FAILED",
                provider=generation.provider,
            ),
        )
        return
    finished = Generation.objects.filter(pk=generation_id, state=S.COLLECTING).update(
        state=S.SUCCEEDED, progress=100, completed_at=timezone.now(), lease_until=None
    )
    if not finished:  # cancelled while we were copying: the files must not linger
        delete_assets(generation)
    shutil.rmtree(directory, ignore_errors=True)


def delete_assets(generation: Generation) -> int:
    """Remove a generation's files and give their bytes back to the team's storage."""
    freed = 0
    for asset in Asset.objects.filter(generation=generation):
        for field in (asset.file, asset.thumbnail):
            if field and field.name:
                default_storage.delete(field.name)
        with transaction.atomic():
            if Asset.objects.filter(pk=asset.pk).delete()[0]:
                Team.objects.filter(pk=generation.team_id).update(
                    storage_used_bytes=F("storage_used_bytes") - asset.stored_bytes
                )
                freed += asset.stored_bytes
    return freed


def _finish_unsuccessfully(
    generation_id: int,
    state: str,
    failure: Failure,
    note: str,
    from_states: list[str] | None = None,
) -> Generation | None:
    """Move an active generation to failed/cancelled and refund it, exactly once."""
    now = timezone.now()
    with transaction.atomic():
        moved = Generation.objects.filter(
            pk=generation_id, state__in=from_states or ACTIVE_STATES
        ).update(
            state=state,
            error=failure.message,
            failure=failure.as_dict(),
            completed_at=now,
            lease_until=None,
            next_poll_at=None,
        )
        if not moved:
            return None
        generation = Generation.objects.select_related("team").get(pk=generation_id)
        entry = credits.refund(generation.ledger_cause, note=note)
        if entry is not None:
            Generation.objects.filter(pk=generation_id).update(credits_refunded=entry.amount)
            generation.credits_refunded = entry.amount
    delete_assets(generation)
    shutil.rmtree(work_dir(generation), ignore_errors=True)
    return generation


def fail(generation_id: int, failure: Failure, *, from_states: list[str] | None = None) -> bool:
    generation = _finish_unsuccessfully(
        generation_id,
        S.FAILED,
        failure,
        f"Refund: generation failed ({failure.category})",
        from_states,
    )
    if generation is not None:
        log.info("generation %s failed: %s", generation.uuid, failure.message)
    return generation is not None


def cancel(generation_id: int) -> Generation | None:
    """Cancel an active generation; None when it had already finished."""
    generation = _finish_unsuccessfully(
        generation_id,
        S.CANCELLED,
        Failure("Cancelled by the user", FailureCategory.CANCELLED, "CANCELLED"),
        "Refund: generation cancelled",
    )
    if generation is not None and generation.upstream_handle and generation.provider != "local":
        enqueue("generations.tasks.cancel_upstream", generation_id)
    return generation


def enqueue(func: str, *args: Any) -> None:
    from django_q.tasks import async_task

    async_task(func, *args, group="generations")
