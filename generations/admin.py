"""Admin: per-team content-safety overrides, and results with their safety scores."""

from __future__ import annotations

from django.contrib import admin

from generations.models import Asset, SafetyPolicy


@admin.register(SafetyPolicy)
class SafetyPolicyAdmin(admin.ModelAdmin):
    list_display = ("team", "threshold", "action")
    search_fields = ("team__name",)
    autocomplete_fields = ("team",)


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    """Results are made by jobs, not by hand: read them, sort by safety score, filter flags."""

    list_display = ("__str__", "kind", "mime_type", "safety_score", "flagged", "created_at")
    list_filter = ("flagged", "kind")
    ordering = ("-created_at",)
    readonly_fields = [f.name for f in Asset._meta.fields]
    list_select_related = ("generation",)

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False
