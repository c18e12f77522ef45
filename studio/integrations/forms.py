from django import forms

from studio.integrations.models import EVENT_TYPES, Dialect


class PixelForm(forms.Form):
    pixel_id = forms.CharField(label="Pixel id", max_length=32)
    access_token = forms.CharField(
        label="Access token",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="From Events Manager → Settings → Conversions API. Stored encrypted; "
        "leave empty to keep the saved one.",
    )
    test_event_code = forms.CharField(
        label="Test event code",
        required=False,
        max_length=60,
        help_text="Optional (e.g. TEST12345): events then show under Test events only.",
    )


class EndpointForm(forms.Form):
    url = forms.CharField(label="URL", max_length=2000)
    description = forms.CharField(required=False, max_length=200)
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(name, name) for name in EVENT_TYPES],
        initial=EVENT_TYPES[:3],
        widget=forms.CheckboxSelectMultiple,
    )
    dialect = forms.ChoiceField(
        label="Payload shape",
        choices=Dialect.choices,
        initial=Dialect.KOLBO,
        help_text="The event's data is what this dialect's status endpoint returns.",
    )


class DeliveryFilter(forms.Form):
    kind = forms.ChoiceField(
        required=False, choices=[("", "All kinds"), ("webhook", "Webhooks"), ("meta", "Meta")]
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any status"),
            ("pending", "Pending"),
            ("succeeded", "Delivered"),
            ("failed", "Failed"),
        ],
    )
