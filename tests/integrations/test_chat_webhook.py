"""A Kolbo chat message carrying `webhook_url` reports its answer to that URL."""

from __future__ import annotations

import pytest

from generations.models import AIModel
from studio.integrations import webhooks
from tests.chat.fixtures import *  # noqa: F403
from tests.chat.fixtures import post

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_chat_message_with_a_webhook_url_reports_its_answer_there(kolbo_api, chat_team, receiver):
    # Smart Select picks the fake's model, not the offline one.
    AIModel.objects.filter(identifier="studio-local/chat").update(enabled=False)
    receiver.secret = webhooks.make_job_url_secret(chat_team)
    r = post(kolbo_api, "/api/v1/chat", {"message": "hello", "webhook_url": receiver.url})
    assert r.status_code == 200, r.content
    [delivery] = receiver.received
    assert delivery.verified and delivery.payload["type"] == "generation.completed"
    data = delivery.payload["data"]
    assert data["generation_id"] == r.json()["message_id"] and data["type"] == "chat"
    assert data["result"]["content"] == "You said: hello"
