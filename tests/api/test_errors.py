"""Bad input is a 400 envelope naming the field; nothing under /api is HTML or a bare 500."""

from __future__ import annotations

import pytest

KEYS = "/api/v1/keys"


@pytest.mark.parametrize(
    ("body", "content_type", "code", "words"),
    [
        ("{not json", "application/json", "INVALID_FIELDS", "not valid JSON"),
        ("[1, 2]", "application/json", "INVALID_FIELDS", "JSON object"),
        ('"a string"', "application/json", "INVALID_FIELDS", "JSON object"),
        ("null", "application/json", "INVALID_FIELDS", "JSON object"),
        ("name=x", "application/x-www-form-urlencoded", "INVALID_FIELDS", "Content-Type"),
        ('{"name": "x"}', "text/plain", "INVALID_FIELDS", "Content-Type"),
        ("{}", "application/json", "MISSING_FIELDS", "name"),
        ("", "application/json", "MISSING_FIELDS", "name"),
        ('{"name": 5}', "application/json", "INVALID_FIELDS", "'name'"),
        ('{"name": "x", "scopes": "images"}', "application/json", "INVALID_FIELDS", "'scopes'"),
        ('{"name": "x", "scopes": ["teleport"]}', "application/json", "INVALID_FIELDS", "scopes"),
    ],
)
def test_bad_bodies_get_400_naming_the_problem(alice_client, body, content_type, code, words):
    r = alice_client.post(KEYS, body, content_type=content_type)
    assert r.status_code == 400, r.content
    payload = r.json()
    assert payload["success"] is False and payload["code"] == code
    assert words in payload["error"]


def test_out_of_range_values_are_invalid_fields(alice_client):
    r = alice_client.post(
        "/api/api-keys", {"name": "x", "expiresInDays": 999}, content_type="application/json"
    )
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_FIELDS" and "expiresInDays" in r.json()["error"]


def test_bad_query_values_name_the_parameter(api):
    r = api.get("/api/v1/models?type=hologram")
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_FIELDS" and "'type'" in r.json()["error"]


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/nope", "/api/v1/generate/x/y/z", "/api/"])
def test_unknown_routes_get_the_404_envelope(api, path):
    r = api.get(path)
    assert r.status_code == 404
    assert r.json() == {"success": False, "error": "No such endpoint", "code": "NOT_FOUND"}


def test_a_wrong_method_gets_405_with_allow(api):
    r = api.delete("/api/v1/models")
    assert r.status_code == 405
    assert r["Allow"] == "GET"
    assert r.json()["success"] is False


def test_unexpected_errors_are_enveloped_500s(api, monkeypatch):
    import generations.api

    def boom(team=None):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(generations.api, "enabled_models", boom)
    r = api.get("/api/v1/models")
    assert r.status_code == 500
    assert r.json() == {
        "success": False,
        "error": "Internal server error",
        "code": "INTERNAL_ERROR",
    }


def test_studio_errors_map_to_their_code_and_status(rf):
    from studio.api.errors import error_response
    from studio.errors import Conflict, InsufficientCredits, RateLimited

    assert error_response(Conflict()).status_code == 409
    request = rf.post("/api/v1/images")
    assert error_response(InsufficientCredits(), request).status_code == 400
    request.studio_dialect = "krev"
    assert error_response(InsufficientCredits(), request).status_code == 402
    limited = error_response(RateLimited(retry_after=7))
    assert limited.status_code == 429 and limited["Retry-After"] == "7"
