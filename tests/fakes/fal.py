"""A fake fal.ai queue API on loopback (see tests/fakes/upstream.py for the fault API).

- `POST /{model_id}` (Authorization: Key <secret>) → {request_id, response_url, status_url,
  cancel_url, queue_position}; URLs use the app id (model id without its subpath).
- `GET /{app}/requests/{id}/status` → IN_QUEUE (first poll), IN_PROGRESS (with logs), then
  COMPLETED after `polls_to_finish` polls; a failed run is COMPLETED with `error`/`error_type`.
- `GET /{app}/requests/{id}` → images[] (image models), video (…video…), audio / audio_file
  (audio models); 400 while still running; 422/500 with `detail` for failed runs.
- `PUT /{app}/requests/{id}/cancel` → 202 CANCELLATION_REQUESTED | 400 ALREADY_COMPLETED.
- `GET /v1/models/requests/by-endpoint?endpoint_id=…` (platform API) → {items: [{request_id,
  endpoint_id, json_input, …}], has_more, next_cursor}.
Edit models (kontext, …/edit) need their sources (`image_url` or `image_urls`) inline as
data:image URIs of real images (422 otherwise); `fake.received_images` holds them decoded.
Errors are `{"detail": …}`; an exhausted balance is fal's 403 "User is locked".
"""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlparse

from tests.fakes.server import Request, Response
from tests.fakes.upstream import FakeJob, FakeUpstream, Fault

VIDEO_WORDS = ("video", "kling", "veo", "hailuo", "seedance", "wan-")
AUDIO_WORDS = ("audio", "music", "kokoro", "tts", "speech", "sound", "lyria")
EDIT_WORDS = ("kontext", "/edit", "image-to-image")


def kind_of(model: str) -> str:
    if any(w in model for w in VIDEO_WORDS):
        return "video"
    if any(w in model for w in AUDIO_WORDS):
        return "audio"
    return "image"


def is_edit_model(model: str) -> bool:
    return any(w in model for w in EDIT_WORDS)


def decode_image(url: object) -> bytes | None:
    """The bytes of a source image sent inline (a data: URI), if it is a real image."""
    if not isinstance(url, str) or not url.startswith("data:image/") or ";base64," not in url:
        return None
    try:
        data = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
    except ValueError:
        return None
    return data if data.startswith((b"\x89PNG", b"\xff\xd8")) or data[8:12] == b"WEBP" else None


class FalFake(FakeUpstream):
    secret = "fal-test-key:0123456789abcdef"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # The source images each edit received (decoded), in order.
        self.received_images: list[list[bytes]] = []

    def credential_of(self, request: Request) -> str:
        value = request.headers.get("authorization", "")
        return value.removeprefix("Key ") if value.startswith("Key ") else value

    def error(self, status: int, message: str, code: str = "") -> Response:
        return Response.json({"detail": message}, status)

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "quota":
            return self.error(
                403, "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai."
            )
        if fault.kind == "content_policy":
            return Response.json(
                {"detail": [{"loc": ["body", "prompt"], "msg": "The prompt was flagged by our "
                             "content checker", "type": "content_policy_violation"}]},
                422,
            )  # fmt: skip
        return Response.json(
            {"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}]},
            422,
        )

    def route(self, request: Request):
        path = urlparse(request.path).path.strip("/")
        parts = path.split("/")
        if request.method == "GET" and path == "v1/models/requests/by-endpoint":
            return "list", self.list_requests
        if "requests" in parts:
            i = parts.index("requests")
            tail = parts[i + 1 :]
            if request.method == "PUT" and len(tail) == 2 and tail[1] == "cancel":
                return "cancel", lambda r: self.cancel(tail[0])
            if request.method == "GET" and len(tail) == 2 and tail[1] == "status":
                return "status", lambda r: self.status(tail[0])
            if request.method == "GET" and len(tail) == 1:
                return "result", lambda r: self.result(tail[0])
            return "unknown", None
        if request.method == "POST" and len(parts) >= 2:
            return "submit", lambda r: self.submit(path, r)
        return "unknown", None

    def _urls(self, job: FakeJob) -> dict[str, str]:
        app = "/".join(job.model.split("/")[:2])
        base = f"{self.url}/{app}/requests/{job.id}"
        return {
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    def submit(self, model: str, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return self.error(422, "Body is not JSON")
        if not isinstance(body, dict) or not (body.get("prompt") or body.get("image_url")):
            return self.fault_response(Fault("invalid", "submit", None, {}))
        if is_edit_model(model):
            sources = body.get("image_urls") or (
                [body["image_url"]] if body.get("image_url") else []
            )
            images = [decode_image(u) for u in sources]
            if not images or not all(images):
                return Response.json(
                    {"detail": [{"loc": ["body", "image_url"], "type": "image_load_error",
                                 "msg": "Could not load the image from image_url"}]},
                    422,
                )  # fmt: skip
            self.received_images.append(images)
        self.submitted.append(body)
        kind = kind_of(model)
        count = int(body.get("num_images") or 1) if kind == "image" else 1
        job = self.new_job(model, kind, body, count=count, credential=self.credential_of(request))
        return Response.json({"request_id": job.id, **self._urls(job), "queue_position": 0})

    def _job(self, request_id: str) -> FakeJob | None:
        return self.jobs.get(request_id)

    def status(self, request_id: str) -> Response:
        job = self._job(request_id)
        if job is None:
            return self.error(404, "Request not found")
        state = self.advance(job)
        urls = self._urls(job)
        if state == "cancelled":
            return Response.json({"status": "COMPLETED", "error": "Request was cancelled",
                                  "error_type": "cancelled", **urls})  # fmt: skip
        if state == "queued" or (state == "running" and job.polls == 1):
            return Response.json({"status": "IN_QUEUE", "queue_position": 0, **urls})
        if state == "running":
            logs = [{"message": f"Generating {job.progress}%", "level": "INFO",
                     "timestamp": "2026-01-01T00:00:00Z"}]  # fmt: skip
            return Response.json({"status": "IN_PROGRESS", "logs": logs, **urls})
        payload = {"status": "COMPLETED", "logs": [], **urls}
        if state == "failed" and not (job.behaviour == "nsfw" and job.kind == "image"):
            payload["error"] = self.failure_message(job)
            payload["error_type"] = (
                "content_policy_violation" if job.behaviour == "nsfw" else "runner_error"
            )
        return Response.json(payload)

    def result(self, request_id: str) -> Response:
        job = self._job(request_id)
        if job is None:
            return self.error(404, "Request not found")
        state = job.state(self.polls_to_finish)
        if state in ("queued", "running"):
            return self.error(400, "Request is still in progress")
        if state == "cancelled":
            return self.error(400, "Request was cancelled")
        if state == "failed":
            if job.behaviour == "nsfw" and job.kind == "image":
                urls = self.result_urls(job)
                return Response.json({"images": [{"url": u, "content_type": "image/png"}
                                                 for u in urls],
                                      "has_nsfw_concepts": [True] * len(urls)})  # fmt: skip
            if job.behaviour == "nsfw":
                return Response.json(
                    {
                        "detail": [
                            {"msg": self.failure_message(job), "type": "content_policy_violation"}
                        ]
                    },
                    422,
                )
            return self.error(500, self.failure_message(job))
        urls = self.result_urls(job)
        if job.kind == "image":
            return Response.json(
                {
                    "images": [
                        {"url": u, "width": 64, "height": 64, "content_type": "image/png"}
                        for u in urls
                    ],
                    "seed": job.body.get("seed", 42),
                    "has_nsfw_concepts": [False] * len(urls),
                    "prompt": job.body.get("prompt"),
                }
            )
        if job.kind == "video":
            return Response.json({"video": {"url": urls[0], "content_type": "video/mp4"}})
        key = "audio_file" if "stable-audio" in job.model else "audio"
        return Response.json({key: {"url": urls[0], "content_type": "audio/wav"}})

    def cancel(self, request_id: str) -> Response:
        job = self._job(request_id)
        if job is None:
            return self.error(404, "Request not found")
        if job.state(self.polls_to_finish) in ("done", "failed"):
            return Response.json({"status": "ALREADY_COMPLETED"}, 400)
        job.cancelled = True
        return Response.json({"status": "CANCELLATION_REQUESTED"}, 202)

    def list_requests(self, request: Request) -> Response:
        query = parse_qs(urlparse(request.path).query)
        endpoint = (query.get("endpoint_id") or [""])[0]
        if not endpoint:
            return self.error(422, "endpoint_id is required")
        items = [
            {
                "request_id": job.id,
                "endpoint_id": job.model,
                "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job.created)),
                "json_input": job.body,
            }
            for job in sorted(self.jobs.values(), key=lambda j: -j.created)
            if job.model == endpoint
        ]
        return Response.json({"items": items[:100], "has_more": False, "next_cursor": None})
