"""Krev's inline waits, woken rather than polled: how soon the answer follows the job's end, and
what 50 waiting clients cost every other request.

    .venv/bin/python bench/inline_wait.py [--jobs 20] [--waiters 50] [--seconds 5] [--rounds 3]
                                          [--probes 4] [--rate 25] [--workers 2]

Studio runs as deployed (gunicorn with uvicorn workers, a task cluster, an async runner; see
bench/gateway.py) in front of the loopback OpenAI-compatible images fake, which runs in its
own process and answers after a latency the script sets, so jobs finish when it chooses.
A Krev `POST /api/v1/images` waits inline (up to STUDIO_INLINE_WAIT_SECONDS) and is woken by
generations/notify.py: Redis pub/sub when REDIS_URL is set, PostgreSQL LISTEN/NOTIFY on
PostgreSQL without it, a 25 ms poll shared by the process's waiters on SQLite. The database
is a throwaway SQLite file, or DATABASE_URL (or BENCH_DATABASE_URL) when set.

(a) From the job finishing (the generation's `completed_at`, written in the same UPDATE that
    makes it succeeded) to the waiting client having the whole answer: `--jobs` jobs one after
    another (fake latency 0.2 s), p50/p99/max. The same is printed, not judged, for the
    waiters of (b), whose jobs all finish at once.
(b) Other requests' latency, idle and with `--waiters` clients waiting inline, in interleaved
    rounds (idle, waiting, idle, …). `--probes` client processes each send `--rate` requests
    a second, alternating `GET /api/v1/account/credits` and a finished generation's Kolbo
    status. In a waiting round the waiters' jobs are all at the fake (its latency set to
    outlast the round) before the probes start, and answered only after they stop, so the
    round measures waiting alone (and the runner holding the 50 calls), not the jobs' work.

Goals (issue 10): the answer within 50 ms of the job finishing (p99 of (a)); other requests'
p99 with 50 waiters ≤ 1.2 times idle; on both databases (run again with DATABASE_URL=postgres://…
and REDIS_URL=redis://… for PostgreSQL with Redis).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from gateway import MODEL, Stack, connect, percentile, post_json  # noqa: E402

GOAL_WAKE_MS = 50.0
GOAL_P99_RATIO = 1.2
JOB_LATENCY = 0.2


def answer_after_finish(generation_ids: list[str], answered: list[float]) -> list[float]:
    """Milliseconds from each job's `completed_at` to its client having the answer."""
    from generations.models import Generation

    finished = {
        str(uuid): completed.timestamp()
        for uuid, completed in Generation.objects.filter(uuid__in=generation_ids).values_list(
            "uuid", "completed_at"
        )
        if completed is not None  # answered 200 "succeeded": always set
    }
    return [(at - finished[g]) * 1000 for g, at in zip(generation_ids, answered, strict=True)]


def one_waiter(url: str, key: str, prompt: str) -> tuple[bool, str, float, str]:
    """A Krev `POST /api/v1/images` that waits inline: ok, the generation, when the answer
    was in, and what went wrong (the HTTP status and error code) when not ok."""
    conn = connect(url)
    try:
        status, body = post_json(
            conn, "/api/v1/images", {"prompt": prompt, "model": MODEL}, {"X-API-Key": key}
        )
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return False, "", time.time(), type(exc).__name__
    finally:
        conn.close()
    answered = time.time()
    data = (body or {}).get("data") or {}
    ok = status == 200 and data.get("status") == "succeeded" and bool(data.get("images"))
    code = (body or {}).get("code") or data.get("status") or ""  # the error envelope's code
    problem = "" if ok else f"HTTP {status} {code}".strip()
    return ok, str(data.get("generation_id", "")), answered, problem


def wake_latency(stack: Stack, jobs: int) -> list[float]:
    """(a): jobs one after another, each after a random pause (not in step with any poll)."""
    stack.fake.set_latency(JOB_LATENCY)
    url = f"http://127.0.0.1:{stack.port}"
    ids: list[str] = []
    answered: list[float] = []
    for i in range(jobs + 2):  # two warm-up jobs, not counted
        time.sleep(random.uniform(0, 0.3))
        ok, generation_id, at, problem = one_waiter(
            url, stack.key, f"bench wake {i} {time.time_ns()}"
        )
        if not ok:
            raise RuntimeError(f"an inline wait failed: {problem}")
        if i >= 2:
            ids.append(generation_id)
            answered.append(at)
    return answer_after_finish(ids, answered)


def finished_status_path(stack: Stack) -> str:
    ok, generation_id, _, _ = one_waiter(f"http://127.0.0.1:{stack.port}", stack.key, "polled")
    assert ok, "the polled generation did not finish"
    return f"/api/v1/generate/{generation_id}/status"


def _probe(args: tuple[int, list[str], dict[str, str], float, float]) -> tuple[list[float], int]:
    """One probe process: `rate` requests a second for `seconds`, paths in turn."""
    port, paths, headers, seconds, rate = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    errors = 0
    interval = 1.0 / rate
    time.sleep(random.uniform(0, interval))  # the probes do not fire in step
    due = time.monotonic()
    stop = due + seconds
    n = 0
    while due < stop:
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        started = time.perf_counter()
        conn.request("GET", paths[n % len(paths)], headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        errors += response.status != 200
        if response.will_close:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n += 1
        due = max(due + interval, time.monotonic() - interval)  # late: no burst to catch up
    conn.close()
    return latencies, errors


def probe_round(pool: Any, stack: Stack, paths: list[str], args: argparse.Namespace) -> dict:
    headers = {"X-API-Key": stack.key}
    began = time.perf_counter()
    results = pool.map(
        _probe, [(stack.port, paths, headers, args.seconds, args.rate)] * args.probes
    )
    return {
        "seconds": time.perf_counter() - began,
        "latencies": [x for lat, _ in results for x in lat],
        "errors": sum(e for _, e in results),
    }


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def interleaved(stack: Stack, paths: list[str], args: argparse.Namespace) -> tuple[dict, dict]:
    """(b): idle and waiting rounds in turn; also the waiters' own wake latencies."""
    url = f"http://127.0.0.1:{stack.port}"
    runs: dict[str, list[dict]] = {"idle": [], f"{args.waiters} waiting inline": []}
    burst: dict[str, Any] = {"wake": [], "problems": Counter()}
    hold = args.seconds + 5  # the waiters' jobs outlast the probes' round
    with (
        multiprocessing.get_context("spawn").Pool(args.probes) as pool,
        ThreadPoolExecutor(args.waiters) as waiters,
    ):
        probe_round(pool, stack, paths, argparse.Namespace(**{**vars(args), "seconds": 1}))
        for r in range(args.rounds):
            runs["idle"].append(probe_round(pool, stack, paths, args))

            stack.fake.set_latency(hold)
            futures = [
                waiters.submit(one_waiter, url, stack.key, f"bench waiter {r} {i} {time.time_ns()}")
                for i in range(args.waiters)
            ]
            # Every waiter's job at the fake, or its request answered with an error.
            wait_until(
                lambda futures=futures: (
                    stack.fake.stats()["in_flight"] + sum(f.done() for f in futures) >= args.waiters
                ),
                60,
                "the waiters' jobs to reach the fake",
            )
            stack.fake.set_latency(JOB_LATENCY)
            early = sum(f.done() and f.result()[0] for f in futures)
            runs[f"{args.waiters} waiting inline"].append(probe_round(pool, stack, paths, args))
            answers = [f.result() for f in futures]
            for ok, _, _, problem in answers:
                if not ok:
                    burst["problems"][problem] += 1
            if early:
                print(f"warning: {early} waiters were answered before the probes' round began")
            done = [(g, at) for ok, g, at, _ in answers if ok]
            burst["wake"] += answer_after_finish([g for g, _ in done], [at for _, at in done])

    merged = {}
    for label, rounds in runs.items():
        latencies = sorted(x for r in rounds for x in r["latencies"])
        merged[label] = {
            "rps": len(latencies) / sum(r["seconds"] for r in rounds),
            "p50": statistics.median(latencies) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "rounds p99": [percentile(r["latencies"], 0.99) * 1000 for r in rounds],
            "n": len(latencies),
            "errors": sum(r["errors"] for r in rounds),
        }
    return merged, burst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs for the wake latency")
    parser.add_argument("--waiters", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5, help="per probe round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--probes", type=int, default=4, help="probe client processes")
    parser.add_argument("--rate", type=float, default=25, help="requests/s per probe")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    args = parser.parse_args()

    stack = Stack(JOB_LATENCY, args.workers, "studio-bench-inline-")
    os.environ["STUDIO_INLINE_WAIT_SECONDS"] = str(max(25.0, args.seconds + 20))
    try:
        stack.start()
        from generations import notify

        woken_by = {
            "redis": "Redis pub/sub",
            "postgres": "LISTEN/NOTIFY",
            "poll": f"{notify.POLL_SECONDS * 1000:g} ms poll",
        }[notify.backend()]
        wake = wake_latency(stack, args.jobs)
        paths = ["/api/v1/account/credits", finished_status_path(stack)]
        probes, burst = interleaved(stack, paths, args)
        description = stack.describe()
    finally:
        stack.stop()

    print(f"inline waits ({woken_by}): {description}")
    print(f"(a) job finished → its waiting client has the answer, {args.jobs} jobs one at a time")
    print(
        f"    p50 {statistics.median(wake):.1f} ms, p99 {percentile(wake, 0.99):.1f} ms, "
        f"max {max(wake):.1f} ms"
    )
    failed = sum(burst["problems"].values())
    if failed:
        problems = ", ".join(f"{n} x {p}" for p, n in burst["problems"].most_common())
        print(f"    waiters not answered with their images: {failed} ({problems})")
    if burst["wake"]:
        print(
            f"    {args.waiters} jobs finishing at once (the waiters of (b), {args.rounds} rounds): "
            f"p50 {statistics.median(burst['wake']):.1f} ms, "
            f"p99 {percentile(burst['wake'], 0.99):.1f} ms"
        )
    print(
        f"(b) {args.probes} probe processes, each {args.rate:g} req/s (credits, status poll), "
        f"{args.rounds} interleaved rounds of {args.seconds:g} s"
    )
    print(
        f"{'case':22} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7}  p99 per round"
    )
    for label, r in probes.items():
        rounds = " ".join(f"{x:.1f}" for x in r["rounds p99"])
        print(
            f"{label:22} {r['rps']:7.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['n']:9d} "
            f"{r['errors']:7d}  {rounds}"
        )

    p99 = percentile(wake, 0.99)
    ok_wake = p99 <= GOAL_WAKE_MS
    print(
        f"goal: answer within {GOAL_WAKE_MS:g} ms of the job finishing (p99): measured "
        f"{p99:.1f} ms (ratio {p99 / GOAL_WAKE_MS:.2f} of the goal) {'PASS' if ok_wake else 'FAIL'}"
    )
    idle, waiting = probes.values()
    ratio = waiting["p99"] / idle["p99"]
    ok_p99 = ratio <= GOAL_P99_RATIO and not waiting["errors"] and not failed
    print(
        f"goal: other requests' p99 with {args.waiters} waiters ≤ {GOAL_P99_RATIO:g} times idle: "
        f"measured {waiting['p99']:.2f} ms vs {idle['p99']:.2f} ms, ratio {ratio:.2f} "
        f"{'PASS' if ok_p99 else 'FAIL'}"
    )
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0 if ok_wake and ok_p99 else 1


if __name__ == "__main__":
    sys.exit(main())
