"""Chat completions on an OpenAI-compatible API (OpenAI, vLLM, Ollama, LocalAI…), streamed.

`POST {base}/chat/completions` `{model, messages, stream: true, stream_options:
{include_usage: true}, max_tokens | max_completion_tokens, reasoning_effort?,
web_search_options?}` answers Server-Sent Events: `data: <chat.completion.chunk>` lines
whose `choices[0].delta` carries `content` (and `reasoning_content`, or `reasoning`, on
reasoning models served by vLLM, DeepSeek, Ollama), a last chunk with `usage`, then
`data: [DONE]`. An upstream that ignores `stream` and answers one JSON completion is read
as well. The text so far goes to `report.partial` as it arrives, so pages and polls show it.

The images of the user's turn (`media_urls`, fetched by the engine as inputs `ref0..N`
through the outbound wrapper) are sent as data URLs in the last user message's content parts.

A stream that breaks after it started cannot be resumed, and nothing of it can be looked up
later: the outcome is a retryable failure, so the engine asks again (the user is charged
once whatever happens; the upstream account pays for the lost attempt).
"""

from __future__ import annotations

import json
import math
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
    Reporter,
    UpstreamCredential,
)


def chat_messages(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation to send: the stored, already-trimmed `messages`, or one user message."""
    messages = params.get("messages")
    if isinstance(messages, list) and messages:
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
    out: list[dict[str, Any]] = []
    if params.get("system_prompt"):
        out.append({"role": "system", "content": str(params["system_prompt"])})
    out.append(
        {"role": "user", "content": str(params.get("message") or params.get("prompt") or "")}
    )
    return out


def image_inputs(job: Job) -> list[str]:
    """Data URLs of the images attached to the user's turn, in the order given."""
    names = sorted(
        (n for n in job.inputs if n.startswith("ref") and n[3:].isdigit()), key=lambda n: int(n[3:])
    )
    return [he.data_uri(job.inputs[n]) for n in names]


def chat_body(job: Job, *, stream: bool = True) -> dict[str, Any]:
    p = job.params
    messages = chat_messages(p)
    images = image_inputs(job)
    if images:
        last = messages[-1]
        last["content"] = [
            {"type": "text", "text": last["content"]},
            *({"type": "image_url", "image_url": {"url": url}} for url in images),
        ]
    return request_body(
        job.upstream_model,
        messages,
        max_tokens=int(p.get("max_tokens") or 0),
        options=p.get("upstream_options") or {},
        stream=stream,
    )


def request_body(
    upstream_model: str,
    messages: list[dict[str, Any]],
    *,
    max_tokens: int = 0,
    options: dict[str, Any] | None = None,
    stream: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A `/chat/completions` body: the model's declared options (`max_tokens_field`,
    `reasoning_effort`, `web_search_options`) and any other fields (`response_format`,
    `tools`, `temperature`, `seed`) passed through as given."""
    options = options or {}
    body: dict[str, Any] = {"model": upstream_model, "messages": messages}
    if max_tokens:
        body[options.get("max_tokens_field") or "max_tokens"] = max_tokens
    for name in ("reasoning_effort", "web_search_options"):
        if name in options:
            body[name] = options[name]
    body.update({name: value for name, value in extra.items() if value is not None})
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


class Answer:
    """The answer as it streams in."""

    def __init__(self, model: str, max_tokens: int) -> None:
        self.content = ""
        self.reasoning = ""
        self.model = model
        self.usage: dict[str, Any] = {}
        self.finish_reason = ""
        self.tool_calls: list[dict[str, Any]] = []
        self.max_tokens = max(1, max_tokens)

    def add(self, chunk: dict[str, Any]) -> bool:
        """Take one chunk; True when it added text."""
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.model = chunk["model"]
        grew = False
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            if isinstance(delta, dict):
                text = delta.get("content")
                thought = delta.get("reasoning_content") or delta.get("reasoning")
                if isinstance(text, str) and text:
                    self.content += text
                    grew = True
                if isinstance(thought, str) and thought:
                    self.reasoning += thought
                    grew = True
                calls = delta.get("tool_calls")
                if isinstance(calls, list) and "message" in choice:  # whole, not streamed
                    self.tool_calls.extend(c for c in calls if isinstance(c, dict))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return grew

    @property
    def progress(self) -> int:
        written = math.ceil((len(self.content) + len(self.reasoning)) / 4)
        return min(95, 5 + 90 * written // self.max_tokens)

    def outcome(self, provider: str) -> Outcome:
        if self.finish_reason == "content_filter":
            return Failed(
                Failure(
                    "The upstream's content filter stopped the reply",
                    FailureCategory.CONTENT_POLICY,
                    "CONTENT_POLICY",
                    provider=provider,
                )
            )
        return Finished(
            [],
            {
                "content": self.content,
                "reasoning_content": self.reasoning,
                "model": self.model,
                "usage": self.usage,
                "finish_reason": self.finish_reason,
            },
        )


def stream_lost(provider: str, exc: BaseException | None = None) -> Failed:
    detail = f" ({exc.__class__.__name__})" if exc else ""
    return Failed(
        Failure(
            f"{provider}: the answer's stream broke off{detail}; asking again",
            FailureCategory.RETRYABLE,
            "STREAM_LOST",
            retryable=True,
            provider=provider,
        )
    )


async def stream_chat(
    adapter: he.HttpAdapter,
    client: httpx.AsyncClient,
    url: str,
    job: Job,
    credential: UpstreamCredential,
    report: Reporter,
) -> Outcome:
    """One streamed chat completion at `url`: Finished(meta={content, reasoning_content,
    model, usage}) or Failed, classified like every other upstream answer."""
    provider = adapter.name
    body = chat_body(job)
    answer = Answer(job.upstream_model, int(job.params.get("max_tokens") or 1024))
    headers = {**adapter.auth_headers(credential), "Accept": "text/event-stream"}
    report(2)
    try:
        async with client.stream(
            "POST", url, json=body, headers=headers, timeout=adapter.submit_timeout
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                return Failed(he.classify_response(response, provider))
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            if kind == "application/json":  # `stream` ignored: one completion
                await response.aread()
                try:
                    data = he.json_body(response)
                except ValueError:
                    return stream_lost(provider)
                if not isinstance(data, dict) or not data.get("choices"):
                    return Failed(he.malformed(provider, submit=True, detail=": no choices"))
                answer.add(data)
                return answer.outcome(provider)
            done = False
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue  # comments (": keep-alive"), event names, blank separators
                data_text = line[5:].strip()
                if data_text == "[DONE]":
                    done = True
                    break
                try:
                    chunk = json.loads(data_text)
                except ValueError:
                    continue
                if not isinstance(chunk, dict):
                    continue
                if chunk.get("error"):
                    return he.upstream_failed(provider, he.message_from(chunk))
                if answer.add(chunk):
                    report.partial(answer.content, answer.reasoning)
                    report(answer.progress)
    except httpx.HTTPError as exc:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return Failed(he.exception_failure(exc, provider, sent_paid_request=False))
        return stream_lost(provider, exc)
    if not done and not answer.finish_reason:
        return stream_lost(provider)  # the stream ended without its end
    report.partial(answer.content, answer.reasoning)
    return answer.outcome(provider)


def complete_once(
    adapter: he.HttpAdapter, url: str, body: dict[str, Any], credential: UpstreamCredential
) -> Answer | Failure:
    """One non-streamed chat completion at `url` (planning, copy): the Answer, or the
    Failure classified like every other upstream answer."""
    provider = adapter.name
    try:
        response = adapter.send(
            "POST",
            url,
            credential,
            json={**body, "stream": False},
            timeout=adapter.submit_timeout,
            operation="complete",
        )
    except httpx.HTTPError as exc:
        return he.exception_failure(exc, provider, sent_paid_request=False)
    if response.status_code >= 400:
        return he.classify_response(response, provider)
    try:
        data = he.json_body(response)
    except ValueError:
        return he.malformed(provider, submit=True)
    if not isinstance(data, dict) or not data.get("choices"):
        return he.malformed(provider, submit=True, detail=": no choices")
    answer = Answer(str(body.get("model") or ""), 1)
    answer.add(data)
    return answer
