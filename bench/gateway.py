"""Studio in front of a loopback OpenAI-compatible fake: overhead per job and throughput with
16 clients, beside the fake called directly.

    .venv/bin/python bench/gateway.py [--jobs 20] [--seconds 8] [--rounds 2] [--clients 16]
                                      [--latency 0.2] [--workers 2]

The fake (tests/fakes/sync_images.py, `POST /v1/images/generations`, a small PNG as b64_json
after a fixed `--latency`) runs in its own process. Studio runs as deployed: gunicorn with
uvicorn workers on studio.asgi, a task cluster (`manage.py qcluster`, default settings: the
ORM broker polled every STUDIO_CLUSTER_POLL) and an async runner (`manage.py async_runner`),
with a shared OpenAI-compatible credential and an image model pointing at the fake. The
database is a throwaway SQLite file, or DATABASE_URL (or BENCH_DATABASE_URL) when set;
REDIS_URL moves the cache and the finish notifications to Redis.

A job through Studio is Krev's `POST /api/v1/images` with the inline wait: the request is
answered, with the stored image's link, as soon as the job is finished (woken through
generations/notify.py), so the client makes one request, as with the fake. Kolbo's
`POST /api/v1/generate/image` then `GET /api/v1/generate/{id}/status` every 50 ms is timed
beside it for reference (not judged). The image's download is not included.

(a) overhead per job: one client, jobs one after another, interleaved (direct, Krev, Kolbo,
    direct, …), each after a random pause of up to one broker poll (jobs arriving in step
    with the cluster's polling would all wait alike); the median time minus the fake's
    latency. Where a Krev job's time went is printed from the generation's timestamps.
(b) throughput: `--clients` client processes, each one job at a time on a kept-alive
    connection, for `--seconds`, interleaved rounds (direct, Studio, direct, Studio, …).

Goals (issue 10; its baseline was Studio 557 ms of overhead against LiteLLM's 29 ms, and 0.14
of LiteLLM's throughput with 16 clients; there is no LiteLLM here, so the fake called directly
stands in): overhead per job ≤ 250 ms; throughput Studio ÷ direct with 16 clients ≥ 0.5.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from api_credits import configure, free_port, migrate, start_server, stop_server  # noqa: E402

GOAL_OVERHEAD_MS = 250.0
GOAL_THROUGHPUT = 0.5
MODEL = "bench/sync-image"
UPSTREAM_MODEL = "gpt-image-1"
SECRET = "sk-bench-0123456789abcdefghijklmnop"
VAULT_KEY = "YmVuY2gtdmF1bHQta2V5LTAxMjM0NTY3ODlhYmNkZWY="
KOLBO_POLL_EVERY = 0.05


# --- the stack: fake, web, cluster, runner ---------------------------------------------------


def database_url() -> str | None:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or None


def database_label() -> str:
    url = os.environ["DATABASE_URL"]
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    return f"{kind}, {'Redis' if os.environ.get('REDIS_URL') else 'no Redis'}"


@dataclass
class Stack:
    """The fake upstream and Studio's three kinds of processes, on one throwaway database."""

    latency: float
    workers: int
    prefix: str
    workdir: Path = field(init=False)
    port: int = 0
    key: str = ""
    fake: Any = None
    processes: list[subprocess.Popen] = field(default_factory=list)
    server: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        os.chdir(ROOT)  # the fake runs as `-m tests.fakes.sync_images`
        self.workdir = Path(tempfile.mkdtemp(prefix=self.prefix))
        url = database_url()
        if url:
            os.environ["BENCH_DATABASE_URL"] = url
        configure(self.workdir)
        os.environ.update(
            STUDIO_RATE_GENERATION="100000000",
            STUDIO_ALLOW_PRIVATE_UPSTREAMS="1",  # the fake listens on loopback
            STUDIO_VAULT_KEYS=os.environ.get("STUDIO_VAULT_KEYS", VAULT_KEY),
            STUDIO_MEDIA_ROOT=str(self.workdir / "media"),
            PYTHONPATH=os.pathsep.join([str(ROOT), str(BENCH)]),
        )

    def start(self) -> None:
        from tests.fakes.sync_images import SyncImagesProcess

        migrate()
        self.fake = SyncImagesProcess(latency=self.latency)
        self.key = prepare(self.fake.base_url)
        log = (self.workdir / "processes.log").open("ab")
        for command in ("qcluster", "async_runner"):
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", command],
                    cwd=ROOT,
                    env=os.environ.copy(),
                    start_new_session=True,
                    stdout=log,
                    stderr=log,
                )
            )
        self.port = free_port()
        self.server = start_server(self.port, self.workers)
        wait_for_runner()

    def stop(self) -> None:
        if self.server is not None:
            stop_server(self.server)
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self.fake is not None:
            self.fake.stop()

    def describe(self) -> str:
        from django.conf import settings

        return (
            f"gunicorn + {self.workers} uvicorn workers, a task cluster "
            f"({settings.Q_CLUSTER['workers']} workers, broker polled every "
            f"{settings.Q_CLUSTER['poll']:g} s), an async runner; {database_label()}; "
            f"the fake in another process, {self.latency * 1000:g} ms latency"
        )


def prepare(fake_base_url: str) -> str:
    """A team with credits, a shared credential and an image model on the fake; an API key."""
    from generations.models import AIModel
    from studio.accounts import credits
    from studio.accounts import services as accounts
    from studio.accounts.models import Bucket, User
    from studio.vault.credentials import create_credential
    from studio.vault.services import create_api_key

    user = User.objects.create_user(f"bench-{time.time_ns()}@bench.local", "bench-password-123")
    team = accounts.create_team("Bench", user)
    credits.grant(team, 100_000_000, bucket=Bucket.PACK)
    # Earlier runs on the same (PostgreSQL) database pointed at fakes that are gone.
    from studio.vault.models import ProviderCredential

    ProviderCredential.objects.filter(team=None, provider="openai", label="bench fake").update(
        enabled=False
    )
    create_credential(
        None,
        "openai",
        "bench fake",
        fake_base_url,
        SECRET,
        submits_per_minute=100_000,
        polls_per_minute=1_000_000,
        max_concurrent_jobs=100_000,
    )
    AIModel.objects.update_or_create(
        identifier=MODEL,
        defaults={
            "name": "Bench sync image",
            "provider": "openai",
            "upstream_model": UPSTREAM_MODEL,
            "types": ["image"],
            "pricing_unit": "per_image",
            "credit": 1,
            "supported_aspect_ratios": ["1:1"],
            "enabled": True,
        },
    )
    return create_api_key(team, user, "bench").full_key


def wait_for_runner(timeout: float = 60) -> None:
    from django.utils import timezone

    from generations import engine
    from generations.models import Lease

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Lease.objects.filter(
            name__startswith=engine.RUNNER_LEASE_PREFIX, expires_at__gt=timezone.now()
        ).exists():
            return
        time.sleep(0.2)
    raise RuntimeError("the async runner did not start")


# --- one job, three ways (module level: client processes are spawned) ------------------------


def connect(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)


def post_json(
    conn: http.client.HTTPConnection, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[int, Any]:
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def get_json(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[int, Any]:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def direct_job(conn: http.client.HTTPConnection, prompt: str) -> bool:
    """What an application calling the upstream itself does."""
    status, body = post_json(
        conn,
        "/v1/images/generations",
        {"model": UPSTREAM_MODEL, "prompt": prompt, "n": 1, "size": "1024x1024"},
        {"Authorization": f"Bearer {SECRET}"},
    )
    return status == 200 and bool(body["data"][0]["b64_json"])


def krev_job(conn: http.client.HTTPConnection, key: str, prompt: str) -> tuple[bool, str]:
    """Krev `POST /api/v1/images`, answered inline when the job is finished."""
    status, body = post_json(
        conn, "/api/v1/images", {"prompt": prompt, "model": MODEL}, {"X-API-Key": key}
    )
    data = (body or {}).get("data") or {}
    ok = status == 200 and data.get("status") == "succeeded" and bool(data.get("images"))
    return ok, str(data.get("generation_id", ""))


def kolbo_job(conn: http.client.HTTPConnection, key: str, prompt: str) -> bool:
    """Kolbo `POST /api/v1/generate/image`, then its status every KOLBO_POLL_EVERY."""
    headers = {"X-API-Key": key}
    status, body = post_json(
        conn, "/api/v1/generate/image", {"prompt": prompt, "model": MODEL}, headers
    )
    if status != 200:
        return False
    path = f"/api/v1/generate/{body['generation_id']}/status"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, body = get_json(conn, path, headers)
        if status != 200 or body["state"] in ("failed", "cancelled"):
            return False
        if body["state"] == "completed":
            return bool(body.get("result"))
        time.sleep(KOLBO_POLL_EVERY)
    return False


def _client(args: tuple[str, str, str, float, int]) -> tuple[list[float], int]:
    """One client process for `seconds`: jobs one after another on one connection."""
    kind, url, key, seconds, n = args
    conn = connect(url)
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    count = 0
    while time.monotonic() < stop:
        prompt = f"bench client {n} job {count} {time.time_ns()}"
        count += 1
        started = time.perf_counter()
        try:
            ok = direct_job(conn, prompt) if kind == "direct" else krev_job(conn, key, prompt)[0]
        except (OSError, http.client.HTTPException, ValueError):
            ok = False
            conn.close()
            conn = connect(url)
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            errors += 1
    conn.close()
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * q + 0.5) - 1))]


# --- the two measurements ---------------------------------------------------------------------


STEPS = (
    "POST → row created",
    "created → claimed by a cluster worker",
    "claimed → finished (runner's call, collect)",
    "finished → answer received",
)


def steps_of(generation_id: str, posted: float, answered: float) -> list[float]:
    """Where a Krev job's time went, from the generation's own timestamps (wall clock)."""
    from generations.models import Generation

    row = Generation.objects.get(uuid=generation_id)
    assert row.submitted_at is not None and row.completed_at is not None
    marks = [
        posted,
        row.created_at.timestamp(),
        row.submitted_at.timestamp(),
        row.completed_at.timestamp(),
        answered,
    ]
    return [(b - a) * 1000 for a, b in itertools.pairwise(marks)]


def overhead(stack: Stack, jobs: int) -> tuple[dict[str, list[float]], list[list[float]]]:
    """One client, jobs one after another; a random pause of up to one broker poll before
    each, so that jobs do not arrive in step with the cluster's polling."""
    from django.conf import settings

    pause = float(settings.Q_CLUSTER["poll"])  # type: ignore[arg-type]
    studio_url = f"http://127.0.0.1:{stack.port}"
    fake = connect(stack.fake.url)
    studio = connect(studio_url)
    times: dict[str, list[float]] = {"direct": [], "Krev inline wait": [], "Kolbo poll 50 ms": []}
    steps: list[list[float]] = []
    for i in range(jobs + 2):  # two warm-up rounds, not counted
        for label in times:
            time.sleep(random.uniform(0, pause))
            prompt = f"bench overhead {label} {i} {time.time_ns()}"
            posted = time.time()
            started = time.perf_counter()
            generation_id = ""
            if label == "direct":
                ok = direct_job(fake, prompt)
            elif label.startswith("Krev"):
                ok, generation_id = krev_job(studio, stack.key, prompt)
            else:
                ok = kolbo_job(studio, stack.key, prompt)
            elapsed = time.perf_counter() - started
            answered = time.time()
            if not ok:
                raise RuntimeError(f"a {label} job failed (see {stack.workdir}/processes.log)")
            if i >= 2:
                times[label].append(elapsed)
                if generation_id:
                    steps.append(steps_of(generation_id, posted, answered))
    fake.close()
    studio.close()
    return times, steps


def throughput(stack: Stack, *, clients: int, seconds: float, rounds: int) -> dict[str, dict]:
    urls = {"direct": stack.fake.url, "Studio": f"http://127.0.0.1:{stack.port}"}
    runs: dict[str, list[tuple[float, list[float], int]]] = {label: [] for label in urls}
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        for label, url in urls.items():  # warm-up: every client's connection, every path
            kind = "direct" if label == "direct" else "krev"
            pool.map(_client, [(kind, url, stack.key, 1.0, n) for n in range(clients)])
        for _ in range(rounds):
            for label, url in urls.items():
                kind = "direct" if label == "direct" else "krev"
                began = time.perf_counter()
                results = pool.map(
                    _client, [(kind, url, stack.key, seconds, n) for n in range(clients)]
                )
                elapsed = time.perf_counter() - began
                latencies = [x for lat, _ in results for x in lat]
                runs[label].append((elapsed, latencies, sum(e for _, e in results)))
    merged = {}
    for label, rows in runs.items():
        latencies = sorted(x for _, lat, _ in rows for x in lat)
        merged[label] = {
            "jobs/s": len(latencies) / sum(elapsed for elapsed, _, _ in rows),
            "p50": statistics.median(latencies) * 1000 if latencies else 0.0,
            "p99": percentile(latencies, 0.99) * 1000 if latencies else 0.0,
            "jobs": len(latencies),
            "errors": sum(errors for _, _, errors in rows),
        }
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs per path for the overhead")
    parser.add_argument("--seconds", type=float, default=8, help="per throughput round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2, help="the fake's, in seconds")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    args = parser.parse_args()

    stack = Stack(args.latency, args.workers, "studio-bench-gateway-")
    try:
        stack.start()
        times, steps = overhead(stack, args.jobs)
        rates = throughput(stack, clients=args.clients, seconds=args.seconds, rounds=args.rounds)
        description = stack.describe()
    finally:
        stack.stop()

    latency_ms = args.latency * 1000
    print(f"gateway: {description}")
    print(f"(a) one client, {args.jobs} jobs per path, interleaved")
    print(f"{'path':22} {'p50 ms':>8} {'p90 ms':>8} {'overhead p50 ms':>16}")
    for label, values in times.items():
        p50 = statistics.median(values) * 1000
        print(
            f"{label:22} {p50:8.1f} {percentile(values, 0.9) * 1000:8.1f} {p50 - latency_ms:16.1f}"
        )
    print("  where a Krev job's time went (medians, from the generation's timestamps):")
    for n, step in enumerate(STEPS):
        print(f"    {step:44} {statistics.median(s[n] for s in steps):8.1f} ms")
    print(
        f"(b) {args.clients} client processes, {args.rounds} interleaved rounds of "
        f"{args.seconds:g} s (Studio: Krev inline wait)"
    )
    print(f"{'path':22} {'jobs/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'jobs':>6} {'errors':>7}")
    for label, r in rates.items():
        print(
            f"{label:22} {r['jobs/s']:8.1f} {r['p50']:8.1f} {r['p99']:8.1f} "
            f"{r['jobs']:6d} {r['errors']:7d}"
        )

    studio_ms = statistics.median(times["Krev inline wait"]) * 1000 - latency_ms
    direct_ms = statistics.median(times["direct"]) * 1000 - latency_ms
    ok_overhead = studio_ms <= GOAL_OVERHEAD_MS
    print(
        f"goal: overhead per job (Krev inline wait, median minus the fake's {latency_ms:g} ms) "
        f"≤ {GOAL_OVERHEAD_MS:g} ms: measured {studio_ms:.1f} ms (direct {direct_ms:.1f} ms; "
        f"ratio {studio_ms / GOAL_OVERHEAD_MS:.2f} of the goal) "
        f"{'PASS' if ok_overhead else 'FAIL'}"
    )
    ratio = rates["Studio"]["jobs/s"] / rates["direct"]["jobs/s"]
    ok_throughput = ratio >= GOAL_THROUGHPUT and rates["Studio"]["errors"] == 0
    print(
        f"goal: throughput Studio ÷ direct with {args.clients} clients ≥ {GOAL_THROUGHPUT:g}: "
        f"measured {ratio:.2f} ({rates['Studio']['jobs/s']:.1f} ÷ "
        f"{rates['direct']['jobs/s']:.1f} jobs/s, {rates['Studio']['errors']} errors) "
        f"{'PASS' if ok_throughput else 'FAIL'}"
    )
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0 if ok_overhead and ok_throughput else 1


if __name__ == "__main__":
    sys.exit(main())
