"""A creative director's scenes as the contract shows them."""

from __future__ import annotations

from typing import Any

from generations import presenters as generation_presenters
from generations.models import Generation

SCENE_STATUS = {
    "queued": "pending",
    "submitting": "processing",
    "running": "processing",
    "collecting": "processing",
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "failed",
}


def scenes(parent: Generation, children: list[Generation]) -> list[dict[str, Any]]:
    """The contract's per-scene fields, in scene order."""
    return [scene for scene, _ in scene_rows(parent, children)]


def scene_rows(
    parent: Generation, children: list[Generation]
) -> list[tuple[dict[str, Any], Generation]]:
    """Each scene's fields and the child that shows it: the latest made for its number (a
    scene made again replaces the earlier take)."""
    planned = {m.get("generation_id"): m for m in (parent.result_meta or {}).get("children") or []}
    video = parent.params.get("workflow_type") == "video"
    latest: dict[int, tuple[dict[str, Any], Generation]] = {}
    for index, child in enumerate(children):  # in the order they were made
        meta = planned.get(str(child.uuid)) or {}
        number = int(meta.get("scene_number") or index + 1)
        scene: dict[str, Any] = {
            "scene_number": number,
            "status": SCENE_STATUS[child.state],
            "title": meta.get("title") or f"Scene {number}",
            "prompt": meta.get("prompt") or "",
            "progress": 100 if child.state == "succeeded" else child.progress,
        }
        if meta.get("shot"):
            scene["shot"] = meta["shot"]
        if meta.get("camera"):
            scene["camera"] = meta["camera"]
        links = generation_presenters.asset_links(child) if child.state == "succeeded" else []
        if video:
            scene["video_urls"] = [link["url"] for link in links]
            scene["duration"] = child.params.get("duration")
        else:
            scene["image_urls"] = [link["url"] for link in links]
        if child.state in ("failed", "cancelled"):
            scene["error"] = child.error
        latest[number] = (scene, child)
    return [latest[number] for number in sorted(latest)]
