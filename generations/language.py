"""The language layer: one synchronous `complete` over the chat models, for the work that
needs a few sentences or a JSON plan rather than a chat message (scene planning, ad copy).

- OpenAI-compatible servers: one non-streamed `POST /chat/completions` on a credential the
  team may use (its own first, then a shared one), `response_format` and `tools` passed
  through (generations/providers/openai_chat.py builds and reads it, as for chat).
- The offline model (studio-local/chat, `make install-llm`): llama.cpp in this process, its
  JSON grammar-constrained when JSON is asked, to a JSON schema when one is given (upstreams
  get plain `json_object`: not every OpenAI-compatible server knows schemas). It is small
  (135M): repetitive or invalid answers are expected, and `complete_json` re-asks once,
  then returns None so the caller uses its rule-based writer.
- Kolbo and Krev relay chat asynchronously (a run to poll): not used here.

Planning and copy tokens are not charged: a creative director costs the sum of its scenes.
Called from cluster workers; no transaction is held across the call.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from generations.models import AIModel, GenerationType, Provider
from generations.providers import offline_llm
from studio.accounts.models import Team

log = logging.getLogger(__name__)

T = TypeVar("T")

JSON_FORMAT = {"type": "json_object"}
# Providers `complete` can call synchronously (Kolbo and Krev answer chat through a run).
LANGUAGE_PROVIDERS = (Provider.OPENAI, Provider.LOCAL)


@dataclass(frozen=True)
class Completion:
    text: str  # the model's answer text
    data: Any | None  # the parsed JSON when response_format asked for JSON (None if unparseable)
    model: str  # identifier of the model that answered
    usage: dict[str, int]  # {"prompt_tokens": int, "completion_tokens": int}
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # as the upstream sent them


class LanguageUnavailable(Exception):
    """No model, the model is not installed, no credential, or the upstream failed."""


def planning_model(team: Team) -> AIModel | None:
    """The enabled chat model `team` can use for planning and copy: an upstream chat model it
    has a usable credential for (Smart Select's order), else the offline model when it is
    installed; None when there is none (callers then use their rule-based writer)."""
    from generations.registry import enabled_models

    candidates = [
        model
        for model in enabled_models(team).filter(provider__in=LANGUAGE_PROVIDERS)
        if model.does(GenerationType.CHAT)
    ]
    upstream = [m for m in candidates if m.provider != Provider.LOCAL]
    found = upstream or candidates
    return found[0] if found else None


def complete(
    model: AIModel,
    messages: list[dict[str, Any]],
    *,
    team: Team | None = None,
    tools: list[dict[str, Any]] | None = None,
    response_format: dict[str, Any] | None = None,
    max_tokens: int = 512,
    temperature: float = 0.7,
    seed: int | None = None,
) -> Completion:
    """One answer from `model` (synchronous). `team` picks the upstream credential (the
    team's own, then a shared one); without it only shared credentials are used.
    Raises LanguageUnavailable."""
    if model.provider == Provider.LOCAL:
        if tools:
            raise LanguageUnavailable("The offline model cannot call tools")
        return _complete_offline(messages, response_format, max_tokens, temperature, seed)
    if model.provider == Provider.OPENAI:
        return _complete_openai(
            model, messages, team, tools, response_format, max_tokens, temperature, seed
        )
    raise LanguageUnavailable(f"{model.identifier} cannot be used for planning")


def complete_json(
    model: AIModel,
    messages: list[dict[str, Any]],
    validate: Callable[[Any], T],
    *,
    team: Team | None = None,
    schema: dict[str, Any] | None = None,
    max_tokens: int = 1024,
    temperature: float = 0.4,
    seed: int | None = None,
) -> T | None:
    """Ask for JSON, parse it and pass it to `validate` (which raises ValueError, TypeError
    or KeyError on bad input and returns the clean value). On invalid output, ask again
    once with the error; None when it is still invalid or no model answered (the caller
    falls back to its rules and labels the result). `schema` (a JSON schema) constrains the
    offline model's output; give string `maxLength`s so an answer cannot run out of tokens."""
    response_format = {**JSON_FORMAT, "schema": schema} if schema else JSON_FORMAT
    conversation = list(messages)
    for attempt in (1, 2):
        try:
            answer = complete(
                model,
                conversation,
                team=team,
                response_format=response_format,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed,
            )
        except LanguageUnavailable as exc:
            log.info("language model %s unavailable: %s", model.identifier, exc)
            return None
        try:
            if answer.data is None:
                raise ValueError("the answer is not a JSON object")
            return validate(answer.data)
        except (ValueError, TypeError, KeyError) as exc:
            log.info(
                "language model %s gave invalid JSON (try %d): %s", model.identifier, attempt, exc
            )
            conversation += [
                {"role": "assistant", "content": answer.text},
                {
                    "role": "user",
                    "content": f"That answer is not valid: {exc}. Answer again with only the "
                    "corrected JSON object.",
                },
            ]
    return None


def parse_json(text: str) -> Any | None:
    """The JSON object in a model's answer: the whole text, or inside a ``` fence, or from
    its first `{` to its last `}`; None when there is none."""
    text = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    for candidate in (text, fenced.group(1) if fenced else None):
        if candidate:
            try:
                return json.loads(candidate)
            except ValueError:
                pass
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            return json.loads(text[start : end + 1])
        except ValueError:
            return None
    return None


def _completion(
    text: str,
    model: str,
    usage: dict[str, Any],
    response_format: dict[str, Any] | None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> Completion:
    wants_json = response_format is not None and response_format.get("type") != "text"
    return Completion(
        text=text,
        data=parse_json(text) if wants_json else None,
        model=model,
        usage={
            "prompt_tokens": int(usage.get("prompt_tokens") or 0),
            "completion_tokens": int(usage.get("completion_tokens") or 0),
        },
        tool_calls=tool_calls or [],
    )


def _complete_openai(
    model: AIModel,
    messages: list[dict[str, Any]],
    team: Team | None,
    tools: list[dict[str, Any]] | None,
    response_format: dict[str, Any] | None,
    max_tokens: int,
    temperature: float,
    seed: int | None,
) -> Completion:
    from generations.providers import openai_chat
    from generations.providers.base import get_adapter
    from generations.providers.http_errors import HttpAdapter
    from studio.vault.credentials import available_credentials, to_upstream
    from studio.vault.models import ProviderCredential

    adapter = get_adapter(model.provider)
    assert isinstance(adapter, HttpAdapter)
    if team is not None:
        row = available_credentials(team, model.provider).first()
    else:
        row = ProviderCredential.objects.filter(
            team__isnull=True, provider=model.provider, enabled=True, healthy=True
        ).first()
    if row is None:
        raise LanguageUnavailable(f"No usable {model.get_provider_display()} credential")
    credential = to_upstream(row)
    options = {}
    if isinstance((model.params or {}).get("max_tokens_field"), str):
        options["max_tokens_field"] = model.params["max_tokens_field"]
    if response_format and "schema" in response_format:  # llama.cpp's form, not OpenAI's
        response_format = {k: v for k, v in response_format.items() if k != "schema"}
    body = openai_chat.request_body(
        model.upstream_model or model.identifier,
        messages,
        max_tokens=max_tokens,
        options=options,
        temperature=temperature,
        seed=seed,
        response_format=response_format,
        tools=tools or None,
    )
    answer = openai_chat.complete_once(
        adapter, f"{adapter.base(credential)}/chat/completions", body, credential
    )
    if not isinstance(answer, openai_chat.Answer):
        raise LanguageUnavailable(answer.message)
    return _completion(
        answer.content, model.identifier, answer.usage, response_format, answer.tool_calls
    )


def _complete_offline(
    messages: list[dict[str, Any]],
    response_format: dict[str, Any] | None,
    max_tokens: int,
    temperature: float,
    seed: int | None,
) -> Completion:
    from generations.providers.local import chat

    if not offline_llm.installed():
        raise LanguageUnavailable(
            f"The offline language model is not installed: {offline_llm.INSTALL_COMMAND}"
        )
    plain = [
        {"role": str(m["role"]), "content": str(m["content"])}
        for m in messages
        if m.get("role") in ("system", "user", "assistant") and isinstance(m.get("content"), str)
    ]
    try:
        written = chat.generate(
            chat.load(),
            plain,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            response_format=response_format,
        )
    except (chat.OfflineModelMissing, ValueError) as exc:
        raise LanguageUnavailable(str(exc)) from exc
    return _completion(
        written.content.strip(), offline_llm.MODEL_IDENTIFIER, written.usage, response_format
    )
