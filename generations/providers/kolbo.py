"""Studio fronting a Kolbo account, through the Kolbo Developer API (seeds/kolbo-developer-api).

Protocol, base URL https://api.kolbo.ai (a base ending in /api or /api/v1 is accepted too),
`X-API-Key: <secret>`:
- `POST /api/v1/generate/{image | video | video/from-image | music | speech | sound}` →
  `{success, generation_id, poll_url, poll_interval_hint}`.
- `GET /api/v1/generate/{id}/status` → `state` processing | completed | failed | cancelled
  (`pending` for creative director), `progress`, `result.urls` once completed, `error` (and,
  from a Studio upstream, `failure.category`) once failed.
- `POST /api/v1/generate/{id}/cancel`; `GET /api/v1/account/credits` (credential check).
- Errors `{success: false, error, code}`: INSUFFICIENT_CREDITS is a 400 (→ quota).
- Chat relays the stateless form: `POST /api/v1/chat` `{messages, model?}` → the answer
  inline `{success, content, model, credits_used}`, or `202 {message_id, poll_url}` polled
  on the status endpoint above, whose `result.content` is the answer. Kolbo reports no token
  counts: the message settles on estimates (the answer's length).

Reconcile: the API cannot look a generation up by a client id. Every submit carries
`Idempotency-Key: <generation id>`; reconcile repeats the submit with the same key, which an
upstream honouring the key (Studio does, for 24 h) answers with the generation it already
has, at no charge. A 4xx answer means it holds no such job, so None (refund) is safe.
Caveat: an upstream that ignores the header would start a second job (the user is still
charged once by Studio; the upstream account pays twice).
"""

from __future__ import annotations

import re
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

NAME = "kolbo"
ENDPOINTS = {
    "image": "image",
    "video": "video",
    "video_from_image": "video/from-image",
    "music": "music",
    "speech": "speech",
    "sound": "sound",
}
SMART_SELECT = ("", "auto")
_UPSTREAM_CATEGORIES = {
    FailureCategory.CONTENT_POLICY,
    FailureCategory.QUOTA,
    FailureCategory.INVALID_INPUT,
    FailureCategory.TIMEOUT,
}


def api_root(url: str) -> str:
    return re.sub(r"/api(/v1)?/?$", "", url.rstrip("/"))


def build_body(job: Job) -> dict[str, Any]:
    p = job.params
    body: dict[str, Any]
    if job.type == "image":
        body = {
            "prompt": p["prompt"],
            "aspect_ratio": p.get("aspect_ratio") or "1:1",
            "num_images": int(p.get("count") or 1),
            "enhance_prompt": bool(p.get("enhance_prompt", True)),
        }
        refs = he.reference_urls(job)
        if refs:
            body["reference_images"] = refs
    elif job.type in ("video", "video_from_image"):
        body = {
            "prompt": p.get("prompt") or "",
            "aspect_ratio": p.get("aspect_ratio") or "16:9",
            "duration": int(p.get("duration") or 5),
            "enhance_prompt": bool(p.get("enhance_prompt", True)),
        }
        if job.type == "video_from_image":
            body["image_url"] = he.input_url(job, "image_url", p.get("image_url"))
    elif job.type == "music":
        body = {
            "prompt": p["prompt"],
            "instrumental": bool(p.get("instrumental")),
            "enhance_prompt": bool(p.get("enhance_prompt", True)),
        }
        for key in ("style", "lyrics", "vocal_gender"):
            if p.get(key):
                body[key] = p[key]
    elif job.type == "speech":
        body = {"text": p["text"], "language": p.get("language") or "en-US"}
        if p.get("voice"):
            body["voice"] = p["voice"]
    elif job.type == "sound":
        body = {"prompt": p["prompt"]}
        if p.get("duration"):
            body["duration"] = int(p["duration"])
    else:
        raise ValueError(f"Kolbo adapter does not do {job.type}")
    if job.upstream_model not in SMART_SELECT:
        body["model"] = job.upstream_model
    return body


class KolboAdapter(he.HttpAdapter):
    name = NAME
    default_base_url = "https://api.kolbo.ai"
    idempotent_submit = False
    submit_lease_seconds = 120

    def auth_headers(self, credential: UpstreamCredential) -> dict[str, str]:
        return {"X-API-Key": credential.secret}

    def root(self, credential: UpstreamCredential | None) -> str:
        return api_root(self.base(credential))

    def _start(self, job: Job, credential: UpstreamCredential) -> Any:
        if job.type == "chat":
            body: dict[str, Any] = {"messages": job.params.get("messages") or []}
            if job.upstream_model not in SMART_SELECT:
                body["model"] = job.upstream_model
            url = f"{self.root(credential)}/api/v1/chat"
            return self.submit_call(
                "POST", url, credential, json=body, headers={"Idempotency-Key": job.generation_id}
            )
        body = build_body(job)
        url = f"{self.root(credential)}/api/v1/generate/{ENDPOINTS[job.type]}"
        return self.submit_call(
            "POST", url, credential, json=body, headers={"Idempotency-Key": job.generation_id}
        )

    def _pending(self, data: dict[str, Any]) -> Pending:
        hint = data.get("poll_interval_hint")
        poll_after = float(hint) if isinstance(hint, int | float) and 0 < hint <= 60 else 3.0
        gid = data.get("generation_id") or data.get("message_id")
        return Pending(
            {"generation_id": str(gid), "poll_interval": poll_after},
            progress=1,
            poll_after=poll_after,
        )

    def _chat_started(self, data: Any) -> Outcome:
        """A chat start's answer: inline (Finished) or a message id to poll."""
        if isinstance(data, dict) and isinstance(data.get("content"), str):
            return Finished(
                [], {"content": data["content"], "model": str(data.get("model") or ""), "usage": {}}
            )
        if isinstance(data, dict) and data.get("message_id"):
            return self._pending(data)
        return Failed(he.malformed(NAME, submit=True, detail=": no content or message_id"))

    def submit(self, job: Job, progress: ProgressCallback) -> Outcome:
        credential = job.credential
        if credential is None:
            return he.no_credential(NAME)
        if job.type == "chat":
            data = self._start(job, credential)
            return data if he.is_outcome(data) else self._chat_started(data)
        if job.type not in ENDPOINTS:
            return Failed(
                Failure(
                    f"Kolbo does not do {job.type}",
                    FailureCategory.INVALID_INPUT,
                    "UNSUPPORTED_TYPE",
                    provider=NAME,
                )
            )
        data = self._start(job, credential)
        if he.is_outcome(data):
            return data
        if not isinstance(data, dict) or not data.get("generation_id"):
            return Failed(he.malformed(NAME, submit=True, detail=": no generation_id"))
        return self._pending(data)

    async def poll(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        credential = job.credential
        if credential is None:
            return he.no_credential(NAME)
        gid = job.handle["generation_id"]
        data = await self.poll_call(
            client, "GET", f"{self.root(credential)}/api/v1/generate/{gid}/status", job
        )
        if he.is_outcome(data):
            return data
        if not isinstance(data, dict):
            return he.poll_wait(job, he.malformed(NAME, submit=False))
        state = data.get("state")
        interval = float(job.handle.get("poll_interval") or 3.0)
        if state in ("processing", "pending", "queued"):
            progress = data.get("progress")
            return Pending(
                he.clean_handle(job.handle),
                progress=int(progress) if isinstance(progress, int | float) else None,
                poll_after=interval,
            )
        if state == "completed" and job.type == "chat":
            result = he.as_dict(data.get("result"))
            return Finished(
                [],
                {
                    "content": str(result.get("content") or ""),
                    "reasoning_content": str(result.get("reasoning_content") or ""),
                    "model": str(result.get("model") or ""),
                    "usage": {},
                },
            )
        if state == "completed":
            result = he.as_dict(data.get("result"))
            urls = [u for u in result.get("urls") or [] if isinstance(u, str)]
            if not urls:
                return he.upstream_failed(NAME, "completed without result URLs")
            meta = {
                k: result[k]
                for k in ("title", "lyrics", "duration", "voice", "prompt_used", "model")
                if result.get(k) not in (None, "")
            }
            return Finished([Output(url=u) for u in urls], meta)
        if state == "failed":
            return self._failed(data)
        if state == "cancelled":
            return Failed(
                Failure(
                    "Kolbo: the generation was cancelled upstream",
                    FailureCategory.CANCELLED,
                    "UPSTREAM_CANCELLED",
                    provider=NAME,
                )
            )
        return he.poll_wait(job, he.malformed(NAME, submit=False, detail=f": state {state!r}"))

    def _failed(self, data: dict[str, Any]) -> Failed:
        failure = he.as_dict(data.get("failure"))
        message = str(data.get("error") or failure.get("message") or "the generation failed")
        outcome = he.upstream_failed(NAME, message)
        category = failure.get("category")
        if category in _UPSTREAM_CATEGORIES:
            f = outcome.failure
            return Failed(
                Failure(f.message, category, str(failure.get("code") or f.code), provider=NAME)
            )
        return outcome

    def cancel(self, job: Job) -> None:
        if job.credential is None or not job.handle.get("generation_id"):
            return
        url = f"{self.root(job.credential)}/api/v1/generate/{job.handle['generation_id']}/cancel"
        self.send("POST", url, job.credential, operation="cancel")

    def reconcile(self, job: Job) -> Outcome | None:
        credential = job.credential
        if credential is None:
            raise RuntimeError("Kolbo reconcile needs the job's credential")
        if job.handle.get("generation_id"):
            return Pending(job.handle, poll_after=0.5)
        data = self._start(job, credential)  # same Idempotency-Key: a replay, not a new job
        if isinstance(data, Failed):
            if data.failure.retryable or data.failure.category in (
                FailureCategory.UNKNOWN_OUTCOME,
                FailureCategory.AUTH,
            ):
                raise he.UpstreamError(data.failure)  # ask again on the next sweep
            return None
        if job.type == "chat":
            outcome = self._chat_started(data)
            if isinstance(outcome, Failed):
                raise he.UpstreamError(outcome.failure)
            return outcome
        if not isinstance(data, dict) or not data.get("generation_id"):
            raise he.UpstreamError(he.malformed(NAME, submit=True))
        return self._pending(data)

    def check_credential(self, credential: UpstreamCredential) -> None:
        self.check_get(f"{self.root(credential)}/api/v1/account/credits", credential)
