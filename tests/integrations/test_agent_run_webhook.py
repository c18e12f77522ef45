"""A finished agent run is announced as `chat.run.completed` with the run's poll object."""

from __future__ import annotations

import pytest
from django.test import Client

from generations import language
from studio.accounts import credits
from studio.accounts.models import Bucket
from studio.integrations import webhooks
from tests.api.conftest import alice_key, make_key  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_finished_agent_run_is_delivered_as_chat_run_completed(
    team,
    alice_key,  # noqa: F811
    receiver,
    monkeypatch,
):
    monkeypatch.setattr(language, "planning_model", lambda team: None)
    credits.grant(team, 1000, bucket=Bucket.PACK)
    _, receiver.secret = webhooks.create_endpoint(
        team, url=receiver.url, event_types=["chat.run.completed"], dialect="krev"
    )
    client = Client(headers={"Authorization": f"Bearer {alice_key}"})
    response = client.post(
        "/api/v1/chat", {"message": "How many credits do I have?"}, content_type="application/json"
    )
    run_id = response.json()["data"]["run_id"]
    [delivery] = receiver.received
    assert delivery.verified and delivery.payload["type"] == "chat.run.completed"
    data = delivery.payload["data"]
    assert data["run_id"] == run_id and data["status"] == "succeeded"
    balance = credits.balances(team).total
    assert data["latest_assistant_text"] == f"You have {balance} credits."
