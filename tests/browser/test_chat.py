"""In Chromium: a member holds a two-turn conversation on the Chat page and sees each answer
appear, the second one while it is being written, without the page ever reloading.

Answers come from the loopback OpenAI-compatible fake that streams. The first message is
answered inline (tasks run in the request in tests); the second is held back from the task
queue so the test can play the worker: the partial text the engine records appears on the
page through the message's polling, then the real answer replaces it and the polling stops.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from generations import engine
from generations.models import ChatConversation, Generation, GenerationState
from tests.browser.conftest import sign_in
from tests.chat.fixtures import *  # noqa: F403
from tests.chat.fixtures import MODEL
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = bool(os.environ.get("STUDIO_SCREENSHOTS"))


def shoot(page, name: str) -> None:
    """Desktop and phone screenshots of the current page, when STUDIO_SCREENSHOTS is set."""
    if not SCREENSHOTS:
        return
    os.makedirs("test-artifacts", exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=f"test-artifacts/chat-{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)
    page.screenshot(path=f"test-artifacts/chat-{name}-mobile.png", full_page=True)
    page.set_viewport_size(size)


def test_a_member_holds_a_two_turn_conversation_and_sees_the_answers_appear_without_a_reload(
    page, alice, chat_team, fake, monkeypatch
):
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{chat_team.uuid}/chat/")
    expect(page.get_by_test_id("chat-composer")).to_be_visible()
    shoot(page, "new")
    # Survives only if the page never navigates or reloads.
    page.evaluate("window.__chatSession = 'still here'")

    page.get_by_test_id("chat-model").select_option(MODEL)
    expect(page.get_by_test_id("chat-price")).to_contain_text("Credits per 1,000 tokens: 1 ")
    page.get_by_text("System prompt").click()
    page.get_by_test_id("chat-system-prompt").fill("You are brief.")
    page.get_by_test_id("chat-input").fill("My name is Ada")
    page.get_by_test_id("chat-send").click()

    first = page.get_by_test_id("assistant-message").first
    expect(first).to_have_attribute("data-state", "completed")
    expect(first.get_by_test_id("assistant-text")).to_have_text("You said: My name is Ada")
    expect(first.get_by_test_id("message-cost")).to_contain_text("cr")
    conversation = ChatConversation.objects.get(team=chat_team)
    assert page.url.endswith(f"/chat/{conversation.uuid}/")  # pushed, not loaded
    expect(page.get_by_test_id("conversation-link")).to_have_count(1)
    expect(page.get_by_test_id("conversation-title")).to_have_text("My name is Ada")

    # The second turn: held back from the queue, so the test plays the worker.
    held: list[int] = []
    monkeypatch.setattr(engine, "enqueue", lambda name, pk, *a, **k: held.append(pk))
    # Enter sends (Shift+Enter would add a line).
    page.get_by_test_id("chat-input").fill("What is my name?")
    page.get_by_test_id("chat-input").press("Enter")

    second = page.get_by_test_id("assistant-message").nth(1)
    expect(second).to_have_attribute("data-state", "processing")
    expect(page.get_by_test_id("user-message")).to_have_count(2)
    expect(second.get_by_test_id("answer-writing")).to_be_visible()
    assert len(held) == 1
    Generation.objects.filter(pk=held[0]).update(state=GenerationState.SUBMITTING)
    engine.ProgressWriter(held[0], 60).partial("Your name")
    expect(second.get_by_test_id("assistant-text")).to_have_text("Your name")
    shoot(page, "writing")

    Generation.objects.filter(pk=held[0]).update(state=GenerationState.QUEUED)
    engine.submit(held[0])  # the fake streams the answer; the engine settles it
    expect(second).to_have_attribute("data-state", "completed")
    expect(second.get_by_test_id("assistant-text")).to_have_text("You said: What is my name?")
    # The fake saw the first turn with the second (the conversation kept its context).
    sent = fake.chat_requests[-1]["messages"]
    assert [m["content"] for m in sent] == [
        "You are brief.",
        "My name is Ada",
        "You said: My name is Ada",
        "What is my name?",
    ]
    expect(page.get_by_test_id("conversation-cost")).not_to_have_text("0")
    assert page.evaluate("window.__chatSession") == "still here"
    shoot(page, "answered")


def test_without_a_chat_model_the_page_says_how_to_enable_chat(page, alice, team, monkeypatch):
    from generations.providers import offline_llm

    monkeypatch.setattr(offline_llm, "installed", lambda: False)  # and no provider credential
    sign_in(page, alice.email, PASSWORD)
    page.goto(f"/t/{team.uuid}/chat/")
    enable = page.get_by_test_id("chat-enable")
    expect(enable).to_be_visible()
    expect(enable).to_contain_text("make install-llm")
    expect(enable.get_by_role("link", name="Providers page")).to_be_visible()
    expect(page.get_by_test_id("chat-composer")).to_have_count(0)
    shoot(page, "enable")
