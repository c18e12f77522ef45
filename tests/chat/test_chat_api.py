"""Kolbo's chat API against a loopback OpenAI-compatible fake that streams its answers.

Tasks run inline in tests: a message is answered (streamed, settled) before its POST returns.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client

from generations.chat import tokens
from generations.models import AIModel, ChatConversation, ChatMessage, Generation
from studio.accounts import credits
from studio.accounts.models import LedgerEntry, LedgerKind
from studio.vault.services import create_api_key
from tests.chat.fixtures import *  # noqa: F403
from tests.chat.fixtures import MODEL, post
from tests.fakes.upstream import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def only_the_fake_answers(chat_team):
    """Smart Select picks the OpenAI-compatible model (the offline one has its own tests)."""
    AIModel.objects.filter(identifier="studio-local/chat").update(enabled=False)


def status_of(client: Client, message_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/generate/{message_id}/status")
    assert response.status_code == 200, response.content
    return response.json()


def ledger(team, kind: str) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(team=team, kind=kind))


# --- the docs' examples, as written (host and key changed) ------------------------------------


def test_the_docs_basic_example_answers_a_message_to_poll(kolbo_api, fake):
    response = post(
        kolbo_api, "/api/v1/chat", {"message": "Explain quantum computing in simple terms"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["type"] == "chat" and body["model"] == MODEL
    assert body["poll_url"] == f"/api/v1/generate/{body['message_id']}/status"
    assert body["poll_interval_hint"] == 2 and body["credits_charged"] > 0
    status = status_of(kolbo_api, body["message_id"])
    assert status["state"] == "completed" and status["type"] == "chat"
    result = status["result"]
    assert result["content"] == "You said: Explain quantum computing in simple terms"
    assert result["model"] == MODEL and result["reasoning_content"] == ""
    assert result["image_urls"] == [] and result["video_urls"] == [] and result["audio_urls"] == []
    assert status["credits_used"] <= body["credits_charged"]


SENIOR = "You are a senior Python developer. Write clean, well-documented code."


def test_the_docs_specific_model_example_uses_the_identifier_from_the_model_list(kolbo_api, fake):
    models = kolbo_api.get("/api/v1/models?type=chat").json()["models"]
    chosen = next(m for m in models if m["identifier"] == MODEL)
    assert chosen["input_token_rate"] == 1.0 and chosen["output_token_rate"] == 4.0
    response = post(
        kolbo_api,
        "/api/v1/chat",
        {
            "message": "Write a Python function to sort a list",
            "model": chosen["identifier"],
            "system_prompt": SENIOR,
        },
    )
    assert response.status_code == 200, response.content
    sent = fake.chat_requests[-1]
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"][0] == {"role": "system", "content": SENIOR}


def test_the_docs_multi_turn_example_keeps_the_conversation(kolbo_api, fake):
    first = post(kolbo_api, "/api/v1/chat", {"message": "What is machine learning?"}).json()
    follow = post(
        kolbo_api,
        "/api/v1/chat",
        {"message": "Give me a practical example", "session_id": first["session_id"]},
    ).json()
    assert follow["session_id"] == first["session_id"]
    # The upstream saw the earlier turn, question and answer, before the new message.
    assert fake.chat_requests[-1]["messages"] == [
        {"role": "user", "content": "What is machine learning?"},
        {"role": "assistant", "content": "You said: What is machine learning?"},
        {"role": "user", "content": "Give me a practical example"},
    ]
    listed = kolbo_api.get(f"/api/v1/chat/conversations/{first['session_id']}/messages").json()
    assert [(m["role"], m["status"]) for m in listed["messages"]] == [
        ("user", "completed"),
        ("assistant", "completed"),
        ("user", "completed"),
        ("assistant", "completed"),
    ]
    assert listed["messages"][1]["message_id"] == first["message_id"]
    assert listed["messages"][1]["model"] == {
        "identifier": MODEL,
        "name": "GPT-4o mini (OpenAI)",
        "provider": "openai",
    }
    assert listed["pagination"] == {"page": 1, "limit": 50, "total": 4, "pages": 1}


def test_the_stateless_form_answers_inline(kolbo_api, fake):
    response = post(
        kolbo_api,
        "/api/v1/chat",
        {
            "messages": [
                {"role": "system", "content": "Answer in one sentence."},
                {"role": "user", "content": "Hello"},
                {"role": "assistant", "content": "Hi! How can I help?"},
                {"role": "user", "content": "Name a colour"},
            ],
            "model": MODEL,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {
        "success": True,
        "content": "You said: Name a colour",
        "model": MODEL,
        "credits_used": body["credits_used"],
    }
    assert body["credits_used"] >= 1
    assert fake.chat_requests[-1]["messages"][0]["role"] == "system"
    assert len(fake.chat_requests[-1]["messages"]) == 4
    # A stateless call is not a conversation the user sees in the list.
    assert kolbo_api.get("/api/v1/chat/conversations").json()["conversations"] == []


def test_a_stateless_answer_slower_than_the_wait_bound_is_polled(
    kolbo_api, fake, settings, monkeypatch
):
    settings.STUDIO_INLINE_WAIT_SECONDS = 0
    monkeypatch.setattr("generations.engine.enqueue", lambda *args: None)  # not answered yet
    response = post(kolbo_api, "/api/v1/chat", {"messages": [{"role": "user", "content": "Hi"}]})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["poll_url"] == f"/api/v1/generate/{body['message_id']}/status"
    assert body["poll_interval_hint"] == 2
    assert status_of(kolbo_api, body["message_id"])["state"] == "processing"


def test_the_conversations_path_takes_the_session_form(kolbo_api, fake):
    response = post(kolbo_api, "/api/v1/chat/conversations", {"message": "Hi there"})
    assert response.status_code == 200, response.content
    body = response.json()
    listed = kolbo_api.get("/api/v1/chat/conversations").json()
    assert listed["conversations"][0]["session_id"] == body["session_id"]
    assert listed["conversations"][0]["name"] == "Hi there"
    assert listed["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1}
    assert kolbo_api.get("/api/v1/chat/conversations?limit=51").json()["code"] == "INVALID_FIELDS"


# --- context window ----------------------------------------------------------------------------


def test_a_long_conversation_is_trimmed_oldest_first_keeping_the_system_prompt(kolbo_api, fake):
    AIModel.objects.filter(identifier=MODEL).update(
        params={"context_tokens": 400, "max_output_tokens": 100, "vision": True}
    )
    first = post(
        kolbo_api,
        "/api/v1/chat",
        {"message": "turn 1 " + "x" * 200, "system_prompt": "You are terse.", "max_tokens": 50},
    ).json()
    for turn in range(2, 7):
        post(
            kolbo_api,
            "/api/v1/chat",
            {
                "message": f"turn {turn} " + "x" * 200,
                "session_id": first["session_id"],
                "max_tokens": 50,
            },
        )
    sent = fake.chat_requests[-1]["messages"]
    assert sent[0] == {"role": "system", "content": "You are terse."}
    assert sent[-1]["content"].startswith("turn 6 ")
    users = [m["content"].split(" x")[0][:6] for m in sent if m["role"] == "user"]
    assert "turn 1" not in users and users[-2:] == ["turn 5", "turn 6"]
    assert tokens.count_messages(sent) <= 400 - 50
    # Every answer kept its question: the turns were dropped whole.
    assert [m["role"] for m in sent[1:]] == ["user", "assistant"] * (len(sent) // 2 - 1) + ["user"]


# --- money -------------------------------------------------------------------------------------


def test_the_charge_settles_to_the_reported_tokens_with_one_refund(kolbo_api, fake, chat_team):
    body = post(kolbo_api, "/api/v1/chat", {"message": "How much does this cost?"}).json()
    generation = Generation.objects.get(uuid=body["message_id"])
    model = AIModel.objects.get(identifier=MODEL)
    usage = fake.chat_usage
    cost = tokens.token_credits(model, usage["prompt_tokens"], usage["completion_tokens"])
    assert generation.credits_charged == body["credits_charged"] > cost
    assert status_of(kolbo_api, body["message_id"])["credits_used"] == cost
    assert [e.amount for e in ledger(chat_team, LedgerKind.DEBIT)] == [-body["credits_charged"]]
    assert [e.amount for e in ledger(chat_team, LedgerKind.REFUND)] == [
        body["credits_charged"] - cost
    ]
    message = ChatMessage.objects.get(uuid=body["message_id"])
    assert (message.prompt_tokens, message.completion_tokens, message.credits) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
        cost,
    )
    assert credits.reconcile() == []


def test_an_upstream_failure_refunds_the_message_once(kolbo_api, fake, chat_team):
    fake.faults.set("content_policy", on="submit", times=1)
    body = post(kolbo_api, "/api/v1/chat", {"message": "Something it refuses"}).json()
    status = status_of(kolbo_api, body["message_id"])
    assert status["state"] == "failed" and status["credits_used"] == 0
    assert status["credits_refunded"] == body["credits_charged"]
    assert len(ledger(chat_team, LedgerKind.REFUND)) == 1
    listed = kolbo_api.get(f"/api/v1/chat/conversations/{body['session_id']}/messages").json()
    assert [m["status"] for m in listed["messages"]] == ["completed", "failed"]
    # The failed turn is not sent as history with the next message.
    post(kolbo_api, "/api/v1/chat", {"message": "Try again", "session_id": body["session_id"]})
    assert fake.chat_requests[-1]["messages"] == [{"role": "user", "content": "Try again"}]
    assert credits.reconcile() == []


def test_insufficient_credits_is_402_and_nothing_is_created(fake, team, make_key, chat_team):
    broke = create_api_key(team, team.memberships.first().user, "k").full_key
    LedgerEntry.objects.all().delete()
    type(team).objects.filter(pk=team.pk).update(plan_credits=0, pack_credits=0)
    client = Client(headers={"X-API-Key": broke})
    response = post(client, "/api/v1/chat", {"message": "Hi"})
    assert response.status_code == 402
    assert response.json()["code"] == "INSUFFICIENT_CREDITS"
    assert not Generation.objects.exists() and not ChatConversation.objects.exists()
    assert not ChatMessage.objects.exists() and fake.chat_requests == []


def test_an_unknown_chat_model_is_invalid_model_and_nothing_is_created(kolbo_api, fake):
    for model in ("gpt-5-imaginary", "studio-local/image"):
        response = post(kolbo_api, "/api/v1/chat", {"message": "Hi", "model": model})
        assert response.status_code == 400
        assert response.json()["code"] == "INVALID_MODEL"
    assert not Generation.objects.exists() and not ChatConversation.objects.exists()


def test_an_idempotency_key_retry_charges_once(kolbo_api, fake, chat_team):
    first = post(kolbo_api, "/api/v1/chat", {"message": "Once"}, **{"Idempotency-Key": "k-1"})
    again = post(kolbo_api, "/api/v1/chat", {"message": "Once"}, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 200
    assert again.json()["message_id"] == first.json()["message_id"]
    assert again.json()["session_id"] == first.json()["session_id"]
    assert len(ledger(chat_team, LedgerKind.DEBIT)) == 1 and len(fake.chat_requests) == 1
    other = post(kolbo_api, "/api/v1/chat", {"message": "Twice"}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 409


# --- isolation and inputs ----------------------------------------------------------------------


def test_other_teams_get_404_on_conversations_and_messages(kolbo_api, fake, other_team, charlie):
    body = post(kolbo_api, "/api/v1/chat", {"message": "Private thoughts"}).json()
    credits.grant(other_team, 1000)
    outsider = Client(headers={"X-API-Key": create_api_key(other_team, charlie, "c").full_key})
    session, message = body["session_id"], body["message_id"]
    assert outsider.get(f"/api/v1/chat/conversations/{session}/messages").status_code == 404
    assert outsider.get(f"/api/v1/generate/{message}/status").status_code == 404
    hijack = post(outsider, "/api/v1/chat", {"message": "Let me in", "session_id": session})
    assert hijack.status_code == 404 and hijack.json()["code"] == "NOT_FOUND"
    assert outsider.get("/api/v1/chat/conversations").json()["conversations"] == []
    assert Generation.objects.filter(team=other_team).count() == 0


def test_media_urls_at_private_addresses_are_refused(kolbo_api, fake):
    for url in ("http://10.0.0.5/cat.png", "http://127.0.0.1:8000/x.png"):
        response = post(
            kolbo_api, "/api/v1/chat", {"message": "What is this?", "media_urls": [url]}
        )
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "INVALID_FIELDS"
        assert "media_urls" in response.json()["error"] or "private" in response.json()["error"]
    assert not Generation.objects.exists() and fake.chat_requests == []


def test_an_attached_image_reaches_a_vision_model_as_a_data_url(kolbo_api, fake):
    image = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    body = post(kolbo_api, "/api/v1/chat", {"message": "Describe", "media_urls": [image]}).json()
    parts = fake.chat_requests[-1]["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "Describe"}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert status_of(kolbo_api, body["message_id"])["result"]["content"].endswith("(I see 1 image)")


def test_web_search_is_refused_by_models_that_do_not_declare_it(kolbo_api, fake):
    response = post(kolbo_api, "/api/v1/chat", {"message": "News?", "web_search": True})
    assert response.status_code == 400 and response.json()["code"] == "INVALID_FIELDS"
    assert "web_search" in response.json()["error"]
    ok = post(
        kolbo_api,
        "/api/v1/chat",
        {"message": "News?", "web_search": True, "model": "openai/gpt-4o-mini-search"},
    )
    assert ok.status_code == 200, ok.content
    assert fake.chat_requests[-1]["web_search_options"] == {}


def test_deep_think_asks_a_reasoning_model_for_effort_and_keeps_its_reasoning(kolbo_api, fake):
    body = post(
        kolbo_api,
        "/api/v1/chat",
        {"message": "Prove it", "deep_think": True, "model": "openai/o4-mini", "max_tokens": 300},
    ).json()
    sent = fake.chat_requests[-1]
    assert sent["reasoning_effort"] == "high" and sent["max_completion_tokens"] == 300
    result = status_of(kolbo_api, body["message_id"])["result"]
    assert result["reasoning_content"] == "Thinking it over."
    assert result["content"] == "You said: Prove it"


def test_a_bearer_key_on_post_chat_is_krevs_agent_runs_not_kolbos_chat(alice_key, chat_team, fake):
    client = Client(headers={"Authorization": f"Bearer {alice_key}"})
    response = post(client, "/api/v1/chat", {"message": "Make three ad concepts"})
    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True and body["data"]["status"] == "queued"
    assert body["data"]["poll_url"].endswith(f"/api/v1/chat/runs/{body['data']['run_id']}")
    assert not Generation.objects.filter(type="chat").exists()  # not Kolbo's chat


def test_chat_models_are_listed_under_the_raw_type_name_text(kolbo_api):
    listed = kolbo_api.get("/api/v1/models?type=text").json()["models"]
    assert MODEL in {m["identifier"] for m in listed}
    assert all("chat" in m["types"] and "input_token_rate" in m for m in listed)
    images = kolbo_api.get("/api/v1/models?type=image").json()["models"]
    assert all("input_token_rate" not in m for m in images)
