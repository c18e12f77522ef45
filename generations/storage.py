"""Where results live and how they are handed out: signed, expiring, absolute URLs.

A link is `/m/<asset uuid>/<file|thumb>/<name>?e=<expiry>&s=<signature>`; the signature
covers the asset, the variant and the expiry, so a link cannot be altered to reach another
team's file, and it stops working after STUDIO_MEDIA_URL_TTL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from django.conf import settings
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.http import http_date

VARIANTS = ("file", "thumb")


def _key() -> bytes:
    return hashlib.sha256(b"studio.media-links:" + settings.SECRET_KEY.encode()).digest()


def _signature(asset_uuid: str, variant: str, expires: int) -> str:
    mac = hmac.new(_key(), f"{asset_uuid}:{variant}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def signed_path(asset_uuid: str, variant: str, filename: str, *, ttl: int | None = None) -> str:
    ttl = ttl or settings.STUDIO_MEDIA_URL_TTL
    # Round the expiry so pages re-rendered within a minute share one URL (browser cache).
    expires = (int(time.time()) + ttl) // 60 * 60 + 60
    path = reverse("media_file", args=[asset_uuid, variant, filename])
    return f"{path}?e={expires}&s={_signature(str(asset_uuid), variant, expires)}"


def signed_url(asset_uuid: str, variant: str, filename: str, *, ttl: int | None = None) -> str:
    return settings.BASE_URL + signed_path(asset_uuid, variant, filename, ttl=ttl)


def verify(asset_uuid: str, variant: str, expires: str | None, signature: str | None) -> bool:
    if variant not in VARIANTS or not expires or not signature or not expires.isdigit():
        return False
    if int(expires) < time.time():
        return False
    return hmac.compare_digest(_signature(str(asset_uuid), variant, int(expires)), signature)


_OWN_LINK = re.compile(r"^/m/(?P<uuid>[0-9a-f-]{36})/(?P<variant>file|thumb)/[^/]+$")


def parse_own_link(url: str) -> tuple[str, str] | None:
    """(asset uuid, variant) when `url` is a valid, unexpired Studio media link."""
    parsed = urlparse(url)
    base = urlparse(settings.BASE_URL)
    if parsed.netloc and parsed.netloc != base.netloc:
        return None
    match = _OWN_LINK.match(parsed.path)
    if not match:
        return None
    query = parse_qs(parsed.query)
    expires, sig = query.get("e", [None])[0], query.get("s", [None])[0]
    if not verify(match["uuid"], match["variant"], expires, sig):
        return None
    return match["uuid"], match["variant"]


def _read_range(path: Path, start: int, length: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(chunk, length))
            if not data:
                return
            length -= len(data)
            yield data


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def ranged_file_response(
    request: HttpRequest, path: Path, content_type: str, *, download_name: str | None = None
) -> HttpResponseBase:
    """Serve a file with single-range support, so audio and video seek in every browser."""
    size = os.path.getsize(path)
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=3600",
        "Last-Modified": http_date(os.path.getmtime(path)),
        "X-Content-Type-Options": "nosniff",
    }
    if download_name:
        headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
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
            _read_range(path, start, length), status=206, content_type=content_type, headers=headers
        )
        partial["Content-Range"] = f"bytes {start}-{end}/{size}"
        partial["Content-Length"] = str(length)
        return partial
    file_response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115
    for name, value in headers.items():
        file_response[name] = value
    return file_response


def asset_urls(asset: object, *, ttl: int | None = None) -> dict[str, str | None]:
    """Absolute signed links to an asset's file and thumbnail (None when it has none)."""
    uuid = str(asset.uuid)  # type: ignore[attr-defined]
    name = Path(asset.file.name).name  # type: ignore[attr-defined]
    thumb = asset.thumbnail  # type: ignore[attr-defined]
    return {
        "url": signed_url(uuid, "file", name, ttl=ttl),
        "thumbnail_url": signed_url(uuid, "thumb", Path(thumb.name).name, ttl=ttl)
        if thumb and thumb.name
        else None,
    }
