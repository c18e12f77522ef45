"""An S3 upload reads the result on s3transfer's threads; the collect lease renewed there
must not leave a database connection held by each of them."""

from __future__ import annotations

import threading
import wave
from datetime import timedelta
from pathlib import Path

from django.db import connections
from django.utils import timezone

from generations import assets, engine
from generations.models import Generation, GenerationState
from tests.conftest import transactional
from tests.generations.helpers import start

S = GenerationState


def silence(path: Path, seconds: int) -> Path:
    """A WAV of `seconds` of 48 kHz stereo silence (about 192 KB a second, uncompressed)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(b"\0" * 4 * 48_000 * seconds)
    return path


@transactional
def test_an_s3_upload_keeps_the_collect_lease_and_leaves_no_connection_open_in_its_threads(
    s3_media, funded_team, alice, tmp_path, monkeypatch
):
    monkeypatch.setattr(engine, "enqueue", lambda *args: None)  # the test runs the collect
    generation = start(funded_team, alice, "sound", {"prompt": "rain", "duration": 1})
    stale = timezone.now() + timedelta(seconds=5)
    Generation.objects.filter(pk=generation.pk).update(state=S.COLLECTING, lease_until=stale)
    source = silence(tmp_path / "result.wav", 110)  # ~21 MB: a multipart upload
    monkeypatch.setattr(engine.CollectLease, "RENEW_BYTES", 1024 * 1024)

    caller = threading.get_ident()
    renewed_on: list[int] = []
    renew = engine.CollectLease.__call__

    def recording_renew(self, done_bytes: int) -> None:
        renewed_on.append(threading.get_ident())
        renew(self, done_bytes)

    monkeypatch.setattr(engine.CollectLease, "__call__", recording_renew)
    opened: list[tuple[int, object]] = []  # (thread, its Django connection)
    backend = type(connections["default"])
    connect = backend.get_new_connection

    def recording_connect(self, params):
        opened.append((threading.get_ident(), self))
        return connect(self, params)

    monkeypatch.setattr(backend, "get_new_connection", recording_connect)

    generation = Generation.objects.select_related("team").get(pk=generation.pk)
    assets.store_output(generation, 0, source, keepalive=engine.CollectLease(generation.pk))

    assert any(ident != caller for ident in renewed_on), "the upload's threads never renewed"
    assert Generation.objects.get(pk=generation.pk).lease_until > stale  # the lease was kept
    upload_threads = [wrapper for ident, wrapper in opened if ident != caller]
    assert upload_threads, "no renewal touched the database off the caller's thread"
    # Each gave its connection back: none is held by a thread Django will never clean up.
    assert [w for w in upload_threads if w.connection is not None] == []  # type: ignore[attr-defined]
    assert len(s3_media.keys()) == 2  # the file and its thumbnail
