"""Studio fronting a Krev account, through the Krev API (seeds/krev-api-reference).

Protocol, base URL https://app.krev.ai (a base ending in /api or /api/v1 is accepted too),
`Authorization: Bearer <secret>`, answers wrapped in `{success, data}`:
- `POST /api/v1/images` `{prompt, aspect_ratio, image_count (1|2|4), hd, reference_images,
  preset_id}` and `POST /api/v1/videos` `{prompt, aspect_ratio, duration (4-15), audio_mode,
  source_image, preset_id}`: the finished `images` / `video_url` inline (200), or a
  `generation_id` to poll (202).
- `GET /api/v1/generations/{id}` → `status` queued | processing | succeeded | failed,
  `progress`, `output.urls`, `error`.
- `GET /api/v1/credits` (credential check). Errors `{success: false, error}`; 402 = credits.
- No cancel endpoint: `cancel` does nothing (the upstream job runs to its end).
- Chat relays to an agent run: `POST /api/v1/chat` `{message, agent: "auto",
  reference_images?}` → `202 data: {run_id, conversation_id, status, poll_url}`; `GET
  /api/v1/chat/runs/{run_id}` → `status` queued | processing | succeeded | failed,
  `latest_assistant_text`, `error`. Studio keeps the conversation: earlier turns (and the
  system prompt) travel in the message as context. Krev reports no token counts: the
  message settles on estimates (the answer's length).

Reconcile: as for Kolbo, every submit carries `Idempotency-Key: <generation id>` and
reconcile repeats it; an upstream honouring the key (Studio does) replays the generation it
already has. A 4xx answer means no such job: None (refund) is safe.
"""

from __future__ import annotations

from typing import Any

import httpx

from generations.providers import http_errors as he
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
    UpstreamCredential,
)
from generations.providers.kolbo import api_root

NAME = "krev"
KREV_COUNTS = (1, 2, 4)


def build_body(job: Job) -> tuple[str, dict[str, Any]]:
    p = job.params
    if job.type == "image":
        count = int(p.get("count") or 1)
        if count not in KREV_COUNTS:
            raise ValueError("Krev makes 1, 2 or 4 images per request")
        body: dict[str, Any] = {
            "prompt": p["prompt"],
            "aspect_ratio": p.get("aspect_ratio") or "1:1",
            "image_count": count,
            "hd": bool(p.get("hd")),
        }
        refs = he.reference_urls(job)
        if refs:
            body["reference_images"] = refs
        path = "images"
    elif job.type == "chat":
        body = {"message": chat_message(job), "agent": "auto"}
        refs = he.reference_urls(job)
        if refs:
            body["reference_images"] = refs
        return "chat", body
    elif job.type in ("video", "video_from_image"):
        body = {
            "prompt": p.get("prompt") or "",
            "aspect_ratio": p.get("aspect_ratio") or "16:9",
            "duration": int(p.get("duration") or 5),
            "audio_mode": p.get("audio_mode") or "auto",
        }
        if job.type == "video_from_image":
            body["source_image"] = he.input_url(job, "image_url", p.get("image_url"))
        path = "videos"
    else:
        raise ValueError(f"Krev does not do {job.type}")
    if p.get("preset_id"):
        body["preset_id"] = p["preset_id"]
    return path, body


def chat_message(job: Job) -> str:
    """The conversation as one agent instruction: earlier turns as context, then the message."""
    messages = job.params.get("messages") or []
    if not messages:
        return str(job.params.get("prompt") or "")
    *earlier, current = messages
    if not earlier:
        return str(current.get("content") or "")
    context = "\n".join(f"{m.get('role')}: {m.get('content')}" for m in earlier)
    return f"Conversation so far:\n{context}\n\nMessage:\n{current.get('content')}"


def _urls(data: dict[str, Any]) -> list[str]:
    urls = [u for u in data.get("images") or [] if isinstance(u, str)]
    if isinstance(data.get("video_url"), str):
        urls.append(data["video_url"])
    output = data.get("output")
    if isinstance(output, dict):
        urls += [u for u in output.get("urls") or [] if isinstance(u, str)]
    return urls


class KrevAdapter(he.HttpAdapter):
    name = NAME
    default_base_url = "https://app.krev.ai"
    idempotent_submit = False
    submit_lease_seconds = 420  # Krev may hold the submit until the work is done

    def __init__(self) -> None:
        super().__init__()
        self.submit_timeout = he.timeout(360.0)

    def auth_headers(self, credential: UpstreamCredential) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential.secret}"}

    def root(self, credential: UpstreamCredential | None) -> str:
        return api_root(self.base(credential))

    def _start(self, job: Job, credential: UpstreamCredential) -> Any:
        path, body = build_body(job)
        return self.submit_call(
            "POST",
            f"{self.root(credential)}/api/v1/{path}",
            credential,
            json=body,
            headers={"Idempotency-Key": job.generation_id},
        )

    def _outcome(self, data: Any) -> Outcome | None:
        payload = data.get("data") if isinstance(data, dict) else None
        if not isinstance(payload, dict):
            return None
        if payload.get("run_id"):  # a chat (agent) run
            return Pending({"run_id": str(payload["run_id"])}, progress=1, poll_after=2.0)
        urls = _urls(payload)
        gid = payload.get("generation_id") or payload.get("id")
        if urls:
            meta = {"upstream_generation_id": gid} if gid else {}
            return Finished([Output(url=u) for u in urls], meta)
        if payload.get("status") == "failed":
            return he.upstream_failed(NAME, payload.get("error"))
        if gid:
            return Pending({"generation_id": str(gid)}, progress=1, poll_after=3.0)
        return None

    def submit(self, job: Job, progress: ProgressCallback) -> Outcome:
        credential = job.credential
        if credential is None:
            return he.no_credential(NAME)
        try:
            data = self._start(job, credential)
        except ValueError as exc:
            return Failed(
                Failure(
                    str(exc), FailureCategory.INVALID_INPUT, "UNSUPPORTED_PARAMS", provider=NAME
                )
            )
        if he.is_outcome(data):
            return data
        outcome = self._outcome(data)
        return outcome or Failed(he.malformed(NAME, submit=True, detail=": no generation_id"))

    async def poll(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        credential = job.credential
        if credential is None:
            return he.no_credential(NAME)
        root = self.root(credential)
        if job.handle.get("run_id"):  # a chat relayed as an agent run
            url = f"{root}/api/v1/chat/runs/{job.handle['run_id']}"
            read = await self._read_status(client, job, url, poll_after=2.0)
            if not isinstance(read, dict):
                return read
            text = read.get("latest_assistant_text")
            content = text if isinstance(text, str) else ""
            return Finished([], {"content": content, "model": "krev", "usage": {}})
        gid = job.handle["generation_id"]
        read = await self._read_status(
            client, job, f"{root}/api/v1/generations/{gid}", poll_after=3.0
        )
        if not isinstance(read, dict):
            return read
        urls = _urls(read)
        if not urls:
            return he.upstream_failed(NAME, "succeeded without output URLs")
        return Finished([Output(url=u) for u in urls], {"upstream_generation_id": gid})

    async def _read_status(
        self, client: httpx.AsyncClient, job: Job, url: str, *, poll_after: float
    ) -> Outcome | dict[str, Any]:
        """GET a Krev generation or run: its `data` once it has succeeded, else the outcome
        (still running, failed upstream, or a malformed answer to ask about again)."""
        data = await self.poll_call(client, "GET", url, job)
        if he.is_outcome(data):
            return data
        payload = data.get("data") if isinstance(data, dict) else None
        if not isinstance(payload, dict):
            return he.poll_wait(job, he.malformed(NAME, submit=False))
        status = payload.get("status")
        if status in ("queued", "processing"):
            progress = payload.get("progress")
            return Pending(
                he.clean_handle(job.handle),
                progress=int(progress) if isinstance(progress, int | float) else None,
                poll_after=poll_after,
            )
        if status == "succeeded":
            return payload
        if status == "failed":
            return he.upstream_failed(NAME, payload.get("error"))
        return he.poll_wait(job, he.malformed(NAME, submit=False, detail=f": status {status!r}"))

    def cancel(self, job: Job) -> None:
        """Krev has no cancel endpoint; the upstream job runs to its end."""

    def reconcile(self, job: Job) -> Outcome | None:
        credential = job.credential
        if credential is None:
            raise RuntimeError("Krev reconcile needs the job's credential")
        if job.handle.get("generation_id") or job.handle.get("run_id"):
            return Pending(job.handle, poll_after=0.5)
        data = self._start(job, credential)  # same Idempotency-Key: a replay, not a new job
        if isinstance(data, Failed):
            if data.failure.retryable or data.failure.category in (
                FailureCategory.UNKNOWN_OUTCOME,
                FailureCategory.AUTH,
            ):
                raise he.UpstreamError(data.failure)
            return None
        outcome = self._outcome(data)
        if outcome is None:
            raise he.UpstreamError(he.malformed(NAME, submit=True))
        return outcome

    def check_credential(self, credential: UpstreamCredential) -> None:
        self.check_get(f"{self.root(credential)}/api/v1/credits", credential)
