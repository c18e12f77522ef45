"""The one place errors become the contract's envelope: {"success": false, "error", "code"}.

Services raise `studio.errors.StudioError` subclasses; ninja's own errors (validation, body
parsing, authentication) and anything unexpected are translated here too, so no API
response is ever an HTML page or a bare 500 for bad input.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from studio.errors import (
    Forbidden,
    InsufficientCredits,
    InvalidApiKey,
    InvalidFields,
    MissingFields,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    StudioError,
)

log = logging.getLogger(__name__)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "error": message, "code": code}


def error_response(exc: StudioError, request: HttpRequest | None = None) -> HttpResponse:
    status = exc.status
    if isinstance(exc, InsufficientCredits) and getattr(request, "studio_dialect", "") == "krev":
        status = 402  # Krev's table says 402; Kolbo's says 400
    body = error_body(exc.code, exc.message)
    if isinstance(exc, RateLimited):
        # The contract's 429 body carries Kolbo's {"status", "message"} too.
        body.update(status=False, message=exc.message)
    response = JsonResponse(body, status=status)
    if isinstance(exc, RateLimited | ServiceUnavailable):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    # ninja prefixes the location ("body", "query", …) and the parameter name
    # ("payload"); the client only knows the field path.
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "form", "file", "cookie"):
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in ("payload", "data", "body", "filters", "params"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_error(errors: list[dict[str, Any]]) -> StudioError:
    """Turn pydantic/ninja errors into MISSING_FIELDS or INVALID_FIELDS naming the fields."""
    missing = [_field_name(e.get("loc", ())) for e in errors if e.get("type") == "missing"]
    if missing:
        unique = tuple(dict.fromkeys(missing))
        return MissingFields(
            f"Missing required field{'s' if len(missing) > 1 else ''}: {', '.join(unique)}",
            fields=unique,
        )
    details = []
    fields = []
    for error in errors:
        loc = error.get("loc", ())
        if error.get("type") in ("model_attributes_type", "dict_type") and len(loc) <= 2:
            return InvalidFields("The request body must be a JSON object")
        if error.get("type") == "json_invalid":
            return InvalidFields("The request body is not valid JSON")
        fields.append(_field_name(loc))
        details.append(f"'{fields[-1]}': {error.get('msg', 'invalid value')}")
    return InvalidFields(
        "Invalid field " + "; ".join(dict.fromkeys(details)), field=next(iter(fields), None)
    )


def install(api: NinjaAPI) -> None:
    @api.exception_handler(StudioError)
    def studio_error(request: HttpRequest, exc: StudioError) -> HttpResponse:
        return error_response(exc, request)

    @api.exception_handler(ValidationError)
    def invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error_response(validation_error(list(exc.errors)), request)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(InvalidApiKey(), request)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        body_error = getattr(request, "_studio_body_error", None)
        if body_error:
            return error_response(InvalidFields(body_error), request)
        return error_response(from_status(exc.status_code, exc.message), request)

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        from django.core.exceptions import RequestDataTooBig
        from django.http import Http404

        if isinstance(exc, Http404):
            return error_response(NotFound(), request)
        if isinstance(exc, RequestDataTooBig):
            return error_response(PayloadTooLarge(), request)
        if isinstance(exc, OperationalError | InterfaceError):
            # Out of connections (PostgreSQL's max_connections, the pool's timeout) or a
            # locked database: the request's transaction rolled back, so a retry is safe.
            log.warning("database unavailable in %s %s: %s", request.method, request.path, exc)
            return error_response(ServiceUnavailable(), request)
        log.exception("unhandled error in %s %s", request.method, request.path)
        return JsonResponse(error_body("INTERNAL_ERROR", "Internal server error"), status=500)


def from_status(status: int, message: str = "") -> StudioError:
    """A StudioError for a bare HTTP status (ninja's HttpError, Django's error pages)."""
    if status == 400:
        return InvalidFields(message or "Bad request")
    if status == 401:
        return InvalidApiKey()
    if status == 403:
        return Forbidden(message or None)
    if status == 404:
        return NotFound(message or None)
    if status == 413:
        return PayloadTooLarge()
    error = StudioError(message or "Request failed", status=status)
    error.code = {405: "METHOD_NOT_ALLOWED"}.get(status, "INTERNAL_ERROR")
    return error


class JsonObjectParser(Parser):
    """Bodies must be a JSON object sent as application/json; say which rule was broken.

    ninja wraps any parser exception into "Cannot parse request body"; the precise reason
    is left on the request for `http_error` to report.
    """

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        content_type = request.content_type or ""
        if content_type != "application/json" and not content_type.endswith("+json"):
            request._studio_body_error = (  # type: ignore[attr-defined]
                f"Send the body as JSON with Content-Type: application/json "
                f"(got {content_type or 'no content type'})"
            )
            raise ValueError("wrong content type")
        try:
            data = json.loads(request.body)
        except ValueError:
            request._studio_body_error = "The request body is not valid JSON"  # type: ignore[attr-defined]
            raise
        if not isinstance(data, dict):
            request._studio_body_error = "The request body must be a JSON object"  # type: ignore[attr-defined]
            raise ValueError("not an object")
        return data
