"""Password guessing is limited: the sign-in form, the admin login and access tokens share
per-IP and per-account counters; password reset sends a bounded number of emails."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD


@pytest.fixture
def limits(settings):
    settings.STUDIO_SIGN_IN_PER_ACCOUNT = 5
    settings.STUDIO_SIGN_IN_PER_IP = 8
    settings.STUDIO_PASSWORD_RESETS_PER_IP = 100
    settings.STUDIO_RESET_EMAILS_PER_HOUR = 3
    return settings


def from_ip(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def assert_too_many(response) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert "Too many attempts" in page
    assert "Try again in" in page


def test_wrong_passwords_lock_the_account_and_even_the_right_one_is_refused(limits, alice):
    for n in range(5):
        response = from_ip(f"10.0.0.{n}").post(
            reverse("login"), {"username": alice.email, "password": f"guess{n}"}
        )
        assert response.status_code == 200
    response = from_ip("10.0.0.99").post(
        reverse("login"), {"username": alice.email, "password": PASSWORD}
    )
    assert_too_many(response)
    assert "_auth_user_id" not in response.wsgi_request.session


def test_one_address_guessing_many_accounts_is_stopped(limits, db):
    client = from_ip("10.1.0.1")
    for n in range(8):
        response = client.post(
            reverse("login"), {"username": f"user{n}@example.com", "password": "x"}
        )
        assert response.status_code == 200
    assert_too_many(
        client.post(reverse("login"), {"username": "other@example.com", "password": "x"})
    )
    # Another address is not affected.
    assert (
        from_ip("10.1.0.2")
        .post(reverse("login"), {"username": "other@example.com", "password": "x"})
        .status_code
        == 200
    )


def test_the_admin_login_shares_the_sign_in_counters(limits, alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    for n in range(5):
        response = from_ip(f"10.2.0.{n}").post(
            reverse("admin:login"), {"username": alice.email, "password": f"guess{n}"}
        )
        assert response.status_code == 200
    assert_too_many(
        from_ip("10.2.0.50").post(reverse("login"), {"username": alice.email, "password": "x"})
    )
    assert_too_many(
        from_ip("10.2.0.51").post(
            reverse("admin:login"), {"username": alice.email, "password": PASSWORD}
        )
    )


def test_access_tokens_share_the_sign_in_counters(limits, alice):
    for n in range(5):
        from_ip(f"10.3.0.{n}").post(
            reverse("login"), {"username": alice.email, "password": f"guess{n}"}
        )
    response = from_ip("10.3.0.9").post(
        "/api/auth/token",
        {"email": alice.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 429
    assert response.json()["code"] == "RATE_LIMITED"


def test_password_reset_reads_the_same_whether_or_not_the_address_exists(limits, alice):
    known = Client().post(reverse("password_reset"), {"email": alice.email})
    unknown = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert len(mail.outbox) == 1


def test_password_reset_sends_at_most_n_emails_per_address_per_hour(limits, alice):
    for _ in range(30):
        response = Client().post(reverse("password_reset"), {"email": alice.email})
        assert response.status_code == 302
        assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 3


def test_password_reset_requests_are_limited_per_address(limits, db):
    limits.STUDIO_PASSWORD_RESETS_PER_IP = 2
    client = from_ip("10.4.0.1")
    for _ in range(2):
        assert client.post(reverse("password_reset"), {"email": "a@example.com"}).status_code == 302
    assert_too_many(client.post(reverse("password_reset"), {"email": "a@example.com"}))


def test_a_long_window_survives_the_purge_of_past_minutes(db):
    from studio.api import ratelimit
    from studio.api.ratelimit import RateClass
    from studio.errors import RateLimited

    start = 1_800_000_000.0  # a 15-minute boundary
    for _ in range(2):
        ratelimit.hit(RateClass.SIGN_IN, "s", 2, now=start + 10, window_seconds=900)
    ratelimit.purge_stale_counters(now=start + 600)
    with pytest.raises(RateLimited) as limited:
        ratelimit.hit(RateClass.SIGN_IN, "s", 2, now=start + 600, window_seconds=900)
    assert limited.value.retry_after == 300
    assert ratelimit.hit(RateClass.SIGN_IN, "s", 2, now=start + 901, window_seconds=900) == 1
