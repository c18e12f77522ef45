"""Studio's own media links and file serving, shared by every app that stores files.

A link is a path with an expiry and a signature: `/m/<asset uuid>/<file|thumb>/<name>` for a
generation's result, `/c/<image uuid>/<name>` for a catalog image, each followed by
`?e=<expiry>&s=<signature>`. One signing scheme serves every kind of link; each kind has its
own key namespace, so a signature made for one kind never verifies as another. The signature
covers the object, the variant (when the kind has variants) and the expiry: a link cannot be
altered to reach another file, and it stops working after STUDIO_MEDIA_URL_TTL. The name at
the end is not signed (it only makes a download look right).

A kind also has a lasting reference (`studio-asset:<uuid>/<variant>`): what a queued job keeps
instead of a signed link that may expire before the job reads it.

This module knows no app: it signs, parses and serves; which objects a link reaches is the
business of the app that registers an owner for its kind (studio/inputs.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.http import http_date


@dataclass(frozen=True)
class LinkKind:
    """One kind of signed link: its key namespace, URL name, path shape and variants."""

    name: str
    # Part of the key's derivation string: changing it would invalidate every link out there.
    namespace: bytes
    url_name: str
    path_pattern: re.Pattern[str]
    variants: tuple[str, ...] = ()
    # The prefix of the lasting reference (`<scheme>:<uuid>[/<variant>]`), if the kind has one.
    scheme: str = ""

    def key(self) -> bytes:
        return hashlib.sha256(self.namespace + b":" + settings.SECRET_KEY.encode()).digest()


ASSET_LINKS = LinkKind(
    name="asset",
    namespace=b"studio.media-links",
    url_name="media_file",
    path_pattern=re.compile(r"^/m/(?P<uuid>[0-9a-f-]{36})/(?P<variant>file|thumb)/[^/]+$"),
    variants=("file", "thumb"),
    scheme="studio-asset",
)
CATALOG_LINKS = LinkKind(
    name="catalog",
    namespace=b"studio.catalog-links",
    url_name="catalog_file",
    path_pattern=re.compile(r"^/c/(?P<uuid>[0-9a-f-]{36})/[^/]+$"),
)
KINDS = (ASSET_LINKS, CATALOG_LINKS)


@dataclass(frozen=True)
class OwnLink:
    """What a valid Studio link (or lasting reference) points at."""

    kind: LinkKind
    uuid: str
    variant: str = ""

    @property
    def reference(self) -> str:
        """The lasting form of the link (for a kind without one: empty)."""
        if not self.kind.scheme:
            return ""
        suffix = f"/{self.variant}" if self.variant else ""
        return f"{self.kind.scheme}:{self.uuid}{suffix}"


def _signature(kind: LinkKind, uuid: str, variant: str, expires: int) -> str:
    subject = f"{uuid}:{variant}" if kind.variants else uuid
    mac = hmac.new(kind.key(), f"{subject}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def signed_path(
    kind: LinkKind, uuid: str, filename: str, *, variant: str = "", ttl: int | None = None
) -> str:
    """A relative signed link (pages use these, so they work behind any host name)."""
    ttl = ttl or settings.STUDIO_MEDIA_URL_TTL
    # Round the expiry so pages re-rendered within a minute share one URL (browser cache).
    expires = (int(time.time()) + ttl) // 60 * 60 + 60
    args = [uuid, variant, filename] if kind.variants else [uuid, filename]
    path = reverse(kind.url_name, args=args)
    return f"{path}?e={expires}&s={_signature(kind, str(uuid), variant, expires)}"


def signed_url(
    kind: LinkKind, uuid: str, filename: str, *, variant: str = "", ttl: int | None = None
) -> str:
    """An absolute signed link (API answers and webhooks carry these)."""
    return settings.BASE_URL + signed_path(kind, uuid, filename, variant=variant, ttl=ttl)


def verify(
    kind: LinkKind, uuid: str, variant: str, expires: str | None, signature: str | None
) -> bool:
    if kind.variants and variant not in kind.variants:
        return False
    if not expires or not signature or not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(_signature(kind, str(uuid), variant, int(expires)), signature)


def parse_own_link(url: str) -> OwnLink | None:
    """What `url` points at when it is a valid, unexpired Studio link of any kind, or a
    lasting reference (`studio-asset:<uuid>/<variant>`); None for anything else."""
    for kind in KINDS:
        if kind.scheme and url.startswith(f"{kind.scheme}:"):
            uuid, _, variant = url.removeprefix(f"{kind.scheme}:").partition("/")
            return OwnLink(kind, uuid, variant)
    parsed = urlparse(url)
    if parsed.netloc and parsed.netloc != urlparse(settings.BASE_URL).netloc:
        return None
    query = parse_qs(parsed.query)
    expires, signature = query.get("e", [None])[0], query.get("s", [None])[0]
    for kind in KINDS:
        match = kind.path_pattern.match(parsed.path)
        if match is None:
            continue
        variant = match["variant"] if kind.variants else ""
        if not verify(kind, match["uuid"], variant, expires, signature):
            return None
        return OwnLink(kind, match["uuid"], variant)
    return None


# --- serving -----------------------------------------------------------------------------------
# Stored files are read only through Django's storage API (local disk or S3 alike). A store
# that hands out its own short-lived URLs (S3) is not proxied: after Studio checked its own
# link, the answer is a redirect to a presigned URL for that one object.


def stored_file_response(
    request: HttpRequest, name: str, content_type: str, *, download_name: str | None = None
) -> HttpResponseBase:
    """Serve the stored file `name` to a caller whose Studio link was verified: a redirect to
    a presigned URL on S3, otherwise the bytes with single-range support. Http404 when the
    file is gone."""
    presigned = presigned_url(name, content_type, download_name=download_name)
    if presigned is not None:
        redirect = HttpResponseRedirect(presigned)
        # The presigned URL dies in minutes: the redirect must not outlive it in a cache.
        redirect["Cache-Control"] = "private, no-store"
        return redirect
    return ranged_file_response(request, name, content_type, download_name=download_name)


def _attachment(download_name: str) -> str:
    return f'attachment; filename="{download_name}"'


def presigned_url(
    name: str,
    content_type: str,
    *,
    download_name: str | None = None,
    storage: Storage | None = None,
) -> str | None:
    """A short-lived URL at the store itself for `name`, or None for stores that have none
    (local disk). The URL answers with `content_type` and, for a download, its file name."""
    storage = storage or default_storage
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency
        return None
    if not isinstance(storage, S3Storage):
        return None
    parameters = {"ResponseContentType": content_type}
    if download_name:
        parameters["ResponseContentDisposition"] = _attachment(download_name)
    return str(storage.url(name, parameters=parameters, expire=settings.STUDIO_S3_PRESIGNED_TTL))


def _read_range(
    storage: Storage, name: str, start: int, length: int, chunk: int = 256 * 1024
) -> Iterator[bytes]:
    with storage.open(name, "rb") as handle:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(chunk, length))
            if not data:
                return
            length -= len(data)
            yield data


def _last_modified(storage: Storage, name: str) -> str | None:
    try:
        return http_date(storage.get_modified_time(name).timestamp())
    except (NotImplementedError, OSError):
        return None


# At most 18 digits (any real file fits): a longer number is no range we can serve and is
# ignored (the whole file), never a 500 from int() on thousands of digits.
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")


def ranged_file_response(
    request: HttpRequest,
    name: str,
    content_type: str,
    *,
    download_name: str | None = None,
    storage: Storage | None = None,
) -> HttpResponseBase:
    """Serve a stored file with single-range support, so audio and video seek in every
    browser. Reads through the storage API; Http404 when the file is not there."""
    storage = storage or default_storage
    try:
        size = storage.size(name)
    except (FileNotFoundError, OSError):
        raise Http404 from None
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    modified = _last_modified(storage, name)
    if modified:
        headers["Last-Modified"] = modified
    if download_name:
        headers["Content-Disposition"] = _attachment(download_name)
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match[1] or match[2]):
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        else:  # suffix range: the last N bytes
            start, end = max(size - int(match[2]), 0), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}"})
            return response
        length = end - start + 1
        partial = StreamingHttpResponse(
            _read_range(storage, name, start, length),
            status=206,
            content_type=content_type,
            headers=headers,
        )
        partial["Content-Range"] = f"bytes {start}-{end}/{size}"
        partial["Content-Length"] = str(length)
        return partial
    try:
        handle = storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    file_response = FileResponse(handle, content_type=content_type)
    for header, value in headers.items():
        file_response[header] = value
    file_response["Content-Length"] = str(size)
    return file_response
