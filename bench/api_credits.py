"""Authenticated GET /api/v1/account/credits next to a bare Django view, on the deployed server.

    .venv/bin/python bench/api_credits.py [--seconds 3] [--rounds 3] [--clients 4] [--workers 2]

Served the way the README deploys Studio: gunicorn with uvicorn workers (ASGI), both URLs by
the same server in the same run, through the same middleware. The bare view returns a
constant JSON body, so the difference is the API's own cost: key authentication, the rate
limit, the handler and ninja's serialisation. Rounds are interleaved (bare, API, bare, API…)
so load from elsewhere on the machine hits both alike. Clients are separate processes, each
on one keep-alive connection. Goal (issue 10): an authenticated read ≥ 0.5 of the bare view's
requests per second. The database is a throwaway SQLite file unless BENCH_DATABASE_URL is
set; REDIS_URL moves the rate-limit counters to Redis.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
GOAL = 0.5


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
        STUDIO_RATE_POLL="100000000",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"),
    )


def migrate() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def prepare() -> str:
    migrate()
    from studio.accounts import services
    from studio.accounts.models import User
    from studio.vault.services import create_api_key

    user = User.objects.create_user(f"bench-{time.time_ns()}@bench.local", "bench-password-123")
    team = services.create_team("Bench", user)
    return create_api_key(team, user, "bench").full_key


def queries_per_request(path: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    """SQL statements of one request once the process is warm (the key cache included)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers=headers)
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as steady:
        assert client.get(path).status_code == 200
    return len(steady), [q["sql"][:100] for q in steady.captured_queries]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    """gunicorn + uvicorn workers on studio.asgi, as README's "Deploying" runs Studio."""
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "studio.asgi:application",
            "-k",
            "uvicorn_worker.UvicornWorker",
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
    raise RuntimeError("the server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _client(args: tuple[int, str, dict[str, str], float]) -> tuple[list[float], int]:
    port, path, headers, seconds = args
    latencies, errors = [], 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        errors += response.status != 200
        if response.will_close:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()
    return latencies, errors


def load(
    pool, port: int, path: str, headers: dict[str, str], seconds: float, clients: int
) -> dict[str, float]:
    began = time.perf_counter()
    results = pool.map(_client, [(port, path, headers, seconds)] * clients)
    elapsed = time.perf_counter() - began
    latencies = sorted(x for lat, _ in results for x in lat)
    return {
        "n": len(latencies),
        "seconds": elapsed,
        "errors": sum(e for _, e in results),
        "latencies": latencies,
    }


def merge(runs: list[dict]) -> dict[str, float]:
    latencies = sorted(x for r in runs for x in r["latencies"])
    n = len(latencies)
    return {
        "rps": n / sum(r["seconds"] for r in runs),
        "p50": statistics.median(latencies) * 1000 if n else 0.0,
        "p99": latencies[max(0, int(n * 0.99) - 1)] * 1000 if n else 0.0,
        "n": n,
        "errors": sum(r["errors"] for r in runs),
    }


def interleaved(
    port: int,
    cases: list[tuple[str, str, dict[str, str]]],
    *,
    seconds: float,
    rounds: int,
    clients: int,
) -> dict[str, dict[str, float]]:
    """Each case for `seconds`, one after another, `rounds` times; a warm-up round first."""
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in cases}
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        for _, path, headers in cases:
            load(pool, port, path, headers, 1, clients)
        for _ in range(rounds):
            for label, path, headers in cases:
                runs[label].append(load(pool, port, path, headers, seconds, clients))
    return {label: merge(r) for label, r in runs.items()}


def print_table(results: dict[str, dict[str, float]]) -> None:
    print(f"{'case':44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7}")
    for label, r in results.items():
        print(
            f"{label:44} {r['rps']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} "
            f"{r['n']:9d} {r['errors']:7d}"
        )


def verdict(goal: str, ratio: float, minimum: float) -> bool:
    ok = ratio >= minimum
    print(f"goal: {goal} ≥ {minimum:g}: measured {ratio:.2f} {'PASS' if ok else 'FAIL'}")
    return ok


def verdict_at_most(goal: str, measured: int, maximum: int) -> bool:
    ok = measured <= maximum
    print(f"goal: {goal} ≤ {maximum}: measured {measured} {'PASS' if ok else 'FAIL'}")
    return ok


def describe(args: argparse.Namespace) -> str:
    db = os.environ["DATABASE_URL"].split(":")[0]
    cache = "Redis" if os.environ.get("REDIS_URL") else "database"
    return (
        f"gunicorn + {args.workers} uvicorn workers, {args.clients} client processes "
        f"(keep-alive), {args.rounds} interleaved rounds of {args.seconds:g} s, {db} database, "
        f"{cache} rate-limit counters"
    )


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args()


def main() -> int:
    args = arguments(__doc__.split("\n")[0])
    workdir = Path(tempfile.mkdtemp(prefix="studio-bench-api-"))
    configure(workdir)
    key = prepare()
    headers = {"X-API-Key": key}
    steady, sql = queries_per_request("/api/v1/account/credits", headers)

    port = free_port()
    server = start_server(port, args.workers)
    try:
        results = interleaved(
            port,
            [
                ("bare Django view", "/bench/bare/", {}),
                ("GET /api/v1/account/credits", "/api/v1/account/credits", headers),
            ],
            seconds=args.seconds,
            rounds=args.rounds,
            clients=args.clients,
        )
    finally:
        stop_server(server)

    print(f"API credits benchmark: {describe(args)}")
    print_table(results)
    print(f"SQL queries per authenticated request (warm process): {steady}")
    for line in sql:
        print(f"  {line}")
    ratio = results["GET /api/v1/account/credits"]["rps"] / results["bare Django view"]["rps"]
    ok = verdict("authenticated read req/s ÷ bare view req/s", ratio, GOAL)
    ok = verdict_at_most("SQL queries per authenticated read", steady, 3) and ok
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
