from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from studio.models import AdminAudit


@admin.register(AdminAudit)
class AdminAuditAdmin(admin.ModelAdmin):
    """Read-only: who changed what in the admin, the old and the new value, and why."""

    list_display = [
        "created_at",
        "actor_email",
        "action",
        "target_type",
        "target_repr",
        "field",
        "old_value",
        "new_value",
        "reason",
    ]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_email", "target_repr", "=target_id", "field", "reason"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
