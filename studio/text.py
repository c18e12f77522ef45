"""One rule for every text a client sends: no NUL characters, no unpaired surrogates.

PostgreSQL refuses both (a 500 where it reaches the database) and SQLite stores them as
is, so they are refused at the door with 400 INVALID_FIELDS, naming the field:

- `RefuseBadTextMiddleware` checks every request's query string, JSON body and url-encoded
  form body, whatever view or API handler reads them later (and however: a schema,
  `json.loads(request.body)`, `request.POST.get`).
- Multipart bodies of pages are checked too (CSRF parses them anyway); the API's are parsed
  by the view that owns their size limit, which calls `check_querydict(request.POST)` once
  parsed (catalog uploads).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.datastructures import MultiValueDict

from studio.api.errors import error_response
from studio.errors import InvalidFields

# A lone surrogate is the only way one survives JSON decoding (a valid pair becomes one
# code point); UTF-8 form bodies cannot carry them at all.
_BAD = re.compile("[\x00\ud800-\udfff]")
REASON = "may not contain NUL characters or unpaired surrogates"


def bad_field(value: Any, path: str = "") -> str | None:
    """The path ("a.b.0") of the first string in `value`, or key, holding a refused
    character; None when all is clean."""
    if isinstance(value, str):
        return (path or "body") if _BAD.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _BAD.search(key):
                return path or "body"
            found = bad_field(item, name)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = bad_field(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def check_querydict(data: MultiValueDict) -> None:
    """Raise InvalidFields naming the first refused field of a query string or form."""
    for key, values in data.lists():
        if _BAD.search(key) or bad_field([v for v in values if isinstance(v, str)]):
            raise InvalidFields.about(key, REASON)


def _json_bad_field(body: bytes) -> str | None:
    # Either character can only be spelled as a \u escape in valid JSON: skip the second
    # decode for the bodies that have none (most, and every large base64 upload).
    if b"\\u" not in body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None  # the reader of the body says what is wrong with it
    return bad_field(data)


def check_request(request: HttpRequest) -> None:
    check_querydict(request.GET)
    content_type = request.content_type or ""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    try:
        if content_type == "application/json" or content_type.endswith("+json"):
            found = _json_bad_field(request.body)
            if found:
                raise InvalidFields.about(found, REASON)
        elif content_type == "application/x-www-form-urlencoded" or (
            # Pages' forms: CSRF parses these bodies anyway. API uploads are parsed by
            # their view, after its size check.
            content_type == "multipart/form-data" and not request.path.startswith("/api/")
        ):
            check_querydict(request.POST)
    except (RequestDataTooBig, MultiPartParserError):
        return  # the view reports the size or the broken body, as it would have


class RefuseBadTextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_request(request)
        except InvalidFields as exc:
            if request.path.startswith("/api/"):
                return error_response(exc, request)
            return HttpResponseBadRequest(
                f"{exc.message}.".encode(), content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)
