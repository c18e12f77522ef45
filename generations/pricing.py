"""What a generation costs. Prices are registry data; this turns them into a quote."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from generations.models import AIModel, GenerationType, PricingUnit


@dataclass(frozen=True)
class Quote:
    credits: int
    unit: str
    unit_price: int
    quantity: int
    multiplier: int = 1
    # Chat priced per 1K tokens: the estimate's token counts and the rates (credits per 1K).
    tokens: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quote(model: AIModel, generation_type: str, params: dict[str, Any]) -> Quote:
    """Price `params` (already validated) on `model`.

    Images: per image (HD doubles); video: per second; speech: per started 100 characters;
    music and sound: flat; chat: per 1K tokens in and out, estimated from the prompt and the
    `max_tokens` budget (settled to the real counts when the answer comes), or flat.
    """
    unit = model.pricing_unit
    if unit == PricingUnit.PER_1K_TOKENS:
        return token_quote(
            model, int(params.get("prompt_tokens") or 0), int(params.get("max_tokens") or 0)
        )
    multiplier = 1
    if unit == PricingUnit.PER_IMAGE:
        quantity = int(params.get("count", 1))
        if params.get("hd"):
            multiplier = int((model.params or {}).get("hd_multiplier", 2))
    elif unit == PricingUnit.PER_SECOND:
        quantity = math.ceil(float(params.get("duration", 1)))
    elif unit == PricingUnit.PER_100_CHARS:
        text = params.get("text") or params.get("prompt") or ""
        quantity = max(1, math.ceil(len(text) / 100))
    else:
        quantity = 1
    if generation_type == GenerationType.IMAGE and unit != PricingUnit.PER_IMAGE:
        quantity = max(quantity, 1)
    return Quote(
        credits=model.credit * quantity * multiplier,
        unit=unit,
        unit_price=model.credit,
        quantity=quantity,
        multiplier=multiplier,
    )


def token_quote(model: AIModel, prompt_tokens: int, completion_tokens: int) -> Quote:
    """What `prompt_tokens` in and `completion_tokens` out cost on a per-1K-tokens model."""
    from generations.chat import tokens

    rate_in, rate_out = tokens.rates(model)
    return Quote(
        credits=tokens.token_credits(model, prompt_tokens, completion_tokens),
        unit=PricingUnit.PER_1K_TOKENS,
        unit_price=model.credit,
        quantity=prompt_tokens + completion_tokens,
        tokens={
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "input_token_rate": str(rate_in),
            "output_token_rate": str(rate_out),
        },
    )
