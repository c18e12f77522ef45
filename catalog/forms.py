"""Catalog forms: editing a product, and the pickers the Studio form borrows."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import Q

from catalog.models import DnaType, Moodboard, Product, StylePreset, VisualDNA
from studio.accounts.models import Team


class PrettyJSONField(forms.JSONField):
    """Shows the JSON indented, so metadata is readable and editable in a textarea."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)


class ProductForm(forms.Form):
    name = forms.CharField(max_length=200)
    category = forms.CharField(max_length=60, required=False)
    metadata = PrettyJSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
        help_text="JSON: brandName, productName, productType, colors, materials…",
    )

    def clean_metadata(self) -> dict[str, Any]:
        value = self.cleaned_data.get("metadata")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError('Metadata must be a JSON object, like {"color": "tan"}.')
        return value


class VisualDnaForm(forms.Form):
    name = forms.CharField(max_length=100)
    dna_type = forms.ChoiceField(label="Type", choices=DnaType.choices)
    prompt_helper = forms.CharField(
        label="Prompt helper",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What must stay the same?"}),
    )


class MoodboardForm(forms.Form):
    name = forms.CharField(max_length=100)
    style_guide = forms.CharField(
        label="Style guide",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Light, palette, mood, lenses…"}),
    )


# --- Studio pickers ---------------------------------------------------------------------------

CATALOG_FIELDS = ("product_id", "preset_id", "visual_dna_id", "moodboard_id")


def add_catalog_pickers(form: forms.Form, team: Team, generation_type: str) -> None:
    """Add product, style preset, Visual DNA and moodboard pickers to a Studio form.

    Choices are the team's own objects (and the shared presets), so a picked id always
    belongs to the team.
    """
    if generation_type not in ("image", "video", "image_edit"):
        return
    if generation_type == "image_edit":  # an edit keeps its subject: only the look is picked
        _add_look_pickers(form, team)
        return
    products = Product.objects.filter(team=team).order_by("name")[:200]
    form.fields["product_id"] = forms.ChoiceField(
        label="Product",
        required=False,
        choices=[("", "No product")] + [(str(p.id), p.name or "Unnamed product") for p in products],
        help_text="Its cut-out is placed in the scene.",
    )
    form.fields["preset_id"] = forms.ChoiceField(
        label="Style preset",
        required=False,
        choices=[("", "No preset")] + [(p.slug, p.name) for p in StylePreset.objects.all()],
    )
    dnas = VisualDNA.objects.filter(Q(team=team) | Q(team__isnull=True)).order_by("name")
    form.fields["visual_dna_id"] = forms.ChoiceField(
        label="Visual DNA",
        required=False,
        choices=[("", "None")] + [(str(d.id), d.name) for d in dnas],
    )
    if generation_type == "image":
        boards = Moodboard.objects.filter(Q(team=team) | Q(team__isnull=True)).order_by("name")
        form.fields["moodboard_id"] = forms.ChoiceField(
            label="Moodboard",
            required=False,
            choices=[("", "None")]
            + [(str(b.id), f"{b.name}{' · preset' if b.is_preset else ''}") for b in boards],
        )


def _add_look_pickers(form: forms.Form, team: Team) -> None:
    dnas = VisualDNA.objects.filter(Q(team=team) | Q(team__isnull=True)).order_by("name")
    form.fields["visual_dna_id"] = forms.ChoiceField(
        label="Visual DNA",
        required=False,
        choices=[("", "None")] + [(str(d.id), d.name) for d in dnas],
    )
    boards = Moodboard.objects.filter(Q(team=team) | Q(team__isnull=True)).order_by("name")
    form.fields["moodboard_id"] = forms.ChoiceField(
        label="Moodboard",
        required=False,
        choices=[("", "None")]
        + [(str(b.id), f"{b.name}{' · preset' if b.is_preset else ''}") for b in boards],
    )


def catalog_request(form: forms.Form) -> dict[str, Any]:
    """The picked catalog ids in canonical field names, for `start_generation`."""
    data = getattr(form, "cleaned_data", {}) or {}
    raw: dict[str, Any] = {}
    if data.get("product_id"):
        raw["product_ids"] = [data["product_id"]]
    if data.get("visual_dna_id"):
        raw["visual_dna_ids"] = [data["visual_dna_id"]]
    if data.get("moodboard_id"):
        raw["moodboard_id"] = data["moodboard_id"]
    if data.get("preset_id"):
        raw["preset_id"] = data["preset_id"]
    return raw
