"""Credit balance endpoints of both dialects (router mounted at /api/v1).

Both read the team row (with its plan) in one query: the key authentication's team may come
from the key cache, seconds old, and a balance must be the current one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema

from studio.accounts.models import Team
from studio.api.auth import api_key, caller_team
from studio.api.ratelimit import RateClass
from studio.api.schemas import KrevResponse, kolbo, krev, with_errors

router = Router(tags=["Credits"])


def current_team(request: HttpRequest) -> Team:
    return Team.objects.select_related("plan").get(pk=caller_team(request).pk)


class KolboCredits(Schema):
    total: int
    plan_credits: int
    credit_pack: int
    redemption: int


class KolboCreditsOut(Schema):
    success: Literal[True] = True
    credits: KolboCredits


@router.get(
    "/account/credits",
    auth=api_key("credits", limit=RateClass.READ),
    response=with_errors(KolboCreditsOut),
    summary="Credit balance (Kolbo shape)",
)
def account_credits(request: HttpRequest) -> dict:
    return kolbo_credits(current_team(request))


def kolbo_credits(team: Team) -> dict:
    return kolbo(
        credits={
            "total": team.total_credits,
            "plan_credits": team.plan_credits,
            "credit_pack": team.pack_credits,
            "redemption": team.redemption_credits,
        }
    )


class KrevCreditAmounts(Schema):
    current: int
    limit: int
    current_formatted: str
    limit_formatted: str


class KrevStorage(Schema):
    used_bytes: int
    limit_bytes: int
    used_formatted: str
    limit_formatted: str


class KrevCredits(Schema):
    plan: str
    plan_name: str
    credits: KrevCreditAmounts
    storage: KrevStorage
    resets_at: datetime


def format_bytes(size: int) -> str:
    """524288000 -> '500 MB', 2147483648 -> '2 GB' (binary multiples, as Krev shows them)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@router.get(
    "/credits",
    auth=api_key("credits", limit=RateClass.READ),
    response=with_errors(KrevResponse[KrevCredits]),
    summary="Credits, plan and storage (Krev shape)",
)
def credits(request: HttpRequest) -> dict:
    team = current_team(request)
    plan = team.plan
    return krev(
        {
            "plan": plan.slug,
            "plan_name": plan.name,
            "credits": {
                "current": team.total_credits,
                "limit": plan.monthly_credits,
                "current_formatted": f"{team.total_credits:,}",
                "limit_formatted": f"{plan.monthly_credits:,}",
            },
            "storage": {
                "used_bytes": team.storage_used_bytes,
                "limit_bytes": plan.storage_limit_bytes,
                "used_formatted": format_bytes(team.storage_used_bytes),
                "limit_formatted": format_bytes(plan.storage_limit_bytes),
            },
            "resets_at": team.plan_renews_at,
        }
    )
