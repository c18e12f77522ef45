"""Forbidden, missing and broken pages speak plainly, inside the dashboard's layout."""

from __future__ import annotations

import uuid

from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error


def test_a_missing_page_is_a_friendly_404_with_the_teams_navigation(alice_client, team):
    response = alice_client.get(reverse("gallery", args=[uuid.uuid4()]))
    assert response.status_code == 404
    body = response.content.decode()
    assert 'data-testid="error-404"' in body
    assert "couldn't find that page" in body
    assert 'id="sidebar"' in body and f"Back to {team.name}" in body


def test_a_forbidden_action_is_a_friendly_403_that_says_why(vera_client, team):
    response = vera_client.post(
        reverse("api_keys", args=[team.uuid]), {"name": "x", "scopes": ["images"]}
    )
    assert response.status_code == 403
    body = response.content.decode()
    assert 'data-testid="error-403"' in body
    assert "Viewers cannot create API keys." in body
    assert "ask an owner or admin" in body


def test_a_server_error_page_renders_without_a_request_context():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    body = response.content.decode()
    assert 'data-testid="error-500"' in body and "Something went wrong" in body
    assert "Studio" in body
