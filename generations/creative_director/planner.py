"""Planning a storyboard: the team's chat model (JSON, validated, re-asked once), else the
rule-based shot planner, labelled as such in the plan's meta ("planner")."""

from __future__ import annotations

import random
import re
from typing import Any

from generations import language, params, parents
from generations.models import Generation, GenerationType, Provider

TITLE_CHARS = 80
SCENE_PROMPT_CHARS = 600


# (title, how the shot is framed, how the camera moves): an edit's usual grammar, opening
# wide and closing wide; the middle shots are drawn in a seeded order.
OPENING = ("Establishing", "wide establishing shot", "slow aerial push-in")
MIDDLE = [
    ("Medium", "medium shot", "steady eye-level framing"),
    ("Detail", "extreme close-up detail shot", "macro lens, shallow depth of field"),
    ("Close-up", "close-up", "gentle handheld, soft rack focus"),
    ("Low angle", "low-angle hero shot", "slow tilt up"),
    ("Tracking", "tracking shot", "smooth dolly alongside"),
    ("Over the shoulder", "over-the-shoulder shot", "locked-off tripod"),
]
CLOSING = ("Finale", "wide closing shot", "slow pull-back")

STOPWORDS = frozenset(
    re.findall(
        r"[a-z]+",
        """a an the and or of in on at to for with from by into over under about as is are be
    this that these those its it their our your my new very some any each every create make
    show scene scenes video image images shot shots storyboard second seconds minute story
    campaign ad commercial film featuring feature""",
    )
)


def subjects_of(brief: str) -> list[str]:
    """The brief's subjects: its comma/and-separated phrases' content words, in order."""
    phrases = re.split(r",|;|\band\b|\bwith\b|\.", brief.lower())
    found: list[str] = []
    for phrase in phrases:
        kept = [w for w in re.findall(r"[a-z][a-z'-]+", phrase) if w not in STOPWORDS]
        if kept:
            text = " ".join(kept[-3:])
            if text not in found:
                found.append(text)
    return found or ["the subject"]


def rule_plan(brief: str, count: int, seed: int) -> list[dict[str, str]]:
    """A storyboard without a language model: opening wide, varied middle shots, closing
    wide, each on one of the brief's subjects. Same brief and seed, same storyboard."""
    rng = random.Random(f"{brief}|{seed}")
    middle = MIDDLE[:]
    rng.shuffle(middle)
    shots = [OPENING] if count == 1 else [OPENING, *middle[: max(0, count - 2)], CLOSING]
    subjects = subjects_of(brief)
    focus = subjects[1:] + subjects[:1] if len(subjects) > 1 else subjects
    scenes = []
    for index, (name, framing, camera) in enumerate(shots[:count]):
        subject = subjects[0] if index in (0, count - 1) else focus[(index - 1) % len(focus)]
        scenes.append(
            {
                "title": f"{name}: {subject.capitalize()}",
                "prompt": f"{framing} of {subject}, {brief}",
                "shot": framing,
                "camera": camera,
            }
        )
    return scenes


def _clean_scenes(count: int) -> Any:
    def validate(data: Any) -> list[dict[str, str]]:
        scenes = data.get("scenes") if isinstance(data, dict) else None
        if not isinstance(scenes, list) or len(scenes) != count:
            raise ValueError(f'"scenes" must be a list of exactly {count} scenes')
        clean = []
        for number, scene in enumerate(scenes, 1):
            if not isinstance(scene, dict):
                raise ValueError(f"scene {number} must be an object")
            title = str(scene.get("title") or "").strip()[:TITLE_CHARS]
            prompt = str(scene.get("prompt") or "").strip()[:SCENE_PROMPT_CHARS]
            if not title or not prompt:
                raise ValueError(f"scene {number} needs a title and a prompt")
            clean.append(
                {
                    "title": title,
                    "prompt": prompt,
                    "shot": str(scene.get("shot") or "").strip()[:80],
                    "camera": str(scene.get("camera") or "").strip()[:80],
                }
            )
        if len({s["title"].lower() for s in clean}) != count:
            raise ValueError("every scene needs its own title")
        return clean

    return validate


def model_plan(parent: Generation, count: int) -> tuple[list[dict[str, str]] | None, str]:
    """The team's chat model's storyboard and that model's identifier; (None, "") when it has
    none or no valid answer came."""
    model = language.planning_model(parent.team)
    if model is None or model.provider == Provider.LOCAL:
        # The offline model (135M) gives every scene the same title: offline, the rules plan.
        return None, ""
    p = parent.params
    kind = "video clips" if p.get("workflow_type") == "video" else "still images"
    messages = [
        {
            "role": "system",
            "content": "You are a film director planning a storyboard. Answer with JSON only: "
            '{"scenes": [{"title": "...", "prompt": "...", "shot": "...", "camera": "..."}]}. '
            "Each title is short and different; each prompt describes one image for an "
            "image generator; shot is the framing (wide, medium, close-up…); camera is the "
            "camera's angle or movement.",
        },
        {
            "role": "user",
            "content": f"Brief: {p['prompt']}\nPlan exactly {count} scenes as {kind}, "
            "varied in framing, telling the brief from opening to close. JSON only.",
        },
    ]
    scenes = language.complete_json(
        model,
        messages,
        _clean_scenes(count),
        team=parent.team,
        max_tokens=min(1500, 120 * count + 60),
        seed=p.get("seed"),
    )
    return scenes, model.identifier if scenes else ""


def plan(parent: Generation, children: list[Generation]) -> parents.Plan:
    count = len(children)
    p = parent.params
    scenes, planner_model = model_plan(parent, count)
    planner = "model"
    if scenes is None:
        scenes, planner = rule_plan(p["prompt"], count, int(p.get("seed") or 0)), "rules"
    planned = []
    for number, scene in enumerate(scenes, 1):
        extras = ", ".join(x for x in (scene.get("shot"), scene.get("camera")) if x)
        prompt = (
            scene["prompt"] if planner == "rules" or not extras else f"{scene['prompt']}, {extras}"
        )
        planned.append(
            parents.ChildPlan(
                prompt=prompt[: params.MAX_PROMPT_CHARS],
                meta={"scene_number": number, **scene},
            )
        )
    meta: dict[str, Any] = {"planner": planner}
    if planner == "model":
        meta["planner_model"] = planner_model
    return parents.Plan(children=planned, meta=meta)


parents.register_planner(GenerationType.CREATIVE_DIRECTOR, plan)
