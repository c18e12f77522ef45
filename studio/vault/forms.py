from __future__ import annotations

from django import forms

from studio.vault.models import SCOPE_CHOICES, SCOPES

EXPIRY_CHOICES = [
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "1 year"),
    ("730", "2 years"),
    ("", "Never"),
]


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "My App"}))
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        initial=SCOPES,
        widget=forms.CheckboxSelectMultiple,
        help_text="“Read everything” allows every GET; the others allow that kind of work.",
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires after",
        choices=EXPIRY_CHOICES,
        initial="365",
        required=False,
        coerce=int,
        empty_value=None,
    )
