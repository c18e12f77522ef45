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
from urllib.parse import urljoin, urlparse

import httpx
from django.conf import settings

from studio.errors import InvalidFields, PayloadTooLarge

USER_AGENT = "Studio/0.1 (+self-hosted generative media)"
TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)
MAX_REDIRECTS = 5


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
    if getattr(settings, "STUDIO_ALLOW_PRIVATE_FETCH", False):
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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~40 ms; one context per process serves every client.
    return httpx.create_ssl_context()


def client(**kwargs: object) -> httpx.Client:
    return httpx.Client(
        timeout=kwargs.pop("timeout", TIMEOUT),  # type: ignore[arg-type]
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        verify=_tls_context(),
        **kwargs,  # type: ignore[arg-type]
    )


def async_client(**kwargs: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=kwargs.pop("timeout", TIMEOUT),  # type: ignore[arg-type]
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        verify=_tls_context(),
        **kwargs,  # type: ignore[arg-type]
    )


def fetch_bytes(
    url: str, *, max_bytes: int, user_supplied: bool = True, time_limit: float = 60.0
) -> tuple[bytes, str]:
    """GET `url` and return (body, content type), refusing bodies over `max_bytes`.

    For user-supplied URLs every hop (redirects are followed by hand) is resolved once,
    checked, and connected to at exactly that address, so a DNS answer that changes between
    the check and the connection (rebinding) cannot reach a private host. The whole fetch
    must finish within `time_limit` seconds.
    """
    started = time.monotonic()
    with client() as http:
        for _ in range(MAX_REDIRECTS + 1):
            target, headers, extensions = url, {}, {}
            if user_supplied:
                pinned = resolve_public(url)
                if pinned is not None:
                    scheme, host, port = _parts(url)
                    parsed = urlparse(url)
                    literal = f"[{pinned}]" if ":" in pinned else pinned
                    target = parsed._replace(netloc=f"{literal}:{port}").geturl()
                    headers["Host"] = parsed.netloc.rsplit("@", 1)[-1]
                    if scheme == "https":
                        extensions["sni_hostname"] = host
            try:
                with http.stream("GET", target, headers=headers, extensions=extensions) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    if response.status_code >= 400:
                        raise InvalidFields(
                            f"Fetching {url[:100]} failed with HTTP {response.status_code}"
                        )
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise PayloadTooLarge(f"The file at {url[:100]} is over {max_bytes} bytes")
                    chunks, total = [], 0
                    for chunk in response.iter_bytes():
                        total += len(chunk)
                        if total > max_bytes:
                            raise PayloadTooLarge(
                                f"The file at {url[:100]} is over {max_bytes} bytes"
                            )
                        if time.monotonic() - started > time_limit:
                            raise InvalidFields(f"Fetching {url[:100]} took too long")
                        chunks.append(chunk)
                    content_type = response.headers.get("content-type", "").split(";")[0]
                    return b"".join(chunks), content_type
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                raise InvalidFields(
                    f"Could not fetch {url[:100]}: {exc.__class__.__name__}"
                ) from None
        raise InvalidFields(f"Too many redirects fetching {url[:100]}")
