"""Results stream from the upstream to a temporary file and on to storage, never into memory.

The download goes through the one outbound wrapper (`studio.http.fetch_to_file`: the same
address policy and limits as `fetch_bytes`), keeps the collect step's lease alive while it
runs, and stops when the job is cancelled meanwhile.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection
from PIL import Image

from generations import engine
from generations.models import Asset, Generation, GenerationState
from studio import http
from studio.accounts.models import Team
from studio.errors import InvalidFields, PayloadTooLarge
from tests.conftest import transactional
from tests.generations.helpers import start

S = GenerationState
CHUNK = 256 * 1024


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


class SlowUpstream:
    """Serves one PNG padded with zeros (image readers stop at its end) in 256 KB chunks,
    calling `on_sent(bytes so far)` after each chunk, as an upstream's result URL would."""

    def __init__(self, total: int, on_sent: Callable[[int], None] = lambda sent: None) -> None:
        head = png()
        self.body_head, self.total, self.on_sent = head, total, on_sent
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(upstream.total))
                self.end_headers()
                for sent, piece in upstream.pieces():
                    self.wfile.write(piece)
                    self.wfile.flush()
                    upstream.on_sent(sent)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/result.png"

    def pieces(self) -> Iterator[tuple[int, bytes]]:
        sent = len(self.body_head)
        yield sent, self.body_head
        while sent < self.total:
            piece = b"\0" * min(CHUNK, self.total - sent)
            sent += len(piece)
            yield sent, piece

    def __enter__(self) -> SlowUpstream:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def collecting(team: Team, user, url: str, monkeypatch) -> Generation:
    """A generation whose upstream finished with one result at `url`, waiting to be collected."""
    monkeypatch.setattr(engine, "enqueue", lambda *args: None)  # the test runs the step
    generation = start(team, user, "image", {"prompt": "a lighthouse"})
    Generation.objects.filter(pk=generation.pk).update(
        state=S.COLLECTING,
        upstream_handle={"outputs": [{"path": None, "url": url, "mime_type": "image/png"}]},
    )
    return generation


def test_a_streamed_download_obeys_the_same_limits_and_leaves_no_partial_file(tmp_path, settings):
    with SlowUpstream(3 * CHUNK) as upstream:
        target = tmp_path / "result"
        with pytest.raises(PayloadTooLarge):
            http.fetch_to_file(upstream.url, target, max_bytes=CHUNK, user_supplied=False)
        assert not target.exists()

        settings.STUDIO_ALLOW_PRIVATE_FETCH = False
        with pytest.raises(InvalidFields, match="private"):
            http.fetch_to_file(upstream.url, target, max_bytes=10 * CHUNK)
        assert not target.exists()

        settings.STUDIO_ALLOW_PRIVATE_FETCH = True
        seen: list[int] = []
        kind = http.fetch_to_file(
            upstream.url, target, max_bytes=10 * CHUNK, on_progress=seen.append
        )
    assert kind == "image/png"
    assert target.stat().st_size == 3 * CHUNK and seen[-1] == 3 * CHUNK
    assert target.read_bytes().startswith(png())


@transactional
def test_a_long_download_keeps_the_collect_lease_alive(funded_team, alice, monkeypatch):
    monkeypatch.setattr(engine.CollectLease, "RENEW_BYTES", CHUNK)
    leases: list[datetime] = []
    marks = [4 * CHUNK, 8 * CHUNK, 12 * CHUNK]

    def lease() -> datetime:
        return Generation.objects.values_list("lease_until", flat=True).get()

    def watch(sent: int) -> None:
        """At each mark, note the lease, then hold the rest back until the collecting worker
        (which by then has read everything sent) renewed it, or five seconds passed."""
        if not marks or sent < marks[0]:
            return
        marks.pop(0)
        before = lease()
        deadline = time.monotonic() + 5
        while lease() == before and time.monotonic() < deadline:
            time.sleep(0.02)
        leases.append(lease())
        connection.close()  # the upstream's thread used its own connection

    with SlowUpstream(16 * CHUNK, watch) as upstream:
        generation = collecting(funded_team, alice, upstream.url, monkeypatch)
        engine.collect(generation.pk)

    generation.refresh_from_db()
    assert generation.state == S.SUCCEEDED
    assert generation.assets.get().size_bytes == 16 * CHUNK
    assert len(leases) == 3 and leases[0] < leases[1] < leases[2]


@transactional
def test_a_job_cancelled_while_its_result_downloads_stops_and_stores_nothing(
    funded_team, alice, monkeypatch
):
    monkeypatch.setattr(engine.CollectLease, "RENEW_BYTES", CHUNK)
    cancelled = threading.Event()
    progress: list[int] = []

    def cancel_midway(sent: int) -> None:
        progress.append(sent)
        if sent >= 4 * CHUNK and not cancelled.is_set():
            cancelled.set()
            engine.cancel(Generation.objects.values_list("pk", flat=True).get())
            connection.close()

    with SlowUpstream(64 * CHUNK, cancel_midway) as upstream:
        generation = collecting(funded_team, alice, upstream.url, monkeypatch)
        engine.collect(generation.pk)

    generation.refresh_from_db()
    assert generation.state == S.CANCELLED
    assert generation.credits_refunded == generation.credits_charged
    assert not Asset.objects.exists()
    assert Team.objects.get(pk=funded_team.pk).storage_used_bytes == 0
    assert not engine.work_dir(generation).exists()
    assert max(progress) < 64 * CHUNK  # the worker hung up instead of fetching the rest


@pytest.mark.slow
def test_a_300_mb_result_streams_to_s3_with_flat_memory(moto_server):
    """The bench's measurement (bench/result_streaming.py) in a fresh process: the worker's
    peak RSS rises by a small, size-independent amount, not by the result's 300 MB."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import result_streaming as bench

    size = 300 * 1024 * 1024
    server = bench.serve(bench.small_mp4(), size)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/result.mp4"
        result = bench.measure(url, size, moto_server)
    finally:
        server.shutdown()
    assert result["state"] == "succeeded", result
    assert result["stored_bytes"] == size and result["backend"] == "S3Storage"
    rise = int(result["rss_peak"]) - int(result["rss_before"])
    assert rise < bench.GOAL_RATIO * size, f"peak RSS rose by {rise / 2**20:.0f} MB"
