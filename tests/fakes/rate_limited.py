"""An upstream that enforces per-key submit and poll limits over a sliding window.

POST /jobs → {"id"}; GET /jobs/<id> → {"status": "running"} until polled `polls_to_finish`
times, then {"status": "done", "url"}; GET /files/<id>.png → a PNG. Over the limit it
answers 429 with Retry-After and counts the violation in `rejected`.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque

import httpx

from generations.providers.base import (
    Failed,
    Failure,
    FailureCategory,
    Finished,
    Job,
    Outcome,
    Output,
    Pending,
    ProgressCallback,
    ProviderAdapter,
)
from studio import http
from tests.fakes.polling_provider import png_bytes
from tests.fakes.server import LoopbackServer, Request, Response


class RateLimitedUpstream:
    def __init__(self, *, submits: int, polls: int, window: float, polls_to_finish: int = 2):
        self.limits = {"submit": submits, "poll": polls}
        self.window = window
        self.polls_to_finish = polls_to_finish
        self.seen: dict[str, deque[float]] = defaultdict(deque)
        self.rejected: Counter[str] = Counter()
        self.rejected_at: list[tuple[str, float, list[float]]] = []
        self.accepted: list[tuple[float, str]] = []  # (time, team) of accepted submits
        self.polls: Counter[str] = Counter()
        self.png = png_bytes()
        self.next_id = 0
        self.server = LoopbackServer(self.handle)

    def _allow(self, kind: str) -> bool:
        now = time.monotonic()
        calls = self.seen[kind]
        while calls and calls[0] <= now - self.window:
            calls.popleft()
        if len(calls) >= self.limits[kind]:
            self.rejected[kind] += 1
            self.rejected_at.append((kind, now, [round(now - c, 3) for c in calls]))
            return False
        calls.append(now)
        return True

    def handle(self, request: Request) -> Response:
        if request.path == "/_stats":  # for the test: what the upstream saw
            return Response.json(
                {
                    "rejected": dict(self.rejected),
                    "rejected_at": self.rejected_at,
                    "accepted": self.accepted,
                }
            )
        if request.path.startswith("/files/"):  # result files are public, like a CDN's
            return Response(200, self.png, "image/png")
        if request.headers.get("authorization") != "Bearer sk-rate-test":
            return Response.json({"error": "bad key"}, 401)
        kind = "submit" if request.method == "POST" else "poll"
        if not self._allow(kind):
            return Response.json({"error": "slow down"}, 429, **{"Retry-After": "1"})
        if kind == "submit":
            self.next_id += 1
            job_id = f"j{self.next_id}"
            self.accepted.append((time.monotonic(), request.json()["team"]))
            return Response.json({"id": job_id})
        job_id = request.path.rstrip("/").split("/")[-1]
        self.polls[job_id] += 1
        if self.polls[job_id] >= self.polls_to_finish:
            return Response.json({"status": "done", "url": f"{self.server.url}/files/{job_id}.png"})
        return Response.json({"status": "running"})


class RateLimitedAdapter(ProviderAdapter):
    name = "kolbo"  # registered under a real provider name so the vault accepts its credential

    def submit(self, job: Job, progress: ProgressCallback) -> Outcome:
        assert job.credential is not None
        with http.client() as client:
            response = client.post(
                f"{job.credential.base_url}/jobs",
                json={"team": job.team_id},
                headers={"Authorization": f"Bearer {job.credential.secret}"},
            )
        if response.status_code == 429:
            return Failed(
                Failure("rate limited", FailureCategory.RETRYABLE, "RATE", True, self.name, 1.0)
            )
        return Pending({"id": response.json()["id"]}, poll_after=0.05)

    async def poll(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        assert job.credential is not None
        response = await client.get(
            f"{job.credential.base_url}/jobs/{job.handle['id']}",
            headers={"Authorization": f"Bearer {job.credential.secret}"},
        )
        if response.status_code == 429:
            return Pending(job.handle, poll_after=1.0)
        data = response.json()
        if data["status"] == "done":
            return Finished([Output(url=data["url"], mime_type="image/png")])
        return Pending(job.handle, poll_after=0.05)


class UpstreamProcess:
    """The fake in its own process, so its clock and queue are not slowed by ours (GIL)."""

    def __init__(self, *, submits: int, polls: int, window: float) -> None:
        import os
        import subprocess
        import sys

        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.rate_limited",
                str(submits),
                str(polls),
                str(window),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/_stats").json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


if __name__ == "__main__":
    import sys

    submits, polls, window = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    fake = RateLimitedUpstream(submits=submits, polls=polls, window=window)
    fake.server.start()
    print(fake.server.url, flush=True)
    while True:
        time.sleep(3600)
