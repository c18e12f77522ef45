"""A small asyncio HTTP/1.1 server on 127.0.0.1 with programmable routes and latency.

It runs its own event loop in a thread, so thousands of concurrent requests cost nothing,
and it counts what it received (requests per path, peak concurrency) for assertions.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    # A streamed body (Server-Sent Events): sent with chunked transfer encoding as it comes.
    stream: AsyncIterator[bytes] | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Response:
        return cls(status, json.dumps(data).encode(), "application/json", headers)


Handler = Callable[[Request], Awaitable[Response] | Response]

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    404: "Not Found",
    429: "Too Many",
    500: "Error",
}


class LoopbackServer:
    def __init__(self, handler: Handler, latency: float = 0.0) -> None:
        self.handler = handler
        self.latency = latency
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            if self._server:
                self._server.close()
            # Handlers still sleeping (slow or hanging fakes) end here, not at interpreter exit.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                self.hits[f"{method} {path.split('?')[0]}"] += 1
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                try:
                    if self.latency:
                        await asyncio.sleep(self.latency)
                    result = self.handler(Request(method, path, headers, body))
                    response = await result if asyncio.iscoroutine(result) else result
                finally:
                    self.in_flight -= 1
                assert isinstance(response, Response)
                length = (
                    "Transfer-Encoding: chunked"
                    if response.stream is not None
                    else f"Content-Length: {len(response.body)}"
                )
                head = [
                    f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'OK')}",
                    f"Content-Type: {response.content_type}",
                    length,
                    *(f"{k}: {v}" for k, v in response.headers.items()),
                ]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + response.body)
                await writer.drain()
                if response.stream is not None:
                    async for chunk in response.stream:
                        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        await writer.drain()
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            return  # CancelledError: the server is stopping
        finally:
            writer.close()
