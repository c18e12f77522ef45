"""Brute-force limits on passwords: sign-in (form, admin, access token) and password reset.

The counters are the API limiter's (studio/api/ratelimit.py: Redis or the database, shared
by every process), over a longer window. Every password attempt counts against the client
IP and against the account it names, so neither spreading guesses over addresses nor over
accounts gets far; the right password is refused too once a limit is reached. Reset emails
are counted per address, so the form cannot be used to flood someone's inbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from studio.api.ratelimit import RateClass, client_ip, hit
from studio.errors import RateLimited

RESET_EMAIL_WINDOW = 3600


def _account(email: str) -> str:
    # Hashed: a counter key stays short whatever the address, and holds no address.
    normalized = email.strip().lower().encode("utf-8", "replace")
    return "a" + hashlib.sha256(normalized).hexdigest()[:32]


def sign_in_attempt(request: HttpRequest, email: str) -> None:
    """Count one password attempt for `email` from the request's IP; RateLimited past a limit."""
    window = settings.STUDIO_SIGN_IN_WINDOW
    hit(
        RateClass.SIGN_IN,
        client_ip(request),
        settings.STUDIO_SIGN_IN_PER_IP,
        window_seconds=window,
    )
    if email.strip():
        hit(
            RateClass.SIGN_IN,
            _account(email),
            settings.STUDIO_SIGN_IN_PER_ACCOUNT,
            window_seconds=window,
        )


def password_reset_request(request: HttpRequest) -> None:
    hit(
        RateClass.PASSWORD_RESET,
        client_ip(request),
        settings.STUDIO_PASSWORD_RESETS_PER_IP,
        window_seconds=settings.STUDIO_SIGN_IN_WINDOW,
    )


def may_send_reset_email(email: str) -> bool:
    """Whether another reset email may go to `email` this hour (counts it if so)."""
    try:
        hit(
            RateClass.RESET_EMAIL,
            _account(email),
            settings.STUDIO_RESET_EMAILS_PER_HOUR,
            window_seconds=RESET_EMAIL_WINDOW,
        )
    except RateLimited:
        return False
    return True


def too_many_attempts(request: HttpRequest, limited: RateLimited) -> HttpResponse:
    """The 429 page: what happened and when to try again."""
    minutes, seconds = divmod(limited.retry_after, 60)
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes else ""
    if seconds and not minutes:
        wait = f"{seconds} second{'s' if seconds != 1 else ''}"
    elif seconds:
        wait = f"{minutes + 1} minutes"
    response = render(
        request, "429.html", {"retry_after": limited.retry_after, "wait": wait}, status=429
    )
    response["Retry-After"] = str(limited.retry_after)
    return response


def throttled(
    count: Callable[[HttpRequest], None],
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Wrap a view so each POST is counted by `count` first; past a limit, the 429 page."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "POST":
                try:
                    count(request)
                except RateLimited as limited:
                    return too_many_attempts(request, limited)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _sign_in_form_post(request: HttpRequest) -> None:
    sign_in_attempt(request, str(request.POST.get("username", "")))


throttled_sign_in = throttled(_sign_in_form_post)
throttled_password_reset = throttled(password_reset_request)
