"""The Creative Director page's form: the brief, its scenes, and the look they share."""

from __future__ import annotations

from typing import Any

from django import forms

from generations import extensions
from generations.creative_director.services import DEFAULT_SCENES, MAX_SCENES
from studio.accounts.models import Team

ASPECTS = [("1:1", "1:1 square"), ("16:9", "16:9 wide"), ("9:16", "9:16 tall"), ("4:5", "4:5")]


class StoryboardForm(forms.Form):
    prompt = forms.CharField(
        label="Brief",
        max_length=4000,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "placeholder": "A launch film for a handmade ceramic mug: the studio, the glaze, "
                "the first coffee of the morning",
            }
        ),
    )
    scene_count = forms.IntegerField(
        label="Scenes", min_value=1, max_value=MAX_SCENES, initial=DEFAULT_SCENES
    )
    workflow_type = forms.ChoiceField(
        label="Scenes are",
        choices=[("image", "Images"), ("video", "Video clips")],
        initial="image",
        widget=forms.RadioSelect,
    )
    duration = forms.IntegerField(
        label="Seconds per clip",
        min_value=4,
        max_value=15,
        initial=5,
        required=False,
        help_text="Video clips only.",
    )
    aspect_ratio = forms.ChoiceField(
        label="Aspect ratio", choices=ASPECTS, initial="1:1", required=False
    )

    def __init__(self, team: Team, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The look every scene shares: the catalog's Visual DNA and moodboard pickers.
        extensions.references().add_pickers(self, team, "image_edit")

    def raw_request(self) -> dict[str, Any]:
        data = self.cleaned_data
        raw: dict[str, Any] = {
            "prompt": data["prompt"],
            "scene_count": data["scene_count"],
            "workflow_type": data["workflow_type"],
            "aspect_ratio": data.get("aspect_ratio") or "1:1",
        }
        if data["workflow_type"] == "video":
            raw["duration"] = data.get("duration") or 5
        return {**raw, **extensions.references().picked(self)}

    def cost_inputs(self) -> tuple[str, int, int]:
        """(workflow, scenes, seconds) as typed so far, for the cost preview."""
        data = self.data

        def number(name: str, default: int, lo: int, hi: int) -> int:
            try:
                return max(lo, min(hi, int(data.get(name) or default)))
            except (TypeError, ValueError):
                return default

        workflow = "video" if data.get("workflow_type") == "video" else "image"
        return (
            workflow,
            number("scene_count", DEFAULT_SCENES, 1, MAX_SCENES),
            number("duration", 5, 4, 15),
        )
