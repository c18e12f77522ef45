"""Dispatcher: how late polls are with 1,000 and 5,000 in-flight jobs, and CPU per poll.

Each job is due for a poll every second, against a loopback upstream with 50 ms latency that
runs in another process (so its work is not counted, nor slows the measured process). The
dispatcher (`run_dispatcher`, the cluster's scheduled entry point) runs for SECONDS; lateness
is when a poll started relative to its due time, after the first round (every job is due at
once at the start). Goals (issue 10): every job polled within 1 s of due at 1,000 jobs and
within 2 s at 5,000. PASS is judged on the p99; the max is printed beside it.

Run: .venv/bin/python bench/dispatcher.py [seconds]  (BENCH_DATABASE_URL for PostgreSQL;
BENCH_JOBS=1000,5000 to choose the sizes)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta

from _django import ROOT, setup, team_with_credits

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
SIZES = [int(n) for n in os.environ.get("BENCH_JOBS", "1000,5000").split(",")]
GOALS = {1000: 1.0, 5000: 2.0}
POLL_EVERY = 1.0

FAKE = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.fakes.server import LoopbackServer, Response
server = LoopbackServer(
    lambda request: Response.json({"status": "running", "progress": 10}), latency=0.05
).start()
print(server.url, flush=True)
time.sleep(3600)
"""


def main() -> None:
    setup()
    from django.utils import timezone

    from generations import dispatch
    from generations.models import AIModel, Generation, GenerationState
    from generations.providers import base
    from generations.providers.base import Job, Pending

    fake = subprocess.Popen(
        [sys.executable, "-c", FAKE, str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    assert fake.stdout is not None
    url = fake.stdout.readline().strip()
    lateness: list[float] = []

    class SteadyAdapter(base.ProviderAdapter):
        name = "benchpoll"

        async def poll(self, client, job: Job):  # type: ignore[override]
            lateness.append(time.time() - job.handle["due"])
            await client.get(f"{url}/jobs/{job.generation_id}")
            return Pending({"due": time.time() + POLL_EVERY}, progress=10, poll_after=POLL_EVERY)

    base.get_adapter("local")
    base.ADAPTERS["benchpoll"] = SteadyAdapter()
    model = AIModel.objects.create(
        identifier="bench/poll",
        name="Bench",
        provider="benchpoll",
        types=["image"],
        pricing_unit="per_image",
        credit=1,
        supported_aspect_ratios=["1:1"],
    )
    team, user = team_with_credits()
    database = "PostgreSQL" if "postgres" in os.environ.get("BENCH_DATABASE_URL", "") else "SQLite"
    print(
        f"dispatcher ({database}): upstream in another process, 50 ms latency, "
        f"each job polled every {POLL_EVERY:.0f} s, {SECONDS:.0f} s per size"
    )
    try:
        for jobs in SIZES:
            Generation.objects.all().delete()
            lateness.clear()
            now = timezone.now()
            Generation.objects.bulk_create(
                Generation(
                    team=team,
                    created_by=user,
                    type="image",
                    model=model,
                    model_identifier=model.identifier,
                    provider="benchpoll",
                    params={},
                    state=GenerationState.RUNNING,
                    upstream_handle={"due": now.timestamp()},
                    next_poll_at=now,
                    deadline_at=now + timedelta(hours=1),
                )
                for _ in range(jobs)
            )
            load = os.getloadavg()[0]
            cpu_start, wall_start = time.process_time(), time.monotonic()
            polled = dispatch.run_dispatcher(budget_seconds=SECONDS)
            cpu, wall = time.process_time() - cpu_start, time.monotonic() - wall_start
            first = lateness[:jobs]
            steady = lateness[jobs:] or lateness
            p99 = statistics.quantiles(steady, n=100)[98] if len(steady) > 1 else steady[0]
            goal = GOALS.get(jobs, 2.0)
            verdict = "PASS" if p99 <= goal else "FAIL"
            print(f"  {jobs} in-flight jobs (load average {load:.2f} at start)")
            print(f"    polls made          {polled} in {wall:.1f} s ({polled / wall:.0f}/s)")
            print(f"    CPU per poll        {cpu / max(polled, 1) * 1000:.2f} ms (whole process)")
            print(f"    first round         all {jobs} polled within {max(first):.2f} s")
            print(
                f"    steady lateness     p50 {statistics.median(steady):.3f} s, "
                f"p99 {p99:.3f} s, max {max(steady):.3f} s"
            )
            print(
                f"    goal: p99 within {goal:.0f} s of due: ratio {p99 / goal:.2f} "
                f"of the goal -> {verdict}"
            )
    finally:
        fake.kill()
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
