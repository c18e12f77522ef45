"""Chat relayed to Kolbo and Krev accounts (their fakes on loopback), through Studio's API."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from generations import dispatch
from generations.models import ACTIVE_STATES, AIModel, Generation
from studio.accounts import credits
from tests.chat.fixtures import *  # noqa: F403
from tests.chat.fixtures import post
from tests.fakes.kolbo import KolboFake
from tests.fakes.krev import KrevFake

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def kolbo_server():
    fake = KolboFake().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def krev_server():
    fake = KrevFake().start()
    yield fake
    fake.stop()


def answered(message_id: str, seconds: float = 20.0) -> Generation:
    """Run the dispatcher (polls due now) until the message's generation has finished."""
    generation = Generation.objects.get(uuid=message_id)
    deadline = time.monotonic() + seconds
    while generation.state in ACTIVE_STATES and time.monotonic() < deadline:
        Generation.objects.filter(pk=generation.pk, next_poll_at__isnull=False).update(
            next_poll_at=timezone.now() - timedelta(seconds=1)
        )
        dispatch.dispatch_once()
        time.sleep(0.05)
        generation.refresh_from_db()
    return generation


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "polled"])
def test_chat_relayed_to_kolbo_sends_the_conversation_and_settles(
    kolbo_api, kolbo_server, upstream_credentials, inline
):
    kolbo_server.chat_inline = inline
    kolbo_server.submitted.clear()
    upstream_credentials("kolbo", kolbo_server.url, kolbo_server.secret)
    first = post(kolbo_api, "/api/v1/chat", {"message": "Hello", "model": "kolbo/auto-chat"})
    assert first.status_code == 200, first.content
    assert answered(first.json()["message_id"]).state == "succeeded"
    second = post(
        kolbo_api,
        "/api/v1/chat",
        {"message": "And again", "session_id": first.json()["session_id"],
         "model": "kolbo/auto-chat"},
    )  # fmt: skip
    generation = answered(second.json()["message_id"])
    assert generation.state == "succeeded", generation.failure
    assert kolbo_server.submitted[-1]["messages"] == [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Kolbo says: Hello"},
        {"role": "user", "content": "And again"},
    ]
    assert "model" not in kolbo_server.submitted[-1]  # "auto" is Kolbo's Smart Select
    status = kolbo_api.get(second.json()["poll_url"]).json()
    assert status["result"]["content"] == "Kolbo says: And again"
    assert 0 < status["credits_used"] <= second.json()["credits_charged"]
    assert credits.reconcile() == []


def test_chat_relayed_to_krev_runs_an_agent_and_reads_its_answer(
    kolbo_api, krev_server, upstream_credentials
):
    upstream_credentials("krev", krev_server.url, krev_server.secret)
    AIModel.objects.filter(identifier="krev/chat").update(enabled=True)
    first = post(kolbo_api, "/api/v1/chat", {"message": "Ad ideas?", "model": "krev/chat"})
    assert first.status_code == 200, first.content
    assert answered(first.json()["message_id"]).state == "succeeded"
    second = post(
        kolbo_api,
        "/api/v1/chat",
        {"message": "Shorter", "session_id": first.json()["session_id"], "model": "krev/chat"},
    )
    assert answered(second.json()["message_id"]).state == "succeeded"
    sent = krev_server.submitted[-1]["message"]
    assert "user: Ad ideas?" in sent and "assistant: Krev says: Ad ideas?" in sent
    assert sent.endswith("Message:\nShorter")
    status = kolbo_api.get(second.json()["poll_url"]).json()
    assert status["state"] == "completed"
    assert status["result"]["content"].startswith("Krev says: Conversation so far")
    assert credits.reconcile() == []
