"""How a generation looks to the outside: the Kolbo and Krev shapes of the contract.

Internal states map onto each dialect's vocabulary here and nowhere else. Kolbo's client
loops `while state == "processing"`, so every non-terminal state is "processing" there.
"""

from __future__ import annotations

from typing import Any

from generations import assets
from generations.models import AssetRole, Generation, GenerationState, GenerationType

S = GenerationState

KOLBO_STATE: dict[str, str] = {
    S.QUEUED: "processing",
    S.SUBMITTING: "processing",
    S.RUNNING: "processing",
    S.COLLECTING: "processing",
    S.SUCCEEDED: "completed",
    S.FAILED: "failed",
    S.CANCELLED: "cancelled",
}
KREV_STATUS: dict[str, str] = {
    S.QUEUED: "queued",
    S.SUBMITTING: "processing",
    S.RUNNING: "processing",
    S.COLLECTING: "processing",
    S.SUCCEEDED: "succeeded",
    S.FAILED: "failed",
    S.CANCELLED: "failed",
}
POLL_HINTS: dict[str, int] = {
    GenerationType.IMAGE: 3,
    GenerationType.IMAGE_EDIT: 3,
    GenerationType.VIDEO: 8,
    GenerationType.VIDEO_FROM_IMAGE: 8,
    GenerationType.MUSIC: 8,
    GenerationType.SPEECH: 3,
    GenerationType.SOUND: 5,
    GenerationType.CHAT: 2,
    GenerationType.CREATIVE_DIRECTOR: 5,
}


def kolbo_type(generation: Generation) -> str:
    # Kolbo reports image-to-video jobs as videos.
    return "video" if generation.type == GenerationType.VIDEO_FROM_IMAGE else generation.type


def iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def asset_links(generation: Generation) -> list[dict[str, Any]]:
    """Signed links of the generation's files, in output order."""
    links = []
    # By index alone: the model's ordering starts with "generation", which joins the
    # generations table to order by its ordering.
    for asset in generation.assets.order_by("index"):
        if asset.role != AssetRole.OUTPUT:  # an ad's text-free copy is not a result
            continue
        links.append({"asset": asset, **assets.asset_urls(asset)})
    return links


def credits_used(generation: Generation) -> int:
    return generation.credits_charged - generation.credits_refunded


def failure_of(generation: Generation) -> dict[str, Any] | None:
    if generation.state not in (S.FAILED, S.CANCELLED):
        return None
    failure = generation.failure or {
        "message": generation.error,
        "category": "internal",
        "code": "GENERATION_FAILED",
        "retryable": False,
        "provider": generation.provider,
    }
    # A cancel is the client's own doing: a warning, not an error.
    severity = "warning" if generation.state == S.CANCELLED else "error"
    return {"severity": severity, **failure}


def session_of(generation: Generation) -> str:
    """The client's `session_id`, else the job's own group id (its parent's, or its own)."""
    if generation.params.get("session_id"):
        return str(generation.params["session_id"])
    if generation.parent_id:
        return str(generation.parent.uuid)  # type: ignore[union-attr]
    return str(generation.uuid)


def credits_breakdown(generation: Generation) -> list[dict[str, Any]]:
    """What a finished job cost and gave back: [{label, credits}] (refunds negative)."""
    from generations import parents

    return parents.credit_lines(generation, charge_label(generation))


def charge_label(generation: Generation) -> str:
    price = generation.price or {}
    if price.get("label"):
        return str(price["label"])
    quantity, unit = price.get("quantity"), UNIT_WORDS.get(price.get("unit", ""), "")
    if quantity and unit and generation.credits_charged:
        return f"{generation.model_identifier}: {quantity} {unit}"
    return generation.model_identifier


UNIT_WORDS = {
    "per_image": "image(s)",
    "per_second": "second(s)",
    "per_100_chars": "hundreds of characters",
    "per_1k_tokens": "tokens",
    "flat": "generation",
}


# --- Kolbo ------------------------------------------------------------------------------------


def kolbo_start(generation: Generation) -> dict[str, Any]:
    body = {
        "success": True,
        "generation_id": str(generation.uuid),
        "type": kolbo_type(generation),
        "model": generation.model_identifier,
        "credits_charged": generation.credits_charged,
        "poll_url": f"/api/v1/generate/{generation.uuid}/status",
        "poll_interval_hint": POLL_HINTS.get(generation.type, 3),
        "session_id": session_of(generation),
    }
    if generation.params.get("project_id"):
        body["project_id"] = generation.params["project_id"]
    if generation.type == GenerationType.CREATIVE_DIRECTOR:
        body["scene_count"] = generation.params.get("scene_count")
        body["poll_url"] = f"/api/v1/generate/creative-director/{generation.uuid}/status"
    return body


def kolbo_result(generation: Generation) -> dict[str, Any]:
    if generation.type == GenerationType.CHAT:
        from generations.chat.presenters import chat_result

        return chat_result(generation)
    links = asset_links(generation)
    params = generation.params
    result: dict[str, Any] = {
        "urls": [link["url"] for link in links],
        "model": generation.model_identifier,
        "prompt_used": generation.prompt,
        "created_at": iso(generation.created_at),
    }
    first = links[0]["asset"] if links else None
    duration = round(first.duration, 2) if first and first.duration else None
    if generation.type in (GenerationType.VIDEO, GenerationType.VIDEO_FROM_IMAGE):
        result.update(
            thumbnail_url=links[0]["thumbnail_url"] if links else None,
            duration=duration,
            aspect_ratio=params.get("aspect_ratio"),
        )
    elif generation.type == GenerationType.MUSIC:
        result.update(
            title=generation.result_meta.get("title", ""),
            duration=duration,
            lyrics=generation.result_meta.get("lyrics") or params.get("lyrics", ""),
        )
    elif generation.type == GenerationType.SPEECH:
        result.update(voice=params.get("voice"), duration=duration)
    elif generation.type == GenerationType.SOUND:
        result.update(duration=duration)
    elif generation.type == GenerationType.IMAGE:
        result.update(
            thumbnail_urls=[link["thumbnail_url"] for link in links],
            aspect_ratio=params.get("aspect_ratio"),
        )
    elif generation.type == GenerationType.IMAGE_EDIT:
        result.update(
            thumbnail_urls=[link["thumbnail_url"] for link in links],
            # Asked for, else the source's own (the editor reports it).
            aspect_ratio=params.get("aspect_ratio") or generation.result_meta.get("aspect_ratio"),
            edits=generation.result_meta.get("edits", []),
        )
    return result


def kolbo_status(generation: Generation) -> dict[str, Any]:
    if generation.type == GenerationType.CREATIVE_DIRECTOR:
        return kolbo_parent_status(generation)
    body: dict[str, Any] = {
        "success": True,
        "generation_id": str(generation.uuid),
        "type": kolbo_type(generation),
        "state": KOLBO_STATE[generation.state],
        "progress": generation.progress,
        "credits_used": credits_used(generation),
    }
    if generation.state == S.SUCCEEDED:
        body["result"] = kolbo_result(generation)
    if generation.is_finished:
        body["credits_breakdown"] = credits_breakdown(generation)
    failure = failure_of(generation)
    if failure:
        body["error"] = generation.error or failure["message"]
        body["failure"] = failure
        body["credits_refunded"] = generation.credits_refunded
    return body


def kolbo_parent_status(generation: Generation) -> dict[str, Any]:
    """A creative director's status: `pending` while planned, its scenes, and what each
    scene cost and gave back."""
    from generations import parents
    from generations.creative_director.presenters import scenes

    children = parents.children_of(generation)
    state = KOLBO_STATE[generation.state]
    if generation.state == S.QUEUED:
        state = "pending"
    body: dict[str, Any] = {
        "success": True,
        "generation_id": str(generation.uuid),
        "type": generation.type,
        "state": state,
        "progress": parents.live_progress(generation, children),
        "credits_used": credits_used(generation),
        "scene_count": len(children),
        "planner": (generation.result_meta or {}).get("planner"),
        "scenes": scenes(generation, children),
        "credits_breakdown": parents.credits_breakdown(generation, children),
    }
    if generation.state == S.SUCCEEDED:
        urls = [
            url
            for scene in body["scenes"]
            for url in scene.get("image_urls") or scene.get("video_urls") or []
        ]
        body["result"] = {
            "urls": urls,
            "model": generation.model_identifier,
            "prompt_used": generation.prompt,
            "created_at": iso(generation.created_at),
        }
    failure = failure_of(generation)
    if failure:
        body["error"] = generation.error or failure["message"]
        body["failure"] = failure
    if generation.credits_refunded or failure:
        body["credits_refunded"] = generation.credits_refunded
    return body


# --- Krev -------------------------------------------------------------------------------------


def krev_generation(generation: Generation) -> dict[str, Any]:
    urls = (
        [link["url"] for link in asset_links(generation)] if generation.state == S.SUCCEEDED else []
    )
    error = None
    if generation.state == S.CANCELLED:
        error = "Generation was cancelled"
    elif generation.state == S.FAILED:
        error = generation.error or "Generation failed"
    return {
        "id": str(generation.uuid),
        # Krev knows images and videos; an animated image is a video there.
        "kind": "video" if generation.type == GenerationType.VIDEO_FROM_IMAGE else generation.type,
        "status": KREV_STATUS[generation.state],
        "progress": generation.progress,
        "output": {"urls": urls},
        "error": error,
        "credits_used": credits_used(generation),
        "created_at": iso(generation.created_at),
        "completed_at": iso(generation.completed_at),
    }


def krev_images(generation: Generation) -> dict[str, Any]:
    done = generation.state == S.SUCCEEDED
    images = [link["url"] for link in asset_links(generation)] if done else []
    body: dict[str, Any] = {
        "generation_id": str(generation.uuid),
        "status": KREV_STATUS[generation.state],
        "images": images,
        "image_count": generation.params.get("count", 1),
        "credits_used": credits_used(generation),
    }
    if not done:
        body["poll_url"] = f"/api/v1/generations/{generation.uuid}"
    if generation.state in (S.FAILED, S.CANCELLED):
        body["error"] = krev_generation(generation)["error"]
    return body


def krev_video(generation: Generation) -> dict[str, Any]:
    done = generation.state == S.SUCCEEDED
    links = asset_links(generation) if done else []
    asset = links[0]["asset"] if links else None
    body: dict[str, Any] = {
        "generation_id": str(generation.uuid),
        "status": KREV_STATUS[generation.state],
        "video_url": links[0]["url"] if links else None,
        "thumbnail_url": links[0]["thumbnail_url"] if links else None,
        "duration": round(asset.duration)
        if asset and asset.duration
        else generation.params.get("duration"),
        "credits_used": credits_used(generation),
    }
    if not done:
        body["poll_url"] = f"/api/v1/generations/{generation.uuid}"
    if generation.state in (S.FAILED, S.CANCELLED):
        body["error"] = krev_generation(generation)["error"]
    return body
