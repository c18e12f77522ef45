"""Status polls next to a bare view on the same server, and the SQL per poll.

    .venv/bin/python bench/status_poll.py [--seconds 3] [--rounds 3] [--clients 4] [--workers 2]

Served the way the README deploys Studio (gunicorn + uvicorn workers, ASGI); the bare view
and the polls share the server, and rounds are interleaved. Polled: a finished two-image
generation in both dialects (Kolbo `GET /generate/{id}/status`, Krev `GET /generations/{id}`),
and a running one. Goals (issue 10): each poll ≥ 0.5 of the bare view's requests per second;
at most 3 SQL queries per poll. Also counts the queries of the dashboard's Studio-page poll
(`…/studio/poll/?g=<uuid>&g=…`) with 1 and 20 running jobs. Polls under 50 clients waiting
on Krev's inline results are measured by bench/inline_wait.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from api_credits import (  # noqa: E402
    GOAL,
    arguments,
    configure,
    describe,
    free_port,
    interleaved,
    migrate,
    print_table,
    start_server,
    stop_server,
    verdict,
    verdict_at_most,
)


def prepare() -> tuple[str, str, str]:
    """An API key, a finished two-image generation and a running one."""
    migrate()
    from generations import engine, services
    from generations.models import Generation
    from studio.accounts import credits
    from studio.accounts import services as accounts
    from studio.accounts.models import Bucket, User
    from studio.vault.services import create_api_key

    user = User.objects.create_user(f"bench-{time.time_ns()}@bench.local", "bench-password-123")
    team = accounts.create_team("Bench", user)
    credits.grant(team, 10_000_000, bucket=Bucket.PACK)
    done = services.start_generation(team, user, "image", {"prompt": "bench", "count": 2})
    engine.submit(done.generation.pk)
    running = services.start_generation(team, user, "image", {"prompt": "still going"})
    Generation.objects.filter(pk=running.generation.pk).update(state="running", progress=40)
    key = create_api_key(team, user, "bench").full_key
    return key, str(done.generation.uuid), str(running.generation.uuid)


def queries(key: str, paths: dict[str, str]) -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from generations import services
    from generations.models import Generation
    from studio.accounts.models import Membership

    api = Client(headers={"X-API-Key": key})
    counts = {}
    for label, path in paths.items():
        assert api.get(path).status_code == 200  # warm: the key cache, as on a server
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status_code == 200
        counts[label] = len(captured)

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
        query = "&".join(f"g={i}" for i in ids)  # the page polls its cards as ?g=<uuid>
        page.get(f"{poll_url}?{query}", headers={"HX-Request": "true"})
        with CaptureQueriesContext(connection) as captured:
            response = page.get(f"{poll_url}?{query}", headers={"HX-Request": "true"})
        assert response.status_code in (200, 286) and response.content, "the poll rendered nothing"
        counts[f"Studio page poll, {running} running jobs"] = len(captured)
    Generation.objects.filter(state="queued").delete()
    return counts


def main() -> int:
    args = arguments(__doc__.split("\n")[0])
    workdir = Path(tempfile.mkdtemp(prefix="studio-bench-poll-"))
    configure(workdir)
    os.environ["STUDIO_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["STUDIO_TASKS_SYNC"] = "1"
    key, done, running = prepare()
    polls = {
        "Kolbo status, finished (2 images)": f"/api/v1/generate/{done}/status",
        "Krev status, finished (2 images)": f"/api/v1/generations/{done}",
        "Kolbo status, running": f"/api/v1/generate/{running}/status",
    }
    counts = queries(key, polls)

    port = free_port()
    server = start_server(port, args.workers)
    headers = {"X-API-Key": key}
    try:
        results = interleaved(
            port,
            [("bare Django view", "/bench/bare/", {})]
            + [(label, path, headers) for label, path in polls.items()],
            seconds=args.seconds,
            rounds=args.rounds,
            clients=args.clients,
        )
    finally:
        stop_server(server)

    print(f"status polls: {describe(args)}")
    print_table(results)
    print("SQL queries per request (warm process):")
    for label, n in counts.items():
        print(f"  {label:44} {n}")
    bare = results["bare Django view"]["rps"]
    ok = True
    for label in polls:
        ok = verdict(f"{label}: req/s ÷ bare view req/s", results[label]["rps"] / bare, GOAL) and ok
        ok = verdict_at_most(f"{label}: SQL queries", counts[label], 3) and ok
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
