"""Crash run: N paid jobs through a real task cluster that is SIGKILLed M times at random.

The upstream is the fal fake (tests/fakes/fal.py) on loopback, so every submit it receives is
counted. At the end every job must be finished (succeeded or failed and refunded) and:

    lost              jobs still active after the run settled
    double charged    jobs with more than one debit in the ledger
    double refunded   jobs with more than one refund
    duplicate submits jobs the upstream received more than once
    ledger drift      teams whose balance disagrees with their ledger (credits.reconcile)

Run: .venv/bin/python bench/crash_run.py [jobs=40] [kills=12]
     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/crashrun … for PostgreSQL (the
     database is created if needed and emptied first).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from _django import ROOT, setup, team_with_credits

JOBS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
KILLS = int(sys.argv[2]) if len(sys.argv) > 2 else 12
SETTLE_SECONDS = 240


def start_cluster(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def fresh_postgres_database() -> None:
    """A clean BENCH_DATABASE_URL database on PostgreSQL (dropped and created again)."""
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    fresh_postgres_database()
    os.environ["STUDIO_ALLOW_PRIVATE_UPSTREAMS"] = "1"  # the fake listens on loopback
    os.environ["STUDIO_RATE_GENERATION"] = "100000000"
    workdir = setup()
    from django.conf import settings
    from django.utils import timezone
    from django_q.conf import Conf

    Conf.SYNC = False  # the cluster runs the tasks, not this process
    from generations import services
    from generations.dispatch import sweep
    from generations.models import ACTIVE_STATES, Generation
    from studio.accounts import credits
    from studio.accounts.models import LedgerEntry, LedgerKind
    from studio.vault.credentials import create_credential
    from tests.fakes.fal import FalFake

    sys.path.insert(0, str(ROOT))
    fake = FalFake().start()
    fake.poll_hint = 0.2
    create_credential(
        None, "fal", "crash run", fake.url, fake.secret,
        submits_per_minute=100_000, polls_per_minute=1_000_000, max_concurrent_jobs=1000,
    )  # fmt: skip
    team, user = team_with_credits("Crash")
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "STUDIO_TASKS_SYNC": "0",
        "STUDIO_CLUSTER_POLL": "0.1",
        "STUDIO_CLUSTER_WORKERS": "3",
        "STUDIO_LOG_LEVEL": "WARNING",
    }
    log = workdir / "cluster.log"
    cluster = start_cluster(env, log)
    rng = random.Random(int(os.environ.get("BENCH_SEED", "18")))
    started = time.monotonic()
    kills = 0
    generations = []
    print(f"{JOBS} jobs, {KILLS} SIGKILLs, database {db['ENGINE'].rsplit('.', 1)[-1]}")
    while len(generations) < JOBS or kills < KILLS:
        for _ in range(min(rng.randint(1, 4), JOBS - len(generations))):
            prompt = f"crash-run job {len(generations)}"
            generations.append(
                services.start_generation(
                    team, user, "image", {"prompt": prompt, "model": "fal-ai/flux/schnell"}
                ).generation
            )
        time.sleep(rng.uniform(0.3, 2.0))
        if kills < KILLS:
            kill(cluster)
            kills += 1
            cluster = start_cluster(env, log)
    # Let it settle: time passes for the dead workers' leases (moved to now), the sweeper runs.
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        active = Generation.objects.filter(state__in=ACTIVE_STATES)
        if not active.exists():
            break
        active.filter(lease_until__gt=timezone.now()).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        sweep()
        time.sleep(2)
    kill(cluster)
    fake.stop()

    states = Counter(Generation.objects.values_list("state", flat=True))
    causes = [g.ledger_cause for g in generations]
    debits = Counter(
        LedgerEntry.objects.filter(kind=LedgerKind.DEBIT, cause__in=causes).values_list(
            "cause", flat=True
        )
    )
    refunds = Counter(
        LedgerEntry.objects.filter(kind=LedgerKind.REFUND, cause__in=causes).values_list(
            "cause", flat=True
        )
    )
    prompts = Counter(
        (job.body or {}).get("prompt") for job in fake.jobs.values() if isinstance(job.body, dict)
    )
    failed_unrefunded = Generation.objects.filter(state="failed", credits_refunded=0).count()
    codes = Counter(
        (failure or {}).get("code")
        for failure in Generation.objects.filter(state="failed").values_list("failure", flat=True)
    )
    print(f"  ran {time.monotonic() - started:.0f} s; states: {dict(states)}")
    if codes:
        print(f"  failures (refunded): {dict(codes)}")
    print(f"  lost (still active):      {sum(states[s] for s in ACTIVE_STATES)}")
    print(f"  double charged:           {sum(1 for n in debits.values() if n > 1)}")
    print(f"  not charged:              {sum(1 for c in causes if not debits[c])}")
    print(f"  double refunded:          {sum(1 for n in refunds.values() if n > 1)}")
    print(f"  failed but not refunded:  {failed_unrefunded}")
    print(f"  upstream jobs received:   {sum(prompts.values())}")
    print(f"  duplicate upstream submits: {sum(1 for n in prompts.values() if n > 1)}")
    print(f"  ledger drift (teams):     {len(credits.reconcile())}")


if __name__ == "__main__":
    main()
