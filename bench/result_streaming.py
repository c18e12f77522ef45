"""Peak memory of collecting a 300 MB result: it must stream to storage, never sit in RAM.

    .venv/bin/python bench/result_streaming.py [--mb 300] [--storage local|s3|both]

A loopback HTTP server makes the result on the fly (a real one-second MP4 followed by an MP4
`free` box of zeros up to the size, so probing and the poster frame work as for any video).
A fresh worker process sets up Studio, puts a generation in `collecting` with that URL as
its output and runs the engine's collect step: download to a temporary file, probe, poster,
upload to storage (local disk, or S3 on a loopback moto server). The worker reports how far
its peak RSS rose above its RSS right before the step; the goal is a rise under 15% of the
result's size (a download held in memory would rise by more than 100%).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 0.15
CHUNK = b"\0" * (1024 * 1024)


def _current_rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries the parent's
    RSS at fork into a child's ru_maxrss, so a worker started by a big pytest process would
    report the parent's size."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


# --- the upstream: a big MP4 made on the fly --------------------------------------------------


def small_mp4() -> bytes:
    sys.path.insert(0, str(ROOT))
    from generations.providers.local import render_video

    with tempfile.TemporaryDirectory() as tmp:
        return render_video(
            "waves at dusk", duration=1, seed=7, out_dir=Path(tmp)
        ).path.read_bytes()


def serve(head: bytes, total: int) -> ThreadingHTTPServer:
    pad = total - len(head)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            self.wfile.write(head + struct.pack(">I4s", pad, b"free"))
            left = pad - 8
            while left > 0:
                piece = CHUNK if left >= len(CHUNK) else CHUNK[:left]
                self.wfile.write(piece)
                left -= len(piece)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(f"{url}/moto-api/", timeout=2)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start")


# --- the measured worker ----------------------------------------------------------------------


def worker(url: str, size: int, s3_endpoint: str) -> None:
    if s3_endpoint:
        import boto3

        bucket = f"bench-results-{os.getpid()}"
        boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench-secret",
        ).create_bucket(Bucket=bucket)
        os.environ.update(
            STUDIO_STORAGE="s3",
            STUDIO_S3_BUCKET=bucket,
            STUDIO_S3_ENDPOINT_URL=s3_endpoint,
            STUDIO_S3_REGION="us-east-1",
            STUDIO_S3_ACCESS_KEY_ID="bench",
            STUDIO_S3_SECRET_ACCESS_KEY="bench-secret",
            STUDIO_S3_ADDRESSING_STYLE="path",
        )
    sys.path.insert(0, str(ROOT / "bench"))
    from _django import setup, team_with_credits

    workdir = setup()
    from django.core.files.storage import default_storage

    from generations import assets, engine, services
    from generations.models import Generation, GenerationState
    from studio.accounts.models import Plan

    team, user = team_with_credits()
    Plan.objects.filter(pk=team.plan_id).update(storage_limit_bytes=4 * size)
    generation = services.start_generation(
        team, user, "video", {"prompt": "a long one", "duration": 4}
    ).generation
    # Tasks run inline here, so the offline engine has already finished it: take its result
    # away and hand it the big upstream output to collect instead.
    assets.delete_assets(generation)
    Generation.objects.filter(pk=generation.pk).update(
        state=GenerationState.COLLECTING,
        upstream_handle={"outputs": [{"path": None, "url": url, "mime_type": "video/mp4"}]},
    )
    # Warm the storage client first (boto3 loads its service models once, ~20 MB that do
    # not grow with the file): the measure is what the result itself costs.
    default_storage.exists("warm-up")
    before = _current_rss_bytes()
    started = time.perf_counter()
    engine.collect(generation.pk)
    seconds = time.perf_counter() - started
    peak = _peak_rss_bytes()
    generation.refresh_from_db()
    asset = generation.assets.first()
    print(
        json.dumps(
            {
                "state": generation.state,
                "error": generation.error,
                "stored_bytes": default_storage.size(asset.file.name) if asset else 0,
                "backend": type(default_storage._wrapped).__name__,
                "rss_before": before,
                "rss_peak": peak,
                "seconds": seconds,
            }
        )
    )
    # Leave nothing behind: 300 MB in the bucket (moto keeps it in memory) and on disk.
    assets.delete_assets(generation)
    shutil.rmtree(workdir, ignore_errors=True)


def measure(url: str, size: int, s3_endpoint: str = "") -> dict[str, object]:
    # A clean Studio of its own (bench/_django.py): not the settings of whoever started us.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run(
        [sys.executable, __file__, "--worker", url, "--bytes", str(size), "--s3", s3_endpoint],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        sys.stderr.write(run.stderr[-4000:])
        raise SystemExit(f"worker failed ({run.returncode})")
    return dict(json.loads(lines[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--storage", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--bytes", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--s3", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.bytes, args.s3)
        return 0
    size = args.mb * 1024 * 1024
    server = serve(small_mp4(), size)
    url = f"http://127.0.0.1:{server.server_address[1]}/result.mp4"
    backends = ["local", "s3"] if args.storage == "both" else [args.storage]
    moto = None
    failed = False
    print(f"goal: peak RSS rises by less than {GOAL_RATIO:.0%} of a {args.mb} MB result")
    try:
        for backend in backends:
            endpoint = ""
            if backend == "s3":
                moto, endpoint = start_moto()
            result = measure(url, size, endpoint)
            rise = max(int(result["rss_peak"]) - int(result["rss_before"]), 0)  # type: ignore[call-overload]
            ratio = rise / size
            ok = (
                result["state"] == "succeeded"
                and result["stored_bytes"] == size
                and ratio < GOAL_RATIO
            )
            failed |= not ok
            print(
                f"{backend:<6} {result['backend']:<18} stored {int(result['stored_bytes']) / 2**20:6.1f} MB"  # type: ignore[call-overload]
                f" in {float(result['seconds']):5.1f} s; peak RSS +{rise / 2**20:6.1f} MB"  # type: ignore[arg-type]
                f" = {ratio:.3f} of the result: {'PASS' if ok else 'FAIL'}"
                + (
                    ""
                    if result["state"] == "succeeded"
                    else f" ({result['state']}: {result['error']})"
                )
            )
    finally:
        server.shutdown()
        if moto is not None:
            moto.terminate()
            moto.wait(timeout=10)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
