"""The Ads page's forms: a new ad, and an ad image's copy."""

from __future__ import annotations

from typing import Any

from django import forms

from generations import extensions
from generations.ads import styles
from generations.ads.copywriter import MAX_LENGTHS
from studio.accounts.models import Team

MAX_PICKABLE_PRODUCTS = 200


class AdForm(forms.Form):
    product_ids = forms.MultipleChoiceField(
        label="Products", widget=forms.CheckboxSelectMultiple, error_messages={
            "required": "Pick at least one product (add one in the Catalog first)."
        }
    )  # fmt: skip
    style_id = forms.ChoiceField(
        label="Style",
        widget=forms.RadioSelect,
        initial=styles.DEFAULT_STYLE,
        choices=[(s.id, s.name) for s in styles.STYLES],
    )
    brief = forms.CharField(
        label="Brief",
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "e.g. A direct response ad for busy parents"}
        ),
    )
    brand_context = forms.CharField(
        label="Brand notes",
        required=False,
        max_length=1000,
        help_text="Tone, offer, and a brand colour (a name or a hex code such as #0f9d58).",
    )
    inspiration_image = forms.URLField(
        label="Inspiration image",
        required=False,
        assume_scheme="https",
        help_text="Optional: the link of an ad whose colours to take after.",
    )
    aspect_ratio = forms.ChoiceField(
        label="Aspect ratio",
        initial=styles.DEFAULT_ASPECT_RATIO,
        choices=[("4:5", "4:5 · feed"), ("1:1", "1:1 · square"), ("9:16", "9:16 · story")],
    )
    count = forms.TypedChoiceField(
        label="Variants",
        coerce=int,
        initial=1,
        choices=[(1, "1"), (2, "2"), (4, "4")],
    )

    def __init__(self, team: Team, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.products = extensions.references().product_choices(team, MAX_PICKABLE_PRODUCTS)
        picker = self.fields["product_ids"]
        assert isinstance(picker, forms.MultipleChoiceField)
        picker.choices = [(p.id, p.label) for p in self.products]

    def raw_request(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "brief": data["brief"],
            "product_ids": list(data["product_ids"]),
            "style_id": data["style_id"],
            "brand_context": data.get("brand_context") or "",
            "aspect_ratio": data["aspect_ratio"],
            "count": data["count"],
            "inspiration_image": data.get("inspiration_image") or None,
        }


class AdCopyForm(forms.Form):
    hook = forms.CharField(label="Hook", required=False, max_length=MAX_LENGTHS["hook"])
    headline = forms.CharField(label="Headline", max_length=MAX_LENGTHS["headline"])
    body_copy = forms.CharField(
        label="Body", required=False, max_length=MAX_LENGTHS["body_copy"], widget=forms.Textarea(
            attrs={"rows": 2}
        )
    )  # fmt: skip
    cta = forms.CharField(label="Button", max_length=MAX_LENGTHS["cta"])
