"""Tokens: the estimate a chat message is charged when accepted, the window its history must
fit, and what real token counts cost.

No tokenizer is installed for every model Studio can reach, so counts before the answer are
estimates: ceil(characters / 4) per text (about right for English; a message's real count
comes back from the upstream and settles the charge) plus a few tokens of per-message
framing, as chat templates add. The estimate is the most a message can cost: settlement only
ever refunds.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.conf import settings

from generations.models import AIModel

PER_MESSAGE_OVERHEAD = 4  # role and separators a chat template wraps each message in
REPLY_PRIMING = 3  # the assistant header the answer starts after
DEFAULT_CONTEXT_TOKENS = 8192
DEFAULT_MAX_OUTPUT_TOKENS = 4096


def count_text(text: str) -> int:
    return math.ceil(len(text) / 4)


def count_message(message: dict[str, Any]) -> int:
    return PER_MESSAGE_OVERHEAD + count_text(str(message.get("content") or ""))


def count_messages(messages: list[dict[str, Any]]) -> int:
    return REPLY_PRIMING + sum(count_message(m) for m in messages)


def context_tokens(model: AIModel) -> int:
    value = (model.params or {}).get("context_tokens")
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_CONTEXT_TOKENS


def max_output_tokens(model: AIModel) -> int:
    value = (model.params or {}).get("max_output_tokens")
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_MAX_OUTPUT_TOKENS


def default_max_tokens(model: AIModel) -> int:
    return min(settings.STUDIO_CHAT_MAX_TOKENS, max_output_tokens(model))


def fit_to_window(
    system: list[dict[str, Any]],
    history: list[dict[str, Any]],
    current: dict[str, Any],
    budget: int,
) -> list[dict[str, Any]]:
    """System messages + the newest turns of `history` that fit in `budget` tokens + `current`.

    Oldest turns go first; the system prompt and the current message are always kept (the
    caller refuses a request whose system prompt and message alone exceed the window). A
    turn is a user message with the answers after it: an answer never stays without the
    question it answers.
    """
    used = count_messages([*system, current])
    turns: list[list[dict[str, Any]]] = []
    for message in history:
        if message.get("role") == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    kept: list[list[dict[str, Any]]] = []
    for turn in reversed(turns):
        cost = sum(count_message(m) for m in turn)
        if used + cost > budget:
            break
        kept.append(turn)
        used += cost
    return [*system, *(m for turn in reversed(kept) for m in turn), current]


# --- prices ------------------------------------------------------------------------------------


def rates(model: AIModel) -> tuple[Decimal, Decimal]:
    """Credits per 1K input and output tokens."""
    return Decimal(model.input_token_rate or 0), Decimal(model.output_token_rate or 0)


def token_credits(model: AIModel, prompt_tokens: int, completion_tokens: int) -> int:
    """Whole credits for these token counts (rounded up; at least 1 for any use)."""
    rate_in, rate_out = rates(model)
    exact = (rate_in * prompt_tokens + rate_out * completion_tokens) / 1000
    return max(1, math.ceil(exact))


def usage_counts(usage: Any, fallback_prompt: int, content: str) -> tuple[int, int]:
    """(prompt, completion) tokens an upstream reported, or estimates where it reported none."""
    usage = usage if isinstance(usage, dict) else {}

    def number(key: str, default: int) -> int:
        value = usage.get(key)
        return int(value) if isinstance(value, int | float) and value >= 0 else default

    return (
        number("prompt_tokens", fallback_prompt),
        number("completion_tokens", count_text(content)),
    )
