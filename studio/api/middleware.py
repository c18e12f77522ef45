"""Every response under /api/ speaks JSON, even the ones Django or ninja build themselves.

Unknown routes (Django's 404 page), ninja's 405 for a wrong method and Django's CSRF and
request-size failures are rewritten into the contract's envelope here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from studio.api.errors import error_response, from_status


class ApiErrorEnvelopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            message = {404: "No such endpoint", 405: "Method not allowed"}.get(
                response.status_code, ""
            )
            enveloped = error_response(from_status(response.status_code, message), request)
            if response.has_header("Allow"):
                enveloped["Allow"] = response["Allow"]
            return enveloped
        return response
