"""fal.ai through its queue API.

Protocol (https://docs.fal.ai/model-endpoints/queue), base URL https://queue.fal.run:
- `POST {base}/{model_id}` with `Authorization: Key <secret>` and the model's JSON input →
  `{request_id, status_url, response_url, cancel_url}`. Edit models (FLUX Kontext…) take the
  source as `image_url` (or a list, `image_urls`, for multi-image ones) beside the prompt.
- `GET {base}/{app}/requests/{id}/status?logs=1` → `IN_QUEUE` (`queue_position`),
  `IN_PROGRESS` (`logs`), `COMPLETED` (carrying `error`/`error_type` when the run failed).
  `{app}` is the model id without its subpath (`fal-ai/flux/dev` → `fal-ai/flux`).
- `GET {base}/{app}/requests/{id}` → the model's output (`images[].url`, `video.url`,
  `audio.url`, `audio_file.url`, …); an error status with `detail` when the run failed.
- `PUT {base}/{app}/requests/{id}/cancel` → 202 `CANCELLATION_REQUESTED` / 400 `ALREADY_COMPLETED`.

Reconcile: the queue cannot be searched by a client id, but fal's platform API lists an
endpoint's recent requests with their inputs (`GET https://api.fal.ai/v1/models/requests/
by-endpoint?endpoint_id=…&expand=payloads`). The input we send is a pure function of the job
(with a seed derived from the generation id where the model takes one), so an exact input
match finds the request the lost answer was about. No match → the submit never arrived.

Credential check: a status call for a request id that cannot exist — 404 means the key is
good (fal checks the key first), 401/403 means it is not.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlparse

import httpx

from generations.providers import http_errors as he
from generations.providers.base import (
    CredentialCheckFailed,
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

NAME = "fal"

IMAGE_SIZES = {
    "1:1": "square_hd",
    "4:3": "landscape_4_3",
    "16:9": "landscape_16_9",
    "3:4": "portrait_4_3",
    "9:16": "portrait_16_9",
}
# Models that take `aspect_ratio` instead of flux's `image_size`.
ASPECT_RATIO_FAMILIES = ("flux-pro/v1.1-ultra", "imagen", "ideogram", "recraft", "kling-video")
SEEDED_FAMILIES = ("flux", "stable-audio", "mmaudio", "recraft", "ideogram")


# Edit models that take a list of images (`image_urls`); the others take one `image_url`.
MULTI_IMAGE_EDITS = ("/multi", "/edit", "edit/")


def source_urls(job: Job) -> list[str]:
    """An edit's source images as URLs fal can read (public URLs pass, others inline)."""
    sources = job.params.get("source_images") or []
    urls = [he.input_url(job, f"source{i}", url) for i, url in enumerate(sources)]
    return [u for u in urls if u]


def derived_seed(generation_id: str) -> int:
    """A seed fixed by the generation id: re-sending the same job sends the same input."""
    return int(hashlib.sha256(generation_id.encode()).hexdigest()[:8], 16) % (2**31 - 1)


def app_id(model_id: str) -> str:
    """`fal-ai/flux/dev` → `fal-ai/flux`: status and result paths omit the subpath."""
    parts = model_id.strip("/").split("/")
    return "/".join(parts[:2])


def _dimensions(aspect: str, hd: bool) -> dict[str, int]:
    w, h = (int(x) for x in aspect.split(":"))
    long_side = 2048 if hd else 1024
    scale = long_side / max(w, h)
    return {"width": int(w * scale) // 16 * 16, "height": int(h * scale) // 16 * 16}


def build_input(job: Job) -> dict[str, Any]:
    """Studio's canonical params → the fal model's input schema."""
    p, model = job.params, job.upstream_model
    body: dict[str, Any] = {}
    if job.type == "image":
        body["prompt"] = p["prompt"]
        body["num_images"] = int(p.get("count") or 1)
        aspect = p.get("aspect_ratio") or "1:1"
        if any(f in model for f in ASPECT_RATIO_FAMILIES):
            body["aspect_ratio"] = aspect
        else:
            body["image_size"] = (
                IMAGE_SIZES[aspect]
                if aspect in IMAGE_SIZES and not p.get("hd")
                else _dimensions(aspect, bool(p.get("hd")))
            )
            body["enable_safety_checker"] = True
        refs = he.reference_urls(job)
        if refs:
            body["image_url"] = refs[0]
            if len(refs) > 1:
                body["image_urls"] = refs
    elif job.type == "image_edit":
        body["prompt"] = p["prompt"]
        body["num_images"] = int(p.get("count") or 1)
        if p.get("aspect_ratio"):  # else the model keeps the source's own
            body["aspect_ratio"] = p["aspect_ratio"]
        sources = source_urls(job)
        if any(word in model for word in MULTI_IMAGE_EDITS):
            body["image_urls"] = sources
        else:
            body["image_url"] = sources[0]
    elif job.type in ("video", "video_from_image"):
        body["prompt"] = p.get("prompt") or ""
        body["duration"] = str(int(p.get("duration") or 5))
        body["aspect_ratio"] = p.get("aspect_ratio") or "16:9"
        if job.type == "video_from_image":
            body["image_url"] = he.input_url(job, "image_url", p.get("image_url"))
    elif job.type == "music":
        prompt = p["prompt"]
        if p.get("style"):
            prompt = f"{p['style']}: {prompt}"
        if p.get("instrumental"):
            prompt += ", instrumental"
        body["prompt"] = prompt
        body["seconds_total"] = int(p.get("duration") or 30)
        if p.get("lyrics"):
            body["lyrics_prompt"] = p["lyrics"]
    elif job.type == "sound":
        body["prompt"] = p["prompt"]
        body["duration"] = int(p.get("duration") or 8)
    elif job.type == "speech":
        body["prompt"] = p["text"]
        body["voice"] = p.get("voice") or "af_heart"
    else:
        raise ValueError(f"fal does not do {job.type}")
    if any(f in model for f in SEEDED_FAMILIES) and job.type != "speech":
        body["seed"] = p["seed"] if p.get("seed") is not None else derived_seed(job.generation_id)
    return body


_MIME_BY_KEY = {"images": "image/", "image": "image/", "video": "video/", "audio": "audio/"}


def extract_outputs(data: Any) -> list[Output]:
    """Every file URL in a fal result, whatever the model calls its output field."""
    outputs: list[Output] = []
    if not isinstance(data, dict):
        return outputs

    def add(item: Any, key: str) -> None:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            mime = item.get("content_type") if isinstance(item.get("content_type"), str) else None
            outputs.append(Output(url=item["url"], mime_type=mime))
        elif isinstance(item, str) and item.startswith(("http://", "https://")):
            outputs.append(Output(url=item))

    for key in ("images", "videos", "audios"):
        for item in data.get(key) or []:
            add(item, key)
    for key in ("image", "video", "audio", "audio_file", "audio_url", "file", "output"):
        if key in data:
            add(data[key], key)
    return outputs


def _progress(status: dict[str, Any]) -> int:
    if status.get("status") == "IN_QUEUE":
        return 2
    for log in reversed(status.get("logs") or []):
        message = log.get("message", "") if isinstance(log, dict) else str(log)
        found = re.search(r"(\d{1,3})\s*%", message)
        if found:
            return min(95, max(5, int(found.group(1))))
        steps = re.search(r"(\d+)\s*/\s*(\d+)", message)
        if steps and int(steps.group(2)):
            return min(95, max(5, 100 * int(steps.group(1)) // int(steps.group(2))))
    return 30


class FalAdapter(he.HttpAdapter):
    name = NAME
    default_base_url = "https://queue.fal.run"
    idempotent_submit = False
    submit_lease_seconds = 120

    def auth_headers(self, credential: UpstreamCredential) -> dict[str, str]:
        return {"Authorization": f"Key {credential.secret}"}

    # --- urls ----------------------------------------------------------------------------
    def _request_url(self, credential: UpstreamCredential, model: str, request_id: str) -> str:
        return f"{self.base(credential)}/{app_id(model)}/requests/{request_id}"

    def _trusted(self, credential: UpstreamCredential, url: Any) -> bool:
        """Only follow upstream-supplied URLs on the credential's own origin (the key goes
        with them)."""
        if not isinstance(url, str):
            return False
        ours, theirs = urlparse(self.base(credential)), urlparse(url)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)

    def platform_base(self, credential: UpstreamCredential) -> str:
        parsed = urlparse(self.base(credential))
        if parsed.hostname == "queue.fal.run":
            return "https://api.fal.ai/v1"
        return f"{self.base(credential)}/v1"

    def _handle(self, job: Job, credential: UpstreamCredential, data: dict[str, Any]) -> dict:
        request_id = str(data["request_id"])
        fallback = self._request_url(credential, job.upstream_model, request_id)
        urls = {
            "status_url": data.get("status_url"),
            "response_url": data.get("response_url"),
            "cancel_url": data.get("cancel_url"),
        }
        defaults = {
            "status_url": f"{fallback}/status",
            "response_url": fallback,
            "cancel_url": f"{fallback}/cancel",
        }
        return {
            "request_id": request_id,
            "model": job.upstream_model,
            **{k: v if self._trusted(credential, v) else defaults[k] for k, v in urls.items()},
        }

    # --- protocol ------------------------------------------------------------------------
    def submit(self, job: Job, progress: ProgressCallback) -> Outcome:
        credential = job.credential
        if credential is None:
            return he.no_credential(NAME)
        try:
            body = build_input(job)
        except ValueError as exc:
            return Failed(
                Failure(str(exc), FailureCategory.INVALID_INPUT, "UNSUPPORTED_TYPE", provider=NAME)
            )
        url = f"{self.base(credential)}/{job.upstream_model.strip('/')}"
        data = self.submit_call("POST", url, credential, json=body)
        if he.is_outcome(data):
            return data
        if not isinstance(data, dict) or not data.get("request_id"):
            return Failed(he.malformed(NAME, submit=True, detail=": no request_id"))
        return Pending(self._handle(job, credential, data), progress=1, poll_after=1.5)

    async def poll(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        if job.credential is None:
            return he.no_credential(NAME)
        handle = job.handle
        status = await self.poll_call(
            client, "GET", handle["status_url"], job, params={"logs": "1"}
        )
        if he.is_outcome(status):
            return status
        if not isinstance(status, dict):
            return he.poll_wait(job, he.malformed(NAME, submit=False))
        state = str(status.get("status", "")).upper()
        if state in ("IN_QUEUE", "IN_PROGRESS"):
            return Pending(he.clean_handle(handle), progress=_progress(status), poll_after=2.0)
        if state in ("FAILED", "ERROR"):
            return he.upstream_failed(NAME, he.message_from(status) or status.get("error"))
        if state in ("CANCELED", "CANCELLED"):
            return Failed(
                Failure(
                    "fal: the request was cancelled",
                    FailureCategory.CANCELLED,
                    "UPSTREAM_CANCELLED",
                    provider=NAME,
                )
            )
        if state != "COMPLETED":
            return he.poll_wait(job, he.malformed(NAME, submit=False, detail=f": status {state!r}"))
        if status.get("error"):
            return self._failed_run(str(status["error"]), str(status.get("error_type") or ""))
        return await self._result(client, job)

    def _failed_run(self, message: str, error_type: str = "") -> Failed:
        failed = he.upstream_failed(NAME, f"{message} {error_type}".strip())
        return failed

    async def _result(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        assert job.credential is not None
        try:
            response = await self.request_async(
                client,
                "GET",
                job.handle["response_url"],
                operation="result",
                headers=self.auth_headers(job.credential),
                timeout=self.poll_timeout,
            )
        except httpx.HTTPError as exc:
            return he.poll_wait(job, he.exception_failure(exc, NAME, sent_paid_request=False))
        if response.status_code >= 400:
            failure = he.classify_response(response, NAME)
            if failure.retryable or failure.category == FailureCategory.AUTH:
                return he.poll_wait(job, failure) if failure.retryable else Failed(failure)
            # A 4xx result is the run's own error (validation, content policy): it failed.
            return self._failed_run(he.error_message(response), he.error_code(response))
        try:
            data = he.json_body(response)
        except ValueError:
            return he.poll_wait(job, he.malformed(NAME, submit=False))
        nsfw = data.get("has_nsfw_concepts") if isinstance(data, dict) else None
        if isinstance(nsfw, list) and nsfw and all(nsfw):
            return Failed(
                Failure(
                    "fal: the safety checker flagged every output (NSFW)",
                    FailureCategory.CONTENT_POLICY,
                    "CONTENT_POLICY",
                    provider=NAME,
                )
            )
        outputs = extract_outputs(data)
        if isinstance(nsfw, list) and len(nsfw) == len(outputs):
            outputs = [o for o, flagged in zip(outputs, nsfw, strict=True) if not flagged]
        if not outputs:
            return he.upstream_failed(NAME, "the result has no output files")
        meta: dict[str, Any] = {"upstream_request_id": job.handle.get("request_id")}
        if isinstance(data, dict) and data.get("seed") is not None:
            meta["seed"] = data["seed"]
        return Finished(outputs, meta)

    def cancel(self, job: Job) -> None:
        if job.credential is None or not job.handle.get("request_id"):
            return
        url = job.handle.get("cancel_url") or (
            self._request_url(job.credential, job.upstream_model, job.handle["request_id"])
            + "/cancel"
        )
        self.send("PUT", url, job.credential, operation="cancel")

    def reconcile(self, job: Job) -> Outcome | None:
        credential = job.credential
        if credential is None:
            raise RuntimeError("fal reconcile needs the job's credential")
        if job.handle.get("request_id"):
            return Pending(job.handle, poll_after=0.5)
        wanted = build_input(job)
        url = f"{self.platform_base(credential)}/models/requests/by-endpoint"
        cursor: str | None = None
        for _ in range(5):  # newest first; a lost submit is minutes old
            params = {"endpoint_id": job.upstream_model, "expand": "payloads", "limit": "100"}
            if cursor:
                params["cursor"] = cursor
            data = self.lookup_call("GET", url, credential, params=params)
            for item in data.get("items") or []:
                if item.get("json_input") == wanted and item.get("request_id"):
                    handle = self._handle(job, credential, {"request_id": item["request_id"]})
                    return Pending(handle, poll_after=0.5)
            cursor = data.get("next_cursor")
            if not data.get("has_more") or not cursor:
                break
        return None

    def check_credential(self, credential: UpstreamCredential) -> None:
        nobody = "00000000-0000-0000-0000-000000000000"
        url = f"{self.base(credential)}/fal-ai/flux/requests/{nobody}/status"
        try:
            response = self.send("GET", url, credential, operation="check")
        except httpx.HTTPError as exc:
            raise he.check_transport(exc, NAME) from None
        if response.status_code in (404, 400, 422):
            return  # the key was accepted; the request id simply does not exist
        he.check_response(response, NAME)
        if response.status_code >= 300:
            raise CredentialCheckFailed(f"fal answered HTTP {response.status_code}")
