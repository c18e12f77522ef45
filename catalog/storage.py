"""Signed, expiring, absolute links to catalog images (products, cut-outs, DNA, moodboards).

The same scheme as generation results (generations/storage.py) under its own path and key
namespace: `/c/<image uuid>/<name>?e=<expiry>&s=<signature>`, where the signature covers
the image and the expiry. Anyone holding the link can fetch the file until it expires, as
the contract's media URLs require; nothing else about the image can be reached with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from django.conf import settings
from django.urls import reverse

from catalog.models import CatalogImage


def _key() -> bytes:
    return hashlib.sha256(b"studio.catalog-links:" + settings.SECRET_KEY.encode()).digest()


def _signature(image_uuid: str, expires: int) -> str:
    mac = hmac.new(_key(), f"{image_uuid}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def signed_path(image: CatalogImage, *, ttl: int | None = None) -> str:
    ttl = ttl or settings.STUDIO_MEDIA_URL_TTL
    # Rounded so pages rendered within a minute share one URL (and the browser's cache).
    expires = (int(time.time()) + ttl) // 60 * 60 + 60
    path = reverse("catalog_file", args=[image.uuid, Path(image.file.name or "image").name])
    return f"{path}?e={expires}&s={_signature(str(image.uuid), expires)}"


def signed_url(image: CatalogImage | None, *, ttl: int | None = None) -> str | None:
    if image is None:
        return None
    return settings.BASE_URL + signed_path(image, ttl=ttl)


def verify(image_uuid: str, expires: str | None, signature: str | None) -> bool:
    if not expires or not signature or not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(_signature(str(image_uuid), int(expires)), signature)


_OWN_LINK = re.compile(r"^/c/(?P<uuid>[0-9a-f-]{36})/[^/]+$")


def parse_own_link(url: str) -> str | None:
    """The image uuid when `url` is a valid, unexpired catalog link of this Studio."""
    parsed = urlparse(url)
    if parsed.netloc and parsed.netloc != urlparse(settings.BASE_URL).netloc:
        return None
    match = _OWN_LINK.match(parsed.path)
    if not match:
        return None
    query = parse_qs(parsed.query)
    if not verify(match["uuid"], query.get("e", [None])[0], query.get("s", [None])[0]):
        return None
    return match["uuid"]
