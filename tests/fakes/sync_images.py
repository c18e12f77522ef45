"""A synchronous OpenAI-compatible images upstream, for the async runner and the gateway bench.

`POST /v1/images/generations` {model, prompt, n} answers after `latency` seconds with
`{data: [{b64_json}]}`, a small PNG each. With a submit limit it enforces `submits` per
sliding `window` (429 with Retry-After over it, counted). `GET /_stats` tells what it saw:
submits per prompt, 429s, peak concurrency; `POST /_latency` `{"seconds"}` changes the wait.
Run in its own process (`SyncImagesProcess`), so its clock is not slowed by the tested one.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from collections import Counter, deque

import httpx

from tests.fakes.polling_provider import png_bytes
from tests.fakes.server import LoopbackServer, Request, Response


class SyncImages:
    def __init__(self, *, latency: float, submits: int = 0, window: float = 60.0) -> None:
        self.latency = latency
        self.submits, self.window = submits, window
        self.seen: deque[float] = deque()
        self.prompts: Counter[str] = Counter()
        self.rejected = 0
        self.in_flight = self.peak = 0
        self.b64 = base64.b64encode(png_bytes()).decode()
        self.server = LoopbackServer(self.handle)

    def _allow(self) -> bool:
        if not self.submits:
            return True
        now = time.monotonic()
        while self.seen and self.seen[0] <= now - self.window:
            self.seen.popleft()
        if len(self.seen) >= self.submits:
            self.rejected += 1
            return False
        self.seen.append(now)
        return True

    async def handle(self, request: Request) -> Response:
        if request.path == "/_stats":
            return Response.json(
                {"prompts": dict(self.prompts), "rejected": self.rejected, "peak": self.peak,
                 "in_flight": self.in_flight}
            )  # fmt: skip
        if request.path == "/_latency":
            self.latency = float(request.json()["seconds"])
            return Response.json({})
        if request.path.startswith("/v1/models"):
            return Response.json({"data": []})
        if not self._allow():
            return Response.json(
                {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
                429,
                **{"Retry-After": "1"},
            )
        body = request.json()
        self.prompts[body["prompt"]] += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        n = int(body.get("n") or 1)
        return Response.json({"created": int(time.time()), "data": [{"b64_json": self.b64}] * n})


class SyncImagesProcess:
    def __init__(self, *, latency: float, submits: int = 0, window: float = 60.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.sync_images", str(latency), str(submits),
             str(window)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        )  # fmt: skip
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        self.base_url = f"{self.url}/v1"

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/_stats").json()

    def set_latency(self, seconds: float) -> None:
        httpx.post(f"{self.url}/_latency", json={"seconds": seconds})

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


if __name__ == "__main__":
    fake = SyncImages(
        latency=float(sys.argv[1]), submits=int(sys.argv[2]), window=float(sys.argv[3])
    )
    fake.server.start()
    print(fake.server.url, flush=True)
    while True:
        time.sleep(3600)
