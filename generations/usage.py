"""The Credits page's per-API-key table: what each key spent over the last days."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F, Sum
from django.utils import timezone

from generations.models import Generation
from studio.accounts.models import Team
from studio.accounts.usage import Breakdown, UsageRow
from studio.vault.models import ApiKey


def usage_by_api_key(team: Team, days: int) -> Breakdown | None:
    since = timezone.now() - timedelta(days=days)
    rows = (
        Generation.objects.filter(team=team, created_at__gte=since, api_key_id__isnull=False)
        .order_by()
        .values("api_key_id")
        .annotate(spent=Sum(F("credits_charged") - F("credits_refunded")), jobs=Count("id"))
    )
    totals = {row["api_key_id"]: (row["spent"] or 0, row["jobs"]) for row in rows}
    if not totals:
        return None
    keys = {k.uuid: k for k in ApiKey.objects.filter(team=team, uuid__in=list(totals))}
    usage = []
    for key_id, (spent, jobs) in totals.items():
        key = keys.get(key_id) if key_id else None
        label = key.name if key else "A deleted key"
        detail = f"{key.prefix}…{key.last4}" if key else ""
        usage.append(UsageRow(label=label, detail=detail, spent=spent, jobs=jobs))
    usage.sort(key=lambda r: (-r.spent, r.label))
    return Breakdown(title=f"By API key, last {days} days", rows=usage)
