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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quote(model: AIModel, generation_type: str, params: dict[str, Any]) -> Quote:
    """Price `params` (already validated) on `model`.

    Images: per image (HD doubles); video: per second; speech: per started 100 characters;
    music, sound and chat: flat.
    """
    unit = model.pricing_unit
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
