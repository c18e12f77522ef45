"""A fake OpenAI-compatible API on loopback (fault API: tests/fakes/upstream.py).

Base URL `fake.url + "/v1"` (use `fake.base_url`). `Authorization: Bearer <secret>`.
- `POST /v1/images/generations` {model, prompt, n, size} → {created, data: [{b64_json}]} for
  gpt-image-* (always base64), {data: [{url, revised_prompt}]} for other models unless
  `response_format: "b64_json"`.
- `POST /v1/images/edits` multipart {model, prompt, n, size, image[] (or image) files} →
  {created, data: [{b64_json}]}; 400 without a real image part. `fake.edit_requests` holds
  what each edit received (fields, and the images' bytes).
- `POST /v1/audio/speech` {model, input, voice, response_format} → WAV bytes.
- `POST /v1/chat/completions` {model, messages[, stream, stream_options, max_tokens,
  reasoning_effort]} → a chat.completion, or with `stream: true` Server-Sent Events
  (`data: <chat.completion.chunk>` per word, `reasoning_content` deltas first when
  `reasoning_effort` is set, a `usage` chunk when `stream_options.include_usage`, then
  `data: [DONE]`). The answer is `fake.reply(messages)` (default "You said: <last>"); usage
  counts prompt tokens as ceil(characters / 4) of the messages' text and one completion token
  per streamed piece; `fake.chat_usage` is the last usage reported. `fake.chunk_delay`
  slows a stream (seconds per chunk); `fake.break_after = n` drops the connection after n
  chunks (a stream that breaks mid-answer). `fake.chat_requests` holds the bodies received.
  `response_format: {"type": "json_object"}` is refused (400) unless a message says "json",
  as OpenAI does. With `tools` in the body and `fake.tool_calls` set (a list of
  {name, arguments}), the non-streamed answer calls them (`finish_reason: "tool_calls"`).
  `fake.tool_script` scripts multi-turn tool use: a list of turns, each a list of
  {name, arguments} (or a callable of the messages returning one); each request with
  `tools` takes the next turn, and once it is empty the answer is text (`fake.reply`).
- `GET /v1/models` → the model list (the credential check).
Errors are `{"error": {message, type, param, code}}`; quota is OpenAI's 429
`insufficient_quota`; content policy is a 400 `content_policy_violation`.
Synchronous, so job-level faults apply to the answer: fail_job → 500 server_error,
nsfw_job → 400 content_policy_violation.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable

from tests.fakes.server import Request, Response
from tests.fakes.upstream import Disconnect, FakeUpstream, Fault, png_bytes, wav_bytes


def _text_of(content: object) -> str:
    """A message's text: a string, or the text parts of a content-parts list (vision)."""
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return str(content or "")


def _images_of(content: object) -> int:
    if isinstance(content, list):
        return sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return 0


def parse_multipart(request: Request) -> tuple[dict[str, str], dict[str, list[bytes]]]:
    """({field: text}, {file field: [bytes, …]}) of a multipart/form-data body."""
    from email.parser import BytesParser
    from email.policy import HTTP

    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        return {}, {}
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {kind}\r\n\r\n".encode() + request.body
    )
    fields: dict[str, str] = {}
    files: dict[str, list[bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename():
            files.setdefault(str(name), []).append(payload)
        else:
            fields[str(name)] = payload.decode()
    return fields, files


def default_reply(messages: list[dict]) -> str:
    last = messages[-1] if messages else {}
    images = _images_of(last.get("content"))
    seen = f" (I see {images} image{'s' if images != 1 else ''})" if images else ""
    return f"You said: {_text_of(last.get('content'))}{seen}"


class OpenAIFake(FakeUpstream):
    secret = "sk-test-0123456789abcdefghijklmnop"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.reply: Callable[[list[dict]], str] = default_reply
        self.chunk_delay = 0.0
        self.break_after: int | None = None
        self.chat_requests: list[dict] = []
        self.chat_usage: dict[str, int] = {}
        # Image edits received: {"fields": {name: value}, "images": [bytes of each part]}.
        self.edit_requests: list[dict] = []
        self.tool_calls: list[dict] | None = None
        self.tool_script: list = []

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def credential_of(self, request: Request) -> str:
        return request.headers.get("authorization", "").removeprefix("Bearer ")

    def error(self, status: int, message: str, code: str = "") -> Response:
        kind = {401: "invalid_request_error", 429: "rate_limit_error"}.get(status, "api_error")
        if status == 401:
            code = "invalid_api_key"
        elif status == 429 and code != "insufficient_quota":
            code = "rate_limit_exceeded"
            message = "Rate limit reached for requests"
        return Response.json(
            {"error": {"message": message, "type": kind, "param": None, "code": code or None}},
            status,
        )

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "quota":
            return self.error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
            )
        if fault.kind == "content_policy":
            return self.error(
                400,
                "Your request was rejected as a result of our safety system.",
                "content_policy_violation",
            )
        return self.error(400, "Invalid value for 'size'", "invalid_value")

    def route(self, request: Request):
        path = request.path.split("?")[0]
        if request.method == "GET" and path == "/v1/models":
            return "account", self.models
        if request.method == "POST" and path == "/v1/images/generations":
            return "submit", self.images
        if request.method == "POST" and path == "/v1/images/edits":
            return "submit", self.edits
        if request.method == "POST" and path == "/v1/audio/speech":
            return "submit", self.speech
        if request.method == "POST" and path == "/v1/chat/completions":
            return "submit", self.chat
        return "unknown", None

    def models(self, request: Request) -> Response:
        data = [{"id": m, "object": "model", "owned_by": "openai"}
                for m in ("gpt-image-1", "dall-e-3", "tts-1", "gpt-4o-mini")]  # fmt: skip
        return Response.json({"object": "list", "data": data})

    def _body(self, request: Request) -> dict | Response:
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict) or not body.get("model"):
            return self.error(400, "you must provide a model parameter", "missing_required")
        self.submitted.append(body)
        return body

    def _job_fault(self, kind: str, body: dict) -> Response | None:
        job = self.new_job(body["model"], kind, body)
        if job.behaviour == "nsfw":
            return self.fault_response(Fault("content_policy", "submit", None, {}))
        if job.behaviour == "fail":
            return self.error(500, job.message or "The server had an error while processing")
        if job.behaviour == "never":
            return self.error(504, "Gateway timeout")
        return None

    def images(self, request: Request) -> Response:
        body = self._body(request)
        if isinstance(body, Response):
            return body
        if not body.get("prompt"):
            return self.error(400, "prompt is required", "missing_required")
        failed = self._job_fault("image", body)
        if failed is not None:
            return failed
        n = int(body.get("n") or 1)
        if body["model"].startswith("gpt-image") or body.get("response_format") == "b64_json":
            data = [{"b64_json": base64.b64encode(png_bytes()).decode()} for _ in range(n)]
        else:
            job = self.jobs[list(self.jobs)[-1]]
            job.count = n
            urls = self.result_urls(job)
            data = [{"url": u, "revised_prompt": f"{body['prompt']}, detailed"} for u in urls]
        return Response.json({"created": int(time.time()), "data": data})

    def edits(self, request: Request) -> Response:
        """Multipart, as OpenAI's: `model, prompt, n, size` fields and the source images as
        `image[]` parts (or one `image`); every part must be a real image."""
        fields, images = parse_multipart(request)
        if not fields.get("model"):
            return self.error(400, "you must provide a model parameter", "missing_required")
        if not fields.get("prompt"):
            return self.error(400, "prompt is required", "missing_required")
        parts = images.get("image[]", []) + images.get("image", [])
        if not parts:
            return self.error(400, "image is required", "missing_required")
        for data in parts:
            if not (data.startswith(b"\x89PNG") or data.startswith(b"\xff\xd8")
                    or data[8:12] == b"WEBP"):  # fmt: skip
                return self.error(400, "Invalid image file: use PNG, JPEG or WebP", "invalid_image")
        self.submitted.append(fields)
        self.edit_requests.append({"fields": fields, "images": parts})
        failed = self._job_fault("image", fields)
        if failed is not None:
            return failed
        n = int(fields.get("n") or 1)
        data = [{"b64_json": base64.b64encode(png_bytes()).decode()} for _ in range(n)]
        return Response.json({"created": int(time.time()), "data": data})

    def speech(self, request: Request) -> Response:
        body = self._body(request)
        if isinstance(body, Response):
            return body
        if not body.get("input") or not body.get("voice"):
            return self.error(400, "input and voice are required", "missing_required")
        failed = self._job_fault("audio", body)
        if failed is not None:
            return failed
        return Response(200, wav_bytes(), "audio/wav")

    def chat(self, request: Request) -> Response:
        body = self._body(request)
        if isinstance(body, Response):
            return body
        messages = body.get("messages") or []
        if not messages:
            return self.error(400, "messages is required", "missing_required")
        self.chat_requests.append(body)
        failed = self._job_fault("audio", body)
        if failed is not None:
            return failed
        if (body.get("response_format") or {}).get("type") == "json_object" and not any(
            "json" in _text_of(m.get("content")).lower() for m in messages
        ):
            return self.error(
                400,
                "'messages' must contain the word 'json' in some form, to use "
                "'response_format' of type 'json_object'.",
                "invalid_request_error",
            )
        if body.get("tools") and self.tool_script and not body.get("stream"):
            turn = self.tool_script.pop(0)
            return self._tool_call_answer(body, turn(messages) if callable(turn) else turn)
        if body.get("tools") and self.tool_calls and not body.get("stream"):
            return self._tool_call_answer(body, self.tool_calls)
        answer = self.reply(messages)
        prompt_chars = sum(len(_text_of(m.get("content"))) for m in messages)
        pieces = [w + " " for w in answer.split(" ")]
        pieces[-1] = pieces[-1].rstrip(" ")
        reasoning = ["Thinking ", "it ", "over."] if body.get("reasoning_effort") else []
        usage = {
            "prompt_tokens": math.ceil(prompt_chars / 4),
            "completion_tokens": len(pieces) + len(reasoning),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        self.chat_usage = usage
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        if not body.get("stream"):
            message = {"role": "assistant", "content": answer}
            if reasoning:
                message["reasoning_content"] = "".join(reasoning)
            return Response.json(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": usage,
                }
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return Response(
            200,
            b"",
            "text/event-stream",
            stream=self._stream(
                completion_id, body["model"], reasoning, pieces, usage if include_usage else None
            ),
        )

    def _tool_call_answer(self, body: dict, turn: list[dict]) -> Response:
        calls = [
            {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
            }
            for c in turn
        ]
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        self.chat_usage = usage
        message = {"role": "assistant", "content": None, "tool_calls": calls}
        return Response.json(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                "usage": usage,
            }
        )

    async def _stream(
        self,
        completion_id: str,
        model: str,
        reasoning: list[str],
        pieces: list[str],
        usage: dict[str, int] | None,
    ) -> AsyncIterator[bytes]:
        def event(delta: dict, finish: str | None = None, **extra: object) -> bytes:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(chunk)}\n\n".encode()

        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"reasoning_content": r} for r in reasoning]
        deltas += [{"content": p} for p in pieces]
        for sent, delta in enumerate(deltas):
            if self.break_after is not None and sent >= self.break_after:
                raise Disconnect("stream broken by the test")
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            yield event(delta)
        yield event({}, "stop")
        if usage is not None:
            last = {"id": completion_id, "object": "chat.completion.chunk", "model": model,
                    "choices": [], "usage": usage}  # fmt: skip
            yield f"data: {json.dumps(last)}\n\n".encode()
        yield b"data: [DONE]\n\n"
