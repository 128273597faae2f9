"""A paginator for very large tables: it never counts more rows than it shows pages for."""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_LIMIT rows; past that, PostgreSQL's planner estimate of the
    query's rows is used (no scan of a million rows for a page count)."""

    EXACT_LIMIT = 10_000
    # A queryset (the admin's change list), not any sequence: it is counted and explained.
    object_list: QuerySet[Any]

    @cached_property
    def count(self) -> int:
        queryset = self.object_list.order_by()
        exact = queryset[: self.EXACT_LIMIT + 1].count()
        if exact <= self.EXACT_LIMIT or connections[queryset.db].vendor != "postgresql":
            return exact
        plan = json.loads(queryset.explain(format="json"))
        return max(exact, int(plan[0]["Plan"]["Plan Rows"]))
