"""The one reader of user-supplied image sources, for generation inputs and catalog uploads.

A source is a base64 data: URL, a link to one of Studio's own files (a signed `/m/…` or
`/c/…` link, or a lasting `studio-asset:` reference), or a public http(s) URL fetched
through the outbound wrapper (private addresses blocked, the size capped while
downloading). Which team may read an own link is decided by the app that owns the kind of
link: it registers a reader here when it starts (`register_owner`), so this module needs
to know no app.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from studio import images
from studio.media import LinkKind, OwnLink, parse_own_link

# (the link, the team asking, what the source is called in errors) -> (bytes, file name)
OwnerReader = Callable[[OwnLink, Any, str], tuple[bytes, str]]

_owners: dict[str, OwnerReader] = {}


def register_owner(kind: LinkKind, reader: OwnerReader) -> None:
    """Let `reader` answer for links of `kind` (an app calls this from its ready())."""
    _owners[kind.name] = reader


def read_image_url(url: Any, team: Any, what: str = "image_url") -> tuple[bytes, str]:
    """The bytes behind an image source, and a file name hint ("" when there is none).

    Raises InvalidFields for a malformed source or another team's link, PayloadTooLarge
    for a source over the image byte limit (a data: URL before it is decoded).
    """
    from studio.errors import InvalidFields
    from studio.http import fetch_bytes

    if not isinstance(url, str) or not url.strip():
        raise InvalidFields(f"{what} must be a URL or a base64 data URL")
    url = url.strip()
    limit = images.max_bytes()
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        if ";base64" not in header:
            raise InvalidFields(f"{what}: data URLs must be base64-encoded")
        if len(payload) * 3 // 4 > limit + 3:  # refuse before decoding
            images.check_size(len(payload) * 3 // 4, f"The image in {what}")
        try:
            data = base64.b64decode(payload, validate=True)
        except ValueError:
            raise InvalidFields(f"{what} is not valid base64") from None
        images.check_size(len(data), f"The image in {what}")
        return data, ""
    own = parse_own_link(url)
    if own is not None:
        reader = _owners.get(own.kind.name)
        if reader is None:
            raise InvalidFields(f"{what}: that link cannot be read here")
        return reader(own, team, what)
    data, _ = fetch_bytes(url, max_bytes=limit, user_supplied=True)
    return data, PurePath(url.split("?")[0]).name
