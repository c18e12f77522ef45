"""Ad copy: `{style_name, hook, headline, body_copy, cta}` for a brief, products and a style.

The team's chat model writes it when it has one (the language layer: JSON asked for,
validated, re-asked once); otherwise, or when the model's answer does not hold up, a
rule-based copywriter writes it from the brief, the products' metadata (brandName,
productName, productType, colors, materials), the brand notes and the style. Both name the
product; the rules are deterministic for the same input. `source` says which one wrote it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import asdict, dataclass
from typing import Any

from generations.ads.styles import AdStyle
from generations.extensions import ProductFacts
from generations.models import Provider

log = logging.getLogger(__name__)

MAX_LENGTHS = {"hook": 60, "headline": 70, "body_copy": 160, "cta": 24}
RULES = "rules"


@dataclass(frozen=True)
class AdCopy:
    style_name: str
    hook: str
    headline: str
    body_copy: str
    cta: str
    source: str = RULES  # "rules", or "model:<identifier>"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdCopy:
        return cls(**{k: str(data.get(k) or "") for k in cls.__dataclass_fields__})


def write_copy(
    team: Any,
    brief: str,
    products: list[ProductFacts],
    style: AdStyle,
    brand_context: str = "",
) -> AdCopy:
    """The ad's copy: by the team's chat model when it has one, else by the rules."""
    written = model_copy(team, brief, products, style, brand_context)
    return written or rule_copy(brief, products, style, brand_context)


# --- the chat model ---------------------------------------------------------------------------


def model_copy(
    team: Any, brief: str, products: list[ProductFacts], style: AdStyle, brand_context: str
) -> AdCopy | None:
    try:
        from generations import language  # the language layer (chat models)
    except ImportError:
        return None
    try:
        model = language.planning_model(team)
        # The bundled offline model (SmolLM2 135M) is left out: asked for this JSON it
        # restated the brief in every field (or other keys), in 5-27 s; the rules write
        # better copy at once. Upstream chat models (the team's or a shared credential) write.
        if model is None or model.provider == Provider.LOCAL:
            return None
        names = [p.display_name for p in products]
        facts = "\n".join(
            f"- {p.display_name}: brand {p.brand_name or 'unknown'}, type "
            f"{p.product_type or 'unknown'}, colours {', '.join(p.colors) or 'unknown'}, "
            f"materials {', '.join(p.materials) or 'unknown'}"
            for p in products
        )
        messages = [
            {
                "role": "system",
                "content": "You write short, specific ad copy. Answer with one JSON object "
                'with exactly the keys "hook", "headline", "body_copy", "cta", for example: '
                '{"hook": "Built for long days", "headline": "Trail Mix Bar keeps up", '
                '"body_copy": "A clean oat bar for busy hikers.", "cta": "Shop now"}. '
                f"Limits: hook {MAX_LENGTHS['hook']} characters, headline "
                f"{MAX_LENGTHS['headline']}, body_copy {MAX_LENGTHS['body_copy']}, cta "
                f"{MAX_LENGTHS['cta']}. Name the product ({', '.join(names)}). "
                "No placeholders.",
            },
            {
                "role": "user",
                "content": f"Style: {style.name} ({style.description})\nBrief: {brief}\n"
                f"Brand notes: {brand_context or 'none'}\nProducts:\n{facts}",
            },
        ]

        # What counts as naming a product: its name, brand, or short name ("Day Shift").
        accepted = [
            n
            for p in products
            for n in (p.display_name, p.name, p.brand_name, " ".join(p.display_name.split()[:2]))
            if len(n) >= 3
        ]

        def validate(data: Any) -> AdCopy:
            return _checked_model_copy(data, accepted, style)

        seed = int.from_bytes(hashlib.sha256(repr(messages).encode()).digest()[:4], "big") >> 1
        copy = language.complete_json(
            model, messages, validate, team=team, max_tokens=400, temperature=0.4, seed=seed
        )
    except Exception:  # a model that fails must not fail the ad: the rules write it
        log.warning("the chat model could not write ad copy; using the rules", exc_info=True)
        return None
    if copy is None:
        return None
    return AdCopy(**{**copy.as_dict(), "source": f"model:{model.identifier}"})


def _checked_model_copy(data: Any, names: list[str], style: AdStyle) -> AdCopy:
    if not isinstance(data, dict):
        raise ValueError("answer with a JSON object")
    fields: dict[str, str] = {}
    for key, limit in MAX_LENGTHS.items():
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} must be a non-empty string")
        value = " ".join(value.split())
        if len(value) > limit:
            raise ValueError(f"{key} is longer than {limit} characters")
        if re.search(r"lorem|ipsum|\[.*?\]|\{.*?\}|<.*?>|TBD|product name", value, re.I):
            raise ValueError(f"{key} holds placeholder text")
        fields[key] = value
    text = " ".join(fields.values()).lower()
    if not any(name.lower() in text for name in names):
        raise ValueError(f"the copy must name the product ({', '.join(names)})")
    return AdCopy(style_name=style.name, source=RULES, **fields)


# --- the rules --------------------------------------------------------------------------------


def _pick(options: list[str], *key: str) -> str:
    digest = hashlib.sha256("\x1f".join(key).encode()).digest()
    return options[digest[0] % len(options)]


def _fit(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-–")  # noqa: RUF001
    return cut + "…"


def _phrase(values: tuple[str, ...]) -> str:
    values = tuple(v.lower() for v in values if v)
    if not values:
        return ""
    if len(values) == 1:
        return values[0]
    return ", ".join(values[:-1]) + " and " + values[-1]


_AUDIENCE = re.compile(
    r"\bfor ((?:busy |active |new |young |modern )?[a-z][a-z\- ]{2,30}?)"
    r"(?:[,.!]|$| who| that| to| with)",
    re.I,
)
_PERCENT = re.compile(r"(\d{1,2})\s?%")
_PRICE_OFF = re.compile(r"([$€£]\s?\d+(?:[.,]\d\d)?)\s+off", re.I)
_STOP_AUDIENCE = {"this", "the", "our", "a", "an", "it", "them", "you", "instagram", "facebook"}


def audience_of(brief: str, product: ProductFacts) -> str:
    """Who the brief says the ad is for ("busy parents"), or "" when it does not say."""
    for match in _AUDIENCE.finditer(brief):
        words = match.group(1).strip().lower()
        first = words.split()[0]
        if first in _STOP_AUDIENCE or product.display_name.lower() in words:
            continue
        if product.product_type and product.product_type.lower() in words:
            continue
        return words
    return ""


def offer_of(brief: str, brand_context: str) -> str:
    text = f"{brief} {brand_context}"
    if match := _PERCENT.search(text):
        return f"{match.group(1)}% off"
    if match := _PRICE_OFF.search(text):
        return f"{match.group(1)} off"
    if re.search(r"free shipping", text, re.I):
        return "Free shipping"
    if re.search(r"\bbogo\b|buy one,? get one", text, re.I):
        return "Buy one, get one"
    return ""


def rule_copy(
    brief: str, products: list[ProductFacts], style: AdStyle, brand_context: str = ""
) -> AdCopy:
    """Copy from the brief, the products' metadata and the style, with no model: specific
    (it names the product, its kind, colours and materials) and the same for the same input."""
    lead = products[0] if products else ProductFacts(id="", name="")
    name = lead.display_name
    brand = lead.brand_name
    kind = lead.product_type.lower()
    named = f"{name} by {brand}" if brand and brand.lower() not in name.lower() else name
    if len(products) > 1:
        named = f"{named} and {products[1].display_name}"
    audience = audience_of(brief, lead)
    offer = offer_of(brief, brand_context)
    colours = _phrase(lead.colors[:2])
    materials = _phrase(lead.materials[:2])
    key = (brief, style.id, brand_context, *(p.id + p.display_name for p in products))

    look = " in ".join(part for part in (kind or "design", colours) if part)
    made = f"Made with {materials}." if materials else ""
    detail = f"{named}: {look}." if colours or kind else f"Meet {named}."
    for_whom = f"for {audience}" if audience else "for every day"

    if style.voice == "testimonial":
        hook = _pick(
            [f"“I reach for {name} every day.”", f"“{name} is the one I keep coming back to.”"],
            *key,
        )
        headline = f"Why customers love {name}"
        body = f"{detail} {made} Loved {for_whom}."
        cta = _pick(["See why", "Read reviews"], *key)
    elif style.voice == "offer":
        hook = offer or _pick(["Limited-time offer", "This week only"], *key)
        headline = f"{name}, now {offer}" if offer else f"Get {name} for less"
        body = f"{detail} {made} Offer ends soon."
        cta = "Claim offer"
    elif style.voice == "minimal":
        hook = brand or (kind.capitalize() if kind else "New")
        headline = f"{name}. {colours.capitalize() if colours else 'Simply made'}."
        body = ""
        cta = "Discover"
    elif style.voice == "ugc":
        hook = _pick(
            [f"ok, {name} actually lives up to the hype", f"my honest take on {name}"], *key
        )
        headline = f"The {kind or 'find'} I didn't know I needed"
        body = f"{detail} {made} Tried it {for_whom}, keeping it."
        cta = "Try it yourself"
    elif style.voice == "feature":
        hook = f"Inside {name}"
        features = [
            f"{materials.capitalize()}" if materials else "",
            f"{colours.capitalize()} finish" if colours else "",
            f"Designed {for_whom}",
        ]
        headline = f"{name}, detail by detail"
        body = " · ".join(f for f in features if f)
        cta = "Learn more"
    else:  # direct response
        hook = _pick(
            [
                f"Built {for_whom}" if audience else f"Meet {name}",
                f"{audience.capitalize()}, meet {name}" if audience else f"Say hello to {name}",
            ],
            *key,
        )
        headline = f"{name}: the {kind or 'upgrade'} that keeps up"
        body = f"{detail} {made}"
        cta = _pick(["Shop now", "Get yours"], *key)
    return AdCopy(
        style_name=style.name,
        hook=_fit(hook, MAX_LENGTHS["hook"]),
        headline=_fit(headline, MAX_LENGTHS["headline"]),
        body_copy=_fit(" ".join(body.split()), MAX_LENGTHS["body_copy"]),
        cta=_fit(cta, MAX_LENGTHS["cta"]),
        source=RULES,
    )
