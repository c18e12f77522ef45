"""Shared plumbing of the HTTP adapters: classify every upstream outcome into a `Failure`.

One table, used by every adapter, so the engine sees the same categories whatever the
upstream:

| upstream outcome                                  | category          | retryable |
|---------------------------------------------------|-------------------|-----------|
| connect error / connect or pool timeout           | retryable         | yes       |
| 408, 425, 429, 5xx (Retry-After honoured)         | retryable         | yes       |
| 429 that says quota/billing (OpenAI insufficient_quota) | quota       | no        |
| 401, 403                                          | auth              | no        |
| 402, or any 4xx whose text speaks of credits/quota | quota            | no        |
| 400, 404, 409, 413, 422 (other 4xx)               | invalid_input     | no        |
| any 4xx or failed job whose text is a safety/NSFW signal | content_policy | no     |
| a submit sent, its answer never came (read/write  | unknown_outcome   | no        |
|   timeout, dropped connection)                    |                   |           |
| a submit answered 2xx with a body we cannot read  | unknown_outcome   | no        |
| a job the upstream reports failed: its message,   | from its text     | no        |
|   category from its words (default internal)      |                   |           |

On polls, anything retryable (and a malformed body) is not a failure: the adapter answers
`Pending(handle, poll_after=retry_after or backoff)` via `poll_wait`, so the job keeps waiting
until the upstream answers or the engine's deadline passes.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import math
import mimetypes
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import httpx

from generations.providers.base import (
    Failed,
    Failure,
    FailureCategory,
    Finished,
    Job,
    Outcome,
    Pending,
    ProgressCallback,
    ProviderAdapter,
    UpstreamCredential,
)
from studio import metrics

C = FailureCategory
MAX_RETRY_AFTER = 3600.0
ERRORS_KEY = "_transient_errors"

_CONTENT_POLICY = re.compile(
    r"nsfw|content[ _-]?policy|safety (system|checker|filter)|moderation|flagged|"
    r"sensitive content|inappropriate|not allowed by our safety|harmful|"
    r"content_policy_violation|moderation_blocked|unsafe content",
    re.IGNORECASE,
)
_QUOTA = re.compile(
    r"insufficient[ _-]?(credits?|quota|funds|balance)|quota|billing|out of credits|"
    r"payment required|credit balance|not enough credits|exceeded your current|"
    r"exhausted balance|top up",
    re.IGNORECASE,
)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # HTTP-dates are GMT
            from datetime import UTC

            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def backoff(attempt: int, *, base: float = 2.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter (attempt 1 → up to `base` seconds)."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return round(random.uniform(ceiling / 2, ceiling), 3)


def error_message(response: httpx.Response) -> str:
    """The upstream's own words for an error, from whichever field its protocol uses."""
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip() if response.content else ""
        return text[:300] or f"HTTP {response.status_code}"
    return message_from(data) or f"HTTP {response.status_code}"


def message_from(data: Any) -> str:
    if isinstance(data, str):
        return data[:500]
    if isinstance(data, list):
        parts = [message_from(item) for item in data[:5]]
        return "; ".join(p for p in parts if p)[:500]
    if not isinstance(data, dict):
        return ""
    for key in ("error", "detail", "message", "msg", "title", "status_message"):
        value = data.get(key)
        if value in (None, "", [], {}):
            continue
        if isinstance(value, dict | list):
            found = message_from(value)
            if found:
                return found
        elif isinstance(value, str):
            return value[:500]
    return ""


def error_code(response: httpx.Response) -> str:
    """A machine code the upstream put in its error body, if any (OpenAI, Kolbo, fal)."""
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    codes: list[str] = []
    if isinstance(data, dict):
        for holder in (data, data.get("error") if isinstance(data.get("error"), dict) else None):
            if isinstance(holder, dict):
                for key in ("code", "type"):
                    if isinstance(holder.get(key), str):
                        codes.append(holder[key])
        detail = data.get("detail")
        if isinstance(detail, list):
            codes += [d.get("type", "") for d in detail if isinstance(d, dict)]
    return " ".join(codes)


def classify_text(
    message: str, default: str = C.INTERNAL, *, code: str = "UPSTREAM_FAILED"
) -> tuple[str, str]:
    """(category, code) for a failure described only in words."""
    if _CONTENT_POLICY.search(message):
        return C.CONTENT_POLICY, "CONTENT_POLICY"
    if _QUOTA.search(message):
        return C.QUOTA, "UPSTREAM_QUOTA"
    return default, code


def classify_response(response: httpx.Response, provider: str) -> Failure:
    """A Failure for an HTTP error answer (status >= 400)."""
    status = response.status_code
    message = error_message(response)
    words = f"{message} {error_code(response)}"
    text = f"{provider}: {message}"
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status in (401, 403) and not (status == 403 and _QUOTA.search(words)):
        return Failure(
            f"{provider} rejected the credential (HTTP {status}): {message}",
            C.AUTH,
            "UPSTREAM_AUTH",
            provider=provider,
        )
    if status in (402, 403):  # 403 here: a locked, out-of-balance account (fal)
        return Failure(text, C.QUOTA, "UPSTREAM_QUOTA", provider=provider)
    if status == 429:
        if _QUOTA.search(words) and "rate" not in message.lower():
            return Failure(text, C.QUOTA, "UPSTREAM_QUOTA", provider=provider)
        return Failure(
            text, C.RETRYABLE, "UPSTREAM_RATE_LIMITED", retryable=True, provider=provider,
            retry_after=retry_after,
        )  # fmt: skip
    if status in (408, 425) or status >= 500:
        return Failure(
            text, C.RETRYABLE, f"UPSTREAM_HTTP_{status}", retryable=True, provider=provider,
            retry_after=retry_after,
        )  # fmt: skip
    category, code = classify_text(words, C.INVALID_INPUT, code="UPSTREAM_REJECTED")
    return Failure(text, category, code, provider=provider)


def exception_failure(exc: httpx.HTTPError, provider: str, *, sent_paid_request: bool) -> Failure:
    """A Failure for a transport error.

    Connect errors (and pool timeouts) mean the request never left: retry. Anything after
    the request was written (read/write timeout, dropped connection) means the upstream may
    have accepted it; for a paid submit that is `unknown_outcome`, to be reconciled.
    """
    name = exc.__class__.__name__
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if never_sent or not sent_paid_request:
        return Failure(
            f"{provider} could not be reached ({name})",
            C.RETRYABLE,
            "UPSTREAM_UNREACHABLE",
            retryable=True,
            provider=provider,
        )
    return Failure(
        f"{provider} did not answer the submit ({name}); its outcome is unknown",
        C.UNKNOWN_OUTCOME,
        "SUBMIT_OUTCOME_UNKNOWN",
        provider=provider,
    )


def malformed(provider: str, *, submit: bool, detail: str = "") -> Failure:
    if submit:
        return Failure(
            f"{provider} accepted the submit but its answer could not be read{detail}",
            C.UNKNOWN_OUTCOME,
            "SUBMIT_OUTCOME_UNKNOWN",
            provider=provider,
        )
    return Failure(
        f"{provider} sent an unreadable answer{detail}",
        C.RETRYABLE,
        "UPSTREAM_MALFORMED",
        retryable=True,
        provider=provider,
    )


def no_credential(provider: str) -> Failed:
    return Failed(
        Failure(
            f"No usable {provider} credential is configured for this job",
            C.AUTH,
            "NO_CREDENTIAL",
            provider=provider,
        )
    )


def upstream_failed(provider: str, message: str | None) -> Failed:
    message = (message or "").strip() or "the upstream reported the job as failed"
    category, code = classify_text(message)
    return Failed(Failure(f"{provider}: {message}", category, code, provider=provider))


def json_body(response: httpx.Response) -> Any:
    """The parsed JSON body, or raise ValueError (malformed)."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None


# --- polling helpers -----------------------------------------------------------------------


def poll_wait(job: Job, failure: Failure | None = None) -> Pending:
    """Keep waiting after a transient poll problem: back off, honouring Retry-After."""
    errors = int(job.handle.get(ERRORS_KEY, 0)) + 1
    delay = failure.retry_after if failure and failure.retry_after else backoff(errors)
    return Pending({**job.handle, ERRORS_KEY: errors}, poll_after=delay)


def poll_result(response: httpx.Response, job: Job, provider: str) -> Any:
    """The JSON of a status answer; or a Pending/Failed outcome for an error answer."""
    if response.status_code >= 400:
        failure = classify_response(response, provider)
        return poll_wait(job, failure) if failure.retryable else Failed(failure)
    try:
        return json_body(response)
    except ValueError:
        return poll_wait(job, malformed(provider, submit=False))


def clean_handle(handle: dict[str, Any], **updates: Any) -> dict[str, Any]:
    """The handle after a successful poll: transient-error counter dropped."""
    out = {k: v for k, v in handle.items() if k != ERRORS_KEY}
    out.update(updates)
    return out


# --- inputs --------------------------------------------------------------------------------


def data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0]
    if mime is None:
        from PIL import Image

        try:
            with Image.open(path) as img:
                mime = Image.MIME.get(img.format or "", "image/png")
        except OSError:
            mime = "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def input_url(job: Job, name: str, original: str | None) -> str | None:
    """A URL an upstream can read for an input: public http(s) URLs pass as they are; Studio
    links and data: URLs become data: URIs of the file the engine fetched."""
    path = job.inputs.get(name)
    if original and original.startswith(("http://", "https://")) and not _is_studio_link(original):
        return original
    if path is not None:
        return data_uri(path)
    return original


def _is_studio_link(url: str) -> bool:
    try:
        from studio.media import parse_own_link

        return parse_own_link(url) is not None
    except Exception:
        return False


def reference_urls(job: Job) -> list[str]:
    """The user's reference images, then any the engine added (catalog cut-outs, Visual DNA,
    moodboards: `ref<N>` inputs beyond the user's list), as URLs an upstream can read."""
    refs = job.params.get("reference_images") or []
    out = []
    for i, url in enumerate(refs):
        value = input_url(job, f"ref{i}", url)
        if value:
            out.append(value)
    extra = sorted(
        (int(name[3:]), path)
        for name, path in job.inputs.items()
        if name.startswith("ref") and name[3:].isdigit() and int(name[3:]) >= len(refs)
    )
    out += [data_uri(path) for _, path in extra]
    return out


def base_url(job_or_credential: Any, default: str) -> str:
    credential = getattr(job_or_credential, "credential", job_or_credential)
    url = (getattr(credential, "base_url", "") or default).strip()
    return url.rstrip("/")


def timeout(read: float, *, connect: float = 5.0, write: float = 30.0) -> httpx.Timeout:
    return httpx.Timeout(connect=connect, read=read, write=write, pool=5.0)


def check_response(response: httpx.Response, provider: str) -> None:
    """For `check_credential`: raise CredentialCheckFailed on anything but 2xx."""
    from generations.providers.base import CredentialCheckFailed

    if response.status_code < 400:
        return
    failure = classify_response(response, provider)
    if failure.category == C.AUTH:
        raise CredentialCheckFailed(
            f"{provider} rejected the credential (HTTP {response.status_code})"
        )
    raise CredentialCheckFailed(
        f"{provider} answered HTTP {response.status_code}: {failure.message[:200]}"
    )


def check_transport(exc: httpx.HTTPError, provider: str) -> Exception:
    from generations.providers.base import CredentialCheckFailed

    return CredentialCheckFailed(f"{provider} could not be reached ({exc.__class__.__name__})")


# --- a base for HTTP adapters --------------------------------------------------------------


class HttpAdapter(ProviderAdapter):
    """What the HTTP adapters share: auth headers, the outbound wrapper, classification.

    Timeouts are instance attributes so an operator (or a test) can tune them per adapter.
    """

    default_base_url: ClassVar[str] = ""

    def __init__(self) -> None:
        self.submit_timeout = timeout(60.0)
        self.poll_timeout = timeout(20.0)
        self.cheap_timeout = timeout(15.0)

    # Subclasses say how they authenticate.
    def auth_headers(self, credential: UpstreamCredential) -> dict[str, str]:
        raise NotImplementedError

    def base(self, credential: UpstreamCredential | None) -> str:
        return base_url(credential, self.default_base_url)

    def send(
        self,
        method: str,
        url: str,
        credential: UpstreamCredential,
        *,
        timeout: httpx.Timeout | None = None,
        headers: dict[str, str] | None = None,
        operation: str = "call",
        **kwargs: Any,
    ) -> httpx.Response:
        from studio import http

        started, status = time.perf_counter(), None
        try:
            with http.client(timeout=timeout or self.cheap_timeout) as client:
                response = client.request(
                    method,
                    url,
                    headers={**self.auth_headers(credential), **(headers or {})},
                    **kwargs,
                )
            status = response.status_code
            return response
        finally:
            metrics.observe_upstream_response(
                self.name, operation, status, time.perf_counter() - started
            )

    async def request_async(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        operation: str = "poll",
        **kwargs: Any,
    ) -> httpx.Response:
        """An async call on the dispatcher's client, timed and counted like `send`."""
        started, status = time.perf_counter(), None
        try:
            response = await client.request(method, url, **kwargs)
            status = response.status_code
            return response
        finally:
            metrics.observe_upstream_response(
                self.name, operation, status, time.perf_counter() - started
            )

    def submit_call(
        self, method: str, url: str, credential: UpstreamCredential, **kwargs: Any
    ) -> Any:
        """Send a paid submit: the parsed JSON (or the response when `raw=True`), or a Failed."""
        raw = kwargs.pop("raw", False)
        try:
            response = self.send(
                method,
                url,
                credential,
                timeout=kwargs.pop("timeout", self.submit_timeout),
                operation="submit",
                **kwargs,
            )
        except httpx.HTTPError as exc:
            return Failed(exception_failure(exc, self.name, sent_paid_request=True))
        if response.status_code >= 400:
            return Failed(classify_response(response, self.name))
        if raw:
            return response
        try:
            return json_body(response)
        except ValueError:
            return Failed(malformed(self.name, submit=True))

    async def asubmit_call(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        credential: UpstreamCredential,
        **kwargs: Any,
    ) -> Any:
        """`submit_call` on the async runner's client: the parsed JSON (or the response when
        `raw=True`), or a Failed, classified the same way."""
        raw = kwargs.pop("raw", False)
        headers = {**self.auth_headers(credential), **kwargs.pop("headers", {})}
        try:
            response = await self.request_async(
                client,
                method,
                url,
                operation="submit",
                headers=headers,
                timeout=kwargs.pop("timeout", self.submit_timeout),
                **kwargs,
            )
        except httpx.HTTPError as exc:
            return Failed(exception_failure(exc, self.name, sent_paid_request=True))
        if response.status_code >= 400:
            return Failed(classify_response(response, self.name))
        if raw:
            return response
        try:
            return json_body(response)
        except ValueError:
            return Failed(malformed(self.name, submit=True))

    async def poll_call(
        self, client: httpx.AsyncClient, method: str, url: str, job: Job, **kwargs: Any
    ) -> Any:
        """One status call: the parsed JSON, or an Outcome (Pending to keep waiting, Failed)."""
        assert job.credential is not None
        headers = {**self.auth_headers(job.credential), **kwargs.pop("headers", {})}
        try:
            response = await self.request_async(
                client, method, url, headers=headers, timeout=self.poll_timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            return poll_wait(job, exception_failure(exc, self.name, sent_paid_request=False))
        return poll_result(response, job, self.name)

    def lookup_call(self, method: str, url: str, credential: UpstreamCredential, **kw: Any) -> Any:
        """A read used by reconcile: parsed JSON, or raise (the sweeper retries reconcile later)."""
        response = self.send(
            method, url, credential, timeout=self.poll_timeout, operation="lookup", **kw
        )
        if response.status_code >= 400:
            raise UpstreamError(classify_response(response, self.name))
        return json_body(response)

    def check_get(self, url: str, credential: UpstreamCredential) -> Any:
        try:
            response = self.send("GET", url, credential, operation="check")
        except httpx.HTTPError as exc:
            raise check_transport(exc, self.name) from None
        check_response(response, self.name)
        return response


def run_async_submit(adapter: ProviderAdapter, job: Job, progress: ProgressCallback) -> Outcome:
    """`submit` for an `async_submit` adapter called where no runner runs (a worker, a tool):
    its `asubmit` on a client of its own, to completion, in this thread."""
    from studio import http

    reporter = _OffLoopReporter(progress)

    async def call() -> Outcome:
        async with http.async_client() as client:
            return await adapter.asubmit(client, job, reporter)

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(call())
        with ThreadPoolExecutor(max_workers=1) as pool:  # called from async code: not its loop
            return pool.submit(asyncio.run, call()).result()
    finally:
        reporter.close()


class _OffLoopReporter:
    """The worker's reporter (database writes) called from a coroutine: each call runs, in
    order, on one thread of its own, so the event loop never blocks on (or, as Django
    requires, never makes) a database write; the last one is done before the outcome."""

    def __init__(self, progress: ProgressCallback) -> None:
        self.progress = progress
        self.pool = ThreadPoolExecutor(max_workers=1)

    def __call__(self, value: int) -> None:
        self.pool.submit(self.progress, value)

    def partial(self, content: str, reasoning: str = "") -> None:
        write = getattr(self.progress, "partial", None)
        if write is not None:
            self.pool.submit(write, content, reasoning)

    def close(self) -> None:
        from django.db import connections

        self.pool.submit(connections.close_all)  # the thread's own connection
        self.pool.shutdown(wait=True)


class UpstreamError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def is_outcome(value: Any) -> bool:
    return isinstance(value, Finished | Pending | Failed)
