"""Agent runs (Krev's async chat): POST /api/v1/chat with a Bearer key queues a run that
calls tools over the team's data; paid calls are ordinary generations charged as such."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.test import Client

from generations.agent import services
from generations.agent.models import AgentRun, AgentStep
from generations.models import Generation
from studio.accounts import credits
from studio.accounts.models import LedgerEntry, LedgerKind
from tests.agent.conftest import make_product
from tests.api.conftest import alice_key, make_key  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

SEED_MESSAGE = "Make three ad concepts for this product and include image ideas"


def start(client, body):
    return client.post("/api/v1/chat", body, content_type="application/json")


def poll(client, run_id):
    response = client.get(f"/api/v1/chat/runs/{run_id}")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def debits(team) -> int:
    return -sum(
        e.amount if e.amount < 0 else -e.amount
        for e in LedgerEntry.objects.filter(team=team, kind=LedgerKind.DEBIT)
    )


def spent_by(team) -> int:
    charged = sum(e.amount for e in LedgerEntry.objects.filter(team=team, kind=LedgerKind.DEBIT))
    refunded = sum(e.amount for e in LedgerEntry.objects.filter(team=team, kind=LedgerKind.REFUND))
    return abs(charged) - abs(refunded)


def test_the_seeds_async_chat_example_runs_offline_to_three_ads_charged_as_their_generations(
    funded, krev, offline
):
    product = make_product(funded)
    before = credits.balances(funded).total
    response = start(
        krev, {"message": SEED_MESSAGE, "product_ids": [str(product.pk)], "agent": "asset"}
    )
    assert response.status_code == 202, response.content
    queued = response.json()["data"]
    assert queued["status"] == "queued"
    assert queued["poll_url"] == f"http://testserver/api/v1/chat/runs/{queued['run_id']}"
    for field in ("conversation_id", "user_message_id", "assistant_message_id", "job_id"):
        assert queued[field]
    run = poll(krev, queued["run_id"])
    assert run["status"] == "succeeded", run["error"]
    assert run["planner"] == "rules"
    assert "offline planner" in run["transcript"][1]["content"]
    ads = [a for a in run["artifacts"] if a["type"] == "ad"]
    assert len(ads) == 3
    for ad in ads:  # Studio's own signed media links, fetched without a key
        link = urlparse(ad["url"])
        assert link.scheme.startswith("http")
        assert Client().get(f"{link.path}?{link.query}").status_code == 200
    assert all(a["data"]["ad_copy"]["headline"] for a in ads)
    assert len(run["generation_ids"]) == 3 and len(run["generations"]) == 3
    tools_called = [t["tool_name"] for t in run["transcript"] if t["role"] == "tool"]
    assert tools_called == ["generate_ad"] * 3
    # Each ad is an ordinary generation of the team, in its gallery, linked to the run.
    gallery = Generation.objects.filter(team=funded, parent__isnull=True, type="ad")
    assert {str(g.uuid) for g in gallery} == set(run["generation_ids"])
    assert all(
        g.agent_steps.get().run.uuid.hex == queued["run_id"].replace("-", "") for g in gallery
    )
    # Charged exactly the sum of its paid calls: 3 ads at 40.
    assert run["credits_used"] == 120
    assert before - credits.balances(funded).total == 120
    assert run["latest_assistant_text"].count("Ad concept") == 3
    conversation = krev.get(f"/api/v1/chat/conversations/{queued['conversation_id']}").json()[
        "data"
    ]
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"]
    assert conversation["messages"][1]["content"] == run["latest_assistant_text"]
    assert conversation["runs"][0]["run_id"] == queued["run_id"]


def test_a_message_naming_a_product_lists_products_then_makes_the_images(funded, krev, offline):
    make_product(funded, "Desk Lamp")
    sneakers = make_product(funded, "Cloudstep Sneakers")
    response = start(krev, {"message": "make 2 images of our sneakers on a beach"})
    run = poll(krev, response.json()["data"]["run_id"])
    assert run["status"] == "succeeded", run["error"]
    tool_steps = [t for t in run["transcript"] if t["role"] == "tool"]
    assert [t["tool_name"] for t in tool_steps] == ["list_products", "generate_image"]
    assert tool_steps[1]["arguments"]["image_count"] == 2
    generation = Generation.objects.get(uuid=run["generation_ids"][0])
    assert generation.params["product_ids"] == [str(sneakers.pk)]
    assert len([a for a in run["artifacts"] if a["type"] == "image"]) == 2
    assert run["credits_used"] == 80


def test_a_step_re_run_after_a_paid_call_started_does_not_start_or_charge_it_twice(
    funded, offline, alice, monkeypatch
):
    product = make_product(funded)
    crashed = []

    def die_once(step, generation):
        if not crashed:
            crashed.append(generation.pk)
            raise KeyboardInterrupt("worker killed")  # before the call was linked to the step
        original(step, generation)

    original = services.link_generation
    monkeypatch.setattr(services, "link_generation", die_once)
    with pytest.raises(KeyboardInterrupt):
        services.start_run(
            funded, alice, {"message": "make an image of this", "product_ids": [str(product.pk)],
                            "agent": "asset"},
        )  # fmt: skip
    run = AgentRun.objects.get()
    assert run.status == "processing" and Generation.objects.count() == 1
    # The sweeper finds the dead worker's lease and drives the step again.
    AgentRun.objects.update(lease_until=run.created_at)
    services.advance(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert Generation.objects.count() == 1
    assert AgentStep.objects.get(tool_name="generate_image").generation_id == crashed[0]
    assert LedgerEntry.objects.filter(team=funded, kind=LedgerKind.DEBIT).count() == 1


def test_a_run_hitting_its_credit_limit_ends_failed_with_what_it_made(
    funded, krev, offline, settings
):
    settings.STUDIO_AGENT_MAX_CREDITS = 80
    product = make_product(funded)
    response = start(
        krev, {"message": SEED_MESSAGE, "product_ids": [str(product.pk)], "agent": "asset"}
    )
    run = poll(krev, response.json()["data"]["run_id"])
    assert run["status"] == "failed"
    assert "credit limit" in run["error"]
    assert len(run["artifacts"]) == 2 and run["credits_used"] == 80
    assert "credit limit" in run["latest_assistant_text"]


def test_a_run_hitting_its_step_limit_ends_failed_with_what_it_made(
    funded, krev, offline, settings
):
    settings.STUDIO_AGENT_MAX_STEPS = 2
    product = make_product(funded)
    response = start(
        krev, {"message": SEED_MESSAGE, "product_ids": [str(product.pk)], "agent": "asset"}
    )
    run = poll(krev, response.json()["data"]["run_id"])
    assert run["status"] == "failed" and "step limit" in run["error"]
    assert len(run["artifacts"]) == 2 and run["credits_used"] == 80


def test_a_message_changing_meta_campaigns_is_forbidden_and_nothing_is_made(funded, krev, offline):
    response = start(krev, {"message": "Pause my summer campaign and raise the budget to $50"})
    assert response.status_code == 403
    assert response.json()["success"] is False
    assert not AgentRun.objects.exists() and not LedgerEntry.objects.filter(kind="debit").exists()


def test_a_discover_run_never_calls_a_paid_tool(funded, krev, offline):
    make_product(funded)
    response = start(
        krev, {"message": "Make three ad concepts for our products", "agent": "discover"}
    )
    run = poll(krev, response.json()["data"]["run_id"])
    assert run["status"] == "succeeded"
    assert run["generation_ids"] == [] and run["credits_used"] == 0
    assert not Generation.objects.exists()
    assert all(
        t["tool_name"] in {"list_products", "get_credits", "research_ads", "list_generations"}
        for t in run["transcript"]
        if t["role"] == "tool"
    )


def test_another_teams_run_and_conversation_are_not_found(
    funded,
    krev,
    offline,
    other_team,
    charlie,
    make_key,  # noqa: F811
):
    response = start(krev, {"message": "How many credits do I have?"})
    queued = response.json()["data"]
    outsider = Client(headers={"Authorization": f"Bearer {make_key(other_team, charlie)}"})
    assert outsider.get(f"/api/v1/chat/runs/{queued['run_id']}").status_code == 404
    assert (
        outsider.get(f"/api/v1/chat/conversations/{queued['conversation_id']}").status_code == 404
    )
    assert poll(krev, queued["run_id"])["status"] == "succeeded"


def test_a_run_continues_its_conversation(funded, krev, offline):
    first = start(krev, {"message": "How many credits do I have?"}).json()["data"]
    second = start(
        krev, {"message": "List my products", "conversation_id": first["conversation_id"]}
    ).json()["data"]
    assert second["conversation_id"] == first["conversation_id"]
    history = krev.get(f"/api/v1/chat/conversations/{first['conversation_id']}").json()["data"]
    assert len(history["messages"]) == 4 and len(history["runs"]) == 2
    assert "credits" in history["messages"][1]["content"]


def test_a_run_past_its_time_limit_ends_failed_with_the_reason(funded, alice, offline, monkeypatch):
    monkeypatch.setattr("generations.engine.enqueue", lambda *args: None)  # nothing runs
    run = services.start_run(funded, alice, {"message": "How many credits do I have?"})
    AgentRun.objects.filter(pk=run.pk).update(deadline_at=run.created_at)
    services.advance(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "time limit" in run.error
    assert run.assistant_message.content.endswith("I stopped: the run reached its time limit")


def test_a_start_retried_with_the_same_idempotency_key_answers_with_the_first_run(
    funded, krev, offline
):
    body = {"message": "How many credits do I have?"}
    first = krev.post("/api/v1/chat", body, content_type="application/json",
                      headers={"Idempotency-Key": "run-1"})  # fmt: skip
    again = krev.post("/api/v1/chat", body, content_type="application/json",
                      headers={"Idempotency-Key": "run-1"})  # fmt: skip
    assert first.status_code == again.status_code == 202
    assert first.json()["data"]["run_id"] == again.json()["data"]["run_id"]
    assert AgentRun.objects.count() == 1


def test_a_key_reused_with_another_message_is_a_conflict_and_starts_nothing(funded, krev, offline):
    key = {"Idempotency-Key": "k"}
    first = krev.post("/api/v1/chat", {"message": "How many credits do I have?"},
                      content_type="application/json", headers=key)  # fmt: skip
    other = krev.post("/api/v1/chat", {"message": "List my products"},
                      content_type="application/json", headers=key)  # fmt: skip
    assert first.status_code == 202 and other.status_code == 409
    assert other.json()["code"] == "CONFLICT"
    assert AgentRun.objects.count() == 1


def test_two_concurrent_starts_with_one_key_make_one_run(funded, krev, offline, monkeypatch):
    """The second request's first look finds nothing (the other has not committed yet); its
    second look, under the team's lock, finds the other's run and answers with it."""
    from generations.agent import services

    real_replay = services._replay
    looks = []

    def the_other_request_commits_in_between(team, key, fingerprint):
        looks.append(key)
        if len(looks) == 1:
            krev.post("/api/v1/chat", body, content_type="application/json",
                      headers={"Idempotency-Key": "race"})  # fmt: skip
            return None
        return real_replay(team, key, fingerprint)

    body = {"message": "How many credits do I have?"}
    monkeypatch.setattr(services, "_replay", the_other_request_commits_in_between)
    answer = krev.post("/api/v1/chat", body, content_type="application/json",
                       headers={"Idempotency-Key": "race"})  # fmt: skip
    assert answer.status_code == 202
    assert AgentRun.objects.count() == 1
    assert answer.json()["data"]["run_id"] == str(AgentRun.objects.get().uuid)


@pytest.mark.parametrize(
    ("written", "kept"),
    [("All done, here is what I found.", True), ("You have 987654 credits!", False)],
)
def test_the_offline_model_words_the_opening_but_never_invents_numbers(
    funded, alice, small_renders, monkeypatch, written, kept
):
    from generations import language
    from generations.models import AIModel

    local = AIModel.objects.get(identifier="studio-local/chat")
    monkeypatch.setattr(language, "planning_model", lambda team: local)
    monkeypatch.setattr(
        language,
        "complete",
        lambda *args, **kwargs: language.Completion(
            text=written, data=None, model=local.identifier,
            usage={"prompt_tokens": 40, "completion_tokens": 8},
        ),
    )  # fmt: skip
    before = credits.balances(funded).total
    run = services.start_run(funded, alice, {"message": "How many credits do I have?"})
    run.refresh_from_db()
    assert run.status == "succeeded" and run.planner == "rules"
    assert run.final_text.endswith(f"You have {before} credits.")
    assert run.final_text.startswith(written) is kept
    # The wording's tokens are chat tokens: charged at the model's rates, only when used.
    assert (run.token_credits > 0) is kept
    assert before - credits.balances(funded).total == run.token_credits
