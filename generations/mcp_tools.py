"""MCP tools of the generations app: every generation type, status, cancel, models, voices.

They call what the Kolbo endpoints call (services.start_generation, the presenters), with
Kolbo's field names (plus `product_ids`, Krev's products, on images and video), so a tool call
and a REST call are charged and answered alike. Input
schemas are the REST input schemas, narrowed by the model registry for the caller's team:
the models, aspect ratios, durations, image counts and voices it can use right now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from django.conf import settings
from mcp.types import ImageContent
from pydantic import Field

from generations import kolbo_api, notify, params, presenters, services
from generations.api import (
    ModelFilters,
    ModelOut,
    VoiceFilters,
    VoiceOut,
    models_for,
    voices_for,
)
from generations.models import TERMINAL_STATES, Generation, GenerationType, Source
from generations.registry import SMART_SELECT, enabled_models
from studio.accounts.models import Team
from studio.api.ratelimit import RateClass
from studio.errors import InvalidFields, NotFound
from studio.mcp.tools import (
    Schema,
    ToolCall,
    from_pydantic,
    object_schema,
    register_resource,
    register_tool,
    validated,
)

# How often a waiting tool tells the client how far the job is.
PROGRESS_EVERY_SECONDS = 5.0
# Thumbnails up to this size travel inside the answer as image content for the client to show.
INLINE_IMAGE_BYTES = 256 * 1024
MAX_STATUS_IDS = 20


# --- schemas from the registry ------------------------------------------------------------------


def generation_schema(team: Team, generation_type: str, rest_input: Any) -> Schema:
    """The REST input schema of `generation_type`, with the registry's allowed values."""
    schema = from_pydantic(rest_input)
    props = schema["properties"]
    models = [m for m in enabled_models(team) if m.does(generation_type)]
    if "model" in props and models:
        props["model"]["enum"] = [*(m.identifier for m in models), "auto"]
        props["model"]["description"] = (
            "A model identifier (list_models gives prices and options); omit for Smart Select"
        )
    if "aspect_ratio" in props:
        ratios = {r for m in models for r in (m.supported_aspect_ratios or params.ASPECT_RATIOS)}
        if ratios:
            props["aspect_ratio"]["enum"] = [r for r in params.ASPECT_RATIOS if r in ratios] + [
                r for r in sorted(ratios) if r not in params.ASPECT_RATIOS
            ]
    if "num_images" in props and models:
        props["num_images"].update(
            type="integer",
            minimum=1,
            maximum=max(int((m.params or {}).get("max_images", 4)) for m in models),
        )
    if props.get("duration", {}).get("type") == "integer" and models:
        durations = sorted({int(d) for m in models for d in (m.supported_durations or [])})
        if durations and all(m.supported_durations for m in models):
            props["duration"]["enum"] = durations
        else:
            lo = min(int((m.params or {}).get("min_duration", 1)) for m in models)
            hi = max(int((m.params or {}).get("max_duration", 60)) for m in models)
            props["duration"].update(minimum=lo, maximum=hi)
    if "voice" in props:
        voices = voices_for(team, None, None, None)
        providers = {m.provider for m in models}
        ids = sorted({v.voice_id for v in voices if v.provider in providers})
        if ids:
            props["voice"]["enum"] = ids
    return schema


# --- starting and waiting -----------------------------------------------------------------------


def _reload(generation_id: int) -> Generation:
    return Generation.objects.get(pk=generation_id)


def _inline_images(generation: Generation) -> list[ImageContent]:
    import base64

    blocks = []
    for asset in generation.assets.order_by("index"):
        thumb = asset.thumbnail
        if not thumb or not thumb.name or asset.thumbnail_size_bytes > INLINE_IMAGE_BYTES:
            continue
        with thumb.open("rb") as handle:
            data = handle.read()
        blocks.append(
            ImageContent(type="image", data=base64.b64encode(data).decode(), mime_type="image/webp")
        )
    return blocks


def _status_body(generation: Generation) -> dict[str, Any]:
    body = presenters.kolbo_status(generation)
    body["credits_charged"] = generation.credits_charged
    body["model"] = generation.model_identifier
    if generation.type == GenerationType.IMAGE and body["state"] == "completed":
        body["_content"] = _inline_images(generation)
    return body


async def finished_or_processing(
    call: ToolCall,
    generation: Generation,
    *,
    wait: float | None = None,
    present: Callable[[Generation], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The generation's status once it is finished, or after `wait` seconds (the MCP wait
    bound by default): then `{state: "processing", generation_id, _timed_out: true}`.
    `wait=0` reads the status as it is. `present` shapes the answer (default: the Kolbo
    status, as get_generation_status answers)."""
    timeout = settings.STUDIO_MCP_WAIT_SECONDS if wait is None else wait
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_progress = -1
    while generation.state not in TERMINAL_STATES:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        finished = await notify.wait_for_finish(
            generation.pk, min(PROGRESS_EVERY_SECONDS, remaining)
        )
        generation = await call.sync(_reload, generation.pk)
        if not finished and generation.progress != last_progress:
            last_progress = generation.progress
            await call.progress(generation.progress, 100, f"{generation.get_type_display()}…")
    body = await call.sync(present or _status_body, generation)
    if generation.state not in TERMINAL_STATES and timeout > 0:
        body.update(
            state="processing",
            generation_id=str(generation.uuid),
            _timed_out=True,
            message=(
                "Still running. Call get_generation_status with this generation_id "
                "(and wait=true) to get the result."
            ),
        )
    return body


def start_kolbo_generation(
    call: ToolCall,
    generation_type: str,
    rest_input: Any,
    args: dict[str, Any],
    renames: dict[str, str],
) -> Generation:
    """What the Kolbo start endpoint does: its input schema, its renames, the service."""
    idempotency_key = args.pop("idempotency_key", None)
    raw = validated(rest_input, args).dict(exclude_none=True)
    for source, target in renames.items():
        if source in raw:
            raw[target] = raw.pop(source)
    if isinstance(raw.get("model"), str) and raw["model"] in SMART_SELECT:
        raw.pop("model")
    return services.start_generation(
        call.team,
        call.user,
        generation_type,
        raw,
        source=Source.API,
        api_key_id=call.key.uuid,
        idempotency_key=idempotency_key,
    ).generation


def _register_generation_tool(
    name: str,
    description: str,
    generation_type: str,
    rest_input: Any,
    renames: dict[str, str] | None = None,
) -> None:
    async def generate(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
        generation = await call.sync(
            start_kolbo_generation, call, generation_type, rest_input, args, renames or {}
        )
        return await finished_or_processing(call, generation)

    generate.__qualname__ = f"generate_{generation_type}"
    register_tool(
        name,
        description,
        scope=kolbo_api.SCOPE[generation_type],
        method="POST",
        limit=RateClass.GENERATION,
        schema=lambda team: generation_schema(team, generation_type, rest_input),
    )(generate)


class ImageToolIn(kolbo_api.ImageIn):
    product_ids: list[str] | None = Field(
        None, max_length=4, description="Products (list_products) to feature in the images"
    )


class VideoToolIn(kolbo_api.VideoIn):
    product_ids: list[str] | None = Field(
        None, max_length=4, description="Products (list_products) to feature in the video"
    )


_WAITS = " Waits for the result and answers with signed URLs (or _timed_out with an id to poll)."
_register_generation_tool(
    "generate_image",
    "Generate 1-4 images from a prompt (40 credits per image by default)." + _WAITS,
    GenerationType.IMAGE,
    ImageToolIn,
    {"num_images": "count"},
)
_register_generation_tool(
    "generate_video",
    "Generate a video from a text prompt (priced per second)." + _WAITS,
    GenerationType.VIDEO,
    VideoToolIn,
)
_register_generation_tool(
    "generate_video_from_image",
    "Animate an image (URL or data:image URL) into a video." + _WAITS,
    GenerationType.VIDEO_FROM_IMAGE,
    kolbo_api.VideoFromImageIn,
)
_register_generation_tool(
    "generate_music",
    "Generate a piece of music (instrumental or with lyrics)." + _WAITS,
    GenerationType.MUSIC,
    kolbo_api.MusicIn,
)
_register_generation_tool(
    "generate_speech",
    "Turn text into speech with one of the voices of list_voices." + _WAITS,
    GenerationType.SPEECH,
    kolbo_api.SpeechIn,
)
_register_generation_tool(
    "generate_sound",
    "Generate a sound effect from a description." + _WAITS,
    GenerationType.SOUND,
    kolbo_api.SoundIn,
)
_register_generation_tool(
    "generate_image_edit",
    "Edit 1-4 source images (URLs, data:image URLs or Studio links) with an instruction such "
    "as 'make the background blue' (priced as images)." + _WAITS,
    GenerationType.IMAGE_EDIT,
    kolbo_api.ImageEditIn,
    {"num_images": "count"},
)


# --- parent jobs: the creative director, ads --------------------------------------------------


def _start_creative_director(call: ToolCall, args: dict[str, Any]) -> Generation:
    from generations.creative_director import services as creative_director

    idempotency_key = args.pop("idempotency_key", None)
    raw = validated(kolbo_api.CreativeDirectorIn, args).dict(exclude_none=True)
    if isinstance(raw.get("model"), str) and raw["model"] in SMART_SELECT:
        raw.pop("model")
    return creative_director.start(
        call.team,
        call.user,
        raw,
        source=Source.API,
        api_key_id=call.key.uuid,
        idempotency_key=idempotency_key,
    ).generation


@register_tool(
    "generate_creative_director",
    "Plan a storyboard of 1-8 image or video scenes from a brief (scenes share the moodboard, "
    "Visual DNA and references; priced as the sum of its scenes)." + _WAITS,
    scope=kolbo_api.SCOPE[GenerationType.CREATIVE_DIRECTOR],
    method="POST",
    limit=RateClass.GENERATION,
    schema=lambda team: from_pydantic(kolbo_api.CreativeDirectorIn),
)
async def generate_creative_director(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    generation = await call.sync(_start_creative_director, call, args)
    return await finished_or_processing(call, generation)


def _team_storyboard(call: ToolCall, generation_id: Any) -> Generation:
    generation = services.team_generation(call.team, generation_id)
    if generation.type != GenerationType.CREATIVE_DIRECTOR:
        raise NotFound("Creative director not found")
    return generation


@register_tool(
    "get_creative_director_status",
    "A storyboard's state (pending while planned), its scenes with their images or videos, "
    "and what was charged and refunded; free.",
    limit=RateClass.POLL,
    schema=object_schema(
        {
            "generation_id": {"type": "string"},
            "wait": {"type": "boolean", "description": "Wait for it to finish"},
        },
        ["generation_id"],
    ),
)
async def get_creative_director_status(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    generation = await call.sync(_team_storyboard, call, args.get("generation_id"))
    return await finished_or_processing(call, generation, wait=None if args.get("wait") else 0)


def _start_ad(call: ToolCall, args: dict[str, Any]) -> Generation:
    from generations.ads import api as ads_api
    from generations.ads import services as ads

    idempotency_key = args.pop("idempotency_key", None)
    return ads.start_ad(
        call.team,
        call.user,
        validated(ads_api.AdsIn, args).dict(exclude_none=True),
        source=Source.API,
        api_key_id=call.key.uuid,
        idempotency_key=idempotency_key,
    ).generation


def _ad_body(generation: Generation) -> dict[str, Any]:
    from generations.ads import presenters as ads_presenters

    generation = Generation.objects.prefetch_related("assets").get(pk=generation.pk)
    return {"success": True, **ads_presenters.krev_ad(generation)}


def _ads_schema(team: Team) -> Schema:
    from generations.ads import api as ads_api
    from generations.ads import styles

    schema = from_pydantic(ads_api.AdsIn)
    if "style_id" in schema["properties"]:
        schema["properties"]["style_id"]["enum"] = [style.id for style in styles.STYLES]
    return schema


@register_tool(
    "generate_ad",
    "Make finished ad images of the team's products (list_products): the product in a scene "
    "with a hook, headline and call to action set on it, plus the copy (40 credits per "
    "image)." + _WAITS,
    scope="ads",
    method="POST",
    limit=RateClass.GENERATION,
    schema=_ads_schema,
)
async def generate_ad(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    generation = await call.sync(_start_ad, call, args)
    return await finished_or_processing(call, generation, present=_ad_body)


# --- status, cancel -----------------------------------------------------------------------------


STATUS_SCHEMA = object_schema(
    {
        "generation_id": {"type": "string", "description": "One generation (or chat message) id"},
        "generation_ids": {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": MAX_STATUS_IDS,
            "description": f"Several ids at once (at most {MAX_STATUS_IDS})",
        },
        "wait": {
            "type": "boolean",
            "description": "With one id: wait for it to finish (up to a few minutes)",
        },
    }
)


def _ids(args: dict[str, Any]) -> list[str]:
    ids = list(args.get("generation_ids") or [])
    if args.get("generation_id"):
        ids.insert(0, args["generation_id"])
    if not ids:
        raise InvalidFields("Give generation_id (or generation_ids)", field="generation_id")
    if len(ids) > MAX_STATUS_IDS or not all(isinstance(i, str) for i in ids):
        raise InvalidFields.about("generation_ids", f"takes 1-{MAX_STATUS_IDS} string ids")
    return list(dict.fromkeys(ids))


@register_tool(
    "get_generation_status",
    "The state, progress and result (signed URLs) of one or more generations; free.",
    limit=RateClass.POLL,
    schema=STATUS_SCHEMA,
)
async def get_generation_status(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    ids = _ids(args)
    if len(ids) == 1:
        generation = await call.sync(services.team_generation, call.team, ids[0])
        wait = None if args.get("wait") else 0
        return await finished_or_processing(call, generation, wait=wait)

    def read_all() -> dict[str, Any]:
        found = [services.team_generation(call.team, i) for i in ids]
        return {"success": True, "generations": [presenters.kolbo_status(g) for g in found]}

    return await call.sync(read_all)


@register_tool(
    "cancel_generation",
    "Cancel a queued or running generation; its credits are refunded.",
    method="POST",
    limit=RateClass.POLL,
    schema=object_schema({"generation_id": {"type": "string"}}, ["generation_id"]),
)
async def cancel_generation(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def cancel() -> dict[str, Any]:
        generation = services.team_generation(call.team, args.get("generation_id"))
        return kolbo_api.cancel_as(call.key, generation)

    return await call.sync(cancel)


# --- registry reads -----------------------------------------------------------------------------


@register_tool(
    "list_models",
    "The models this team can use, with their types, prices and allowed options.",
    schema=from_pydantic(ModelFilters),
)
async def list_models(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        filters = validated(ModelFilters, args)
        rows = models_for(call.team, filters.type, filters.provider)
        models = [ModelOut.model_validate(m).model_dump(exclude_none=True) for m in rows]
        return {"success": True, "models": models, "count": len(models)}

    return await call.sync(read)


@register_tool(
    "list_voices",
    "The voices for generate_speech, filtered by provider, language or gender.",
    schema=from_pydantic(VoiceFilters),
)
async def list_voices(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        filters = validated(VoiceFilters, args)
        rows = voices_for(call.team, filters.provider, filters.language, filters.gender)
        voices = [VoiceOut.model_validate(v).model_dump() for v in rows]
        return {"success": True, "voices": voices, "count": len(voices)}

    return await call.sync(read)


register_resource(
    "studio://models",
    "Model catalogue",
    "Every model this team can use: types, prices, aspect ratios, durations.",
    tool="list_models",
)
register_resource(
    "studio://voices", "Voices", "The voices for generate_speech.", tool="list_voices"
)


# --- agent runs (Krev's async chat) -------------------------------------------------------------

AGENT_RUN_SCHEMA = object_schema(
    {
        "message": {"type": "string", "description": "Instruction for the agent"},
        "conversation_id": {"type": "string", "description": "Continue this conversation"},
        "product_ids": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
        "reference_images": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
        "agent": {"type": "string", "enum": ["auto", "asset", "discover"]},
    },
    ["message"],
)


@register_tool(
    "start_agent_run",
    "Start an agent run (Krev's async chat): the agent reads products and credits, makes "
    "images, videos and ads, and researches ads. Waits for it like a generation tool, else "
    "answers the run so far with _timed_out (poll get_agent_run). Paid tool calls are charged "
    "as generations; Meta campaign and account changes are refused.",
    scope="chat",
    method="POST",
    limit=RateClass.GENERATION,
    schema=AGENT_RUN_SCHEMA,
)
async def start_agent_run(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    from generations.agent import presenters as agent_presenters
    from generations.agent import services as agent_runs
    from generations.agent.models import ACTIVE_RUN_STATUSES, AgentRun

    run = await call.sync(
        agent_runs.start_run, call.team, call.user, dict(args), source=Source.API,
        api_key_id=call.key.uuid,
    )  # fmt: skip
    waited = 0.0
    while waited < settings.STUDIO_MCP_WAIT_SECONDS:
        status = await call.sync(
            lambda: AgentRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
        )
        if status not in ACTIVE_RUN_STATUSES:
            break
        await call.progress(min(waited, 99), 100, "The agent is working")
        await asyncio.sleep(1.0)
        waited += 1.0
    body = await call.sync(lambda: agent_presenters.run(AgentRun.objects.get(pk=run.pk)))
    if body["status"] in ACTIVE_RUN_STATUSES:
        body["_timed_out"] = True
    return body


@register_tool(
    "get_agent_run",
    "An agent run: status, transcript, artifacts (with ad copy), generations, media URLs and "
    "credits used.",
    scope="chat",
    limit=RateClass.POLL,
    schema=object_schema({"run_id": {"type": "string"}}, ["run_id"]),
)
async def get_agent_run(call: ToolCall, args: dict[str, Any]) -> dict[str, Any]:
    from generations.agent import presenters as agent_presenters
    from generations.agent import services as agent_runs

    def read() -> dict[str, Any]:
        return agent_presenters.run(agent_runs.team_run(call.team, args.get("run_id")))

    return await call.sync(read)
