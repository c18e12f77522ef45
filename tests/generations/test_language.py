"""The language layer (generations/language.py) against the loopback OpenAI-compatible fake
and, where it is installed, the real offline model."""

from __future__ import annotations

import json

import pytest

from generations import language
from generations.models import AIModel
from tests.chat.fixtures import *  # noqa: F403
from tests.chat.fixtures import MODEL
from tests.chat.offline import require_offline_llm

pytestmark = pytest.mark.django_db

ASK = [{"role": "user", "content": 'Plan two scenes as JSON: {"scenes": [{"title": str}]}'}]


def scenes_of(data):
    scenes = data["scenes"]
    if not isinstance(scenes, list) or len(scenes) != 2:
        raise ValueError("'scenes' must be a list of 2 scenes")
    return [str(s["title"]) for s in scenes]


def test_a_team_with_an_openai_credential_plans_with_its_chat_model(chat_team):
    model = language.planning_model(chat_team)
    assert model is not None and model.provider == "openai" and model.does("chat")


def test_a_team_without_any_chat_model_gets_no_planning_model(team, monkeypatch):
    from generations.providers import offline_llm

    monkeypatch.setattr(offline_llm, "installed", lambda: False)
    assert language.planning_model(team) is None


def test_complete_returns_the_answer_its_model_and_usage(chat_team, fake):
    fake.reply = lambda messages: "Hello there"
    answer = language.complete(AIModel.objects.get(identifier=MODEL), ASK, team=chat_team)
    assert answer.text == "Hello there"
    assert answer.model == MODEL
    assert answer.usage["completion_tokens"] > 0 and answer.usage["prompt_tokens"] > 0
    assert fake.chat_requests[-1]["stream"] is False


def test_complete_json_parses_the_models_json(chat_team, fake):
    fake.reply = lambda messages: json.dumps({"scenes": [{"title": "Dawn"}, {"title": "Dusk"}]})
    model = AIModel.objects.get(identifier=MODEL)
    assert language.complete_json(model, ASK, scenes_of, team=chat_team) == ["Dawn", "Dusk"]
    assert fake.chat_requests[-1]["response_format"] == {"type": "json_object"}


def test_invalid_json_is_asked_again_once_with_the_error(chat_team, fake):
    answers = iter(["not json at all", '```json\n{"scenes": [{"title": "A"}, {"title": "B"}]}```'])
    fake.reply = lambda messages: next(answers)
    model = AIModel.objects.get(identifier=MODEL)
    assert language.complete_json(model, ASK, scenes_of, team=chat_team) == ["A", "B"]
    assert len(fake.chat_requests) == 2
    retry = fake.chat_requests[1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": "not json at all"}
    assert "not valid" in retry[-1]["content"]


def test_output_still_invalid_after_the_re_ask_gives_none(chat_team, fake):
    fake.reply = lambda messages: json.dumps({"scenes": [{"title": "only one"}]})
    model = AIModel.objects.get(identifier=MODEL)
    assert language.complete_json(model, ASK, scenes_of, team=chat_team) is None
    assert len(fake.chat_requests) == 2


def test_an_upstream_failure_gives_none_so_the_caller_falls_back(chat_team, fake):
    fake.faults.set("fail_job", times=1)
    model = AIModel.objects.get(identifier=MODEL)
    assert language.complete_json(model, ASK, scenes_of, team=chat_team) is None


def test_complete_without_a_usable_credential_is_unavailable(team):
    from tests.chat.fixtures import seed_chat_models

    seed_chat_models()
    with pytest.raises(language.LanguageUnavailable):
        language.complete(AIModel.objects.get(identifier=MODEL), ASK, team=team)


def test_tools_are_passed_through_and_their_calls_come_back(chat_team, fake):
    fake.tool_calls = [{"name": "plan_scene", "arguments": {"title": "Dawn"}}]
    tools = [
        {
            "type": "function",
            "function": {"name": "plan_scene", "parameters": {"type": "object"}},
        }
    ]
    try:
        answer = language.complete(
            AIModel.objects.get(identifier=MODEL), ASK, team=chat_team, tools=tools
        )
    finally:
        fake.tool_calls = None
    assert fake.chat_requests[-1]["tools"] == tools
    call = answer.tool_calls[0]["function"]
    assert call["name"] == "plan_scene" and json.loads(call["arguments"]) == {"title": "Dawn"}


def test_the_offline_model_answers_json_when_json_is_asked():
    require_offline_llm()
    from tests.chat.fixtures import seed_chat_models

    seed_chat_models()
    model = AIModel.objects.get(identifier="studio-local/chat")
    answer = language.complete(
        model,
        [{"role": "user", "content": "Give a JSON object with a key 'title' naming a film."}],
        response_format=language.JSON_FORMAT,
        max_tokens=48,
        seed=7,
    )
    assert answer.model == "studio-local/chat"
    assert answer.text.lstrip().startswith("{")


def test_a_schema_is_sent_to_upstreams_as_plain_json_object(chat_team, fake):
    fake.reply = lambda messages: json.dumps({"scenes": [{"title": "A"}, {"title": "B"}]})
    model = AIModel.objects.get(identifier=MODEL)
    schema = {"type": "object", "properties": {"scenes": {"type": "array"}}}
    found = language.complete_json(model, ASK, scenes_of, team=chat_team, schema=schema)
    assert found == ["A", "B"]
    assert fake.chat_requests[-1]["response_format"] == {"type": "json_object"}


def test_the_offline_model_follows_a_json_schema():
    require_offline_llm()
    from tests.chat.fixtures import seed_chat_models

    seed_chat_models()
    text = {"type": "string", "minLength": 1, "maxLength": 30}
    schema = {
        "type": "object",
        "properties": {
            "scenes": {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "items": {"type": "object", "properties": {"title": text}, "required": ["title"]},
            }
        },
        "required": ["scenes"],
    }
    model = AIModel.objects.get(identifier="studio-local/chat")
    shape = language.complete_json(
        model, ASK, lambda data: [str(s["title"]) for s in data["scenes"]], schema=schema, seed=3
    )
    assert shape is not None and len(shape) == 2
