"""The Agent page: start a run from the dashboard and read its transcript and artifacts."""

from __future__ import annotations

import pytest

from generations.agent.models import AgentRun
from tests.agent.conftest import make_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_agent_page_starts_a_run_and_shows_its_steps_artifacts_and_cost(
    funded, alice_client, offline
):
    page = alice_client.get(f"/t/{funded.uuid}/agent/")
    assert page.status_code == 200 and b"No runs yet" in page.content
    product = make_product(funded)
    response = alice_client.post(
        f"/t/{funded.uuid}/agent/",
        {"message": "make an image of this on a beach", "agent": "asset",
         "product_ids": [str(product.pk)]},
    )  # fmt: skip
    run = AgentRun.objects.get()
    assert response.status_code == 302 and str(run.uuid) in response["Location"]
    shown = alice_client.get(response["Location"]).content.decode()
    assert 'data-status="succeeded"' in shown
    assert "generate_image" in shown and "offline planner (rules)" in shown
    assert shown.count('data-testid="agent-artifact"') == 1
    assert '<strong data-testid="agent-credits">40</strong>' in shown
    live = alice_client.get(f"/t/{funded.uuid}/agent/runs/{run.uuid}/live/")
    assert live.status_code == 286  # finished: the polling stops


def test_a_meta_change_from_the_page_is_refused_with_the_reason(funded, alice_client, offline):
    response = alice_client.post(
        f"/t/{funded.uuid}/agent/", {"message": "Pause my summer campaign", "agent": "auto"}
    )
    assert response.status_code == 403
    assert b"do not change Meta campaigns" in response.content
    assert not AgentRun.objects.exists()


def test_another_teams_run_page_is_not_found(funded, alice_client, charlie_client, offline):
    alice_client.post(f"/t/{funded.uuid}/agent/", {"message": "How many credits do I have?"})
    run = AgentRun.objects.get()
    assert charlie_client.get(f"/t/{funded.uuid}/agent/runs/{run.uuid}/").status_code in (403, 404)


def test_an_agent_conversation_still_opens_on_the_chat_page(funded, alice_client, offline):
    alice_client.post(f"/t/{funded.uuid}/agent/", {"message": "How many credits do I have?"})
    run = AgentRun.objects.get()
    page = alice_client.get(f"/t/{funded.uuid}/chat/{run.conversation.uuid}/")
    assert page.status_code == 200
    assert b"credits." in page.content
