"""The generations app's public endpoints (router mounted at /api/v1).

Reads of the registry live here now; the generation endpoints of both dialects (start,
status, cancel, chat) are added below, in the marked section, with their `auth=` declaring
scope and rate class: `auth=api_key("images", limit=RateClass.GENERATION)` for a start,
`auth=api_key(limit=RateClass.POLL)` for a status poll.
"""

from __future__ import annotations

from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

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
    provider: ProviderName | None = None
    language: str | None = Field(
        None, max_length=60, description='A language name ("English") or code ("en", "en-US")'
    )
    gender: Literal["male", "female", "m", "f"] | None = None


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
        voices = voices.filter(provider=provider)
    if language:
        lang = language.strip()
        voices = voices.filter(
            Q(language__iexact=lang)
            | Q(language_code__iexact=lang)
            | Q(language_code__istartswith=f"{lang}-")
        )
    if gender:
        voices = voices.filter(gender={"m": "male", "f": "female"}.get(gender, gender))
    return list(voices)


# --- Generation endpoints (both dialects) -----------------------------------------------------
# Each dialect has its own module; they share the services and presenters.
router.add_router("", kolbo_router)
router.add_router("", krev_router)
router.add_router("", chat_router)
router.add_router("", agent_router)
router.add_router("", ads_router)
