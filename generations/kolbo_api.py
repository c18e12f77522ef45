"""Kolbo-shaped generation endpoints: start, status, cancel (fields at the top level).

Each start endpoint renames Kolbo's fields to Studio's canonical ones and calls
`services.start_generation`; validation, pricing and charging live there.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from generations import presenters, services
from generations.models import Generation, GenerationType, Source
from studio.api.auth import api_key, caller_key, caller_team
from studio.api.ratelimit import RateClass
from studio.api.schemas import with_errors
from studio.errors import Forbidden, NotFound
from studio.vault.models import ApiKey

router = Router(tags=["Generate (Kolbo)"])

SCOPE: dict[str, str] = {
    GenerationType.IMAGE: "images",
    GenerationType.CREATIVE_DIRECTOR: "images",
    GenerationType.IMAGE_EDIT: "images",
    GenerationType.VIDEO: "videos",
    GenerationType.VIDEO_FROM_IMAGE: "videos",
    GenerationType.MUSIC: "music",
    GenerationType.SPEECH: "speech",
    GenerationType.SOUND: "sound",
    GenerationType.CHAT: "chat",
}


class StartOut(Schema):
    success: Literal[True] = True
    generation_id: str
    type: str
    model: str
    credits_charged: int
    poll_url: str
    poll_interval_hint: int
    session_id: str = Field(description="The client's session_id, else the job's own group id")
    project_id: str | None = None


class Labelled(Schema):
    """Free labels every start takes (stored, echoed, filterable in the gallery).

    Like Kolbo, starts ignore fields they do not know (pydantic's default)."""

    session_id: str | None = Field(None, max_length=120, description="Group jobs by session")
    project_id: str | None = Field(None, max_length=120, description="A free project label")


class ImageIn(Labelled):
    prompt: str = Field(..., max_length=4000)
    model: str | None = Field(None, description="Model identifier; omit for Smart Select")
    aspect_ratio: str | None = Field(None, description='Default "1:1"')
    num_images: int | None = Field(None, description="1-4, default 1")
    enhance_prompt: bool | None = None
    reference_images: list[str] | None = None
    visual_dna_ids: list[str] | None = Field(None, max_length=3)
    moodboard_id: str | None = None
    seed: int | None = None
    webhook_url: str | None = Field(None, description="POSTed (signed) when the job ends")


class ImageEditIn(Labelled):
    prompt: str = Field(..., max_length=4000, description="The edit instruction")
    source_images: list[str] | None = Field(
        None, description="1-4 images to edit: http(s) URLs, data:image URLs or Studio links"
    )
    model: str | None = Field(None, description="An image_edit model; omit for Smart Select")
    aspect_ratio: str | None = Field(None, description="Default: the source image's own")
    num_images: int | None = Field(None, description="1-4, default 1")
    enhance_prompt: bool | None = None
    visual_dna_ids: list[str] | None = Field(None, max_length=3)
    moodboard_id: str | None = None
    seed: int | None = None
    webhook_url: str | None = Field(None, description="POSTed (signed) when the job ends")


class VideoIn(Labelled):
    prompt: str = Field(..., max_length=4000)
    model: str | None = None
    aspect_ratio: str | None = Field(None, description='Default "16:9"')
    duration: int | None = Field(None, description="Seconds, default 5")
    enhance_prompt: bool | None = None
    visual_dna_ids: list[str] | None = Field(None, max_length=3)
    reference_images: list[str] | None = None
    seed: int | None = None
    webhook_url: str | None = Field(None, description="POSTed (signed) when the job ends")


class VideoFromImageIn(Labelled):
    image_url: str = Field(..., description="The image to animate (URL or data:image URL)")
    prompt: str | None = Field(None, max_length=4000)
    model: str | None = None
    aspect_ratio: str | None = None
    duration: int | None = None
    enhance_prompt: bool | None = None
    visual_dna_ids: list[str] | None = Field(None, max_length=3)
    seed: int | None = None
    webhook_url: str | None = Field(None, description="POSTed (signed) when the job ends")


class MusicIn(Labelled):
    prompt: str = Field(..., max_length=4000)
    model: str | None = None
    style: str | None = None
    instrumental: bool | None = None
    lyrics: str | None = None
    vocal_gender: str | None = Field(None, description='"m"/"f" (also "male"/"female")')
    duration: int | None = Field(None, description="Seconds (model default when omitted)")
    enhance_prompt: bool | None = None
    seed: int | None = None
    webhook_url: str | None = Field(None, description="POSTed (signed) when the job ends")


class SpeechIn(Labelled):
    text: str = Field(..., max_length=5000)
    voice: str | None = Field(
        None, description="A voice_id from GET /api/v1/voices, or a voice's name"
    )
    model: str | None = None
    language: str | None = Field(None, description='Default "en-US"')
    webhook_url: str | None = Field(None, description="POSTed (signed) when the job ends")


class SoundIn(Labelled):
    prompt: str = Field(..., max_length=4000)
    duration: int | Literal["auto"] | None = Field(None, description='Seconds or "auto"')
    model: str | None = None
    seed: int | None = None
    webhook_url: str | None = Field(None, description="POSTed (signed) when the job ends")


def _start(request: HttpRequest, generation_type: str, raw: dict[str, Any]) -> dict[str, Any]:
    key = caller_key(request)
    started = services.start_generation(
        key.team,
        key.user,
        generation_type,
        raw,
        source=Source.API,
        api_key_id=key.uuid,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return presenters.kolbo_start(started.generation)


def _payload(payload: Schema, **renames: str) -> dict[str, Any]:
    raw = payload.dict(exclude_none=True)
    for source, target in renames.items():
        if source in raw:
            raw[target] = raw.pop(source)
    return raw


@router.post(
    "/generate/image",
    auth=api_key("images", limit=RateClass.GENERATION, dialect="kolbo"),
    response=with_errors(StartOut, 404, 409),
    summary="Generate images",
)
def generate_image(request: HttpRequest, payload: ImageIn) -> dict[str, Any]:
    return _start(request, GenerationType.IMAGE, _payload(payload, num_images="count"))


@router.post(
    "/generate/image-edit",
    auth=api_key("images", limit=RateClass.GENERATION, dialect="kolbo"),
    response=with_errors(StartOut, 404, 409, 413),
    summary="Edit images with an instruction",
)
def generate_image_edit(request: HttpRequest, payload: ImageEditIn) -> dict[str, Any]:
    return _start(request, GenerationType.IMAGE_EDIT, _payload(payload, num_images="count"))


@router.post(
    "/generate/video",
    auth=api_key("videos", limit=RateClass.GENERATION, dialect="kolbo"),
    response=with_errors(StartOut, 404, 409),
    summary="Generate a video from text",
)
def generate_video(request: HttpRequest, payload: VideoIn) -> dict[str, Any]:
    return _start(request, GenerationType.VIDEO, _payload(payload))


@router.post(
    "/generate/video/from-image",
    auth=api_key("videos", limit=RateClass.GENERATION, dialect="kolbo"),
    response=with_errors(StartOut, 404, 409, 413),
    summary="Animate an image into a video",
)
def generate_video_from_image(request: HttpRequest, payload: VideoFromImageIn) -> dict[str, Any]:
    return _start(request, GenerationType.VIDEO_FROM_IMAGE, _payload(payload))


@router.post(
    "/generate/music",
    auth=api_key("music", limit=RateClass.GENERATION, dialect="kolbo"),
    response=with_errors(StartOut, 404, 409),
    summary="Generate music",
)
def generate_music(request: HttpRequest, payload: MusicIn) -> dict[str, Any]:
    return _start(request, GenerationType.MUSIC, _payload(payload))


@router.post(
    "/generate/speech",
    auth=api_key("speech", limit=RateClass.GENERATION, dialect="kolbo"),
    response=with_errors(StartOut, 404, 409),
    summary="Synthesize speech",
)
def generate_speech(request: HttpRequest, payload: SpeechIn) -> dict[str, Any]:
    return _start(request, GenerationType.SPEECH, _payload(payload))


@router.post(
    "/generate/sound",
    auth=api_key("sound", limit=RateClass.GENERATION, dialect="kolbo"),
    response=with_errors(StartOut, 404, 409),
    summary="Generate a sound effect",
)
def generate_sound(request: HttpRequest, payload: SoundIn) -> dict[str, Any]:
    return _start(request, GenerationType.SOUND, _payload(payload))


class CreativeDirectorIn(Labelled):
    prompt: str = Field(..., max_length=4000, description="The brief")
    scene_count: int | None = Field(None, description="1-8, default 4")
    model: str | None = Field(None, description="The scenes' image or video model")
    aspect_ratio: str | None = Field(None, description='Default "1:1"')
    workflow_type: Literal["image", "video"] | None = Field(None, description='Default "image"')
    duration: int | None = Field(None, description="Seconds per video scene")
    visual_dna_ids: list[str] | None = Field(None, max_length=3)
    reference_images: list[str] | None = None
    moodboard_id: str | None = Field(None, description="One moodboard for every scene")
    moodboard_ids: list[str] | None = Field(None, description="One moodboard per scene, in order")
    enhance_prompt: bool | None = None
    seed: int | None = None
    webhook_url: str | None = Field(None, description="POSTed (signed) when the job ends")


class CreativeDirectorStartOut(StartOut):
    scene_count: int


@router.post(
    "/generate/creative-director",
    auth=api_key("images", limit=RateClass.GENERATION, dialect="kolbo"),
    response=with_errors(CreativeDirectorStartOut, 404, 409),
    summary="Plan and render a storyboard of scenes",
)
def generate_creative_director(request: HttpRequest, payload: CreativeDirectorIn) -> dict[str, Any]:
    from generations.creative_director import services as creative_director

    key = caller_key(request)
    started = creative_director.start(
        key.team,
        key.user,
        payload.dict(exclude_none=True),
        source=Source.API,
        api_key_id=key.uuid,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return presenters.kolbo_start(started.generation)


def team_generation(request: HttpRequest, generation_id: str) -> Generation:
    """The caller's team's generation, or NOT_FOUND (another team's id included)."""
    return services.team_generation(caller_team(request), generation_id)


class Failure(Schema):
    message: str
    category: str
    code: str
    retryable: bool
    provider: str
    severity: Literal["error", "warning"] = "error"


class Scene(Schema):
    scene_number: int
    status: Literal["pending", "processing", "completed", "failed"]
    title: str
    prompt: str
    progress: int | None = None
    shot: str | None = None
    camera: str | None = None
    image_urls: list[str] | None = None
    video_urls: list[str] | None = None
    duration: int | None = None
    error: str | None = None


class CreditLine(Schema):
    label: str
    credits: int


class StatusOut(Schema):
    success: Literal[True] = True
    generation_id: str
    type: str
    # "pending" only for a creative director whose scenes are being planned.
    state: Literal["pending", "processing", "completed", "failed", "cancelled"]
    progress: int
    credits_used: int
    result: dict[str, Any] | None = None
    error: str | None = None
    failure: Failure | None = None
    credits_refunded: int | None = None
    # Parent jobs (creative director): their scenes, and what each cost and gave back.
    scene_count: int | None = None
    planner: str | None = None
    scenes: list[Scene] | None = None
    credits_breakdown: list[CreditLine] | None = None


@router.get(
    "/generate/creative-director/{generation_id}/status",
    auth=api_key(limit=RateClass.POLL, dialect="kolbo"),
    response=with_errors(StatusOut, 404),
    summary="Poll a creative director (per scene)",
    exclude_none=True,
)
def creative_director_status(request: HttpRequest, generation_id: str) -> dict[str, Any]:
    generation = team_generation(request, generation_id)
    if generation.type != GenerationType.CREATIVE_DIRECTOR:
        raise NotFound("Creative director not found")
    return presenters.kolbo_status(generation)


@router.get(
    "/generate/{generation_id}/status",
    auth=api_key(limit=RateClass.POLL, dialect="kolbo"),
    response=with_errors(StatusOut, 404),
    summary="Poll a generation",
    exclude_none=True,
)
def generation_status(request: HttpRequest, generation_id: str) -> dict[str, Any]:
    return presenters.kolbo_status(team_generation(request, generation_id))


class CancelOut(Schema):
    success: Literal[True] = True
    generation_id: str
    state: Literal["cancelled"]
    credits_refunded: int
    message: str


@router.post(
    "/generate/{generation_id}/cancel",
    auth=api_key(limit=RateClass.POLL, dialect="kolbo"),
    response=with_errors(CancelOut, 404, 409),
    summary="Cancel a generation and refund it",
)
def cancel_generation(request: HttpRequest, generation_id: str) -> dict[str, Any]:
    return cancel_as(caller_key(request), team_generation(request, generation_id))


def cancel_as(key: ApiKey, generation: Generation) -> dict[str, Any]:
    """Cancel for a key (REST and MCP): it needs the scope of the generation's type."""
    if not key.allows(SCOPE.get(generation.type), method="POST"):
        raise Forbidden(f"This API key lacks the '{SCOPE.get(generation.type)}' scope")
    cancelled = services.cancel_generation(generation)
    return {
        "success": True,
        "generation_id": str(cancelled.uuid),
        "state": "cancelled",
        "credits_refunded": cancelled.credits_refunded,
        "message": f"Generation cancelled; {cancelled.credits_refunded} credits refunded",
    }
