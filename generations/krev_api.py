"""Krev-shaped generation endpoints: `/images`, `/videos`, `/generations/{id}` (wrapped in data).

Krev's documented responses carry the finished images or video inline. Studio waits up to
STUDIO_INLINE_WAIT_SECONDS for the job and otherwise answers 202 with the generation id to
poll. The wait is woken by the job's end (generations/notify.py: one listener per process,
no database session per waiter), so a waiting request holds no worker thread and answers
within milliseconds of the job finishing (see bench/inline_wait.py).
"""

from __future__ import annotations

from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from generations import notify, presenters, services
from generations.kolbo_api import team_generation
from generations.models import TERMINAL_STATES, Generation, GenerationType, Source
from studio.api.auth import api_key, caller_key
from studio.api.ratelimit import RateClass
from studio.api.schemas import KrevResponse, errors, krev

router = Router(tags=["Generate (Krev)"])

KrevRatio = Literal["1:1", "16:9", "9:16", "4:3", "3:4"]


class ImagesIn(Schema):
    prompt: str = Field(..., max_length=4000)
    aspect_ratio: KrevRatio | None = Field(None, description='Default "1:1"')
    product_id: str | None = None
    product_ids: list[str] | None = None
    preset_id: str | None = None
    hd: bool | None = Field(None, description="4K upscaling; costs 2x credits")
    image_count: Literal[1, 2, 4] | None = Field(None, description="1, 2 or 4; default 1")
    reference_images: list[str] | None = None
    model: str | None = Field(None, description="Studio extension: a model identifier")
    webhook_url: str | None = Field(None, description="Studio extension: POSTed when it ends")


class VideosIn(Schema):
    prompt: str = Field(..., max_length=4000)
    aspect_ratio: KrevRatio | None = Field(None, description='Default "16:9"')
    duration: int | None = Field(None, ge=4, le=15, description="4-15 seconds, default 5")
    audio_mode: Literal["auto", "off", "native"] | None = None
    product_id: str | None = None
    source_image: str | None = Field(None, description="An image URL to animate")
    preset_id: str | None = None
    model: str | None = Field(None, description="Studio extension: a model identifier")
    webhook_url: str | None = Field(None, description="Studio extension: POSTed when it ends")


class ImagesData(Schema):
    generation_id: str
    status: str
    images: list[str]
    image_count: int
    credits_used: int
    poll_url: str | None = None
    error: str | None = None


class VideoData(Schema):
    generation_id: str
    status: str
    video_url: str | None = None
    thumbnail_url: str | None = None
    duration: int | None = None
    credits_used: int
    poll_url: str | None = None
    error: str | None = None


class GenerationData(Schema):
    id: str
    kind: str
    status: Literal["queued", "processing", "succeeded", "failed"]
    progress: int
    output: dict[str, list[str]]
    error: str | None
    credits_used: int
    created_at: str | None
    completed_at: str | None


def _resolve_products(request: HttpRequest, raw: dict[str, Any]) -> None:
    """Catalog: `product_id`/`product_ids` become canonical `product_ids` after checking
    that each is one of the caller's products (unknown or another team's: 404 NOT_FOUND);
    an unknown `preset_id` is 400. The engine uses each product's cut-out as a reference."""
    from generations import extensions

    ids = [
        *([raw.pop("product_id")] if raw.get("product_id") else []),
        *(raw.pop("product_ids", None) or []),
    ]
    raw.pop("product_id", None)
    ids = list(dict.fromkeys(ids))
    if ids:
        raw["product_ids"] = ids
    extensions.references().check(
        caller_key(request).team,
        {"product_ids": ids, "preset_id": raw.get("preset_id")},
    )


def _start(request: HttpRequest, generation_type: str, raw: dict[str, Any]) -> Generation:
    key = caller_key(request)
    return services.start_generation(
        key.team,
        key.user,
        generation_type,
        raw,
        source=Source.API,
        api_key_id=key.uuid,
        idempotency_key=request.headers.get("Idempotency-Key"),
        dialect="krev",
    ).generation


async def wait_until_finished(generation: Generation, timeout: float) -> None:
    """Wait until the generation reaches a terminal state or `timeout` passes."""
    if generation.state in TERMINAL_STATES or timeout <= 0:
        return
    await notify.wait_for_finish(generation.pk, timeout)


def _reload(generation: Generation) -> Generation:
    return Generation.objects.prefetch_related("assets").get(pk=generation.pk)


async def _respond(request: HttpRequest, generation: Generation, present: Any) -> Status:
    await wait_until_finished(generation, settings.STUDIO_INLINE_WAIT_SECONDS)
    generation = await sync_to_async(_reload)(generation)
    body = await sync_to_async(present)(generation)
    return Status(200 if generation.state in TERMINAL_STATES else 202, krev(body))


@router.post(
    "/images",
    auth=api_key("images", limit=RateClass.GENERATION, dialect="krev"),
    response={
        200: KrevResponse[ImagesData],
        202: KrevResponse[ImagesData],
        **errors(400, 401, 402, 403, 404, 409, 429),
    },
    summary="Generate images (results inline, or 202 to poll)",
    exclude_none=True,
)
async def create_images(request: HttpRequest, payload: ImagesIn) -> Status:
    raw = payload.dict(exclude_none=True)
    await sync_to_async(_resolve_products)(request, raw)
    if "image_count" in raw:
        raw["count"] = raw.pop("image_count")
    generation = await sync_to_async(_start)(request, GenerationType.IMAGE, raw)
    return await _respond(request, generation, presenters.krev_images)


@router.post(
    "/videos",
    auth=api_key("videos", limit=RateClass.GENERATION, dialect="krev"),
    response={
        200: KrevResponse[VideoData],
        202: KrevResponse[VideoData],
        **errors(400, 401, 402, 403, 404, 409, 413, 429),
    },
    summary="Generate a video (result inline, or 202 to poll)",
    exclude_none=True,
)
async def create_video(request: HttpRequest, payload: VideosIn) -> Status:
    raw = payload.dict(exclude_none=True)
    await sync_to_async(_resolve_products)(request, raw)
    generation_type = GenerationType.VIDEO
    if raw.get("source_image"):
        raw["image_url"] = raw.pop("source_image")
        generation_type = GenerationType.VIDEO_FROM_IMAGE
    generation = await sync_to_async(_start)(request, generation_type, raw)
    return await _respond(request, generation, presenters.krev_video)


@router.get(
    "/generations/{generation_id}",
    auth=api_key(limit=RateClass.POLL, dialect="krev"),
    response={200: KrevResponse[GenerationData], **errors(401, 403, 404, 429)},
    summary="Poll a generation",
)
def get_generation(request: HttpRequest, generation_id: str) -> dict[str, Any]:
    return krev(presenters.krev_generation(team_generation(request, generation_id)))
