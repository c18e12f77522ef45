"""A generation's results as Assets: stored with a thumbnail, linked, downloaded, deleted.

Outputs are copied into Studio's storage under fixed names per (generation, index), so a
re-run of the collect step overwrites rather than piling up; each Asset's bytes (file and
thumbnail) count against the team's storage from the moment its row is written, pending,
before the upload (see `store_output`). Links to them are Studio-signed and expiring
(studio/media.py, kind `ASSET_LINKS`).
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Sum

from generations.models import Asset, AssetKind, AssetRole, Generation
from studio import media, safety
from studio.accounts import storage_quota

log = logging.getLogger(__name__)

# Called with a byte count while a result is fetched or copied; keeps the collect lease alive.
Progress = Callable[[int], None]

EXTENSIONS = {
    "image/png": "png",
    "image/webp": "webp",
    "image/jpeg": "jpg",
    "video/mp4": "mp4",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
}


# --- links -------------------------------------------------------------------------------------


def signed_path(asset_uuid: str, variant: str, filename: str, *, ttl: int | None = None) -> str:
    """A relative signed link to an asset's `file` or `thumb` (pages)."""
    return media.signed_path(media.ASSET_LINKS, asset_uuid, filename, variant=variant, ttl=ttl)


def signed_url(asset_uuid: str, variant: str, filename: str, *, ttl: int | None = None) -> str:
    """An absolute signed link to an asset's `file` or `thumb` (API answers, webhooks)."""
    return media.signed_url(media.ASSET_LINKS, asset_uuid, filename, variant=variant, ttl=ttl)


def verify(asset_uuid: str, variant: str, expires: str | None, signature: str | None) -> bool:
    return media.verify(media.ASSET_LINKS, asset_uuid, variant, expires, signature)


def asset_urls(asset: Asset, *, ttl: int | None = None) -> dict[str, str | None]:
    """Absolute signed links to an asset's file and thumbnail (None when it has none)."""
    uuid = str(asset.uuid)
    thumb = asset.thumbnail
    return {
        "url": signed_url(uuid, "file", Path(asset.file.name or "").name, ttl=ttl),
        "thumbnail_url": signed_url(uuid, "thumb", Path(thumb.name).name, ttl=ttl)
        if thumb and thumb.name
        else None,
    }


# --- storing -----------------------------------------------------------------------------------


def download_name(asset: Asset, generation: Generation) -> str:
    """`<prompt-slug>-<id>-<n>.<ext>`: a name that says what the file is and where it came
    from (the id is the start of the job's id; n counts the job's files from 1)."""
    from django.utils.text import slugify

    slug = slugify(generation.prompt)[:50].strip("-") or generation.type.replace("_", "-")
    suffix = Path(asset.file.name or "").suffix.lower()
    return f"{slug}-{str(generation.uuid)[:8]}-{asset.index + 1}{suffix}"


def kind_of(mime_type: str) -> str:
    if mime_type.startswith("image/"):
        return AssetKind.IMAGE
    if mime_type.startswith("video/"):
        return AssetKind.VIDEO
    return AssetKind.AUDIO


class ContentRefused(Exception):
    """An image result over the team's safety threshold, under the `refuse` action."""

    def __init__(self, score: float, threshold: float) -> None:
        super().__init__(
            f"The result was withheld by the content policy (safety score {score:.2f}, "
            f"threshold {threshold:.2f}); the credits were refunded"
        )


def safety_policy(team_id: int) -> safety.Policy:
    from generations.safety import policy_for

    return policy_for(team_id)


def _safety_check(generation: Generation, source: Path, mime: str) -> tuple[float | None, bool]:
    """(score, over the threshold) of an image result; refused ones raise ContentRefused."""
    if kind_of(mime) != AssetKind.IMAGE:
        return None, False
    score = safety.score_file(source)
    policy = safety_policy(generation.team_id)
    if not policy.over(score):
        return score, False
    assert score is not None
    log.warning(
        "generation %s result over the safety threshold (%.3f >= %.2f): %s",
        generation.uuid,
        score,
        policy.threshold,
        policy.action,
    )
    if policy.action == "refuse":
        raise ContentRefused(score, policy.threshold)
    return score, True


def _blurred_copy(source: Path) -> Path:
    """A heavily blurred copy of an image, for the preview of a flagged result."""
    from PIL import Image, ImageFilter

    target = source.with_name(f"{source.stem}-blurred.png")
    with Image.open(source) as image:
        radius = max(12, max(image.size) // 20)
        image.convert("RGB").filter(ImageFilter.GaussianBlur(radius)).save(target, "PNG")
    return target


def store_output(
    generation: Generation,
    index: int,
    source: Path,
    *,
    keepalive: Progress | None = None,
    role: str = AssetRole.OUTPUT,
) -> None:
    """Copy one output into storage as Asset `index` (skipped if it is already there).

    The team is charged for the file and its thumbnail before anything is written, in the
    transaction that writes the Asset row, pending: a result that would pass the plan's limit
    raises UploadDoesNotFit and stores nothing (a team never ends over its limit), and a
    collect killed before the upload finished leaves a row that holds exactly that charge. A
    re-driven collect reuses the row (charging only a difference in size); a failed write
    deletes it and gives the bytes back once. `keepalive(bytes read)` is called while the
    file is copied (a large upload outlasts no lease).
    """
    from generations.providers import local as media_files

    existing = Asset.all_objects.filter(generation=generation, index=index).first()
    if existing is not None and not existing.pending:
        return
    info = media_files.probe(source)
    mime = info["mime_type"]
    ext = EXTENSIONS.get(mime, source.suffix.lstrip(".") or "bin")
    base = f"generations/{generation.team.uuid}/{generation.uuid}"
    # Names are fixed per (generation, index): a re-run overwrites rather than piling up.
    name, thumb_name = f"{base}/{index}.{ext}", f"{base}/{index}-thumb.webp"
    score, flagged = _safety_check(generation, source, mime)
    blur = flagged and safety_policy(generation.team_id).action == "blur"
    thumb = media_files.make_thumbnail(
        media_files.RenderedFile(
            path=_blurred_copy(source) if blur else source,
            mime_type=mime,
            width=info.get("width"),
            height=info.get("height"),
            duration=info.get("duration"),
            size_bytes=info.get("size_bytes", 0),
        ),
        out_dir=source.parent,
    )
    kind = kind_of(mime)
    fields = {
        "kind": kind,
        "role": role,
        "file": name,
        "mime_type": mime,
        "size_bytes": int(info.get("size_bytes") or source.stat().st_size),
        "width": info.get("width"),
        "height": info.get("height"),
        "duration": info.get("duration"),
        "thumbnail": thumb_name if thumb is not None else "",
        "thumbnail_size_bytes": thumb.path.stat().st_size if thumb is not None else 0,
        "safety_score": score,
        "flagged": flagged,
    }
    asset = _charge_pending(generation, index, existing, fields, what=f"this {kind} result")
    if asset is None:
        return
    stored: dict[str, str] = {}
    try:
        for stale in (name, thumb_name):  # a killed attempt's upload, or a stale file
            if default_storage.exists(stale):
                default_storage.delete(stale)
        with _Reporting(source, keepalive) as handle:
            stored["file"] = default_storage.save(name, File(handle))
        if thumb is not None:
            with open(thumb.path, "rb") as handle:
                stored["thumbnail"] = default_storage.save(thumb_name, File(handle))
        if not Asset.all_objects.filter(pk=asset.pk, pending=True).update(pending=False, **stored):
            # The row went while we uploaded (the job was cancelled or failed, and its charge
            # given back): the files must not outlive it.
            for written in stored.values():
                default_storage.delete(written)
    except BaseException:
        for written in stored.values():
            default_storage.delete(written)
        storage_quota.release_deleted(
            Asset.all_objects.filter(pk=asset.pk, pending=True),
            generation.team_id,
            asset.stored_bytes,
        )
        raise


def _charge_pending(
    generation: Generation, index: int, existing: Asset | None, fields: dict, *, what: str
) -> Asset | None:
    """The pending Asset row that holds the output's charge, written with the charge; None
    when there is nothing left to store (the row was stored or removed meanwhile).

    A row left by a killed attempt already holds a charge: only a change in size is charged
    (or given back), against that row's recorded size, so re-driving never charges twice."""
    with transaction.atomic():
        if existing is None:
            storage_quota.charge(
                generation.team,
                fields["size_bytes"] + fields["thumbnail_size_bytes"],
                what=what,
            )
            return Asset.all_objects.create(
                generation=generation, index=index, pending=True, **fields
            )
        row = Asset.all_objects.select_for_update().filter(pk=existing.pk, pending=True).first()
        if row is None:  # stored by another attempt, or removed with the job, meanwhile
            return None
        difference = fields["size_bytes"] + fields["thumbnail_size_bytes"] - row.stored_bytes
        if difference > 0:
            storage_quota.charge(generation.team, difference, what=what)
        else:
            storage_quota.release(generation.team_id, -difference)
        Asset.all_objects.filter(pk=row.pk).update(**fields)
        for key, value in fields.items():
            setattr(row, key, value)
        return row


class _Reporting(io.FileIO):
    """A local file that reports how far it has been read (storage backends read it).

    S3 uploads read it on s3transfer's worker threads, which Django knows nothing about: a
    report made there (the lease's UPDATE) closes the connection it opened in that thread,
    which would otherwise stay open for as long as the pool's thread lives."""

    def __init__(self, path: Path, report: Progress | None) -> None:
        super().__init__(path, "rb")
        self._report = report
        self._owner = threading.get_ident()

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if self._report is not None:
            if threading.get_ident() == self._owner:
                self._report(self.tell())
            else:
                try:
                    self._report(self.tell())
                finally:
                    connection.close()
        return data


# Results are fetched with the lease kept alive, so a long download needs no short limit;
# its time limit (STUDIO_RESULT_TIME_LIMIT) ends well within the collect task's timeout.
RESULT_MAX_BYTES = 2 * 1024**3


# A result the upstream was paid for is worth waiting for: a 5xx, a timeout or a reset is
# tried again after 2, 4, 8… (at most 60) seconds until STUDIO_RESULT_TIME_LIMIT has passed
# since the first try; a 404/410 (or any other 4xx) fails at once.
RETRY_FIRST_DELAY = 2.0
RETRY_MAX_DELAY = 60.0


def download(
    url: str, directory: Path, index: int, *, untrusted: bool, keepalive: Progress | None = None
) -> Path:
    """Stream an upstream's result URL into the work directory, never holding it in memory
    (`untrusted`: the URL gets the private-address policy of URLs users type in;
    `keepalive(bytes so far)` is called as it arrives, and while waiting to try again, so
    the collect lease holds and a cancel stops the wait)."""
    from studio.http import FetchFailed, fetch_to_file

    path = directory / f"download-{index}"
    deadline = time.monotonic() + settings.STUDIO_RESULT_TIME_LIMIT
    attempt = 0
    while True:
        attempt += 1
        try:
            fetch_to_file(
                url,
                path,
                max_bytes=RESULT_MAX_BYTES,
                user_supplied=untrusted,
                time_limit=max(1.0, deadline - time.monotonic()),
                on_progress=keepalive,
            )
            return path
        except FetchFailed as exc:
            delay = min(RETRY_MAX_DELAY, RETRY_FIRST_DELAY * 2 ** (attempt - 1))
            if not exc.transient or time.monotonic() + delay >= deadline:
                raise
            log.warning("result download %s failed (%s); retrying in %.1fs", url[:100], exc, delay)
            _wait(delay, keepalive)


def _wait(seconds: float, keepalive: Progress | None) -> None:
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        time.sleep(min(left, 5.0))
        if keepalive is not None:
            keepalive(0)


def bytes_per_team() -> dict[int, int]:
    """The bytes each team's assets hold, pending ones included (they hold their charge)."""
    rows = (
        Asset.all_objects.values("generation__team_id")
        .annotate(held=Sum(F("size_bytes") + F("thumbnail_size_bytes")))
        .order_by()
    )
    return {row["generation__team_id"]: int(row["held"] or 0) for row in rows}


def delete_assets(generation: Generation) -> int:
    """Remove a generation's files and give their bytes back to the team's storage.

    Each Asset's bytes come back with the DELETE of its row, and only to the caller whose
    DELETE removed it: two deletes at once free the bytes once. The winner removes the files
    (a crash in between leaves an unbilled file, never a row without its file)."""
    freed = 0
    for asset in Asset.all_objects.filter(generation=generation):  # pending ones too
        rows = Asset.all_objects.filter(pk=asset.pk)
        if not storage_quota.release_deleted(rows, generation.team_id, asset.stored_bytes):
            continue
        for field in (asset.file, asset.thumbnail):
            if field and field.name:
                default_storage.delete(field.name)
        freed += asset.stored_bytes
    return freed


def replace_file(asset: Asset, source: Path) -> Asset:
    """Put `source` in place of an output's file (and a new thumbnail): an ad whose text layer
    was re-set. New names, so links made before show the old picture until they expire rather
    than a cached mix; the team's storage is charged (or given back) the difference, and the
    old files go once the row points at the new ones."""
    from generations.providers import local as media_files

    info = media_files.probe(source)
    mime = info["mime_type"]
    ext = EXTENSIONS.get(mime, source.suffix.lstrip(".") or "bin")
    generation = asset.generation
    base = f"generations/{generation.team.uuid}/{generation.uuid}"
    stem = f"{base}/{asset.index}-{secrets.token_hex(4)}"
    name, thumb_name = f"{stem}.{ext}", f"{stem}-thumb.webp"
    thumb = media_files.make_thumbnail(
        media_files.RenderedFile(
            path=source,
            mime_type=mime,
            width=info.get("width"),
            height=info.get("height"),
            duration=None,
            size_bytes=info.get("size_bytes", 0),
        ),
        out_dir=source.parent,
    )
    stored: dict[str, str] = {}
    with open(source, "rb") as handle:
        stored["file"] = default_storage.save(name, File(handle))
    if thumb is not None:
        with open(thumb.path, "rb") as handle:
            stored["thumbnail"] = default_storage.save(thumb_name, File(handle))
    fields = {
        "mime_type": mime,
        "size_bytes": int(info.get("size_bytes") or source.stat().st_size),
        "width": info.get("width"),
        "height": info.get("height"),
        "thumbnail_size_bytes": thumb.path.stat().st_size if thumb is not None else 0,
        **stored,
    }
    try:
        with transaction.atomic():
            row = Asset.objects.select_for_update().filter(pk=asset.pk).first()
            if row is None:
                raise FileNotFoundError("the result was deleted meanwhile")
            difference = fields["size_bytes"] + fields["thumbnail_size_bytes"] - row.stored_bytes
            if difference > 0:
                storage_quota.charge(generation.team, difference, what="this edited result")
            else:
                storage_quota.release(generation.team_id, -difference)
            Asset.objects.filter(pk=row.pk).update(**fields)
    except BaseException:
        for written in stored.values():
            default_storage.delete(written)
        raise
    for old in (row.file, row.thumbnail):
        if old and old.name and old.name not in stored.values():
            default_storage.delete(old.name)
    row.refresh_from_db()
    return row
