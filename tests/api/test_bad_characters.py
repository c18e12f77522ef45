"""NUL characters and unpaired surrogates are refused in every text a client sends, with
400 INVALID_FIELDS naming the field, before anything is stored (PostgreSQL would 500)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalog.models import Product
from generations.models import Generation
from studio.accounts import credits
from studio.accounts.models import Bucket
from tests.catalog.conftest import product_photo

NUL, LONE = "a\x00b", "a\ud800b"


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


@pytest.fixture
def queued_only(monkeypatch):
    monkeypatch.setattr("generations.engine.enqueue", lambda *args: None)


def post_json(client: Client, path: str, body: dict):
    # json.dumps spells both as \u escapes, as any client's encoder does.
    return client.post(path, json.dumps(body), content_type="application/json")


def assert_refused(response, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "INVALID_FIELDS"
    assert field in body["error"]


@pytest.mark.parametrize("bad", [NUL, LONE], ids=["nul", "lone-surrogate"])
def test_an_access_token_request_with_a_bad_email_is_a_400(db, bad):
    response = post_json(Client(), "/api/auth/token", {"email": f"{bad}@x.y", "password": "p"})
    assert_refused(response, "email")


@pytest.mark.parametrize("bad", [NUL, LONE], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/generate/image", {"prompt": "a cat", "model": "{bad}"}, "model"),
        ("/api/v1/generate/image", {"prompt": "a {bad} cat"}, "prompt"),
        ("/api/v1/generate/speech", {"text": "hello", "voice": "{bad}"}, "voice"),
        ("/api/v1/generate/music", {"prompt": "jazz", "lyrics": "la {bad}"}, "lyrics"),
        ("/api/v1/generate/image", {"prompt": "a cat", "extra": {"tags": ["{bad}"]}}, "extra"),
    ],
)
def test_generation_fields_with_bad_characters_are_refused_and_nothing_is_charged(
    api, funded, path, body, field, bad
):
    funded.refresh_from_db()
    before = funded.total_credits
    filled = json.loads(json.dumps(body).replace("{bad}", json.dumps(bad)[1:-1]))
    assert_refused(post_json(api, path, filled), field)
    assert not Generation.objects.exists()
    funded.refresh_from_db()
    assert funded.total_credits == before


def test_a_multipart_product_name_with_a_nul_is_refused(bearer, team):
    upload = SimpleUploadedFile("bag.jpg", product_photo(), "image/jpeg")
    response = bearer.post("/api/v1/products", {"file": upload, "name": NUL})
    assert_refused(response, "name")
    assert not Product.objects.exists()


def test_a_query_parameter_with_a_nul_is_refused(api, team):
    assert_refused(api.get("/api/v1/voices", {"provider": NUL}), "provider")


def test_a_valid_surrogate_pair_is_an_ordinary_character(api, funded, queued_only):
    response = post_json(api, "/api/v1/generate/image", {"prompt": "a cat 🐱"})
    assert response.status_code == 200, response.content


def test_a_dashboard_form_with_a_nul_is_a_400_page(alice):
    response = Client().post(reverse("login"), {"username": NUL, "password": "x"})
    assert response.status_code == 400
    assert "may not contain NUL characters" in response.content.decode()
