"""Dashboard forms: the Studio's form per generation type and the Gallery's filters.

The Studio form only collects and shapes input; `params.validate` (through
`services.start_generation`) decides what is allowed, so the API and the dashboard enforce
one set of rules. Its choices come from the model the user picked (aspect ratios,
durations, voices), so the form never offers a value the model would reject.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django import forms

from generations import assets, params
from generations.models import (
    AIModel,
    Asset,
    AssetKind,
    GenerationState,
    GenerationType,
    PricingUnit,
    Voice,
)
from studio.accounts.models import Team
from studio.errors import MissingFields, StudioError, form_field

SMART_SELECT = "auto"
FIELD_ORDER = [
    "type",
    "source",
    "image_url",
    "prompt",
    "text",
    "model",
    "voice",
    "aspect_ratio",
    "duration",
    "vocal_gender",
    "count",
    "style",
    "lyrics",
    "hd",
    "instrumental",
]


@dataclass(frozen=True)
class TypeInfo:
    value: str
    label: str
    icon: str
    prompt_label: str
    placeholder: str


STUDIO_TYPES = [
    TypeInfo("image", "Image", "▣", "Prompt", "A lighthouse at dusk, warm light, film grain"),
    TypeInfo(
        "image_edit",
        "Edit image",
        "◐",
        "What to change",
        "Make the background blue · put it on a beach · warmer, at sunset · black and white",
    ),
    TypeInfo(
        "video", "Video", "▶", "Prompt", "Slow drone shot over a misty pine forest at sunrise"
    ),
    TypeInfo(
        "video_from_image",
        "Video from image",
        "◩",
        "Motion prompt (optional)",
        "Gentle zoom in, leaves moving in the wind",
    ),
    TypeInfo("music", "Music", "♫", "Prompt", "Upbeat synthwave with a driving bassline, 120 bpm"),
    TypeInfo("speech", "Speech", "❝", "Text to speak", "Welcome to Studio. Let's make something."),
    TypeInfo("sound", "Sound effect", "♪", "Prompt", "Heavy wooden door creaking open"),
]
TYPE_INFO = {t.value: t for t in STUDIO_TYPES}

UNIT_LABELS = {
    PricingUnit.PER_IMAGE: "credits / image",
    PricingUnit.PER_SECOND: "credits / second",
    PricingUnit.PER_100_CHARS: "credits / 100 characters",
    PricingUnit.FLAT: "credits",
}


def unit_label(model: AIModel) -> str:
    return UNIT_LABELS.get(model.pricing_unit, "credits")  # type: ignore[call-overload]


def models_for(generation_type: str, team: Team) -> list[AIModel]:
    """Models the team can use that do `generation_type`, Smart Select's preference first."""
    from generations.registry import enabled_models

    return [m for m in enabled_models(team) if m.does(generation_type)]


def pick_model(models: list[AIModel], identifier: str | None) -> AIModel | None:
    """The model named by `identifier`, else Smart Select's pick (the first)."""
    for model in models:
        if model.identifier == identifier:
            return model
    return models[0] if models else None


def source_images(team: Team, limit: int = 12, *, wanted: list[str] | None = None) -> list[Asset]:
    """The team's latest finished images, offered as sources for video from image and for
    edits; the `wanted` ones (an Edit or Animate link's image) first, however old."""
    images = Asset.objects.filter(
        generation__team=team,
        generation__state=GenerationState.SUCCEEDED,
        kind=AssetKind.IMAGE,
    ).select_related("generation")
    picked: list[Asset] = []
    ids = [w for w in (wanted or []) if _is_uuid(w)]
    if ids:
        picked = list(images.filter(uuid__in=ids))
    latest = images.exclude(pk__in=[a.pk for a in picked]).order_by("-created_at", "-id")
    return picked + list(latest[: max(limit - len(picked), 0)])


def _is_uuid(value: str) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


def _duration_bounds(model: AIModel, generation_type: str) -> tuple[int, int, int]:
    """(lowest, highest, default) duration in seconds for `model`."""
    extra = model.params or {}
    allowed = [int(d) for d in (model.supported_durations or [])]
    lo = min(allowed) if allowed else int(extra.get("min_duration", 1))
    hi = max(allowed) if allowed else int(extra.get("max_duration", 60))
    if generation_type == GenerationType.MUSIC:
        default = int(extra.get("default_duration", 30))
    elif generation_type == GenerationType.SOUND:
        default = int(extra.get("default_duration", 5))
    else:
        default = 5
    return lo, hi, min(max(default, lo), hi)


class StudioForm(forms.Form):
    """One generation request of `generation_type` on the picked model."""

    def __init__(
        self,
        *args: Any,
        generation_type: str,
        models: list[AIModel],
        model: AIModel | None,
        sources: list[Asset] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.generation_type = generation_type
        self.model = model
        self.sources = sources or []
        self.info = TYPE_INFO[generation_type]
        t = generation_type
        T = GenerationType

        self.fields["type"] = forms.CharField(widget=forms.HiddenInput, initial=t)
        # An edit takes several sources (checkboxes); an animation one (radio buttons).
        self.multi_source = t == T.IMAGE_EDIT
        text_name = "text" if t == T.SPEECH else "prompt"
        self.fields[text_name] = forms.CharField(
            label=self.info.prompt_label,
            required=t != T.VIDEO_FROM_IMAGE,
            max_length=params.MAX_PROMPT_CHARS if t != T.SPEECH else 5000,
            widget=forms.Textarea(attrs={"rows": 4, "placeholder": self.info.placeholder}),
        )
        self.fields[text_name].error_messages["required"] = (
            "Write what you want to hear." if t == T.SPEECH else "Describe what you want to make."
        )
        smart = models[0] if models else None
        choices = [
            (
                SMART_SELECT,
                f"Smart Select · {smart.name}" if smart else "Smart Select",
            )
        ] + [(m.identifier, f"{m.name} · {m.credit} {unit_label(m)}") for m in models]
        self.fields["model"] = forms.ChoiceField(
            label="Model", choices=choices, initial=SMART_SELECT, required=False
        )
        if model is None:
            return

        if t == T.IMAGE_EDIT:
            ratios = list(model.supported_aspect_ratios or params.ASPECT_RATIOS)
            self.fields["aspect_ratio"] = forms.ChoiceField(
                label="Aspect ratio",
                required=False,
                choices=[("", "Same as the source")] + [(r, r) for r in ratios],
                initial="",
            )
        if t in (T.IMAGE, T.VIDEO, T.VIDEO_FROM_IMAGE):
            ratios = list(model.supported_aspect_ratios or params.ASPECT_RATIOS)
            default = "1:1" if t == T.IMAGE else "16:9"
            self.fields["aspect_ratio"] = forms.ChoiceField(
                label="Aspect ratio",
                required=False,
                choices=[(r, r) for r in ratios],
                initial=default if default in ratios else ratios[0],
            )
        if t in (T.IMAGE, T.IMAGE_EDIT):
            most = int((model.params or {}).get("max_images", 4))
            self.fields["count"] = forms.TypedChoiceField(
                label="Images",
                required=False,
                empty_value=None,
                choices=[(n, str(n)) for n in range(1, most + 1)],
                coerce=int,
                initial=1,
            )
            if t == T.IMAGE:
                self.fields["hd"] = forms.BooleanField(
                    label="HD", required=False, help_text="Twice the resolution, twice the credits."
                )
        if t in (T.VIDEO, T.VIDEO_FROM_IMAGE, T.MUSIC, T.SOUND):
            lo, hi, default_duration = _duration_bounds(model, t)
            allowed = [int(d) for d in (model.supported_durations or [])]
            if allowed:
                self.fields["duration"] = forms.TypedChoiceField(
                    label="Duration",
                    required=False,
                    empty_value=None,
                    choices=[(d, f"{d} s") for d in allowed],
                    coerce=int,
                    initial=default_duration,
                )
            else:
                self.fields["duration"] = forms.IntegerField(
                    label="Duration (seconds)",
                    min_value=lo,
                    max_value=hi,
                    required=t == T.MUSIC,
                    initial=default_duration if t == T.MUSIC else None,
                    help_text=f"{lo} to {hi} s"
                    + (", or leave empty to fit the sound" if t == T.SOUND else ""),
                    widget=forms.NumberInput(
                        attrs={"placeholder": "Auto" if t == T.SOUND else str(default_duration)}
                    ),
                )
        if t == T.IMAGE_EDIT:
            self.fields["source"] = forms.MultipleChoiceField(
                label="Images to edit (1 to 4)",
                required=False,
                choices=[(str(a.uuid), str(a.uuid)) for a in self.sources],
                widget=forms.CheckboxSelectMultiple,
            )
        if t == T.VIDEO_FROM_IMAGE:
            self.fields["source"] = forms.ChoiceField(
                label="One of your images",
                required=False,
                choices=[("", "None")] + [(str(a.uuid), str(a.uuid)) for a in self.sources],
                widget=forms.RadioSelect,
            )
        if t in (T.VIDEO_FROM_IMAGE, T.IMAGE_EDIT):
            self.fields["image_url"] = forms.URLField(
                label="…or an image URL",
                required=False,
                assume_scheme="https",
                widget=forms.URLInput(attrs={"placeholder": "https://example.com/photo.png"}),
            )
        if t == T.MUSIC:
            self.fields["style"] = forms.CharField(
                label="Style",
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "lo-fi, cinematic, jazz…"}),
            )
            self.fields["instrumental"] = forms.BooleanField(
                label="Instrumental", required=False, help_text="No vocals."
            )
            self.fields["vocal_gender"] = forms.ChoiceField(
                label="Vocals",
                required=False,
                choices=[("", "Any voice"), ("f", "Female"), ("m", "Male")],
            )
            self.fields["lyrics"] = forms.CharField(
                label="Lyrics",
                required=False,
                max_length=5000,
                widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Optional"}),
            )
        if t == T.SPEECH:
            voices = Voice.objects.filter(provider=model.provider, enabled=True).order_by(
                "language", "language_code", "name"
            )
            groups: dict[str, list[tuple[str, str]]] = {}
            for voice in voices:
                detail = ", ".join(x for x in (voice.gender, voice.accent) if x)
                groups.setdefault(voice.language, []).append(
                    (voice.voice_id, f"{voice.name} · {detail} ({voice.language_code})")
                )
            default_voice = next(
                (v.voice_id for v in voices if v.language_code == "en-US"),
                voices[0].voice_id if voices else "",
            )
            self.fields["voice"] = forms.ChoiceField(
                label="Voice", choices=list(groups.items()), initial=default_voice
            )

        self.order_fields(FIELD_ORDER)

    # --- reading ---------------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            self.generation_type == GenerationType.VIDEO_FROM_IMAGE
            and not data.get("source")
            and not data.get("image_url")
        ):
            raise forms.ValidationError("Pick one of your images or paste an image URL to animate.")
        if self.generation_type == GenerationType.IMAGE_EDIT:
            picked = len(data.get("source") or []) + (1 if data.get("image_url") else 0)
            if not picked:
                raise forms.ValidationError("Pick an image to edit, or paste an image URL.")
            if picked > params.MAX_SOURCE_IMAGES:
                raise forms.ValidationError(
                    f"Pick at most {params.MAX_SOURCE_IMAGES} images to edit; {picked} are picked."
                )
        return data

    def raw_request(self, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """The request in Studio's canonical field names, for `start_generation`.

        `values` defaults to the cleaned data; the cost preview passes what it could read.
        """
        data = self.cleaned_data if values is None else values
        raw: dict[str, Any] = {"model": data.get("model") or SMART_SELECT}
        for name in ("prompt", "text", "aspect_ratio", "count", "duration", "style", "lyrics"):
            if name in self.fields and data.get(name) not in (None, ""):
                raw[name] = data[name]
        for name in ("hd", "instrumental"):
            if name in self.fields:
                raw[name] = bool(data.get(name))
        if data.get("vocal_gender") and "vocal_gender" in self.fields:
            raw["vocal_gender"] = data["vocal_gender"]
        if data.get("voice") and "voice" in self.fields:
            raw["voice"] = data["voice"]
            provider = self.model.provider if self.model else None
            language = (
                Voice.objects.filter(provider=provider, voice_id=data["voice"])
                .values_list("language_code", flat=True)
                .first()
            )
            if language:
                raw["language"] = language
        if self.generation_type == GenerationType.VIDEO_FROM_IMAGE:
            chosen = next((a for a in self.sources if str(a.uuid) == data.get("source")), None)
            if chosen is not None:
                # A signed link to our own file: the engine reads it from storage directly.
                raw["image_url"] = assets.asset_urls(chosen)["url"]
            elif data.get("image_url"):
                raw["image_url"] = data["image_url"]
        if self.generation_type == GenerationType.IMAGE_EDIT:
            picked = set(data.get("source") or [])
            # Signed links to our own files, in the gallery's order, then a pasted URL.
            links = [assets.asset_urls(a)["url"] for a in self.sources if str(a.uuid) in picked]
            if data.get("image_url"):
                links.append(data["image_url"])
            if links:
                raw["source_images"] = links
        return raw

    def preview_request(self) -> dict[str, Any]:
        """What the cost preview prices: the fields that are valid so far, with stand-ins
        for the ones that do not change the price (an empty prompt costs like any other)."""
        self.is_valid()
        raw = self.raw_request(dict(getattr(self, "cleaned_data", {})))
        if self.generation_type == GenerationType.SPEECH:
            raw.setdefault("text", "·")
        else:
            raw.setdefault("prompt", "·")
        if self.generation_type == GenerationType.VIDEO_FROM_IMAGE:
            raw.setdefault("image_url", "https://example.com/source.png")
        if self.generation_type == GenerationType.IMAGE_EDIT:
            raw.setdefault("source_images", ["https://example.com/source.png"])
        return raw

    # --- errors from the service layer ------------------------------------------------------

    def add_service_error(self, exc: StudioError) -> None:
        """Put a service error next to the field it is about, else above the form."""
        target = form_field(exc, self.fields, SERVICE_FIELDS)
        if exc.field == "image_url" and "source" in self.fields and self._picked_source():
            target = "source"  # the image_url sent was the picked image's link
        if exc.field == "source_images":
            target = "source" if "source" in self.fields else None
        self.add_error(target if target != "type" else None, service_error_text(exc))

    def _picked_source(self) -> bool:
        picked = getattr(self, "cleaned_data", {}).get("source")
        chosen = picked if isinstance(picked, list) else [picked]
        return any(str(a.uuid) in chosen for a in self.sources)


# Request fields the form shows under another name (the catalog pickers take one id).
SERVICE_FIELDS = {"product_ids": "product_id", "visual_dna_ids": "visual_dna_id"}
# How the form says a request field whose name does not read as words.
FIELD_WORDS = {"image_url": "Image URL", "source_images": "Images to edit"}


def field_words(name: str) -> str:
    """A request field in the form's words: "aspect_ratio" → "Aspect ratio"."""
    return FIELD_WORDS.get(name) or name.replace("_", " ").capitalize()


def service_error_text(exc: StudioError) -> str:
    """A service error in the form's words, from what it knows (not from its message)."""
    if isinstance(exc, MissingFields) and exc.fields:
        return f"This field is required ({', '.join(map(field_words, exc.fields))})."
    if exc.field and exc.reason:
        return f"{field_words(exc.field)} {exc.reason}"
    return exc.message


class GalleryFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Prompt",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Words in the prompt", "autocomplete": "off"}
        ),
    )
    type = forms.ChoiceField(
        required=False,
        choices=[("", "All types")] + [(t.value, t.label) for t in STUDIO_TYPES],
    )
    state = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any state"),
            ("active", "In progress"),
            (GenerationState.SUCCEEDED, "Succeeded"),
            (GenerationState.FAILED, "Failed"),
            (GenerationState.CANCELLED, "Cancelled"),
        ],
    )
    member = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[])
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    # The labels API starts carry (`session_id`, `project_id`).
    session = forms.CharField(required=False, max_length=120, label="Session")
    project = forms.CharField(required=False, max_length=120, label="Project")

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [("", "Anyone"), *members]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            data["since"], data["until"] = data["until"], data["since"]
        return data
