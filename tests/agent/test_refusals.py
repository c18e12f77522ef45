"""Agent runs refuse Meta campaign, ad set, budget and account changes, and only those."""

from __future__ import annotations

import pytest

from generations.agent.rules import auto_mode, changes_meta_account
from tests.api.conftest import alice_key, make_key  # noqa: F401

META_CHANGES = [
    "Pause my summer campaign",
    "Increase the daily budget to $50",
    "Raise the budget of the retargeting ad set by 20%",
    "Turn off all ads in the spring campaign",
    "Create a new campaign targeting women 25-34",
    "Duplicate the best performing ad set",
    "Change the bid cap on my conversion campaign",
    "Set the lifetime budget at 2000",
    "Delete the old campaigns",
    "Switch off the Black Friday ad set tonight",
    "Please lower our ad account spending limit",
    "Move budget from campaign A to campaign B",
    "Unpause the holiday campaign",
    "Update the targeting of my lookalike audience",
    "Add a new payment method to the ad account",
    "Scale up the winning campaigns",
    "The campaign budget should be 80 dollars a day",
    "Stop all running ads",
    "Rename the ad set to Retargeting Q4",
    "Disconnect my Facebook account",
]
CREATIVE_ASKS = [
    "Make three ad concepts for our summer campaign",
    "Generate images for the Black Friday campaign",
    "Write ad copy for my retargeting campaign",
    "Create a video for our new campaign launch",
    "Make 2 images of our sneakers on a beach for the campaign",
    "Design an ad for the campaign about our protein bar",
    "Research the ads in my competitors' campaigns",
    "What ads did we make for the spring campaign?",
    "Give me image ideas for a low budget shoot",
    "Create three ads in the style of our best campaign",
    "Make a video ad for the holiday campaign",
    "Generate 4 product photos for our ad set creative refresh",
    "Make ads on a budget-friendly theme",
    "Draft headlines for the summer campaign",
    "Create an image of the bottle for my campaign landing page",
    "How many credits do I have left for campaign creative?",
    "List my products",
    "Make a campaign-ready image of the lamp",
    "Generate ad creative for the account manager to review",
    "Show me ads from the Meta Ad Library about running shoes",
]


@pytest.mark.parametrize("message", META_CHANGES)
def test_a_meta_change_is_recognised(message):
    assert changes_meta_account(message)


@pytest.mark.parametrize("message", CREATIVE_ASKS)
def test_a_creative_request_mentioning_campaigns_is_not_refused(message):
    assert not changes_meta_account(message)


def test_auto_mode_makes_assets_for_making_requests_and_researches_otherwise():
    assert auto_mode("Make three ad concepts") == "asset"
    assert auto_mode("How many credits do I have?") == "discover"
    assert auto_mode("Which of our products sell best?") == "discover"


@pytest.mark.django_db
def test_the_api_refuses_every_meta_change_and_queues_every_creative_ask(team, alice_key, settings):  # noqa: F811
    settings.STUDIO_RATE_LIMITS = {**settings.STUDIO_RATE_LIMITS, "generation": 100}
    from django.test import Client

    from generations.agent.models import AgentRun
    from studio.accounts.models import LedgerEntry

    client = Client(headers={"Authorization": f"Bearer {alice_key}"})
    for message in META_CHANGES:
        response = client.post(
            "/api/v1/chat", {"message": message}, content_type="application/json"
        )
        assert response.status_code == 403, message
        assert response.json()["code"] == "FORBIDDEN"
    assert not AgentRun.objects.exists()
    for message in CREATIVE_ASKS:
        response = client.post(
            "/api/v1/chat", {"message": message}, content_type="application/json"
        )
        assert response.status_code == 202, (message, response.content)
    assert AgentRun.objects.count() == len(CREATIVE_ASKS)
    assert not LedgerEntry.objects.filter(kind="debit").exists()
