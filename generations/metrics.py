"""What generations tells /metrics: how many jobs are in each state, per type (one query)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count

from generations.models import Generation


def job_counts() -> Iterable[tuple[str, str, int]]:
    return Generation.objects.values_list("state", "type").annotate(n=Count("id")).order_by()
