"""The generations app's public endpoints (router mounted at /api/v1).

Reads of the registry live here now; the generation endpoints of both dialects (start,
status, cancel, chat) are added below, in the marked section, with their `auth=` declaring
scope and rate class: `auth=api_key("images", limit=RateClass.GENERATION)` for a start,
`auth=api_key(limit=RateClass.POLL)` for a status poll.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field, field_validator

from generations.ads.api import router as ads_router
from generations.agent.api import router as agent_router
from generations.chat.api import router as chat_router
from generations.kolbo_api import router as kolbo_router
from generations.krev_api import router as krev_router
from generations.models import MODEL_TYPES, AIModel, GenerationType, Provider, Voice
from generations.registry import enabled_models, reachable_providers
from studio.accounts.models import Team
from studio.api.auth import api_key, caller_team
from studio.api.ratelimit import RateClass
from studio.api.schemas import kolbo, with_errors

router = Router(tags=["Models and voices"])

TypeName = Literal[
    "image", "image_edit", "video", "video_from_image", "music", "speech", "sound", "chat"
]
RawTypeName = Literal[
    "text_to_img", "image_editing", "text_to_video", "img_to_video", "music_gen",
    "text_to_speech", "text_to_sound", "text",
]  # fmt: skip
ProviderName = Literal["local", "fal", "openai", "replicate", "kolbo", "krev"]
assert set(TypeName.__args__) == MODEL_TYPES  # type: ignore[attr-defined]
assert set(ProviderName.__args__) == set(Provider.values)  # type: ignore[attr-defined]


# --- Registry reads ---------------------------------------------------------------------------


class ModelFilters(Schema):
    type: Literal[TypeName, RawTypeName] | None = Field(
        None, description="Only models that do this generation type (or its raw name)"
    )
    provider: ProviderName | None = None


# Types whose starts take `visual_dna_ids` (at most three).
VISUAL_DNA_TYPES = frozenset({"image", "image_edit", "video", "video_from_image"})
MAX_VISUAL_DNA = 3


class ModelOut(Schema):
    identifier: str
    name: str
    provider: str
    types: list[str]
    credit: int
    pricing_unit: str
    supported_aspect_ratios: list[str]
    supported_durations: list[int]
    max_reference_images: int
    recommended: bool
    new_model: bool
    # Chat models: credits per 1K input and output tokens.
    input_token_rate: float | None = None
    output_token_rate: float | None = None
    summary: str | None = None
    supports_visual_dna: bool = False
    max_visual_dna: int | None = None
    default_aspect_ratio: str | None = None
    default_duration: int | None = None

    @staticmethod
    def resolve_types(model: AIModel) -> list[str]:
        # Studio's names, then the raw names Kolbo's clients filter on.
        studio = list(model.types or [])
        return studio + [raw for raw, name in RAW_TYPES.items() if name in studio]

    @staticmethod
    def resolve_summary(model: AIModel) -> str | None:
        return model.description or None

    @staticmethod
    def resolve_supports_visual_dna(model: AIModel) -> bool:
        return bool(VISUAL_DNA_TYPES & set(model.types or []))

    @staticmethod
    def resolve_max_visual_dna(model: AIModel) -> int | None:
        return MAX_VISUAL_DNA if VISUAL_DNA_TYPES & set(model.types or []) else None

    @staticmethod
    def resolve_default_aspect_ratio(model: AIModel) -> str | None:
        return model_defaults(model).get("aspect_ratio")

    @staticmethod
    def resolve_default_duration(model: AIModel) -> int | None:
        return model_defaults(model).get("duration")

    @staticmethod
    def resolve_input_token_rate(model: AIModel) -> float | None:
        return float(model.input_token_rate) if model.does(GenerationType.CHAT) else None

    @staticmethod
    def resolve_output_token_rate(model: AIModel) -> float | None:
        return float(model.output_token_rate) if model.does(GenerationType.CHAT) else None


# The raw type names Kolbo's clients filter on (contract, *docs*), onto Studio's types.
RAW_TYPES = {
    "text_to_img": "image",
    "image_editing": "image_edit",
    "text_to_video": "video",
    "img_to_video": "video_from_image",
    "music_gen": "music",
    "text_to_speech": "speech",
    "text_to_sound": "sound",
    "text": "chat",
}


def model_defaults(model: AIModel) -> dict[str, Any]:
    """The aspect ratio and duration a start on this model gets when it names none (as
    generations/params.py picks them: the contract's default if allowed, else the first)."""
    types = set(model.types or [])
    defaults: dict[str, Any] = {}
    wanted = "16:9" if types & {"video", "video_from_image"} and "image" not in types else "1:1"
    ratios = list(model.supported_aspect_ratios or [])
    if types & (VISUAL_DNA_TYPES | {"image"}):
        defaults["aspect_ratio"] = wanted if not ratios or wanted in ratios else ratios[0]
    durations = [int(d) for d in model.supported_durations or []]
    if "default_duration" in (model.params or {}):
        defaults["duration"] = int(model.params["default_duration"])
    elif types & {"video", "video_from_image"}:
        defaults["duration"] = 5 if not durations or 5 in durations else min(durations)
    return defaults


class ModelsOut(Schema):
    success: Literal[True] = True
    models: list[ModelOut]
    count: int


@router.get(
    "/models",
    auth=api_key(limit=RateClass.READ),
    response=with_errors(ModelsOut),
    summary="List the models this team can use",
    exclude_none=True,
)
def list_models(request: HttpRequest, filters: Query[ModelFilters]) -> dict:
    rows = models_for(caller_team(request), filters.type, filters.provider)
    return kolbo(models=rows, count=len(rows))


def models_for(team: Team, type_name: str | None, provider: str | None) -> list[AIModel]:
    """The team's models, optionally of one type (Studio's or the raw name) and provider."""
    models = enabled_models(team)
    if provider:
        models = models.filter(provider=provider)
    wanted = RAW_TYPES.get(type_name or "", type_name)
    return [m for m in models if wanted is None or m.does(wanted)]


class VoiceFilters(Schema):
    # Matched case-insensitively, as Kolbo's docs write them ("Female", "ElevenLabs").
    provider: str | None = Field(None, max_length=40)
    language: str | None = Field(
        None, max_length=60, description='A language name ("English") or code ("en", "en-US")'
    )
    gender: str | None = Field(None, max_length=20, description="male/female (or m/f), any case")

    @field_validator("gender")
    @classmethod
    def known_gender(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        gender = value.strip().lower()
        if gender not in ("male", "female", "m", "f", "neutral"):
            raise ValueError("must be male or female (m/f)")
        return {"m": "male", "f": "female"}.get(gender, gender)


class VoiceOut(Schema):
    voice_id: str
    name: str
    provider: str
    language: str
    language_code: str
    gender: str
    accent: str
    preview_url: str
    styles: list[str]
    custom: bool


class VoicesOut(Schema):
    success: Literal[True] = True
    voices: list[VoiceOut]
    count: int


@router.get(
    "/voices",
    auth=api_key(limit=RateClass.READ),
    response=with_errors(VoicesOut),
    summary="List the voices for speech generation",
)
def list_voices(request: HttpRequest, filters: Query[VoiceFilters]) -> dict:
    rows = voices_for(caller_team(request), filters.provider, filters.language, filters.gender)
    return kolbo(voices=rows, count=len(rows))


def voices_for(
    team: Team, provider: str | None, language: str | None, gender: str | None
) -> list[Voice]:
    """The voices the team's models can speak with, filtered as GET /voices filters them."""
    voices = Voice.objects.filter(enabled=True, provider__in=reachable_providers(team))
    if provider:
        voices = voices.filter(provider__iexact=provider.strip())
    if language:
        lang = language.strip()
        voices = voices.filter(
            Q(language__iexact=lang)
            | Q(language_code__iexact=lang)
            | Q(language_code__istartswith=f"{lang}-")
        )
    if gender:
        gender = gender.strip().lower()
        voices = voices.filter(gender__iexact={"m": "male", "f": "female"}.get(gender, gender))
    return list(voices)


# --- Generation endpoints (both dialects) -----------------------------------------------------
# Each dialect has its own module; they share the services and presenters.
router.add_router("", kolbo_router)
router.add_router("", krev_router)
router.add_router("", chat_router)
router.add_router("", agent_router)
router.add_router("", ads_router)
