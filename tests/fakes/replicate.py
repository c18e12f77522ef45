"""A fake Replicate predictions API on loopback (fault API: tests/fakes/upstream.py).

Base URL `fake.url + "/v1"` (use `fake.base_url`). `Authorization: Bearer <secret>`.
- `POST /v1/models/{owner}/{name}/predictions` {input} or `POST /v1/predictions` {version,
  input} → 201 prediction {id, model, version, input, status: starting, output: null, error,
  logs, created_at, urls: {get, cancel}}. With `Prefer: wait`, a normal job answers
  `succeeded` at once (set `fake.honour_wait = False` to ignore the header).
- `GET /v1/predictions/{id}` → starting → processing (logs with NN%) → succeeded (output: a
  list of URLs for image models, one URL otherwise) | failed (error) | canceled.
- `POST /v1/predictions/{id}/cancel`; `GET /v1/predictions` → {next, previous, results};
  `GET /v1/account` → {type, username, name}.
Errors are problem details `{title, detail, status}`; quota is a 402.
"""

from __future__ import annotations

import time

from tests.fakes.fal import kind_of
from tests.fakes.server import Request, Response
from tests.fakes.upstream import FakeJob, FakeUpstream, Fault

_STATUS = {"queued": "starting", "running": "processing", "done": "succeeded",
           "failed": "failed", "cancelled": "canceled"}  # fmt: skip


class ReplicateFake(FakeUpstream):
    secret = "r8_test0123456789abcdefghijklmnopqrstu"
    honour_wait = True

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def credential_of(self, request: Request) -> str:
        return request.headers.get("authorization", "").removeprefix("Bearer ")

    def error(self, status: int, message: str, code: str = "") -> Response:
        titles = {401: "Unauthenticated", 402: "Insufficient credit", 404: "Not found",
                  422: "Input validation failed", 429: "Request was throttled."}  # fmt: skip
        if status == 401:
            message = "You did not pass a valid authentication token"
        return Response.json(
            {"title": titles.get(status, "Error"), "detail": message, "status": status}, status
        )

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "quota":
            return self.error(402, "You have insufficient credit to run this model.")
        if fault.kind == "content_policy":
            return self.error(422, "The input was flagged as sensitive content (E005)")
        return self.error(422, "- input.prompt: Invalid type. Expected: string")

    def route(self, request: Request):
        path = request.path.split("?")[0].strip("/")
        parts = path.split("/")
        if parts[:1] != ["v1"]:
            return "unknown", None
        rest = parts[1:]
        if request.method == "GET" and rest == ["account"]:
            return "account", lambda r: Response.json(
                {"type": "user", "username": "studio-test", "name": "Studio Test"}
            )
        if request.method == "POST" and rest == ["predictions"]:
            return "submit", lambda r: self.create(r, None)
        if (
            request.method == "POST"
            and len(rest) == 4
            and rest[0] == "models"
            and rest[3] == "predictions"
        ):
            return "submit", lambda r: self.create(r, f"{rest[1]}/{rest[2]}")
        if request.method == "GET" and rest == ["predictions"]:
            return "list", self.list
        if len(rest) == 2 and rest[0] == "predictions" and request.method == "GET":
            return "status", lambda r: self.get(rest[1])
        if len(rest) == 3 and rest[0] == "predictions" and rest[2] == "cancel":
            return "cancel", lambda r: self.cancel(rest[1])
        return "unknown", None

    def prediction(self, job: FakeJob, state: str | None = None) -> dict:
        state = state or job.state(self.polls_to_finish)
        base = f"{self.url}/v1/predictions/{job.id}"
        out = {
            "id": job.id,
            "model": job.model,
            "version": job.body.get("version", "hash"),
            "input": job.body["input"],
            "status": _STATUS[state],
            "output": None,
            "error": None,
            "logs": "",
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job.created)),
            "urls": {"get": base, "cancel": f"{base}/cancel"},
        }
        if state == "running":
            out["logs"] = f"Generating...\n {job.progress}%|#####     | 5/10"
        elif state == "done":
            urls = self.result_urls(job)
            out["output"] = urls if job.kind == "image" else urls[0]
        elif state == "failed":
            out["error"] = self.failure_message(job)
        return out

    def create(self, request: Request, model: str | None) -> Response:
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "Invalid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            return self.error(422, "- input is required")
        if model is None:
            if not body.get("version"):
                return self.error(422, "- version is required")
            model = "owner/pinned"
        self.submitted.append(body)
        kind = kind_of(model) if model != "owner/pinned" else self.guess(body["input"])
        count = int(body["input"].get("num_outputs") or 1) if kind == "image" else 1
        job = self.new_job(model, kind, body, count=count)
        wait = request.headers.get("prefer", "").startswith("wait")
        if wait and self.honour_wait and job.behaviour == "ok":
            job.polls = self.polls_to_finish
            return Response.json(self.prediction(job), 201)
        return Response.json(self.prediction(job, "queued"), 201)

    @staticmethod
    def guess(values: dict) -> str:
        """A pinned version names no model: judge the output kind by the input's fields."""
        if "text" in values or ("duration" in values and "aspect_ratio" not in values):
            return "audio"
        return "video" if "duration" in values else "image"

    def get(self, pid: str) -> Response:
        job = self.jobs.get(pid)
        if job is None:
            return self.error(404, "The requested resource could not be found.")
        self.advance(job)
        return Response.json(self.prediction(job))

    def cancel(self, pid: str) -> Response:
        job = self.jobs.get(pid)
        if job is None:
            return self.error(404, "The requested resource could not be found.")
        if job.state(self.polls_to_finish) in ("queued", "running"):
            job.cancelled = True
        return Response.json(self.prediction(job))

    def list(self, request: Request) -> Response:
        jobs = sorted(self.jobs.values(), key=lambda j: -j.created)
        results = [self.prediction(j) for j in jobs[:100]]
        return Response.json({"next": None, "previous": None, "results": results})
