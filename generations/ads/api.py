"""Krev's ads endpoints: `POST /ads` (finished ad images and their copy, inline within the
wait bound, else 202 and `GET /generations/{id}` with kind `ad`) and `GET /ads/styles`."""

from __future__ import annotations

from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from generations.ads import presenters, services, styles
from generations.krev_api import wait_until_finished
from generations.models import TERMINAL_STATES, Generation, Source
from studio.api.auth import api_key, caller_key
from studio.api.ratelimit import RateClass
from studio.api.schemas import KrevListResponse, KrevResponse, errors, krev

router = Router(tags=["Ads (Krev)"])


class AdsIn(Schema):
    brief: str = Field(..., max_length=2000, description="Creative brief for the ad")
    product_ids: list[str] = Field(..., description="One or more of the team's product ids")
    aspect_ratio: Literal["1:1", "4:5", "9:16"] | None = Field(None, description='Default "4:5"')
    image_count: Literal[1, 2, 4] | None = Field(None, description="1, 2 or 4; default 1")
    style_id: str | None = Field(None, description="An id from GET /ads/styles")
    inspiration_image: str | None = Field(None, description="An ad image URL to take after")
    brand_context: str | None = Field(
        None, max_length=1000, description="Brand notes; a colour named here (hex or name) "
        "is the brand colour of the CTA"
    )  # fmt: skip
    webhook_url: str | None = Field(None, description="Studio extension: POSTed when it ends")


class AdCopyOut(Schema):
    style_name: str
    hook: str
    headline: str
    body_copy: str
    cta: str
    source: str | None = None


class AdData(Schema):
    generation_id: str
    status: str
    images: list[str]
    image_count: int
    credits_used: int
    ad_copy: AdCopyOut | None = None
    plain_images: list[str] = Field(
        default_factory=list, description="Studio extension: each image without its text"
    )
    copy_source: str | None = Field(None, description='"rules" or "model:<identifier>"')
    style_id: str | None = None
    aspect_ratio: str | None = None
    poll_url: str | None = None
    error: str | None = None


class StyleOut(Schema):
    id: str
    name: str
    description: str


def _answer(generation: Generation) -> tuple[bool, dict[str, Any]]:
    generation = Generation.objects.prefetch_related("assets").get(pk=generation.pk)
    return generation.state in TERMINAL_STATES, presenters.krev_ad(generation)


def _start(request: HttpRequest, raw: dict[str, Any]) -> Generation:
    key = caller_key(request)
    return services.start_ad(
        key.team,
        key.user,
        raw,
        source=Source.API,
        api_key_id=key.uuid,
        idempotency_key=request.headers.get("Idempotency-Key"),
    ).generation


@router.post(
    "/ads",
    auth=api_key("ads", limit=RateClass.GENERATION, dialect="krev"),
    response={
        200: KrevResponse[AdData],
        202: KrevResponse[AdData],
        **errors(400, 401, 402, 403, 404, 409, 429),
    },
    summary="Generate ads: images with copy set on them (inline, or 202 to poll)",
    exclude_none=True,
)
async def create_ads(request: HttpRequest, payload: AdsIn) -> Status:
    generation = await sync_to_async(_start)(request, payload.dict(exclude_none=True))
    await wait_until_finished(generation, settings.STUDIO_INLINE_WAIT_SECONDS)
    finished, body = await sync_to_async(_answer)(generation)
    return Status(200 if finished else 202, krev(body))


@router.get(
    "/ads/styles",
    auth=api_key("ads", limit=RateClass.READ, dialect="krev"),
    response={200: KrevListResponse[StyleOut], **errors(401, 403, 429)},
    summary="List ad styles",
)
def list_styles(request: HttpRequest) -> dict[str, Any]:
    data = [style.as_dict() for style in styles.STYLES]
    return krev(data, meta={"count": len(data)})
