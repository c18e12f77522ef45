from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from studio import audit
from studio.accounts import credits
from studio.accounts.models import (
    Bucket,
    Invitation,
    LedgerEntry,
    LedgerKind,
    Membership,
    Plan,
    Redemption,
    RedemptionCode,
    Team,
    User,
)
from studio.errors import StudioError


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    readonly_fields = ["date_joined", "last_login"]
    raw_id_fields = ["last_team"]
    fieldsets = (
        (None, {"fields": ("email", "password", "name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined", "last_team")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "monthly_credits",
        "storage_limit_bytes",
        "generation_rate_limit",
        "is_default",
    ]
    prepopulated_fields = {"slug": ("name",)}


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class GrantCreditsForm(forms.Form):
    amount = forms.IntegerField(
        min_value=-credits.MAX_CREDIT_CHANGE,
        max_value=credits.MAX_CREDIT_CHANGE,
        help_text="Negative amounts are adjustments that remove credits.",
    )
    bucket = forms.ChoiceField(choices=Bucket.choices, initial=Bucket.PACK)
    note = forms.CharField(max_length=255, required=False)


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all())


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "plan",
        "balance",
        "plan_credits",
        "pack_credits",
        "redemption_credits",
        "spent_30_days",
        "plan_renews_at",
        "created_at",
    ]
    list_filter = ["plan"]
    list_select_related = ["plan"]
    search_fields = ["name", "=uuid"]
    show_full_result_count = False
    readonly_fields = [
        "uuid",
        "plan_credits",
        "pack_credits",
        "redemption_credits",
        "storage_used_bytes",
        "plan_period_start",
        "plan_renews_at",
        "created_at",
    ]
    fields = [
        "uuid",
        "name",
        "plan",
        "plan_credits",
        "pack_credits",
        "redemption_credits",
        "plan_period_start",
        "plan_renews_at",
        "storage_used_bytes",
        "generation_rate_limit",
        "read_rate_limit",
        "poll_rate_limit",
        "created_at",
    ]
    inlines = [MembershipInline]
    actions = ["grant_credits", "change_plan"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        since = timezone.now() - timedelta(days=30)
        # Debits net of their refunds over the last 30 days: what the team actually used.
        spent = (
            LedgerEntry.objects.filter(
                team=OuterRef("pk"),
                kind__in=[LedgerKind.DEBIT, LedgerKind.REFUND],
                created_at__gte=since,
            )
            .values("team")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                spent_recently=Coalesce(Subquery(spent), Value(0)) * -1,
                balance_total=F("plan_credits") + F("pack_credits") + F("redemption_credits"),
            )
        )

    @admin.display(description="Balance", ordering="balance_total")
    def balance(self, team: Team) -> str:
        return f"{team.balance_total:,}"  # type: ignore[attr-defined]

    @admin.display(description="Spent, 30 days", ordering="spent_recently")
    def spent_30_days(self, team: Team) -> str:
        return f"{team.spent_recently:,}"  # type: ignore[attr-defined]

    def get_readonly_fields(self, request: HttpRequest, obj: Team | None = None) -> list[str]:
        # The plan is changed through the action so that the ledger records it.
        return [*self.readonly_fields, "plan"] if obj else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Team, form: forms.Form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.plan_renews_at = timezone.now()
        super().save_model(request, obj, form, change)
        credits.reset_plan_if_due(obj)

    @admin.action(description="Grant or adjust credits")
    def grant_credits(self, request: HttpRequest, queryset: QuerySet[Team]) -> HttpResponse | None:
        form = GrantCreditsForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            amount = form.cleaned_data["amount"]
            kind = LedgerKind.GRANT if amount > 0 else LedgerKind.ADJUSTMENT
            done = 0
            for team in queryset:
                note = form.cleaned_data["note"] or "Granted by an administrator"
                try:
                    with transaction.atomic():
                        entry = credits.grant(
                            team,
                            amount,
                            bucket=form.cleaned_data["bucket"],
                            kind=kind,
                            note=note,
                            user=request.user,  # type: ignore[arg-type]
                        )
                        before = entry.balance_after - entry.amount
                        audit.record(
                            request.user,
                            team,
                            "grant credits",
                            {"credits": (before, entry.balance_after)},
                            reason=note,
                        )
                    done += 1
                except StudioError as exc:
                    self.message_user(request, f"{team}: {exc.message}", messages.ERROR)
            if done:
                self.message_user(request, f"Credits changed for {done} team(s).", messages.SUCCESS)
            return None
        return render(
            request,
            "admin/accounts/team_action.html",
            {
                "title": "Grant credits",
                "form": form,
                "teams": queryset,
                "action": "grant_credits",
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Change plan")
    def change_plan(self, request: HttpRequest, queryset: QuerySet[Team]) -> HttpResponse | None:
        form = ChangePlanForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for team in queryset:
                with transaction.atomic():
                    old_plan = team.plan
                    credits.set_team_plan(team, form.cleaned_data["plan"], user=request.user)  # type: ignore[arg-type]
                    audit.record(request.user, team, "change plan", {"plan": (old_plan, team.plan)})
            self.message_user(request, f"Plan changed for {queryset.count()} team(s).")
            return None
        return render(
            request,
            "admin/accounts/team_action.html",
            {
                "title": "Change plan",
                "form": form,
                "teams": queryset,
                "action": "change_plan",
                "opts": self.model._meta,
            },
        )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "team"]
    search_fields = ["user__email", "team__name"]
    raw_id_fields = ["user", "team"]
    show_full_result_count = False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["team", "email", "role", "created_at", "expires_at", "accepted_at"]
    list_select_related = ["team"]
    search_fields = ["team__name", "email"]
    raw_id_fields = ["team", "invited_by", "accepted_by"]
    exclude = ["token_hash"]  # the hash of the link's secret: nothing to show


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only and changes only through the credit services."""

    list_display = ["created_at", "team", "kind", "amount", "balance_after", "cause", "note"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["team"]
    search_fields = ["=cause", "team__name", "note"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    raw_id_fields = ["team", "created_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RedemptionInline(admin.TabularInline):
    model = Redemption
    extra = 0
    readonly_fields = ["team", "user", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RedemptionCode)
class RedemptionCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "credits", "redemption_count", "max_redemptions", "expires_at", "note"]
    search_fields = ["=code", "note"]
    readonly_fields = ["redemption_count", "created_by", "created_at"]
    inlines = [RedemptionInline]

    def save_model(
        self, request: HttpRequest, obj: RedemptionCode, form: forms.Form, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        obj.code = obj.code.strip().upper()
        super().save_model(request, obj, form, change)
