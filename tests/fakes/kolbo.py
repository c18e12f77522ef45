"""A fake Kolbo Developer API on loopback (fault API: tests/fakes/upstream.py).

`X-API-Key: <secret>`. Follows seeds/kolbo-developer-api.txt and kolbo-errors-and-rate-limits:
- `POST /api/v1/generate/{image|video|video/from-image|music|speech|sound}` → {success,
  generation_id, type, model, credits_charged, poll_url, poll_interval_hint}. Honours
  `Idempotency-Key` (a repeat returns the same generation, like Studio).
- `GET /api/v1/generate/{id}/status` → state processing → completed {result: {urls, model,
  prompt_used, …}} | failed {error} | cancelled.
- `POST /api/v1/generate/{id}/cancel`; `GET /api/v1/account/credits`.
- `POST /api/v1/chat` stateless `{messages, model?}` (or the session form `{message}`) →
  `{success, content, model, credits_used}` inline, or with `fake.chat_inline = False`
  `202 {success, message_id, poll_url, poll_interval_hint: 2}`, the status then carrying
  `result: {content, reasoning_content, model, …}`. The answer is "Kolbo says: <last>".
Errors are `{success: false, error, code}`; INSUFFICIENT_CREDITS is a 400; a rate-limited
answer is `{status: false, message}` with Retry-After.
"""

from __future__ import annotations

from tests.fakes.server import Request, Response
from tests.fakes.upstream import FakeJob, FakeUpstream, Fault

TYPES = {
    "image": "image",
    "video": "video",
    "video/from-image": "video",
    "music": "audio",
    "speech": "audio",
    "sound": "audio",
}
REQUIRED = {"speech": "text", "video/from-image": "image_url"}
HINTS = {"image": 3, "video": 8, "video/from-image": 8, "music": 8, "speech": 3, "sound": 5}


class KolboFake(FakeUpstream):
    secret = "kolbo_live_" + "ab" * 20
    poll_hint: float | None = None  # override poll_interval_hint (tests use a short one)
    chat_inline = True

    def credential_of(self, request: Request) -> str:
        return request.headers.get("x-api-key", "")

    def error(self, status: int, message: str, code: str = "") -> Response:
        if status == 429:
            return Response.json(
                {"success": False, "status": False, "code": "RATE_LIMITED",
                 "error": message, "message": message},
                429,
            )  # fmt: skip
        if status == 401:
            code = "INVALID_API_KEY"
        return Response.json({"success": False, "error": message, "code": code or "ERROR"}, status)

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "quota":
            return self.error(400, "Not enough credits for this generation", "INSUFFICIENT_CREDITS")
        if fault.kind == "content_policy":
            return self.error(400, "Prompt violates the content policy", "CONTENT_POLICY")
        return self.error(400, "Missing required field: prompt", "MISSING_FIELDS")

    def route(self, request: Request):
        path = request.path.split("?")[0].strip("/")
        if request.method == "GET" and path == "api/v1/account/credits":
            return "account", lambda r: Response.json(
                {"success": True, "credits": {"total": 1000, "plan_credits": 1000,
                                              "credit_pack": 0, "redemption": 0}}
            )  # fmt: skip
        if request.method == "POST" and path == "api/v1/chat":
            return "submit", self.chat
        prefix = "api/v1/generate/"
        if not path.startswith(prefix):
            return "unknown", None
        rest = path.removeprefix(prefix)
        if request.method == "POST" and rest in TYPES:
            return "submit", lambda r: self.create(r, rest)
        parts = rest.split("/")
        if request.method == "GET" and len(parts) == 2 and parts[1] == "status":
            return "status", lambda r: self.status(parts[0])
        if request.method == "POST" and len(parts) == 2 and parts[1] == "cancel":
            return "cancel", lambda r: self.cancel(parts[0])
        return "unknown", None

    def _started(self, job: FakeJob, endpoint: str) -> Response:
        return Response.json(
            {
                "success": True,
                "generation_id": job.id,
                "type": endpoint.replace("video/from-image", "video_from_image"),
                "model": job.model,
                "credits_charged": 10,
                "poll_url": f"/api/v1/generate/{job.id}/status",
                "poll_interval_hint": self.poll_hint or HINTS[endpoint],
            }
        )

    def create(self, request: Request, endpoint: str) -> Response:
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "Malformed JSON", "INVALID_FIELDS")
        if not isinstance(body, dict):
            return self.error(400, "Body must be an object", "INVALID_FIELDS")
        required = REQUIRED.get(endpoint, "prompt")
        if not body.get(required):
            return self.error(400, f"Missing required field: {required}", "MISSING_FIELDS")
        replay = self.existing(request)
        if replay is not None:
            return self._started(replay, endpoint)
        self.submitted.append(body)
        count = int(body.get("num_images") or 1) if endpoint == "image" else 1
        job = self.new_job(
            body.get("model") or "auto",
            TYPES[endpoint],
            body,
            count=count,
            client_key=request.headers.get("idempotency-key", ""),
        )
        return self._started(job, endpoint)

    @staticmethod
    def _answer(body: dict) -> str:
        messages = body.get("messages") or [{"content": body.get("message", "")}]
        return f"Kolbo says: {messages[-1].get('content', '')}"

    def chat(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "Malformed JSON", "INVALID_FIELDS")
        if not isinstance(body, dict) or not (body.get("messages") or body.get("message")):
            return self.error(400, "Missing required field: message", "MISSING_FIELDS")
        job = self.existing(request)
        if job is None:
            self.submitted.append(body)
            key = request.headers.get("idempotency-key", "")
            job = self.new_job(body.get("model") or "auto", "chat", body, client_key=key)
        if self.chat_inline and job.behaviour == "ok":
            return Response.json(
                {"success": True, "content": self._answer(job.body), "model": job.model,
                 "credits_used": 1}
            )  # fmt: skip
        return Response.json(
            {"success": True, "message_id": job.id, "poll_url": f"/api/v1/generate/{job.id}/status",
             "poll_interval_hint": self.poll_hint or 2},
            202,
        )  # fmt: skip

    def status(self, gid: str) -> Response:
        job = self.jobs.get(gid)
        if job is None:
            return self.error(404, "Generation not found", "NOT_FOUND")
        state = self.advance(job)
        if job.kind == "chat" and state == "done":
            result = {
                "content": self._answer(job.body),
                "reasoning_content": "",
                "model": job.model,
                "image_urls": [],
                "video_urls": [],
                "audio_urls": [],
            }
            return Response.json(
                {"success": True, "generation_id": job.id, "type": "chat", "state": "completed",
                 "progress": 100, "result": result, "credits_used": 1}
            )  # fmt: skip
        out = {"success": True, "generation_id": job.id, "type": job.kind}
        if state in ("queued", "running"):
            return Response.json({**out, "state": "processing", "progress": job.progress})
        if state == "cancelled":
            return Response.json({**out, "state": "cancelled", "progress": job.progress})
        if state == "failed":
            return Response.json(
                {**out, "state": "failed", "progress": job.progress,
                 "error": self.failure_message(job)}
            )  # fmt: skip
        result = {"urls": self.result_urls(job), "model": job.model,
                  "prompt_used": job.body.get("prompt") or job.body.get("text")}  # fmt: skip
        return Response.json(
            {**out, "state": "completed", "progress": 100, "result": result, "credits_used": 10}
        )

    def cancel(self, gid: str) -> Response:
        job = self.jobs.get(gid)
        if job is None:
            return self.error(404, "Generation not found", "NOT_FOUND")
        if job.state(self.polls_to_finish) in ("done", "failed", "cancelled"):
            return self.error(409, "Generation already finished", "CONFLICT")
        job.cancelled = True
        return Response.json({"success": True, "credits_refunded": 10})
