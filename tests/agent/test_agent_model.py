"""Agent runs driven by an OpenAI-compatible chat model that calls tools (the loopback fake
scripts the turns)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from generations.models import Generation
from studio.accounts import credits
from studio.accounts.models import LedgerEntry, LedgerKind
from tests.agent.conftest import make_product
from tests.chat.fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scripted(fake, small_renders):
    fake.tool_script = []
    yield fake
    fake.tool_script = []


def test_a_chat_model_calls_the_tools_in_order_and_sees_their_results(
    chat_team, alice_key, scripted
):
    product = make_product(chat_team)
    scripted.tool_script = [
        [{"name": "list_products", "arguments": {}}],
        [
            {
                "name": "generate_image",
                "arguments": {
                    "prompt": "Cloudstep sneakers on a beach",
                    "product_ids": [str(product.pk)],
                    "image_count": 1,
                },
            }
        ],
    ]
    scripted.reply = lambda messages: "Here is your beach image of the sneakers."
    before = credits.balances(chat_team).total
    client = Client(headers={"Authorization": f"Bearer {alice_key}"})
    response = client.post(
        "/api/v1/chat",
        {"message": "make an image of our sneakers on a beach", "agent": "asset"},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    run = client.get(f"/api/v1/chat/runs/{response.json()['data']['run_id']}").json()["data"]
    assert run["status"] == "succeeded", run["error"]
    assert run["planner"] == "model"
    assert run["latest_assistant_text"] == "Here is your beach image of the sneakers."
    assert [t["tool_name"] for t in run["transcript"] if t["role"] == "tool"] == [
        "list_products",
        "generate_image",
    ]
    # Three model turns; each after the first saw the previous tool's result.
    turns = [r for r in scripted.chat_requests if r.get("tools")]
    assert len(turns) == 3
    first_result = [m for m in turns[1]["messages"] if m["role"] == "tool"]
    assert json.loads(first_result[0]["content"])["products"][0]["id"] == str(product.pk)
    second_result = [m for m in turns[2]["messages"] if m["role"] == "tool"][-1]
    assert json.loads(second_result["content"])["generation_id"] == run["generation_ids"][0]
    assert {t["function"]["name"] for t in turns[0]["tools"]} >= {"generate_ad", "research_ads"}
    # Charged: the image as a generation, plus the chat tokens of the three turns.
    generation = Generation.objects.get(uuid=run["generation_ids"][0])
    tokens = LedgerEntry.objects.filter(
        team=chat_team, kind=LedgerKind.DEBIT, cause__startswith="agent_run:"
    )
    assert tokens.count() == 3
    token_credits = sum(abs(e.amount) for e in tokens)
    assert run["credits_used"] == generation.credits_charged + token_credits
    assert before - credits.balances(chat_team).total == run["credits_used"]
    assert len(run["artifacts"]) == 1 and run["artifacts"][0]["type"] == "image"


def test_a_tool_outside_a_discover_agents_set_is_refused_inside_the_run(
    chat_team, alice_key, scripted
):
    scripted.tool_script = [[{"name": "generate_video", "arguments": {"prompt": "a clip"}}]]
    scripted.reply = lambda messages: "I could not make a video in research mode."
    client = Client(headers={"Authorization": f"Bearer {alice_key}"})
    response = client.post(
        "/api/v1/chat",
        {"message": "What do our products look like?", "agent": "discover"},
        content_type="application/json",
    )
    run = client.get(f"/api/v1/chat/runs/{response.json()['data']['run_id']}").json()["data"]
    assert run["status"] == "succeeded"
    refused = next(t for t in run["transcript"] if t["role"] == "tool")
    assert "Refused" in refused["result"]["error"]
    assert not Generation.objects.filter(type="video").exists()
    offered = {t["function"]["name"] for t in scripted.chat_requests[0]["tools"]}
    assert not offered & {"generate_image", "generate_video", "generate_ad"}
