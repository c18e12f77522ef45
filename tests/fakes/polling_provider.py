"""A minimal polling upstream and its adapter, to exercise the dispatcher on its own.

Protocol: GET /jobs/<id> answers {"status": "running", "progress": n} until the job has been
polled `polls_to_finish` times, then {"status": "done", "url": ".../files/<id>.png"}.
"""

from __future__ import annotations

import io
from collections import Counter

import httpx
from PIL import Image

from generations.providers.base import (
    Failed,
    Failure,
    Finished,
    Job,
    Outcome,
    Output,
    Pending,
    ProgressCallback,
    ProviderAdapter,
)
from tests.fakes.server import LoopbackServer, Request, Response

NAME = "fakepoll"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


class PollingUpstream:
    def __init__(self, polls_to_finish: int = 2, latency: float = 0.0) -> None:
        self.polls_to_finish = polls_to_finish
        self.polls: Counter[str] = Counter()
        self.png = png_bytes()
        self.server = LoopbackServer(self.handle, latency=latency)

    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if parts[0] == "files":
            return Response(200, self.png, "image/png")
        job_id = parts[1]
        self.polls[job_id] += 1
        if job_id.startswith("fail"):
            return Response.json({"status": "failed", "error": "content policy"})
        if self.polls[job_id] >= self.polls_to_finish:
            return Response.json({"status": "done", "url": f"{self.server.url}/files/{job_id}.png"})
        return Response.json({"status": "running", "progress": 50})


class PollingAdapter(ProviderAdapter):
    name = NAME

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def submit(self, job: Job, progress: ProgressCallback) -> Outcome:
        return Pending({"job_id": job.generation_id}, poll_after=0)

    async def poll(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        response = await client.get(f"{self.base_url}/jobs/{job.handle['job_id']}")
        data = response.json()
        if data["status"] == "done":
            return Finished([Output(url=data["url"], mime_type="image/png")])
        if data["status"] == "failed":
            return Failed(Failure(data["error"], "content_policy", "CONTENT_POLICY", provider=NAME))
        return Pending(job.handle, progress=data.get("progress"), poll_after=0.05)
