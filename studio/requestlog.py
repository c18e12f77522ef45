"""One log line per request, with the ids an operator searches by.

The line (logger `studio.requests`) carries `method`, `path`, `status`, `duration_ms`,
`request_id` and, when the request already resolved them, `user_id`, `team_id` and
`api_key_id`; with STUDIO_LOG_FORMAT=json each is a field of its own. Resolving the user is
never done for the log: a request that did not read its session does not read it here.

The request id is the proxy's `X-Request-ID` when it sent a sane one, else a new one; it is
returned in the response's `X-Request-ID` and added to every other line logged while the
request runs (`RequestIdFilter`), so a traceback can be tied to its request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

log = logging.getLogger("studio.requests")

_request_id: ContextVar[str | None] = ContextVar("studio_request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes call these every few seconds; their lines are debug-level noise.
_QUIET_PATHS = ("/healthz", "/metrics")


class RequestIdFilter(logging.Filter):
    """Stamp the current request's id on records logged while it runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _request_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


def _callers_ids(request: HttpRequest) -> dict[str, int]:
    ids: dict[str, int] = {}
    # Ninja's `request.auth`: an issued API key (public API) or a user (access tokens).
    auth = getattr(request, "auth", None)
    if auth is not None and hasattr(auth, "team_id") and hasattr(auth, "user_id"):
        ids = {"api_key_id": auth.pk, "team_id": auth.team_id, "user_id": auth.user_id}
    elif auth is not None and hasattr(auth, "is_authenticated"):
        ids["user_id"] = auth.pk
    # The dashboard's team (studio.accounts.access) and a user the request already loaded
    # (AuthenticationMiddleware caches it here once something asked for `request.user`).
    team = getattr(request, "team", None)
    if team is not None and "team_id" not in ids:
        ids["team_id"] = team.pk
    user = request.__dict__.get("_cached_user")
    if user is not None and user.is_authenticated and "user_id" not in ids:
        ids["user_id"] = user.pk
    return ids


class RequestLogMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        if self.is_async:
            return self._async_call(request)
        started, token = self._start(request)
        try:
            response = self.get_response(request)
            return self._finish(request, response, started)  # type: ignore[arg-type]
        finally:
            _request_id.reset(token)

    async def _async_call(self, request: HttpRequest) -> HttpResponseBase:
        started, token = self._start(request)
        try:
            response = await self.get_response(request)  # type: ignore[misc]
            return self._finish(request, response, started)
        finally:
            _request_id.reset(token)

    def _start(self, request: HttpRequest) -> tuple[float, Token[str | None]]:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        return time.perf_counter(), _request_id.set(request_id)

    def _finish(
        self, request: HttpRequest, response: HttpResponseBase, started: float
    ) -> HttpResponseBase:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            **_callers_ids(request),
        }
        level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
        log.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra=fields,
        )
        return response
