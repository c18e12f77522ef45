"""Catalog forms: editing a product, and the pickers the Studio form borrows."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q

from catalog.models import DnaType, Moodboard, Product, StylePreset, VisualDNA
from studio.accounts.models import Team


def _listed(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value or "")


class ProductForm(forms.Form):
    """A product's name and the facts ads and prompts use, as fields (not JSON). Metadata
    keys the form does not show (colour swatches, the analysis' extras) are kept."""

    # form field -> metadata key, and whether it holds a list
    METADATA_FIELDS = {
        "brand_name": ("brandName", False),
        "product_name": ("productName", False),
        "product_type": ("productType", False),
        "colors": ("colors", True),
        "materials": ("materials", True),
    }

    name = forms.CharField(max_length=200)
    category = forms.CharField(max_length=60, required=False)
    brand_name = forms.CharField(label="Brand", max_length=100, required=False)
    product_name = forms.CharField(label="Product name", max_length=200, required=False)
    product_type = forms.CharField(
        label="Type", max_length=100, required=False, help_text="bag, sneaker, mug…"
    )
    colors = forms.CharField(
        label="Colours", max_length=500, required=False, help_text="Separated by commas."
    )
    materials = forms.CharField(
        label="Materials", max_length=500, required=False, help_text="Separated by commas."
    )

    @classmethod
    def initial_for(cls, product: Product) -> dict[str, Any]:
        meta = product.metadata if isinstance(product.metadata, dict) else {}
        initial: dict[str, Any] = {"name": product.name, "category": product.category}
        for field, (key, _) in cls.METADATA_FIELDS.items():
            initial[field] = _listed(meta.get(key))
        return initial

    def metadata(self, current: Any) -> dict[str, Any]:
        """The product's metadata with this form's values written over it."""
        merged = dict(current) if isinstance(current, dict) else {}
        for field, (key, is_list) in self.METADATA_FIELDS.items():
            raw = (self.cleaned_data.get(field) or "").strip()
            value: Any = [v.strip() for v in raw.split(",") if v.strip()] if is_list else raw
            if value:
                merged[key] = value
            else:
                merged.pop(key, None)
        return merged


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
