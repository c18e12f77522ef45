"""Page numbers whose cost does not grow with the table: the count stops at a cap.

Django's Paginator counts every row (COUNT(*) over a team's 100k ledger entries) and its last
page is an OFFSET that walks them all. `CappedPaginator` counts at most `cap` rows
(`SELECT COUNT(*) FROM (… LIMIT cap)`), so the pages reach the newest `cap` rows; older ones
are found with the page's filters (dates, type). `paginator.capped` says the count stopped.
A later page first picks its rows' keys from the index alone (the OFFSET walks index
entries, not table rows), then loads those rows by key: a deferred join in two queries.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

DEFAULT_CAP = 2_000


class CappedPaginator(Paginator):
    def __init__(self, object_list: Any, per_page: int, *, cap: int | None = None) -> None:
        super().__init__(object_list, per_page)
        self.cap = DEFAULT_CAP if cap is None else cap

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            rows = rows.order_by()  # counting needs no order (it cost a sort per row)
        return int(rows[: self.cap + 1].count())  # type: ignore[attr-defined]

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @cached_property
    def num_pages(self) -> int:
        shown = min(self.count, self.cap)
        return max(1, -(-shown // self.per_page))

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if bottom == 0 or not isinstance(self.object_list, QuerySet):
            return super().page(number)
        keys = list(
            self.object_list.prefetch_related(None).values_list("pk", flat=True)[
                bottom : bottom + self.per_page
            ]
        )
        # No ORDER BY here, or the database walks the ordering index again to satisfy it;
        # the keys' order is the page's.
        rows = {row.pk: row for row in self.object_list.filter(pk__in=keys).order_by()}
        return Page([rows[k] for k in keys if k in rows], number, self)
