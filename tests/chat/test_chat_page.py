"""The Chat page: sending, the answer shown as it is written, the sidebar, errors, access.

Answers come from the loopback OpenAI-compatible fake (tasks run inline in tests, so a sent
message is answered before its POST returns unless a test holds the job back).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from generations import engine
from generations.models import AIModel, ChatConversation, ChatMessage, Generation
from generations.providers import offline_llm
from studio.accounts import credits
from studio.accounts.models import Team
from tests.chat.fixtures import *  # noqa: F403
from tests.chat.fixtures import MODEL, seed_chat_models
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def chat_url(team: Team, conversation=None) -> str:
    if conversation is None:
        return reverse("chat", args=[team.uuid])
    return reverse("chat_conversation", args=[team.uuid, conversation.uuid])


def send(client: Client, team: Team, message: str, **fields) -> object:
    data = {"message": message, "model": MODEL, **fields}
    return client.post(reverse("chat_send", args=[team.uuid]), data, **HTMX)


def test_a_message_sent_from_the_page_is_answered_and_listed_in_the_sidebar(chat_team, alice, fake):
    client = signed_in(alice)
    response = send(client, chat_team, "Write a tagline for a wallet")

    assert response.status_code == 200
    conversation = ChatConversation.objects.get(team=chat_team)
    assert response["HX-Push-Url"] == chat_url(chat_team, conversation)
    assert response["HX-Retarget"] == "#chat-main"
    html = response.content.decode()
    assert "You said: Write a tagline for a wallet" in html
    assert 'id="conversation-list"' in html and "Write a tagline for a wallet" in html
    answer = ChatMessage.objects.get(conversation=conversation, role="assistant")
    assert 'data-state="completed"' in html and f"{answer.credits} cr" in html

    page = client.get(chat_url(chat_team, conversation)).content.decode()
    assert "You said: Write a tagline for a wallet" in page
    assert 'data-testid="conversation-cost"' in page


def test_the_second_message_goes_to_the_same_conversation_with_the_first_turn(
    chat_team, alice, fake
):
    client = signed_in(alice)
    send(client, chat_team, "My name is Ada", system_prompt="Be brief.")
    conversation = ChatConversation.objects.get(team=chat_team)
    send(client, chat_team, "What is my name?", session_id=str(conversation.uuid))

    assert ChatConversation.objects.filter(team=chat_team).count() == 1
    sent = fake.chat_requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"] == "Be brief."
    assert sent[1]["content"] == "My name is Ada"


def test_a_running_answer_shows_its_partial_text_and_polling_stops_once_it_is_done(
    chat_team, alice, fake, monkeypatch
):
    held = []
    monkeypatch.setattr(engine, "enqueue", lambda name, pk, *a, **k: held.append(pk))
    client = signed_in(alice)
    response = send(client, chat_team, "Tell me about lighthouses")
    html = response.content.decode()
    assert 'data-state="processing"' in html and "hx-trigger=" in html

    generation = Generation.objects.get(pk=held[0])
    poll = reverse("chat_message", args=[chat_team.uuid, generation.uuid])
    Generation.objects.filter(pk=generation.pk).update(state="submitting")
    engine.ProgressWriter(generation.pk, 60).partial("Lighthouses guide")
    running = client.get(poll, **HTMX)
    assert running.status_code == 200
    assert "Lighthouses guide" in running.content.decode()
    assert "every 1s" in running.content.decode()  # still polling

    Generation.objects.filter(pk=generation.pk).update(state="queued")
    engine.submit(generation.pk)
    done = client.get(poll, **HTMX)
    assert done.status_code == 286  # htmx stops polling
    body = done.content.decode()
    assert "You said: Tell me about lighthouses" in body and "every 1s" not in body
    assert 'hx-swap-oob="true"' in body  # the conversation's cost is refreshed too


def test_a_failed_answer_says_what_happened_and_what_to_do_next(chat_team, alice, fake):
    fake.faults.set("content_policy", on="submit", times=1)
    client = signed_in(alice)
    send(client, chat_team, "This one is refused")
    answer = ChatMessage.objects.select_related("generation").get(role="assistant")
    assert answer.generation.state == "failed"

    page = client.get(chat_url(chat_team, answer.conversation)).content.decode()
    assert 'data-testid="message-failure"' in page
    assert "This answer failed." in page
    assert f"{answer.generation.credits_refunded} credits refunded" in page
    assert "Retry, or pick another model" in page
    assert reverse("chat_retry", args=[chat_team.uuid, answer.uuid]) in page


def test_without_enough_credits_the_page_says_so_keeps_the_message_and_links_to_credits(
    alice, team, fake, upstream_credentials
):
    seed_chat_models()
    upstream_credentials("openai", fake.base_url, fake.secret)
    team.refresh_from_db()
    credits.debit(team, team.total_credits, "test:drain")
    client = signed_in(alice)
    response = send(client, team, "hello there")

    html = response.content.decode()
    assert response["HX-Retarget"] == "#chat-composer"
    assert 'data-testid="chat-error"' in html
    assert reverse("credits", args=[team.uuid]) in html and "Add credits" in html
    assert "hello there" in html  # the typed message is kept
    assert not ChatConversation.objects.filter(team=team).exists()


def test_without_any_chat_model_the_page_says_how_to_enable_chat(alice, team, monkeypatch):
    monkeypatch.setattr(offline_llm, "installed", lambda: False)
    page = signed_in(alice).get(chat_url(team)).content.decode()

    assert 'data-testid="chat-enable"' in page
    assert "make install-llm" in page
    assert "Ollama" in page and reverse("provider_credentials", args=[team.uuid]) in page
    assert 'data-testid="chat-composer"' not in page


def test_the_model_picker_shows_prices_per_thousand_tokens(chat_team, alice):
    model = AIModel.objects.get(identifier=MODEL)
    page = signed_in(alice).get(chat_url(chat_team)).content.decode()
    rate_in = f"{model.input_token_rate.normalize():f}"
    rate_out = f"{model.output_token_rate.normalize():f}"
    assert f"{rate_in} in / {rate_out} out per 1K tokens" in page


def test_conversations_can_be_searched_renamed_and_deleted(chat_team, alice, fake):
    client = signed_in(alice)
    send(client, chat_team, "About lighthouses")
    send(client, chat_team, "About wallets")
    lighthouses = ChatConversation.objects.get(title="About lighthouses")

    search = chat_url(chat_team) + "?q=wallet"
    found = client.get(search, HTTP_HX_TARGET="conversation-list", **HTMX)
    assert "About wallets" in found.content.decode()
    assert "About lighthouses" not in found.content.decode()

    rename = reverse("chat_rename", args=[chat_team.uuid, lighthouses.uuid])
    client.post(rename, {"title": "Keepers of the light"}, **HTMX)
    lighthouses.refresh_from_db()
    assert lighthouses.title == "Keepers of the light"

    delete = reverse("chat_delete", args=[chat_team.uuid, lighthouses.uuid])
    response = client.post(delete, **HTMX)
    assert response["HX-Redirect"] == chat_url(chat_team)
    assert not ChatConversation.objects.filter(pk=lighthouses.pk).exists()


def test_other_teams_get_404_on_conversations_and_messages(chat_team, alice, charlie, fake):
    client = signed_in(alice)
    send(client, chat_team, "Private thoughts")
    conversation = ChatConversation.objects.get(team=chat_team)
    answer = ChatMessage.objects.get(role="assistant")
    outsider = signed_in(charlie)
    from studio.accounts import services as accounts

    own_team = accounts.create_team("Globex", charlie)
    for url in (
        chat_url(chat_team, conversation),
        chat_url(own_team, conversation),
        reverse("chat_message", args=[own_team.uuid, answer.uuid]),
    ):
        assert outsider.get(url).status_code == 404, url
    for url in (
        reverse("chat_rename", args=[own_team.uuid, conversation.uuid]),
        reverse("chat_delete", args=[own_team.uuid, conversation.uuid]),
        reverse("chat_retry", args=[own_team.uuid, answer.uuid]),
    ):
        assert outsider.post(url, {"title": "mine"}).status_code == 404, url
    send_other = outsider.post(
        reverse("chat_send", args=[own_team.uuid]),
        {"message": "hi", "session_id": str(conversation.uuid)},
    )
    assert send_other.status_code == 404
    assert ChatConversation.objects.get(pk=conversation.pk).title == "Private thoughts"


def test_forms_need_the_csrf_token_and_viewers_cannot_send(chat_team, alice, vera):
    strict = Client(enforce_csrf_checks=True)
    strict.login(username=alice.email, password=PASSWORD)
    response = strict.post(reverse("chat_send", args=[chat_team.uuid]), {"message": "hi"})
    assert response.status_code == 403

    viewer = signed_in(vera)
    assert 'data-testid="chat-composer"' not in viewer.get(chat_url(chat_team)).content.decode()
    refused = viewer.post(reverse("chat_send", args=[chat_team.uuid]), {"message": "hi"})
    assert refused.status_code == 403
    assert not ChatConversation.objects.exists()


def test_retry_asks_the_same_question_again_in_the_conversation(chat_team, alice, fake):
    client = signed_in(alice)
    send(client, chat_team, "Once more")
    answer = ChatMessage.objects.get(role="assistant")
    response = client.post(reverse("chat_retry", args=[chat_team.uuid, answer.uuid]), **HTMX)

    assert response.status_code == 200
    answers = ChatMessage.objects.filter(conversation=answer.conversation, role="assistant")
    assert answers.count() == 2
    assert response.content.decode().count("You said: Once more") == 2
