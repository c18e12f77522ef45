"""Fuzz every operation of the OpenAPI document (schemathesis against the WSGI app).

Valid and invalid inputs alike must never produce a 500, an undocumented status, a
non-JSON body or a body that breaks the documented schema. Bounded: a few examples per
operation, no shrinking, so the whole module runs in well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as oa_checks

from studio.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

CHECKS = [
    st_checks.not_a_server_error,
    oa_checks.status_code_conformance,
    oa_checks.content_type_conformance,
    oa_checks.response_schema_conformance,
]


@pytest.fixture
def auth_headers(team, alice, settings, monkeypatch):
    from django.test import Client

    from studio.vault.services import create_api_key
    from tests.conftest import PASSWORD

    settings.STUDIO_RATE_LIMITS = {name: 100_000 for name in settings.STUDIO_RATE_LIMITS}
    # Accepted generations stay queued: the fuzz checks the API, not render times.
    monkeypatch.setattr("generations.engine.enqueue", lambda *args: None)
    settings.STUDIO_INLINE_WAIT_SECONDS = 0
    from studio.accounts import credits
    from studio.accounts.models import Bucket

    credits.grant(team, 10_000_000, bucket=Bucket.PACK)
    key = create_api_key(team, alice, "fuzz").full_key
    token = Client().post(
        "/api/auth/token",
        {"email": alice.email, "password": PASSWORD},
        content_type="application/json",
    )
    # Like Django's test client (used above, which reconnects it): the WSGI app must not
    # close the test's DB connection at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # X-API-Key serves /api/v1 endpoints; the Bearer access token serves key management.
    yield {"X-API-Key": key, "Authorization": f"Bearer {token.json()['access_token']}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.slow
@schema.parametrize()
# A parametrized test gets one node id per operation from pytest itself ("...[GET /x]
# [conformance]"); unparametrized, all 32 would share one and xdist would run one of them.
@pytest.mark.parametrize("checks", [CHECKS], ids=["conformance"])
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_honours_its_openapi_document(case, auth_headers, checks):
    case.call_and_validate(headers=auth_headers, checks=checks)
