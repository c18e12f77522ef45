"""The one outbound-HTTP wrapper: timeouts per phase, a User-Agent, response size caps, and
private-address blocking for URLs that users supply (redirects are checked the same way).

Operator-configured upstream base URLs are trusted (they may be on a private network, e.g.
a vLLM box); URLs that arrive in a request body are not.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
from django.conf import settings

from studio.errors import InvalidFields, PayloadTooLarge

USER_AGENT = "Studio/0.1 (+self-hosted generative media)"
TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)
MAX_REDIRECTS = 5


# Worth another try later: the server is busy or broken for now, not the file gone.
TRANSIENT_STATUSES = frozenset({408, 425, 429})


class FetchFailed(InvalidFields):
    """A fetch that failed on the way (`transient`: a 5xx, 408/429, a timeout, a reset)
    rather than for what was asked (a 404, a 410, a refused address)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class BlockedAddress(InvalidFields):
    default_message = "That URL points to a private or reserved address"


def _parts(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or InvalidFields for anything malformed."""
    if any(ord(ch) < 32 or ch == "\x7f" for ch in url):
        raise InvalidFields("URLs may not contain control characters")
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        raise InvalidFields(f"Not a valid URL: {url[:100]}") from None
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise InvalidFields(f"Only http(s) URLs can be fetched: {url[:100]}")
    return parsed.scheme, parsed.hostname, port or (443 if parsed.scheme == "https" else 80)


def resolve_public(url: str) -> str | None:
    """The address to connect to for `url`, after checking that every address its host
    resolves to is public; None when private fetches are allowed (tests' loopback fakes)."""
    _, host, port = _parts(url)
    if settings.STUDIO_ALLOW_PRIVATE_FETCH:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise InvalidFields(f"Could not resolve the host of {url[:100]}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise BlockedAddress(
                f"{host} resolves to a private or reserved address; "
                "use a public URL or upload the file"
            )
    return str(addresses[0])


def check_public(url: str) -> None:
    """Raise unless `url` is http(s) and every address its host resolves to is public."""
    resolve_public(url)


# Set by a caller that times its upstream calls (the budgets, generations/budgets.py): called
# with no argument as each request of these clients is about to go out, it returns a callback
# that hears that request's transport events by name ("http11.send_request_body.complete",
# "http11.receive_response_headers.complete", …), as they happen.
on_send: ContextVar[Callable[[], Callable[[str], None]] | None] = ContextVar(
    "studio_http_on_send", default=None
)


def _heard(request: httpx.Request) -> Callable[[str], None] | None:
    start = on_send.get()
    return start() if start is not None else None


def _time_request(request: httpx.Request) -> None:
    heard = _heard(request)
    if heard is not None:
        # httpcore's trace extension: called with each step of sending and answering.
        request.extensions["trace"] = lambda name, info: heard(name)


async def _atime_request(request: httpx.Request) -> None:
    heard = _heard(request)
    if heard is not None:

        async def trace(name: str, info: object) -> None:
            heard(name)

        request.extensions["trace"] = trace


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~40 ms; one context per process serves every client.
    return httpx.create_ssl_context()


def client(**kwargs: object) -> httpx.Client:
    return httpx.Client(
        timeout=kwargs.pop("timeout", TIMEOUT),  # type: ignore[arg-type]
        headers={"User-Agent": USER_AGENT},
        event_hooks={"request": [_time_request]},
        follow_redirects=False,
        verify=_tls_context(),
        **kwargs,  # type: ignore[arg-type]
    )


def async_client(**kwargs: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=kwargs.pop("timeout", TIMEOUT),  # type: ignore[arg-type]
        headers={"User-Agent": USER_AGENT},
        event_hooks={"request": [_atime_request]},
        follow_redirects=False,
        verify=_tls_context(),
        **kwargs,  # type: ignore[arg-type]
    )


def light_async_client(*, connections: int, **kwargs: object) -> httpx.AsyncClient:
    """`async_client` on aiohttp's connection pool instead of httpcore's: the same httpx
    interface, timeouts, User-Agent, hooks and TLS context, for a few times less CPU per
    request (for the dispatcher's polls; bench/dispatcher.py). Answers are read whole: not
    for downloads."""
    return async_client(transport=AiohttpTransport(connections), **kwargs)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp session (made on first use, inside the loop)."""

    def __init__(self, connections: int) -> None:
        self.connections = connections
        self.session: Any = None

    def _session(self) -> Any:
        import aiohttp

        if self.session is None:
            trace = aiohttp.TraceConfig()
            trace.on_request_headers_sent.append(_aiohttp_written)
            trace.on_request_end.append(_aiohttp_answered)
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.connections, ssl=_tls_context(), enable_cleanup_closed=True
                ),
                auto_decompress=False,  # httpx decodes, as with its own transport
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                trace_configs=[trace],
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self.session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        limits = request.extensions.get("timeout", {})
        timeout = _aiohttp_timeout(limits.get("pool"), limits.get("connect"), limits.get("read"))
        body = await request.aread()
        heard = {"trace": request.extensions.get("trace"), "body": bool(body), "written": False}
        try:
            async with self._session().request(
                request.method,
                str(request.url),
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                ],
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
                trace_request_ctx=heard,
            ) as answer:
                content = await answer.read()
                return httpx.Response(
                    answer.status,
                    headers=[(k, v) for k, v in answer.raw_headers],
                    stream=httpx.ByteStream(content),
                    request=request,
                    extensions={"http_version": b"HTTP/1.1"},
                )
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
        except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


@functools.lru_cache(maxsize=32)
def _aiohttp_timeout(pool: float | None, connect: float | None, read: float | None) -> Any:
    import aiohttp

    return aiohttp.ClientTimeout(total=None, connect=pool, sock_connect=connect, sock_read=read)


async def _aiohttp_written(session: Any, context: Any, params: Any) -> None:
    heard = context.trace_request_ctx
    if heard and heard["trace"] is not None and not heard["body"]:
        heard["written"] = True
        await heard["trace"]("http11.send_request_body.complete", {})


async def _aiohttp_answered(session: Any, context: Any, params: Any) -> None:
    heard = context.trace_request_ctx
    if heard and heard["trace"] is not None:
        if not heard["written"]:  # a body's last byte: no later than its answer
            await heard["trace"]("http11.send_request_body.complete", {})
        await heard["trace"]("http11.receive_response_headers.complete", {})


def fetch_bytes(
    url: str, *, max_bytes: int, user_supplied: bool = True, time_limit: float = 60.0
) -> tuple[bytes, str]:
    """GET `url` and return (body, content type), refusing bodies over `max_bytes`.

    For user-supplied URLs every hop (redirects are followed by hand) is resolved once,
    checked, and connected to at exactly that address, so a DNS answer that changes between
    the check and the connection (rebinding) cannot reach a private host. The whole fetch
    must finish within `time_limit` seconds.
    """
    chunks: list[bytes] = []
    content_type = _fetch(
        url,
        chunks.append,
        max_bytes=max_bytes,
        user_supplied=user_supplied,
        time_limit=time_limit,
    )
    return b"".join(chunks), content_type


def fetch_to_file(
    url: str,
    destination: Path,
    *,
    max_bytes: int,
    user_supplied: bool = True,
    time_limit: float = 60.0,
    on_progress: Callable[[int], None] | None = None,
) -> str:
    """GET `url` into the file `destination` chunk by chunk and return its content type.

    The same policy as `fetch_bytes` (pinned DNS, private addresses, redirects, `max_bytes`,
    `time_limit`), but the body never sits in memory: a 2 GB video costs one chunk of RAM.
    `on_progress(bytes so far)` is called after each chunk (the caller can keep a lease alive
    or stop the download by raising). A failed download leaves no partial file behind.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(destination, "wb") as handle:

            def write(chunk: bytes) -> None:
                handle.write(chunk)
                if on_progress is not None:
                    on_progress(handle.tell())

            return _fetch(
                url,
                write,
                max_bytes=max_bytes,
                user_supplied=user_supplied,
                time_limit=time_limit,
            )
    except BaseException:
        destination.unlink(missing_ok=True)
        raise


def _fetch(
    url: str,
    sink: Callable[[bytes], object],
    *,
    max_bytes: int,
    user_supplied: bool,
    time_limit: float,
) -> str:
    """Follow `url` (by hand, checking every hop) and hand each chunk of the body to `sink`;
    the final response's content type."""
    started = time.monotonic()
    with client() as http:
        for _ in range(MAX_REDIRECTS + 1):
            target, headers, extensions = _pinned(url) if user_supplied else (url, {}, {})
            try:
                with http.stream("GET", target, headers=headers, extensions=extensions) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    if response.status_code >= 400:
                        raise FetchFailed(
                            f"Fetching {url[:100]} failed with HTTP {response.status_code}",
                            transient=response.status_code in TRANSIENT_STATUSES
                            or response.status_code >= 500,
                        )
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise PayloadTooLarge(f"The file at {url[:100]} is over {max_bytes} bytes")
                    total = 0
                    for chunk in response.iter_bytes():
                        total += len(chunk)
                        if total > max_bytes:
                            raise PayloadTooLarge(
                                f"The file at {url[:100]} is over {max_bytes} bytes"
                            )
                        if time.monotonic() - started > time_limit:
                            raise InvalidFields(f"Fetching {url[:100]} took too long")
                        sink(chunk)
                    return response.headers.get("content-type", "").split(";")[0]
            except httpx.TransportError as exc:  # timeouts, refused, reset, cut short
                raise FetchFailed(
                    f"Could not fetch {url[:100]}: {exc.__class__.__name__}", transient=True
                ) from None
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                raise InvalidFields(
                    f"Could not fetch {url[:100]}: {exc.__class__.__name__}"
                ) from None
        raise InvalidFields(f"Too many redirects fetching {url[:100]}")


def _pinned(url: str) -> tuple[str, dict[str, str], dict[str, object]]:
    """(URL to connect to, extra headers, extensions) for a user-supplied `url`: its host
    resolved once, checked, and connected to at exactly that address (no DNS rebinding)."""
    pinned = resolve_public(url)
    if pinned is None:
        return url, {}, {}
    scheme, host, port = _parts(url)
    parsed = urlparse(url)
    literal = f"[{pinned}]" if ":" in pinned else pinned
    extensions: dict[str, object] = {"sni_hostname": host} if scheme == "https" else {}
    headers = {"Host": parsed.netloc.rsplit("@", 1)[-1]}
    return parsed._replace(netloc=f"{literal}:{port}").geturl(), headers, extensions


def post_bytes(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    user_supplied: bool = True,
    timeout: float = 15.0,
    max_response_bytes: int = 64 * 1024,
) -> httpx.Response:
    """POST `body` to `url` once, without following redirects; the response with at most
    `max_response_bytes` of its body read (outbound deliveries keep only an excerpt).

    User-supplied URLs get `fetch_bytes`'s policy: private addresses refused (BlockedAddress),
    DNS pinned. Transport failures and timeouts raise httpx errors for the caller to retry.
    """
    target, extra, extensions = _pinned(url) if user_supplied else (url, {}, {})
    limits = httpx.Timeout(timeout, connect=min(5.0, timeout))
    with client(timeout=limits) as http:
        request = http.build_request(
            "POST", target, content=body, headers={**headers, **extra}, extensions=extensions
        )
        response = http.send(request, stream=True)
        try:
            received = bytearray()
            for chunk in response.iter_bytes():
                received.extend(chunk)
                if len(received) >= max_response_bytes:
                    break
        finally:
            response.close()
    response._content = bytes(received[:max_response_bytes])
    return response


def get_once(
    url: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    user_supplied: bool = True,
    timeout: float = 15.0,
    max_response_bytes: int = 1024 * 1024,
) -> httpx.Response:
    """GET `url` once, without following redirects; the response with at most
    `max_response_bytes` of its body (an API's JSON answer, error bodies included).

    The same address policy as `post_bytes`; transport failures raise httpx errors.
    """
    target, extra, extensions = _pinned(url) if user_supplied else (url, {}, {})
    limits = httpx.Timeout(timeout, connect=min(5.0, timeout))
    with client(timeout=limits) as http:
        request = http.build_request(
            "GET",
            target,
            params=params,
            headers={**(headers or {}), **extra},
            extensions=extensions,
        )
        response = http.send(request, stream=True)
        try:
            received = bytearray()
            for chunk in response.iter_bytes():
                received.extend(chunk)
                if len(received) > max_response_bytes:
                    raise PayloadTooLarge(f"The answer from {url[:100]} is too large")
        finally:
            response.close()
    response._content = bytes(received)
    return response
