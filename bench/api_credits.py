"""Authenticated GET /api/v1/account/credits next to a bare Django view, on gunicorn.

    .venv/bin/python bench/api_credits.py [--seconds 5] [--threads 4] [--workers 2]

Both URLs are served by the same gunicorn (sync workers) in the same run, through the same
middleware; the bare view returns a constant JSON body, so the difference is the API's own
cost: key authentication, the rate-limit counter, the handler and ninja's serialisation.
Also prints the SQL queries one authenticated request makes. The database is a throwaway
SQLite file (the embedded default) unless BENCH_DATABASE_URL is set; REDIS_URL, if set,
moves the rate-limit counters to Redis.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def configure(workdir: Path) -> None:
    sys.path[:0] = [str(ROOT), str(BENCH)]
    os.environ.update(
        DJANGO_SETTINGS_MODULE="_api_site",
        STUDIO_DEBUG="0",
        STUDIO_SECRET_KEY="bench-secret-key-" + "x" * 40,
        STUDIO_API_KEY_PEPPER="bench-pepper-" + "y" * 40,
        STUDIO_ALLOWED_HOSTS="127.0.0.1,testserver",
        STUDIO_VAR_DIR=str(workdir),
        STUDIO_LOG_LEVEL="WARNING",
        STUDIO_RATE_READ="100000000",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"),
    )


def prepare() -> str:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from studio.accounts import services
    from studio.accounts.models import User
    from studio.vault.services import create_api_key

    user = User.objects.create_user(f"bench-{time.time_ns()}@bench.local", "bench-password-123")
    team = services.create_team("Bench", user)
    return create_api_key(team, user, "bench").full_key


def queries_per_request(key: str) -> tuple[int, int, list[str]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"X-API-Key": key})
    with CaptureQueriesContext(connection) as first:
        assert client.get("/api/v1/account/credits").status_code == 200
    with CaptureQueriesContext(connection) as steady:
        assert client.get("/api/v1/account/credits").status_code == 200
    return len(first), len(steady), [q["sql"][:90] for q in steady.captured_queries]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "studio.wsgi:application",
            "--pythonpath",
            f"{ROOT},{BENCH}",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
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
    raise RuntimeError("gunicorn did not start")


def load(port: int, path: str, headers: dict[str, str], seconds: float, threads: int):
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        mine, bad = [], 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            mine.append(time.perf_counter() - started)
            bad += response.status != 200
        with lock:
            latencies.extend(mine)
            errors += bad

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "n": len(latencies),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="studio-bench-api-"))
    configure(workdir)
    key = prepare()
    first, steady, sql = queries_per_request(key)

    port = free_port()
    server = start_server(port, args.workers)
    try:
        cases = [
            ("bare Django view", "/bench/bare/", {}),
            ("GET /api/v1/account/credits", "/api/v1/account/credits", {"X-API-Key": key}),
        ]
        for _, path, headers in cases:  # warm both workers' imports and connections
            load(port, path, headers, 1, args.threads)
        results = [
            (label, load(port, path, headers, args.seconds, args.threads))
            for label, path, headers in cases
        ]
    finally:
        server.terminate()
        server.wait(timeout=10)

    db = os.environ["DATABASE_URL"].split(":")[0]
    cache = "Redis" if os.environ.get("REDIS_URL") else "database"
    print(
        f"API credits benchmark: gunicorn {args.workers} sync workers, "
        f"{args.threads} client threads, {args.seconds:g} s each, {db} database, "
        f"{cache} rate-limit counters"
    )
    print(f"{'endpoint':32} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7}")
    for label, r in results:
        print(
            f"{label:32} {r['rps']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} "
            f"{r['n']:9d} {r['errors']:7d}"
        )
    print(
        f"SQL queries per authenticated request: {steady} "
        f"(the first in a 5-minute span: {first}, it also records last_used_at)"
    )
    for line in sql:
        print(f"  {line}")


if __name__ == "__main__":
    main()
