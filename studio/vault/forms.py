from __future__ import annotations

import json
from typing import Any

from django import forms

from studio.errors import StudioError
from studio.vault.credentials import DEFAULT_BASE_URLS, clean_base_url, clean_secret
from studio.vault.models import SCOPE_CHOICES, SCOPES, ProviderCredential

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


class ProviderCredentialForm(forms.Form):
    """Add an upstream credential. The secret is a password input that is never re-rendered."""

    provider = forms.ChoiceField(
        choices=ProviderCredential.PROVIDERS,
        widget=forms.Select(attrs={"data-base-urls": json.dumps(DEFAULT_BASE_URLS)}),
        help_text="Meta Ad Library: a Meta access token with Ad Library API access; the "
        "agent's ad research then searches Meta's Ad Library too (base URL and limits unused).",
    )
    label = forms.CharField(
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Production account"}),
        help_text="Empty: the provider's name.",
    )
    base_url = forms.CharField(
        label="Base URL",
        max_length=300,
        required=False,
        widget=forms.URLInput(attrs={"placeholder": DEFAULT_BASE_URLS["fal"]}),
        help_text="Empty: the provider's public API. Point OpenAI-compatible at vLLM or Ollama.",
    )
    # render_value=False: after a validation error the field comes back empty.
    secret = forms.CharField(
        label="API key / token",
        strip=True,
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "new-password", "spellcheck": "false"},
        ),
        help_text="Encrypted at rest; pages show only its last four characters.",
    )
    submits_per_minute = forms.IntegerField(min_value=1, max_value=100_000, initial=60)
    polls_per_minute = forms.IntegerField(min_value=1, max_value=1_000_000, initial=600)
    max_concurrent_jobs = forms.IntegerField(
        label="Concurrent jobs", min_value=1, max_value=100_000, initial=20
    )

    def clean_secret(self) -> str:
        try:
            return clean_secret(self.cleaned_data["secret"])
        except StudioError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        provider = data.get("provider")
        if provider and "base_url" in data:
            try:
                data["base_url"] = clean_base_url(data["base_url"] or DEFAULT_BASE_URLS[provider])
            except StudioError as exc:
                self.add_error("base_url", exc.message)
        return data
