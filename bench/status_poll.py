"""Status polls: throughput and latency next to a bare view, SQL per poll, and the effect of
50 clients waiting on Krev's inline results.

    .venv/bin/python bench/status_poll.py [--seconds 4] [--threads 4]

Served by uvicorn (ASGI, 2 workers), the way Studio is deployed, so Krev's waiting requests
are coroutines: the third measurement repeats the status-poll load while 50 other clients
each hold a POST /api/v1/images open waiting for a result that never comes (no cluster runs).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from api_credits import ROOT, configure, free_port, load  # noqa: E402


def prepare() -> tuple[str, str]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from generations import engine, services
    from studio.accounts import credits
    from studio.accounts import services as accounts
    from studio.accounts.models import Bucket, User
    from studio.vault.services import create_api_key

    user = User.objects.create_user(f"bench-{time.time_ns()}@bench.local", "bench-password-123")
    team = accounts.create_team("Bench", user)
    credits.grant(team, 10_000_000, bucket=Bucket.PACK)
    generation = services.start_generation(team, user, "image", {"prompt": "bench", "count": 2})
    engine.submit(generation.generation.pk)
    return create_api_key(team, user, "bench").full_key, str(generation.generation.uuid)


def queries(key: str, generation_id: str) -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from generations import services
    from generations.models import Generation
    from studio.accounts.models import Membership

    api = Client(headers={"X-API-Key": key})
    api.get(f"/api/v1/generate/{generation_id}/status")
    counts = {}
    with CaptureQueriesContext(connection) as status:
        api.get(f"/api/v1/generate/{generation_id}/status")
    counts["status poll (Kolbo, 2 images)"] = len(status)
    with CaptureQueriesContext(connection) as krev:
        api.get(f"/api/v1/generations/{generation_id}")
    counts["status poll (Krev, 2 images)"] = len(krev)

    membership = Membership.objects.select_related("team", "user").first()
    assert membership is not None
    page = Client()
    page.force_login(membership.user)
    poll_url = f"/t/{membership.team.uuid}/studio/poll/"
    for running in (1, 20):
        Generation.objects.filter(state="queued").delete()
        for _ in range(running):
            services.start_generation(membership.team, membership.user, "image", {"prompt": "x"})
        ids = list(Generation.objects.filter(state="queued").values_list("uuid", flat=True))
        query = "&".join(f"running={i}" for i in ids)
        page.get(f"{poll_url}?{query}", headers={"HX-Request": "true"})
        with CaptureQueriesContext(connection) as captured:
            page.get(f"{poll_url}?{query}", headers={"HX-Request": "true"})
        counts[f"page poll, {running} running jobs"] = len(captured)
    return counts


def start_uvicorn(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "studio.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{BENCH}"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/bare/")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("uvicorn did not start")


def hold_waiters(port: int, key: str, count: int, stop: threading.Event) -> list[threading.Thread]:
    def waiter() -> None:
        while not stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            body = json.dumps({"prompt": "a job that waits"})
            conn.request(
                "POST",
                "/api/v1/images",
                body,
                {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            conn.getresponse().read()
            conn.close()

    threads = [threading.Thread(target=waiter, daemon=True) for _ in range(count)]
    for t in threads:
        t.start()
    return threads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--waiters", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="studio-bench-poll-"))
    configure(workdir)
    os.environ.update(
        STUDIO_RATE_POLL="100000000",
        STUDIO_RATE_GENERATION="100000000",
        STUDIO_INLINE_WAIT_SECONDS="30",
        STUDIO_MEDIA_ROOT=str(workdir / "media"),
    )
    key, generation_id = prepare()
    counts = queries(key, generation_id)

    port = free_port()
    server = start_uvicorn(port)
    status_path = f"/api/v1/generate/{generation_id}/status"
    headers = {"X-API-Key": key}
    try:
        for path, h in (("/bench/bare/", {}), (status_path, headers)):
            load(port, path, h, 1, args.threads)
        bare = load(port, "/bench/bare/", {}, args.seconds, args.threads)
        alone = load(port, status_path, headers, args.seconds, args.threads)
        stop = threading.Event()
        hold_waiters(port, key, args.waiters, stop)
        time.sleep(2)  # let every waiter get its request in
        crowded = load(port, status_path, headers, args.seconds, args.threads)
        stop.set()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()

    print(
        f"status polls on uvicorn (2 workers), {args.threads} client threads, {args.seconds:g} s each"
    )
    print(f"{'case':48} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for label, r in (
        ("bare Django view", bare),
        ("GET /generate/{id}/status", alone),
        (f"same, with {args.waiters} Krev clients waiting inline", crowded),
    ):
        print(f"{label:48} {r['rps']:7.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['errors']:7d}")
    print("SQL queries per request:")
    for label, n in counts.items():
        print(f"  {label:40} {n}")


if __name__ == "__main__":
    main()
