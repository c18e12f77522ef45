"""Starting a creative director: validate, price every scene, charge, create (one transaction)."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

from generations import extensions, params, parents, pricing
from generations import services as generation_services
from generations.models import Generation, GenerationType, Source
from generations.parents import children_of
from generations.registry import resolve_model
from studio.accounts import storage_quota
from studio.accounts.models import Team, User
from studio.errors import Conflict, InvalidFields, NotFound

WORKFLOWS = {"image": GenerationType.IMAGE, "video": GenerationType.VIDEO}
MAX_SCENES = 8
DEFAULT_SCENES = 4


def _scene_count(raw: dict[str, Any]) -> int:
    value = raw.get("scene_count", DEFAULT_SCENES)
    if value is None:
        return DEFAULT_SCENES
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidFields.about("scene_count", "must be a whole number")
    if not 1 <= value <= MAX_SCENES:
        raise InvalidFields.about("scene_count", f"must be between 1 and {MAX_SCENES}")
    return value


def _moodboards(raw: dict[str, Any], count: int) -> list[str | None]:
    """The moodboard of each scene: `moodboard_ids[i]`, else `moodboard_id`, else none."""
    shared = raw.get("moodboard_id") or None
    if shared is not None and not isinstance(shared, str):
        raise InvalidFields.about("moodboard_id", "must be a moodboard id")
    each = raw.get("moodboard_ids") or []
    if not isinstance(each, list) or not all(isinstance(i, str) and i for i in each):
        raise InvalidFields.about("moodboard_ids", "must be a list of moodboard ids")
    if len(each) > count:
        raise InvalidFields.about("moodboard_ids", f"has more ids than the {count} scenes")
    return [each[i] if i < len(each) else shared for i in range(count)]


def start(
    team: Team,
    user: User | None,
    raw: dict[str, Any],
    *,
    source: str = Source.DASHBOARD,
    api_key_id: UUID | None = None,
    idempotency_key: str | None = None,
) -> generation_services.Started:
    """Validate and price the storyboard, charge every scene, create the parent and its held
    scenes in one transaction; planning happens on the cluster."""
    if not isinstance(raw, dict):
        raise InvalidFields("The request body must be a JSON object")
    raw = dict(raw)
    webhook_url = raw.pop("webhook_url", None)
    workflow = raw.get("workflow_type") or "image"
    if workflow not in WORKFLOWS:
        raise InvalidFields.about("workflow_type", 'must be "image" or "video"')
    scene_type = WORKFLOWS[workflow]
    count = _scene_count(raw)
    model = resolve_model(raw.get("model"), scene_type, team)
    moodboards = _moodboards(raw, count)
    # The scene's own request: what the brief shares with every scene, validated as such.
    shared = {
        k: raw[k]
        for k in ("prompt", "aspect_ratio", "duration", "enhance_prompt", "seed")
        if raw.get(k) is not None
    }
    if "aspect_ratio" not in shared and "1:1" in (model.supported_aspect_ratios or ["1:1"]):
        shared["aspect_ratio"] = "1:1"  # the contract's default, for video scenes too
    shared["reference_images"] = raw.get("reference_images") or []
    shared["visual_dna_ids"] = raw.get("visual_dna_ids") or []
    if scene_type == GenerationType.IMAGE:
        shared.pop("duration", None)
    base = params.validate(scene_type, {**shared, "count": 1}, model)
    asked_seed = base.get("seed")
    if base.get("seed") is None:
        base["seed"] = secrets.randbelow(2**31 - MAX_SCENES)
    base["seed"] = min(int(base["seed"]), 2**31 - 1 - MAX_SCENES)
    for mood in {m for m in moodboards if m}:  # another team's: 404 before any charge
        extensions.references().check(team, {"moodboard_id": mood})
    extensions.references().check(team, base)
    storage_quota.check_room(team)
    if base.get("reference_images"):
        base["reference_images"] = [
            generation_services.checked_image_url(u, team, "reference_images")
            for u in base["reference_images"]
        ]
    labels = params.labels(raw)  # session_id / project_id: the storyboard's and its scenes'
    children = []
    for index in range(count):
        scene = {**base, "seed": base["seed"] + index, "moodboard_id": moodboards[index], **labels}
        children.append(
            parents.ChildSpec(
                type=scene_type,
                model=model,
                params=scene,
                quote=pricing.quote(model, scene_type, scene),
                label=f"Scene {index + 1}",
            )
        )
    request = {
        "prompt": base["prompt"],
        "scene_count": count,
        "workflow_type": workflow,
        "aspect_ratio": base["aspect_ratio"],
        "duration": base.get("duration"),
        "visual_dna_ids": base["visual_dna_ids"],
        "reference_images": base["reference_images"],
        "moodboard_id": raw.get("moodboard_id") or None,
        "moodboard_ids": raw.get("moodboard_ids") or [],
        "enhance_prompt": base["enhance_prompt"],
        "seed": base["seed"],
        **labels,
    }
    if webhook_url:
        request["webhook"] = generation_services.job_webhook(team, webhook_url, "kolbo")
    return parents.start_parent(
        team,
        user,
        GenerationType.CREATIVE_DIRECTOR,
        model=model,
        params=request,
        prompt=base["prompt"],
        children=children,
        source=source,
        api_key_id=api_key_id,
        idempotency_key=idempotency_key,
        fingerprinted={**request, "seed": asked_seed},
    )


def remake_scene(parent: Generation, scene_number: int, user: User | None) -> Generation:
    """Make one scene again (a new take with the next seed of its family), charged its own
    price; the storyboard shows the new take once it is made. Conflict while the scene is
    still rendering or once the storyboard was cancelled."""
    from generations.creative_director.presenters import scene_rows

    rows = {s["scene_number"]: (s, child) for s, child in scene_rows(parent, children_of(parent))}
    if scene_number not in rows:
        raise NotFound("Scene not found")
    scene, child = rows[scene_number]
    if child.is_active:
        raise Conflict("This scene is still rendering")
    model = resolve_model(child.model_identifier, child.type, parent.team)
    storage_quota.check_room(parent.team)
    seed = (int(child.params.get("seed") or 0) + MAX_SCENES) % (2**31 - 1)
    again = {**child.params, "seed": seed}
    meta = {
        k: v for k, v in scene.items() if k in ("scene_number", "title", "prompt", "shot", "camera")
    }

    def still_wanted(locked: Generation) -> None:
        # Under the storyboard's lock: a second click that raced this one finds the take it
        # saw replaced already, and is refused rather than charged again.
        latest = dict(
            (s["scene_number"], c) for s, c in scene_rows(locked, children_of(locked))
        ).get(scene_number)
        if latest is None or latest.pk != child.pk:
            raise Conflict("This scene is already being made again")

    return parents.add_child(
        parent,
        parents.ChildSpec(
            type=child.type,
            model=model,
            params=again,
            quote=pricing.quote(model, child.type, again),
            label=f"Scene {scene_number} (again)",
        ),
        prompt=child.prompt,
        meta=meta,
        user=user,
        still_wanted=still_wanted,
    )
