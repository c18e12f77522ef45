"""What every fake upstream shares: faults, a per-credential rate limiter, counters, media.

A fake is a real HTTP server on 127.0.0.1 (`LoopbackServer`) speaking one upstream's
documented protocol. Drive it from a test:

    fake = FalFake().start()              # or: with FalFake() as fake:
    fake.url                              # base URL to put in the credential
    fake.secret                           # the only key it accepts (others get 401)

Faults (`fake.faults`), all optional, all cleared by `fake.faults.clear()`:

    fake.faults.set(kind, on="submit", times=None, **options)

`on` is the endpoint class the fault hits: "submit", "status" (polls), "result" (fal's
result fetch), "cancel", "account" (credential checks), "list" (reconcile look-ups),
"file" (result downloads) or "any". `times` bounds how many requests it hits (None: every
one until cleared). HTTP-level kinds:

    "rate_limit"   429 with Retry-After (options: retry_after=1, http_date=False)
    "server_error" 500, or options: status=502|503…
    "unauthorized" 401          "forbidden" 403
    "quota"        the protocol's out-of-credits answer (402, Kolbo: 400 INSUFFICIENT_CREDITS)
    "invalid"      the protocol's bad-request answer (400/422)
    "content_policy" the protocol's safety rejection of the request
    "malformed"    200 with a body that is not JSON
    "slow"         answers normally after `delay` seconds (default 0.5)
    "hang"         does the work (e.g. creates the job), then sleeps `delay` (default 30)
                   before answering: the client times out after sending
    "drop"         does the work (unless process=False), then closes the connection
                   without answering

Job-level kinds (`on` is ignored; `times` counts jobs created while set):

    "fail_job"       the job ends failed (option: message)
    "nsfw_job"       the job ends failed by the safety checker (fal images: NSFW-flagged)
    "never_finish"   the job stays in progress for ever
    "expire_results" result files 404 after `after_seconds`, or after `after_fetches` GETs

Rate limits per credential (the key presented), fixed windows:

    fake.limits.configure(submits=10, polls=300, window=60.0)   # None = unlimited

Counters: `fake.calls` (Counter per endpoint class), `fake.server.hits` (per "METHOD /path"),
`fake.auth_seen` (Counter of auth header values), `fake.limited` (Counter of limiter 429s
per endpoint class), `fake.server.peak_in_flight`, `fake.submitted` (bodies of submits),
`fake.jobs` (id → FakeJob). `fake.polls_to_finish` (default 2) is how many status polls a job
takes to finish.
"""

from __future__ import annotations

import asyncio
import email.utils
import io
import math
import threading
import time
import uuid
import wave
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any

from tests.fakes.server import LoopbackServer, Request, Response

HTTP_FAULTS = {
    "rate_limit",
    "server_error",
    "unauthorized",
    "forbidden",
    "quota",
    "invalid",
    "content_policy",
    "malformed",
    "slow",
    "hang",
    "drop",
}
JOB_FAULTS = {"fail_job", "nsfw_job", "never_finish", "expire_results"}


# --- media -------------------------------------------------------------------------------


@cache
def png_bytes(width: int = 64, height: int = 64) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


@cache
def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = bytearray()
        for i in range(int(seconds * rate)):
            value = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
            frames += value.to_bytes(2, "little", signed=True)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


@cache
def mp4_bytes(frames: int = 8, fps: int = 8, size: int = 64) -> bytes:
    import av
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(frames):
            array = np.full((size, size, 3), (i * 30) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


MEDIA = {
    "image": ("png", "image/png", png_bytes),
    "video": ("mp4", "video/mp4", mp4_bytes),
    "audio": ("wav", "audio/wav", wav_bytes),
}


# --- faults and limits -------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    on: str
    times: int | None
    options: dict[str, Any]


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def set(self, kind: str, *, on: str = "submit", times: int | None = None, **options: Any):
        if kind not in HTTP_FAULTS | JOB_FAULTS:
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._faults.append(Fault(kind, on, times, options))
        return self

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, endpoint: str, kinds: set[str] = HTTP_FAULTS) -> Fault | None:
        """The first active fault for `endpoint`, spending one of its `times`."""
        with self._lock:
            for fault in self._faults:
                if fault.kind not in kinds:
                    continue
                if fault.kind in HTTP_FAULTS and fault.on not in (endpoint, "any"):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                return fault
        return None


class RateLimiter:
    """Fixed windows per (credential, kind); kind is "submit" or "poll"."""

    def __init__(self) -> None:
        self.submits: int | None = None
        self.polls: int | None = None
        self.window = 60.0
        self._counts: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def configure(
        self, *, submits: int | None = None, polls: int | None = None, window: float = 60.0
    ) -> None:
        with self._lock:
            self.submits, self.polls, self.window = submits, polls, window
            self._counts.clear()

    def check(self, credential: str, kind: str) -> float | None:
        """None if allowed (and counted), else seconds until the window resets."""
        limit = self.submits if kind == "submit" else self.polls
        if limit is None:
            return None
        now = time.monotonic()
        slot = int(now // self.window)
        with self._lock:
            key = (credential, kind, slot)
            if self._counts.get(key, 0) >= limit:
                return (slot + 1) * self.window - now
            self._counts[key] = self._counts.get(key, 0) + 1
        return None


# --- jobs --------------------------------------------------------------------------------


@dataclass
class FakeJob:
    id: str
    model: str
    kind: str  # image | video | audio
    body: Any
    count: int = 1
    polls: int = 0
    behaviour: str = "ok"  # ok | fail | nsfw | never
    message: str = ""
    cancelled: bool = False
    created: float = field(default_factory=time.time)
    files: list[str] = field(default_factory=list)
    credential: str = ""
    client_key: str = ""

    def state(self, polls_to_finish: int) -> str:
        if self.cancelled:
            return "cancelled"
        if self.behaviour == "never" or self.polls < polls_to_finish:
            return "queued" if self.polls == 0 else "running"
        if self.behaviour in ("fail", "nsfw"):
            return "failed"
        return "done"

    @property
    def progress(self) -> int:
        return min(90, 10 + 40 * self.polls)


@dataclass
class FakeFile:
    data: bytes
    mime: str
    created: float
    fetches: int = 0
    after_seconds: float | None = None
    after_fetches: int | None = None

    def expired(self) -> bool:
        if self.after_seconds is not None and time.time() - self.created > self.after_seconds:
            return True
        return self.after_fetches is not None and self.fetches >= self.after_fetches


class Disconnect(ConnectionResetError):
    """Raised inside a handler: the server closes the connection without an answer."""


class FakeUpstream:
    """Subclasses implement `route`, `authorized`, `credential_of` and `error`."""

    secret = "test-secret"
    default_fail_message = "The model failed to produce an output"
    nsfw_message = "NSFW content detected. Try a different prompt."

    def __init__(self, *, latency: float = 0.0, polls_to_finish: int = 2) -> None:
        self.server = LoopbackServer(self._handle, latency=latency)
        self.faults = Faults()
        self.limits = RateLimiter()
        self.polls_to_finish = polls_to_finish
        self.calls: Counter[str] = Counter()
        self.limited: Counter[str] = Counter()
        self.auth_seen: Counter[str] = Counter()
        self.submitted: list[Any] = []
        self.jobs: dict[str, FakeJob] = {}
        self.files: dict[str, FakeFile] = {}
        self.by_client_key: dict[str, str] = {}
        self._lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------
    def start(self):
        for _, _, make in MEDIA.values():  # encode once, before any request waits on it
            make()
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.server.url

    # --- hooks for subclasses -------------------------------------------------------------
    def route(self, request: Request) -> tuple[str, Any]:
        raise NotImplementedError

    def authorized(self, request: Request) -> bool:
        return self.credential_of(request) == self.secret

    def credential_of(self, request: Request) -> str:
        raise NotImplementedError

    def error(self, status: int, message: str, code: str = "") -> Response:
        return Response.json({"error": message, "code": code}, status)

    def fault_response(self, fault: Fault) -> Response:
        """The protocol's answer for quota / invalid / content_policy faults."""
        if fault.kind == "quota":
            return self.error(402, "Insufficient credits", "INSUFFICIENT_CREDITS")
        if fault.kind == "content_policy":
            return self.error(400, "The prompt was rejected by the safety system", "content_policy")
        return self.error(400, "Invalid parameter: prompt", "INVALID_FIELDS")

    # --- helpers for subclasses -----------------------------------------------------------
    def new_job(self, model: str, kind: str, body: Any, *, count: int = 1, **extra: Any) -> FakeJob:
        job = FakeJob(id=str(uuid.uuid4()), model=model, kind=kind, body=body, count=count, **extra)
        fault = self.faults.take("job", {"fail_job", "nsfw_job", "never_finish"})
        if fault is not None:
            job.behaviour = {"fail_job": "fail", "nsfw_job": "nsfw", "never_finish": "never"}[
                fault.kind
            ]
            job.message = fault.options.get("message", "")
        with self._lock:
            self.jobs[job.id] = job
            if job.client_key:
                self.by_client_key[job.client_key] = job.id
        return job

    def failure_message(self, job: FakeJob) -> str:
        if job.behaviour == "nsfw":
            return job.message or self.nsfw_message
        return job.message or self.default_fail_message

    def advance(self, job: FakeJob) -> str:
        """Count one status poll and return the job's state."""
        job.polls += 1
        return job.state(self.polls_to_finish)

    def result_urls(self, job: FakeJob) -> list[str]:
        """Files for a finished job, made once (each a fresh URL, honouring expiry faults)."""
        if not job.files:
            ext, mime, make = MEDIA[job.kind]
            expiry = self.faults.take("job", {"expire_results"})
            for i in range(job.count):
                name = f"{job.id}-{i}.{ext}"
                self.files[name] = FakeFile(
                    make(),
                    mime,
                    time.time(),
                    after_seconds=expiry.options.get("after_seconds") if expiry else None,
                    after_fetches=expiry.options.get("after_fetches") if expiry else None,
                )
                job.files.append(name)
        return [f"{self.url}/files/{name}" for name in job.files]

    def existing(self, request: Request) -> FakeJob | None:
        key = request.headers.get("idempotency-key", "")
        if key and key in self.by_client_key:
            return self.jobs[self.by_client_key[key]]
        return None

    # --- the server's handler -------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        path = request.path.split("?")[0]
        if request.method == "GET" and path.startswith("/files/"):
            return await self._file(path.removeprefix("/files/"))
        endpoint, handler = self.route(request)
        self.calls[endpoint] += 1
        credential = self.credential_of(request)
        self.auth_seen[credential] += 1
        if endpoint == "unknown":
            return self.error(404, "Not found", "NOT_FOUND")
        if not self.authorized(request):
            return self.error(401, "Invalid API key", "INVALID_API_KEY")
        bucket = (
            "submit"
            if endpoint == "submit"
            else "poll"
            if endpoint in ("status", "result")
            else None
        )
        if bucket is not None:
            wait = self.limits.check(credential, bucket)
            if wait is not None:
                self.limited[endpoint] += 1
                return self.rate_limited(max(1, math.ceil(wait)))
        fault = self.faults.take(endpoint)
        if fault is not None:
            return await self._apply(fault, request, handler)
        return handler(request)

    def rate_limited(self, retry_after: float, *, http_date: bool = False) -> Response:
        response = self.error(429, "Too many requests, please try again later", "RATE_LIMITED")
        if http_date:
            value = email.utils.formatdate(time.time() + retry_after, usegmt=True)
        else:
            value = str(int(retry_after) if float(retry_after).is_integer() else retry_after)
        response.headers["Retry-After"] = value
        return response

    async def _apply(self, fault: Fault, request: Request, handler: Any) -> Response:
        o = fault.options
        kind = fault.kind
        if kind == "rate_limit":
            return self.rate_limited(o.get("retry_after", 1), http_date=o.get("http_date", False))
        if kind == "server_error":
            return self.error(o.get("status", 500), "Internal server error", "GENERATION_ERROR")
        if kind == "unauthorized":
            return self.error(401, "Invalid API key", "INVALID_API_KEY")
        if kind == "forbidden":
            return self.error(403, "Forbidden", "FORBIDDEN")
        if kind in ("quota", "invalid", "content_policy"):
            return self.fault_response(fault)
        if kind == "malformed":
            return Response(200, b'{"request_id": "abc", "status": ', "application/json")
        if kind == "slow":
            await asyncio.sleep(o.get("delay", 0.5))
            return handler(request)
        if kind == "hang":
            response = handler(request) if o.get("process", True) else None
            await asyncio.sleep(o.get("delay", 30))
            return response or self.error(504, "Gateway timeout")
        if kind == "drop":
            if o.get("process", True):
                handler(request)
            raise Disconnect("dropped by fault")
        raise AssertionError(kind)

    async def _file(self, name: str) -> Response:
        self.calls["file"] += 1
        fault = self.faults.take("file")
        if fault is not None and fault.kind == "server_error":
            return Response(500, b"error", "text/plain")
        record = self.files.get(name)
        if record is None or record.expired():
            return Response(404, b"expired", "text/plain")
        record.fetches += 1
        return Response(200, record.data, record.mime)
