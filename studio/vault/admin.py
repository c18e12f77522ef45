from django import forms
from django.contrib import admin, messages

from studio.errors import StudioError
from studio.vault import credentials, crypto
from studio.vault.models import ApiKey, ProviderCredential


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "last4",
        "team",
        "user",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "team__name", "user__email")
    # The hash is useless to a person and the full key was never stored.
    exclude = ("hashed_key", "lookup")
    readonly_fields = ("uuid", "team", "user", "prefix", "last4", "created_at", "last_used_at")

    def has_add_permission(self, request):  # keys are issued through the dashboard or API
        return False


class ProviderCredentialAdminForm(forms.ModelForm):
    """The secret is write-only: an empty field keeps it, a value replaces it (re-encrypted)."""

    base_url = forms.CharField(label="Base URL", max_length=300)
    new_secret = forms.CharField(
        label="New secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current secret. It is encrypted and never shown.",
    )

    class Meta:
        model = ProviderCredential
        fields = (
            "team",
            "provider",
            "label",
            "base_url",
            "submits_per_minute",
            "polls_per_minute",
            "max_concurrent_jobs",
            "enabled",
            "healthy",
            "last_error",
        )

    def clean_base_url(self) -> str:
        try:
            return credentials.clean_base_url(self.cleaned_data["base_url"])
        except StudioError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_new_secret(self) -> str:
        secret = self.cleaned_data.get("new_secret") or ""
        if not secret and self.instance.pk is None:
            raise forms.ValidationError("A new credential needs a secret.")
        if secret:
            try:
                secret = credentials.clean_secret(secret)
            except StudioError as exc:
                raise forms.ValidationError(exc.message) from None
        return secret


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    form = ProviderCredentialAdminForm
    list_display = (
        "label",
        "provider",
        "owner",
        "masked_secret",
        "base_url",
        "enabled",
        "healthy",
        "last_checked_at",
        "last_used_at",
    )
    list_filter = ("provider", "enabled", "healthy", ("team", admin.EmptyFieldListFilter))
    search_fields = ("label", "base_url", "team__name", "secret_last4", "=uuid")
    list_select_related = ("team",)
    autocomplete_fields = ("team",)
    readonly_fields = (
        "uuid",
        "masked_secret",
        "last_checked_at",
        "last_used_at",
        "created_by",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("uuid", "team", "provider", "label", "base_url")}),
        ("Secret", {"fields": ("masked_secret", "new_secret")}),
        ("Limits", {"fields": ("submits_per_minute", "polls_per_minute", "max_concurrent_jobs")}),
        (
            "State",
            {
                "fields": (
                    "enabled",
                    "healthy",
                    "last_checked_at",
                    "last_error",
                    "last_used_at",
                    "created_by",
                    "created_at",
                )
            },
        ),
    )
    actions = ("test_selected",)

    @admin.display(description="Owner", ordering="team__name")
    def owner(self, obj: ProviderCredential) -> str:
        return obj.team.name if obj.team is not None else "shared (every team)"

    @admin.display(description="Secret")
    def masked_secret(self, obj: ProviderCredential) -> str:
        return f"…{obj.secret_last4}" if obj.secret_last4 else "—"

    def save_model(self, request, obj, form, change):
        secret = form.cleaned_data.get("new_secret")
        if not change:
            obj.created_by = request.user
        if secret:
            # Encrypted for this row's uuid (which exists before the first save).
            obj.secret_ciphertext = crypto.encrypt(secret, row=obj.uuid)
            obj.secret_last4 = secret[-4:]
            if change:
                obj.healthy, obj.last_error, obj.last_checked_at = True, "", None
        super().save_model(request, obj, form, change)

    @admin.action(description="Test connection")
    def test_selected(self, request, queryset):
        for credential in queryset:
            result = credentials.test_connection(credential)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{credential}: {result.message}", level)
