"""A fake Krev API on loopback (fault API: tests/fakes/upstream.py).

`Authorization: Bearer <secret>`. Follows seeds/krev-api-reference.txt:
- `POST /api/v1/images` {prompt, aspect_ratio, image_count (1|2|4), hd, reference_images} and
  `POST /api/v1/videos` {prompt, aspect_ratio, duration (4-15), audio_mode, source_image}:
  with `fake.inline = True` (default) a normal job answers 200 with `images` / `video_url`;
  otherwise (or for jobs under a job-level fault) 202 {generation_id, status: "queued"}.
  Honours `Idempotency-Key`.
- `GET /api/v1/generations/{id}` → {id, kind, status queued|processing|succeeded|failed,
  progress, output: {urls}, error, created_at, completed_at}.
- `GET /api/v1/credits`.
- `POST /api/v1/chat` {message*, conversation_id, product_ids, reference_images, agent} →
  202 {conversation_id, user_message_id, assistant_message_id, run_id, job_id, status:
  "queued", poll_url}; `GET /api/v1/chat/runs/{run_id}` → {run_id, status, progress,
  latest_assistant_text ("Krev says: <message>"), error, …}.
Everything is wrapped in `{success, data}`; errors are `{success: false, error}`; 402 = credits.
"""

from __future__ import annotations

import time

from tests.fakes.server import Request, Response
from tests.fakes.upstream import FakeJob, FakeUpstream, Fault

_STATUS = {"queued": "queued", "running": "processing", "done": "succeeded",
           "failed": "failed", "cancelled": "failed"}  # fmt: skip


class KrevFake(FakeUpstream):
    secret = "sk_live_" + "cd" * 20
    inline = True

    def credential_of(self, request: Request) -> str:
        return request.headers.get("authorization", "").removeprefix("Bearer ")

    def error(self, status: int, message: str, code: str = "") -> Response:
        if status == 401:
            message = "Invalid or expired API key"
        return Response.json({"success": False, "error": message}, status)

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "quota":
            return self.error(402, "Insufficient credits for the requested generation")
        if fault.kind == "content_policy":
            return self.error(400, "This prompt was flagged by our content moderation")
        return self.error(400, "prompt is required")

    def route(self, request: Request):
        path = request.path.split("?")[0].strip("/")
        if request.method == "GET" and path == "api/v1/credits":
            return "account", lambda r: Response.json(
                {"success": True, "data": {"plan": "pro", "plan_name": "Pro",
                                           "credits": {"current": 1840, "limit": 2500}}}
            )  # fmt: skip
        if request.method == "POST" and path in ("api/v1/images", "api/v1/videos"):
            return "submit", lambda r: self.create(r, path.rsplit("/", 1)[1])
        if request.method == "POST" and path == "api/v1/chat":
            return "submit", self.chat
        if request.method == "GET" and path.startswith("api/v1/chat/runs/"):
            return "status", lambda r: self.run(path.rsplit("/", 1)[1])
        if request.method == "GET" and path.startswith("api/v1/generations/"):
            return "status", lambda r: self.get(path.rsplit("/", 1)[1])
        return "unknown", None

    def _started(self, job: FakeJob, finished: bool) -> Response:
        if finished:
            urls = self.result_urls(job)
            data = {"generation_id": job.id, "credits_used": 40 * job.count}
            if job.kind == "image":
                data.update(images=urls, image_count=job.count)
            else:
                data.update(video_url=urls[0], duration=job.body.get("duration", 5))
            return Response.json({"success": True, "data": data})
        empty = {"images": []} if job.kind == "image" else {"video_url": None}
        return Response.json(
            {"success": True, "data": {"generation_id": job.id, "status": "queued", **empty}}, 202
        )

    def create(self, request: Request, kind: str) -> Response:
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "Malformed JSON")
        if not isinstance(body, dict) or not body.get("prompt"):
            return self.error(400, "prompt is required")
        if kind == "images" and body.get("image_count", 1) not in (1, 2, 4):
            return self.error(400, "image_count must be one of 1, 2, 4")
        replay = self.existing(request)
        if replay is not None:
            return self._started(replay, replay.state(self.polls_to_finish) == "done")
        self.submitted.append(body)
        job = self.new_job(
            "krev",
            "image" if kind == "images" else "video",
            body,
            count=int(body.get("image_count") or 1) if kind == "images" else 1,
            client_key=request.headers.get("idempotency-key", ""),
        )
        if self.inline and job.behaviour == "ok":
            job.polls = self.polls_to_finish
            return self._started(job, True)
        return self._started(job, False)

    def _run_started(self, job: FakeJob) -> Response:
        data = {"conversation_id": job.body.get("conversation_id") or f"conv-{job.id}",
                "user_message_id": f"u-{job.id}", "assistant_message_id": f"a-{job.id}",
                "run_id": job.id, "job_id": job.id, "status": "queued",
                "poll_url": f"{self.url}/api/v1/chat/runs/{job.id}"}  # fmt: skip
        return Response.json({"success": True, "data": data}, 202)

    def chat(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "Malformed JSON")
        if not isinstance(body, dict) or not body.get("message"):
            return self.error(400, "message is required")
        replay = self.existing(request)
        if replay is not None:
            return self._run_started(replay)
        self.submitted.append(body)
        key = request.headers.get("idempotency-key", "")
        return self._run_started(self.new_job("krev", "chat", body, client_key=key))

    def run(self, run_id: str) -> Response:
        job = self.jobs.get(run_id)
        if job is None:
            return self.error(404, "Run not found")
        state = self.advance(job)
        done = state == "done"
        data = {
            "run_id": job.id,
            "conversation_id": f"conv-{job.id}",
            "job_id": job.id,
            "agent": job.body.get("agent", "auto"),
            "status": _STATUS[state],
            "progress": 100 if done else job.progress,
            "latest_assistant_text": f"Krev says: {job.body['message']}" if done else "",
            "error": self.failure_message(job) if state == "failed" else None,
        }
        return Response.json({"success": True, "data": data})

    def get(self, gid: str) -> Response:
        job = self.jobs.get(gid)
        if job is None:
            return self.error(404, "Generation not found")
        state = self.advance(job)
        data = {
            "id": job.id,
            "kind": job.kind,
            "status": _STATUS[state],
            "progress": 100 if state == "done" else job.progress,
            "output": {"urls": self.result_urls(job) if state == "done" else []},
            "error": self.failure_message(job) if state == "failed" else None,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job.created)),
            "completed_at": None,
        }
        return Response.json({"success": True, "data": data})
