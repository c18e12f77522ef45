from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from studio.accounts import throttle
from studio.accounts.models import Invitation, Role, User


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class LimitedPasswordResetForm(PasswordResetForm):
    """At most STUDIO_RESET_EMAILS_PER_HOUR emails per address; past it the page reads the
    same (it never says whether an address has an account) but nothing is sent."""

    def send_mail(self, *args: Any, **kwargs: Any) -> None:
        to_email = args[4] if len(args) > 4 else kwargs["to_email"]
        if throttle.may_send_reset_email(to_email):
            super().send_mail(*args, **kwargs)


class SignupForm(forms.Form):
    name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def __init__(self, *args: Any, invitation: Invitation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        if invitation and invitation.email:
            self.fields["email"].initial = invitation.email
            self.fields["email"].help_text = "This invitation is for this address."

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        bound_to = self.invitation.email.lower() if self.invitation else ""
        if bound_to and email != bound_to:
            raise forms.ValidationError(
                f"This invitation is for {bound_to}. Sign up with that address, or ask "
                "for an invitation to yours."
            )
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email exists; sign in instead.")
        return email

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("password") and data.get("email"):
            user = User(email=data["email"], name=data.get("name", ""))
            try:
                password_validation.validate_password(data["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, label="Team name")


class InviteForm(forms.Form):
    email = forms.EmailField(
        required=False, help_text="Optional: we email the link. Leave empty to just copy it."
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args: Any, roles: list[tuple[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = roles  # type: ignore[attr-defined]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class RedeemForm(forms.Form):
    code = forms.CharField(max_length=40, label="Redemption code")


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name"]
