from django.contrib import admin

from studio.vault.models import ApiKey


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
