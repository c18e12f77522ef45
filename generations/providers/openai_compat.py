"""OpenAI-compatible APIs: OpenAI itself, and vLLM, Ollama, LocalAI… behind a configurable base.

Protocol (base URL e.g. https://api.openai.com/v1 or http://gpu-box:8000/v1), `Authorization:
Bearer <secret>`, all synchronous — `submit` answers `Finished` or `Failed`, never `Pending`:
- `POST {base}/images/generations` `{model, prompt, n, size[, quality]}` → `{data: [{b64_json}
  | {url}]}`; base64 images are written to the job's work dir and returned as paths.
- `POST {base}/images/edits`, multipart: `model, prompt, n, size` fields and the source
  images as `image[]` parts (gpt-image-*; dall-e-2 takes one, as `image`) → the same answer.
- `POST {base}/audio/speech` `{model, input, voice, response_format: "wav"}` → the audio bytes.
- `POST {base}/chat/completions`, streamed (generations/providers/openai_chat.py) →
  `Finished([], meta={"content", "reasoning_content", "model", "usage"})` (chat has no files).
- `GET {base}/models` is the credential check.

Reconcile: a synchronous call has nothing to look up afterwards — if the answer was lost, the
result is lost with it and nothing more can arrive, so `reconcile` returns None (refund). A
chat answer is the exception: asking again is cheap and what the user wants, so a lost chat
call answers a retryable failure and the engine asks again (charged once either way).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from pathlib import Path
from typing import Any

import httpx

from generations.providers import http_errors as he
from generations.providers import openai_chat
from generations.providers.base import (
    Failed,
    Failure,
    FailureCategory,
    Finished,
    Job,
    Outcome,
    Output,
    ProgressCallback,
    Reporter,
    UpstreamCredential,
)

NAME = "openai"


def image_size(model: str, aspect: str, hd: bool) -> str:
    w, h = (int(x) for x in aspect.split(":"))
    if model.startswith("gpt-image"):
        return "1024x1024" if w == h else ("1536x1024" if w > h else "1024x1536")
    if model.startswith("dall-e-3"):
        return "1024x1024" if w == h else ("1792x1024" if w > h else "1024x1792")
    if model.startswith("dall-e-2"):
        return "1024x1024"
    long_side = 2048 if hd else 1024
    scale = long_side / max(w, h)
    return f"{int(w * scale) // 64 * 64}x{int(h * scale) // 64 * 64}"


def _auto_size(model: str) -> str:
    return "1024x1024" if model.startswith("dall-e") else "auto"


def _mime(path: Path) -> str:
    """The image's real type, from its bytes (input files are named without an extension)."""
    head = path.read_bytes()[:12]
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


class OpenAICompatAdapter(he.HttpAdapter):
    name = NAME
    default_base_url = "https://api.openai.com/v1"
    idempotent_submit = False
    can_look_up_jobs = False  # images and speech are one synchronous call, never listed
    submit_lease_seconds = 300  # image generation answers in up to a few minutes
    # Every call waits on the upstream for its whole answer: the async runner makes them.
    async_submit = True

    def __init__(self) -> None:
        super().__init__()
        self.submit_timeout = he.timeout(240.0)

    def auth_headers(self, credential: UpstreamCredential) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential.secret}"}

    def submit(self, job: Job, progress: ProgressCallback) -> Outcome:
        credential = job.credential
        if credential is None:
            return he.no_credential(NAME)
        if job.type in ("image", "image_edit", "speech", "chat"):
            return he.run_async_submit(self, job, progress)
        return self._unsupported(job)

    async def asubmit(self, client: httpx.AsyncClient, job: Job, report: Reporter) -> Outcome:
        credential = job.credential
        if credential is None:
            return he.no_credential(NAME)
        if job.type == "image":
            return await self._image(client, job, credential)
        if job.type == "image_edit":
            return await self._edit(client, job, credential)
        if job.type == "speech":
            return await self._speech(client, job, credential)
        if job.type == "chat":
            url = f"{self.base(credential)}/chat/completions"
            return await openai_chat.stream_chat(self, client, url, job, credential, report)
        return self._unsupported(job)

    def _unsupported(self, job: Job) -> Failed:
        return Failed(
            Failure(
                f"OpenAI-compatible APIs do not do {job.type}",
                FailureCategory.INVALID_INPUT,
                "UNSUPPORTED_TYPE",
                provider=NAME,
            )
        )

    async def _image(
        self, client: httpx.AsyncClient, job: Job, credential: UpstreamCredential
    ) -> Outcome:
        p, model = job.params, job.upstream_model
        body: dict[str, Any] = {
            "model": model,
            "prompt": p["prompt"],
            "n": int(p.get("count") or 1),
            "size": image_size(model, p.get("aspect_ratio") or "1:1", bool(p.get("hd"))),
        }
        if p.get("hd") and model.startswith("dall-e-3"):
            body["quality"] = "hd"
        elif p.get("hd") and model.startswith("gpt-image"):
            body["quality"] = "high"
        response = await self.asubmit_call(
            client,
            "POST",
            f"{self.base(credential)}/images/generations",
            credential,
            json=body,
            raw=True,
        )
        if he.is_outcome(response):
            return response
        # Parsing and decoding megabytes of base64 is CPU: off the runner's loop.
        return await asyncio.to_thread(self._images_answer, job, response)

    async def _edit(
        self, client: httpx.AsyncClient, job: Job, credential: UpstreamCredential
    ) -> Outcome:
        p, model = job.params, job.upstream_model
        sources = sorted((int(k[6:]), v) for k, v in job.inputs.items() if k.startswith("source"))
        if not sources:
            return Failed(
                Failure(
                    "No source image to edit",
                    FailureCategory.INVALID_INPUT,
                    "MISSING_SOURCE",
                    provider=NAME,
                )
            )
        aspect = p.get("aspect_ratio")
        fields = {
            "model": model,
            "prompt": p["prompt"],
            "n": str(int(p.get("count") or 1)),
            # "auto" keeps the source's shape (gpt-image); dall-e-2 edits are square.
            "size": image_size(model, aspect, False) if aspect else _auto_size(model),
        }
        # gpt-image takes several images as `image[]`; dall-e-2 one, as `image`.
        part = "image[]" if model.startswith("gpt-image") else "image"
        files = [
            (part, (path.name, await asyncio.to_thread(path.read_bytes), _mime(path)))
            for _, path in (sources if part == "image[]" else sources[:1])
        ]
        response = await self.asubmit_call(
            client,
            "POST",
            f"{self.base(credential)}/images/edits",
            credential,
            data=fields,
            files=files,
            raw=True,
        )
        if he.is_outcome(response):
            return response
        return await asyncio.to_thread(self._images_answer, job, response)

    def _images_answer(self, job: Job, response: httpx.Response) -> Outcome:
        try:
            data = he.json_body(response)
        except ValueError:
            return Failed(he.malformed(NAME, submit=True))
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            return Failed(he.malformed(NAME, submit=True, detail=": no images in the answer"))
        outputs: list[Output] = []
        job.work_dir.mkdir(parents=True, exist_ok=True)
        for index, item in enumerate(items):
            if isinstance(item, dict) and item.get("b64_json"):
                try:
                    raw = base64.b64decode(item["b64_json"], validate=True)
                except (binascii.Error, ValueError):
                    return Failed(he.malformed(NAME, submit=True, detail=": bad base64 image"))
                path = job.work_dir / f"openai-{index}.png"
                path.write_bytes(raw)
                outputs.append(Output(path=path))
            elif isinstance(item, dict) and isinstance(item.get("url"), str):
                outputs.append(Output(url=item["url"]))
        if not outputs:
            return Failed(he.malformed(NAME, submit=True, detail=": no images in the answer"))
        meta: dict[str, Any] = {}
        revised = [i.get("revised_prompt") for i in items if isinstance(i, dict)]
        if any(revised):
            meta["prompt_used"] = next(r for r in revised if r)
        return Finished(outputs, meta)

    async def _speech(
        self, client: httpx.AsyncClient, job: Job, credential: UpstreamCredential
    ) -> Outcome:
        p = job.params
        body = {
            "model": job.upstream_model,
            "input": p["text"],
            "voice": p.get("voice") or "alloy",
            "response_format": "wav",
        }
        response = await self.asubmit_call(
            client, "POST", f"{self.base(credential)}/audio/speech", credential, json=body, raw=True
        )
        if he.is_outcome(response):
            return response
        assert isinstance(response, httpx.Response)
        kind = response.headers.get("content-type", "").split(";")[0]
        if kind.startswith(("application/json", "text/")) or not response.content:
            return Failed(he.malformed(NAME, submit=True, detail=": no audio in the answer"))
        path = job.work_dir / "speech-0.wav"
        await asyncio.to_thread(_write, path, response.content)
        return Finished([Output(path=path)], {"voice": body["voice"]})

    async def poll(self, client: httpx.AsyncClient, job: Job) -> Outcome:
        # Synchronous: submit already answered. A stray poll (e.g. after a reconcile) fails.
        return Failed(
            Failure(
                "An OpenAI-compatible job has nothing to poll",
                FailureCategory.INTERNAL,
                "NOTHING_TO_POLL",
                provider=NAME,
            )
        )

    def reconcile(self, job: Job) -> Outcome | None:
        if job.type == "chat":  # see the module's docstring: ask again
            return openai_chat.stream_lost(NAME)
        return None  # a synchronous answer that was lost cannot be fetched again

    def check_credential(self, credential: UpstreamCredential) -> None:
        self.check_get(f"{self.base(credential)}/models", credential)
