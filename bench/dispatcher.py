"""Dispatcher cost with 1,000 in-flight jobs against a loopback upstream with 50 ms latency.

Each job is due for a poll every second. The dispatcher runs for a few seconds; we report
how late polls were relative to their due time, and the dispatcher's CPU time per poll.
Run: .venv/bin/python bench/dispatcher.py [jobs] [seconds]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta

from _django import setup, team_with_credits

JOBS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
POLL_EVERY = 1.0


def main() -> None:
    setup()
    from django.utils import timezone

    from generations import dispatch
    from generations.models import AIModel, Generation, GenerationState
    from generations.providers import base
    from generations.providers.base import Job, Pending
    from tests.fakes.server import LoopbackServer, Response

    lateness: list[float] = []
    server = LoopbackServer(
        lambda request: Response.json({"status": "running", "progress": 10}), latency=0.05
    ).start()

    class SteadyAdapter(base.ProviderAdapter):
        name = "benchpoll"

        async def poll(self, client, job: Job):  # type: ignore[override]
            due = job.handle["due"]
            lateness.append(time.time() - due)
            await client.get(f"{server.url}/jobs/{job.generation_id}")
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
        for _ in range(JOBS)
    )
    cpu_start, wall_start = time.process_time(), time.monotonic()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        polled = profile.runcall(dispatch.run_dispatcher, budget_seconds=SECONDS)
        profile.dump_stats(os.environ["BENCH_PROFILE"])
    else:
        polled = dispatch.run_dispatcher(budget_seconds=SECONDS)
    cpu, wall = time.process_time() - cpu_start, time.monotonic() - wall_start
    server.stop()
    steady = lateness[JOBS:] or lateness  # the first round starts with every job due at once
    print(
        f"dispatcher: {JOBS} in-flight jobs, upstream latency 50 ms, poll every {POLL_EVERY:.0f} s"
    )
    print(f"  polls made            {polled} in {wall:.1f} s ({polled / wall:.0f}/s)")
    print(f"  CPU per poll          {cpu / polled * 1000:.2f} ms (dispatcher process)")
    print(f"  first round           all {JOBS} polled within {max(lateness[:JOBS]):.2f} s of due")
    print(
        f"  steady-state lateness p50 {statistics.median(steady):.3f} s, "
        f"p99 {statistics.quantiles(steady, n=100)[98]:.3f} s, max {max(steady):.3f} s"
    )
    print(f"  polls > 1 s late      {sum(1 for x in steady if x > 1.0)}")


if __name__ == "__main__":
    main()
