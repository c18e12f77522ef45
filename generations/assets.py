"""A generation's results as Assets: stored with a thumbnail, linked, downloaded, deleted.

Outputs are copied into Studio's storage under fixed names per (generation, index), so a
re-run of the collect step overwrites rather than piling up; each Asset's bytes (file and
thumbnail) count against the team's storage. Links to them are Studio-signed and expiring
(studio/media.py, kind `ASSET_LINKS`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from generations.models import Asset, AssetKind, Generation
from studio import media
from studio.accounts import storage_quota

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


def kind_of(mime_type: str) -> str:
    if mime_type.startswith("image/"):
        return AssetKind.IMAGE
    if mime_type.startswith("video/"):
        return AssetKind.VIDEO
    return AssetKind.AUDIO


def store_output(
    generation: Generation, index: int, source: Path, *, keepalive: Progress | None = None
) -> None:
    """Copy one output into storage as Asset `index` (skipped if it is already there).

    The team is charged for the file and its thumbnail before anything is written: a result
    that would pass the plan's limit raises UploadDoesNotFit and stores nothing, so a team
    never ends over its limit. A failed write gives the bytes back. `keepalive(bytes read)`
    is called while the file is copied (a large upload outlasts no lease).
    """
    from generations.providers import local as media_files

    if Asset.objects.filter(generation=generation, index=index).exists():
        return
    info = media_files.probe(source)
    mime = info["mime_type"]
    ext = EXTENSIONS.get(mime, source.suffix.lstrip(".") or "bin")
    base = f"generations/{generation.team.uuid}/{generation.uuid}"
    name = f"{base}/{index}.{ext}"
    thumb = media_files.make_thumbnail(
        media_files.RenderedFile(
            path=source,
            mime_type=mime,
            width=info.get("width"),
            height=info.get("height"),
            duration=info.get("duration"),
            size_bytes=info.get("size_bytes", 0),
        ),
        out_dir=source.parent,
    )
    size = int(info.get("size_bytes") or source.stat().st_size)
    thumb_size = thumb.path.stat().st_size if thumb is not None else 0
    kind = kind_of(mime)
    storage_quota.charge(generation.team, size + thumb_size, what=f"this {kind} result")
    written: list[str] = []
    try:
        # Names are fixed per (generation, index): a re-run overwrites rather than piling up.
        for stale in (name, f"{base}/{index}-thumb.webp"):
            if default_storage.exists(stale):
                default_storage.delete(stale)
        with _Reporting(source, keepalive) as handle:
            written.append(default_storage.save(name, File(handle)))
        if thumb is not None:
            with open(thumb.path, "rb") as handle:
                written.append(default_storage.save(f"{base}/{index}-thumb.webp", File(handle)))
        Asset.objects.create(
            generation=generation,
            index=index,
            kind=kind,
            file=written[0],
            mime_type=mime,
            size_bytes=size,
            width=info.get("width"),
            height=info.get("height"),
            duration=info.get("duration"),
            thumbnail=written[1] if thumb is not None else "",
            thumbnail_size_bytes=thumb_size,
        )
    except BaseException:
        for stored in written:
            default_storage.delete(stored)
        storage_quota.release(generation.team_id, size + thumb_size)
        raise


class _Reporting(io.FileIO):
    """A local file that reports how far it has been read (storage backends read it)."""

    def __init__(self, path: Path, report: Progress | None) -> None:
        super().__init__(path, "rb")
        self._report = report

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if self._report is not None:
            self._report(self.tell())
        return data


# Results are fetched with the lease kept alive, so a long download needs no short limit.
RESULT_MAX_BYTES = 2 * 1024**3
RESULT_TIME_LIMIT = 30 * 60


def download(
    url: str, directory: Path, index: int, *, untrusted: bool, keepalive: Progress | None = None
) -> Path:
    """Stream an upstream's result URL into the work directory, never holding it in memory
    (`untrusted`: the URL gets the private-address policy of URLs users type in;
    `keepalive(bytes so far)` is called as it arrives)."""
    from studio.http import fetch_to_file

    path = directory / f"download-{index}"
    fetch_to_file(
        url,
        path,
        max_bytes=RESULT_MAX_BYTES,
        user_supplied=untrusted,
        time_limit=RESULT_TIME_LIMIT,
        on_progress=keepalive,
    )
    return path


def delete_assets(generation: Generation) -> int:
    """Remove a generation's files and give their bytes back to the team's storage.

    Each Asset's bytes come back with the DELETE of its row, and only to the caller whose
    DELETE removed it: two deletes at once free the bytes once. The winner removes the files
    (a crash in between leaves an unbilled file, never a row without its file)."""
    freed = 0
    for asset in Asset.objects.filter(generation=generation):
        rows = Asset.objects.filter(pk=asset.pk)
        if not storage_quota.release_deleted(rows, generation.team_id, asset.stored_bytes):
            continue
        for field in (asset.file, asset.thumbnail):
            if field and field.name:
                default_storage.delete(field.name)
        freed += asset.stored_bytes
    return freed
