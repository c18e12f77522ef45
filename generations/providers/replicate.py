"""Replicate predictions.

Protocol (https://replicate.com/docs/reference/http), base URL https://api.replicate.com/v1,
`Authorization: Bearer <secret>`:
- Official models: `POST {base}/models/{owner}/{name}/predictions` `{input}`; pinned versions
  (`owner/name:<version>`): `POST {base}/predictions` `{version, input}`. `Prefer: wait=N`
  lets quick models answer finished in the same call.
- `GET {base}/predictions/{id}` → `status` starting | processing | succeeded | failed |
  canceled, `output` (a URL, a list of URLs, or an object holding them), `error`, `logs`
  (progress bars: the last "NN%" is the progress).
- `POST {base}/predictions/{id}/cancel`.
- `GET {base}/predictions?created_after=…` lists recent predictions (newest first) with their
  `input`: reconcile finds a lost submit by an exact input match (the input is a pure function
  of the job, with a seed derived from the generation id where the model takes one).
- `GET {base}/account` is the credential check.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

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
    Reporter,
    UpstreamCredential,
)
from generations.providers.fal import derived_seed

NAME = "replicate"
SEEDED = ("flux", "sdxl", "stable-diffusion", "ideogram", "recraft", "musicgen", "seedream")


def build_input(job: Job) -> dict[str, Any]:
    p, model = job.params, job.upstream_model.split(":")[0]
    body: dict[str, Any] = {}
    if job.type == "image":
        body = {
            "prompt": p["prompt"],
            "aspect_ratio": p.get("aspect_ratio") or "1:1",
            "num_outputs": int(p.get("count") or 1),
            "output_format": "png",
        }
        if "flux" in model:
            body["disable_safety_checker"] = False
        if p.get("hd"):
            body["megapixels"] = "1"
        refs = he.reference_urls(job)
        if refs:
            body["image"] = refs[0]
    elif job.type in ("video", "video_from_image"):
        body = {
            "prompt": p.get("prompt") or "",
            "duration": int(p.get("duration") or 5),
            "aspect_ratio": p.get("aspect_ratio") or "16:9",
        }
        if job.type == "video_from_image":
            image = he.input_url(job, "image_url", p.get("image_url"))
            key = (
                "start_image"
                if "kling" in model
                else ("first_frame_image" if "minimax" in model else "image")
            )
            body[key] = image
    elif job.type == "music":
        if "minimax/music" in model:
            body = {"prompt": ", ".join(x for x in (p.get("style"), p["prompt"]) if x)}
            if p.get("lyrics") and not p.get("instrumental"):
                body["lyrics"] = p["lyrics"]
        else:  # meta/musicgen and friends
            prompt = p["prompt"] if not p.get("style") else f"{p['style']}: {p['prompt']}"
            body = {
                "prompt": prompt,
                "duration": int(p.get("duration") or 8),
                "output_format": "wav",
            }
    elif job.type == "speech":
        if "minimax" in model:
            body = {"text": p["text"], "voice_id": p.get("voice") or "Wise_Woman"}
        else:
            body = {"text": p["text"], "voice": p.get("voice")}
    elif job.type == "sound":
        body = {"prompt": p["prompt"], "duration": int(p.get("duration") or 8)}
    else:
        raise ValueError(f"Replicate adapter does not do {job.type}")
    if any(s in model for s in SEEDED):
        body["seed"] = p["seed"] if p.get("seed") is not None else derived_seed(job.generation_id)
    return body


def output_urls(output: Any) -> list[str]:
    if isinstance(output, str):
        return [output] if output.startswith(("http://", "https://", "data:")) else []
    if isinstance(output, list):
        return [u for item in output for u in output_urls(item)]
    if isinstance(output, dict):
        return [u for key in sorted(output) for u in output_urls(output[key])]
    return []


def _progress(prediction: dict[str, Any]) -> int:
    if prediction.get("status") == "starting":
        return 3
    found = re.findall(r"(\d{1,3})%", str(prediction.get("logs") or ""))
    return min(95, max(5, int(found[-1]))) if found else 30


class ReplicateAdapter(he.HttpAdapter):
    name = NAME
    default_base_url = "https://api.replicate.com/v1"
    idempotent_submit = False
    submit_lease_seconds = 120
    wait_seconds = 5  # `Prefer: wait=N` on submits of quick models (images)
    # A submit may wait for the answer (`Prefer: wait`): the async runner makes them.
    async_submit = True

    def auth_headers(self, credential: UpstreamCredential) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential.secret}"}

    def _trusted(self, credential: UpstreamCredential, url: Any) -> bool:
        if not isinstance(url, str):
            return False
        ours, theirs = urlparse(self.base(credential)), urlparse(url)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)

    def _handle(self, credential: UpstreamCredential, prediction: dict[str, Any]) -> dict:
        pid = str(prediction["id"])
        urls = he.as_dict(prediction.get("urls"))
        get_url = urls.get("get") if self._trusted(credential, urls.get("get")) else None
        cancel_url = urls.get("cancel") if self._trusted(credential, urls.get("cancel")) else None
        base = self.base(credential)
        return {
            "prediction_id": pid,
            "get_url": get_url or f"{base}/predictions/{pid}",
            "cancel_url": cancel_url or f"{base}/predictions/{pid}/cancel",
        }

    def _interpret(self, job: Job, prediction: Any, handle: dict[str, Any]) -> Outcome:
        if not isinstance(prediction, dict):
            return he.poll_wait(job, he.malformed(NAME, submit=False))
        status = prediction.get("status")
        if status in ("starting", "processing"):
            return Pending(handle, progress=_progress(prediction), poll_after=2.0)
        if status == "succeeded":
            urls = output_urls(prediction.get("output"))
            if not urls:
                return he.upstream_failed(NAME, "the prediction succeeded without output files")
            return Finished(
                [Output(url=u) for u in urls], {"upstream_prediction_id": handle["prediction_id"]}
            )
        if status == "failed":
            return he.upstream_failed(
                NAME, he.message_from(prediction.get("error")) or "prediction failed"
            )
        if status == "canceled":
            return Failed(
                Failure(
                    "Replicate: the prediction was cancelled",
                    FailureCategory.CANCELLED,
                    "UPSTREAM_CANCELLED",
                    provider=NAME,
                )
            )
        return he.poll_wait(job, he.malformed(NAME, submit=False, detail=f": status {status!r}"))

    def submit(self, job: Job, progress: ProgressCallback) -> Outcome:
        return he.run_async_submit(self, job, progress)

    async def asubmit(self, client: httpx.AsyncClient, job: Job, report: Reporter) -> Outcome:
        credential = job.credential
        if credential is None:
            return he.no_credential(NAME)
        try:
            body: dict[str, Any] = {"input": build_input(job)}
        except ValueError as exc:
            return Failed(
                Failure(str(exc), FailureCategory.INVALID_INPUT, "UNSUPPORTED_TYPE", provider=NAME)
            )
        model, _, version = job.upstream_model.partition(":")
        if version:
            url = f"{self.base(credential)}/predictions"
            body["version"] = version
        else:
            url = f"{self.base(credential)}/models/{model.strip('/')}/predictions"
        headers = (
            {"Prefer": f"wait={self.wait_seconds}"}
            if job.type == "image" and self.wait_seconds
            else {}
        )
        data = await self.asubmit_call(client, "POST", url, credential, json=body, headers=headers)
        if he.is_outcome(data):
            return data
        if not isinstance(data, dict) or not data.get("id"):
            return Failed(he.malformed(NAME, submit=True, detail=": no prediction id"))
        handle = self._handle(credential, data)
        outcome = self._interpret(job, data, handle)
        if isinstance(outcome, Pending):
            return Pending(handle, progress=outcome.progress, poll_after=1.5)
        return outcome

    async def poll(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        if job.credential is None:
            return he.no_credential(NAME)
        data = await self.poll_call(client, "GET", job.handle["get_url"], job)
        if he.is_outcome(data):
            return data
        return self._interpret(job, data, he.clean_handle(job.handle))

    def cancel(self, job: Job) -> None:
        if job.credential is None or not job.handle.get("prediction_id"):
            return
        self.send("POST", job.handle["cancel_url"], job.credential, operation="cancel")

    def reconcile(self, job: Job) -> Outcome | None:
        credential = job.credential
        if credential is None:
            raise RuntimeError("Replicate reconcile needs the job's credential")
        if job.handle.get("prediction_id"):
            return Pending(job.handle, poll_after=0.5)
        wanted = build_input(job)
        model = job.upstream_model.split(":")[0]
        since = (datetime.now(UTC) - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
        url: str | None = f"{self.base(credential)}/predictions"
        params: dict[str, str] | None = {"created_after": since}
        for _ in range(5):
            if url is None:
                break
            data = self.lookup_call("GET", url, credential, params=params)
            for item in data.get("results") or []:
                if item.get("input") == wanted and item.get("model", model) == model:
                    return Pending(self._handle(credential, item), poll_after=0.5)
            following = data.get("next")
            url = following if self._trusted(credential, following) else None
            params = None
        return None

    def check_credential(self, credential: UpstreamCredential) -> None:
        self.check_get(f"{self.base(credential)}/account", credential)
