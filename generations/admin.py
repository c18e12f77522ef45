"""The operator's admin: the model registry (enable, price, order, Smart Select), the
generations (find a job by id, team, member or state; cancel and refund with a reason), and
content safety (per-team overrides, results with their safety scores).
Every change writes the admin audit (who, what, old and new value) with the change."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from generations import services
from generations.forms import unit_label
from generations.models import (
    ACTIVE_STATES,
    AIModel,
    Asset,
    Generation,
    PricingUnit,
    SafetyPolicy,
)
from studio import audit
from studio.errors import StudioError


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    list_display = [
        "identifier",
        "name",
        "provider",
        "does",
        "enabled",
        "credit",
        "unit",
        "sort_order",
        "recommended",
    ]
    list_display_links = ["identifier"]
    list_editable = ["enabled", "credit", "sort_order", "recommended"]
    list_filter = ["enabled", "provider", "pricing_unit", "recommended"]
    search_fields = ["identifier", "name", "upstream_model"]
    ordering = ["sort_order", "name"]
    actions = ["enable", "disable", "make_smart_select_default"]
    fieldsets = (
        (None, {"fields": ("identifier", "name", "description", "provider", "upstream_model")}),
        (
            "In the Studio",
            {
                "fields": ("types", "enabled", "recommended", "new_model", "sort_order"),
                "description": "Smart Select picks the recommended enabled model of a type, "
                "else the lowest sort order.",
            },
        ),
        (
            "Price",
            {"fields": ("pricing_unit", "credit", "input_token_rate", "output_token_rate")},
        ),
        (
            "Limits",
            {
                "fields": (
                    "supported_aspect_ratios",
                    "supported_durations",
                    "max_reference_images",
                    "params",
                )
            },
        ),
    )

    @admin.display(description="Types")
    def does(self, model: AIModel) -> str:
        return ", ".join(model.types or [])

    @admin.display(description="Credits per", ordering="pricing_unit")
    def unit(self, model: AIModel) -> str:
        if model.pricing_unit == PricingUnit.PER_1K_TOKENS:
            return "1K tokens"
        return unit_label(model).removeprefix("credits").removeprefix(" / ") or "generation"

    def save_model(self, request: HttpRequest, obj: AIModel, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change:
                changes = audit.changed_fields(form)
                if changes:
                    audit.record(request.user, obj, "change", changes)
            else:
                audit.record(request.user, obj, "add")

    def _set(self, request: HttpRequest, queryset: QuerySet[AIModel], **values: Any) -> int:
        changed = 0
        with transaction.atomic():
            for model in queryset.select_for_update():
                changes = {
                    k: (getattr(model, k), v) for k, v in values.items() if getattr(model, k) != v
                }
                if changes:
                    AIModel.objects.filter(pk=model.pk).update(**values)
                    audit.record(request.user, model, "change", changes)
                    changed += 1
        return changed

    @admin.action(description="Enable the selected models")
    def enable(self, request: HttpRequest, queryset: QuerySet[AIModel]) -> None:
        self.message_user(
            request, f"Enabled {self._set(request, queryset, enabled=True)} model(s)."
        )

    @admin.action(description="Disable the selected models")
    def disable(self, request: HttpRequest, queryset: QuerySet[AIModel]) -> None:
        count = self._set(request, queryset, enabled=False)
        self.message_user(request, f"Disabled {count} model(s); running jobs finish.")

    @admin.action(description="Make Smart Select's default for its types")
    def make_smart_select_default(self, request: HttpRequest, queryset: QuerySet[AIModel]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one model.", messages.ERROR)
            return
        chosen = queryset.get()
        rivals = [
            m.pk
            for m in AIModel.objects.filter(recommended=True).exclude(pk=chosen.pk)
            if set(m.types or []) & set(chosen.types or [])
        ]
        self._set(request, AIModel.objects.filter(pk__in=rivals), recommended=False)
        self._set(request, queryset, recommended=True, enabled=True)
        types = ", ".join(chosen.types or [])
        self.message_user(request, f"Smart Select now picks {chosen.name} for {types}.")


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        help_text="Kept on the job, in the refund's ledger note and in the admin audit.",
    )


class ActiveFilter(admin.SimpleListFilter):
    title = "activity"
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Queued or running"), ("no", "Finished")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Generation]) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(state__in=ACTIVE_STATES)
        if self.value() == "no":
            return queryset.exclude(state__in=ACTIVE_STATES)
        return queryset


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    """Read-only jobs an operator can find and, while they run, cancel with a refund."""

    list_display = [
        "uuid",
        "team",
        "created_by",
        "type",
        "model_identifier",
        "state",
        "credits_charged",
        "credits_refunded",
        "created_at",
    ]
    list_filter = [ActiveFilter, "state", "type", "provider", "source"]
    list_select_related = ["team", "created_by"]
    search_fields = ["=uuid", "team__name", "=team__uuid", "created_by__email", "=api_key_id"]
    search_help_text = "A job's id, a team's name or id, a member's email, or an API key id."
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["cancel_and_refund"]
    exclude = ["upstream_handle", "handoff", "credential"]  # upstream internals

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Generation._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting frees storage: the team's Gallery does it

    @admin.action(description="Cancel and refund (asks for a reason)")
    def cancel_and_refund(
        self, request: HttpRequest, queryset: QuerySet[Generation]
    ) -> HttpResponse | None:
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = 0
            for generation in queryset:
                try:
                    with transaction.atomic():
                        cancelled = services.cancel_generation(generation, reason=reason)
                        audit.record(
                            request.user,
                            cancelled,
                            "cancel and refund",
                            {
                                "state": (generation.state, cancelled.state),
                                "credits_refunded": (
                                    generation.credits_refunded,
                                    cancelled.credits_refunded,
                                ),
                            },
                            reason=reason,
                        )
                    done += 1
                except StudioError as exc:
                    self.message_user(request, f"{generation.uuid}: {exc.message}", messages.ERROR)
            if done:
                self.message_user(
                    request, f"Cancelled and refunded {done} generation(s).", messages.SUCCESS
                )
            return None
        return render(
            request,
            "admin/generations/cancel.html",
            {
                "title": "Cancel and refund",
                "form": form,
                "generations": queryset,
                "opts": self.model._meta,
            },
        )


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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
