"""Ad copy by the team's chat model (the loopback OpenAI-compatible fake): used and labelled
when it holds up, replaced by the rule-based copywriter when it does not."""

from __future__ import annotations

import json

import pytest

from generations import engine
from generations.ads import services
from generations.models import GenerationState
from tests.chat.fixtures import *  # noqa: F403
from tests.chat.fixtures import MODEL
from tests.generations.test_ads import BRIEF, analysed_product

pytestmark = pytest.mark.django_db


def make_ad(team, user, product):
    body = {"brief": BRIEF, "product_ids": [str(product.pk)], "brand_context": "navy"}
    generation = services.start_ad(team, user, body, source="api").generation
    engine.submit(generation.pk)
    generation.refresh_from_db()
    return generation


def test_the_teams_chat_model_writes_the_copy_and_is_named_as_its_writer(chat_team, alice, fake):
    written = {
        "hook": "Built for double shifts",
        "headline": "Day Shift keeps you going",
        "body_copy": "Twenty grams of protein in a bar that fits your pocket.",
        "cta": "Grab a box",
    }
    fake.reply = lambda messages: json.dumps(written)
    ad = make_ad(chat_team, alice, analysed_product(chat_team))
    assert ad.state == GenerationState.SUCCEEDED, ad.error
    meta = ad.result_meta["ad"]
    assert meta["copy_source"] == f"model:{MODEL}"
    assert meta["ad_copy"]["headline"] == "Day Shift keeps you going"
    assert meta["ad_copy"]["style_name"] == "Performance Master"
    asked = json.dumps(fake.chat_requests[-1]["messages"])
    assert "Vysionary" in asked and BRIEF in asked and "navy" in asked


def test_placeholder_copy_from_the_model_is_refused_and_the_rules_write_it(chat_team, alice, fake):
    fake.reply = lambda messages: json.dumps(
        {"hook": "Lorem ipsum", "headline": "[Product name]", "body_copy": "x", "cta": "Buy"}
    )
    ad = make_ad(chat_team, alice, analysed_product(chat_team))
    assert ad.state == GenerationState.SUCCEEDED, ad.error
    meta = ad.result_meta["ad"]
    assert meta["copy_source"] == "rules"
    assert "Day Shift" in meta["ad_copy"]["headline"] + meta["ad_copy"]["hook"]
    assert len(fake.chat_requests) == 2  # asked once more, with the error, then rules
