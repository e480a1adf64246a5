"""Pagination for long lists."""

from typing import TYPE_CHECKING

from django.core.paginator import Paginator
from django.db import models
from django.utils.functional import cached_property

if TYPE_CHECKING:
    # Paginator is generic only in the stubs (no runtime `__class_getitem__`).
    _Paginator = Paginator[models.Model]
else:
    _Paginator = Paginator


class CappedPaginator(_Paginator):
    """Counts at most `CAP` rows: an exact COUNT of 100,000 cases or letters costs more than
    the page itself. Beyond the cap, `more` is true, the list says "more than", and the pages
    stop there (filters narrow the list)."""

    CAP = 10_000
    more = False
    # Counted with the queryset's own `count()`: a queryset only, not any sequence.
    object_list: models.QuerySet[models.Model]

    @cached_property
    def count(self) -> int:
        # Without the list's ordering: any CAP + 1 rows give the same answer, and an ORDER BY
        # makes PostgreSQL walk the whole ordered index for a rare match (a search).
        counted = self.object_list.order_by()[: self.CAP + 1].count()
        self.more = counted > self.CAP
        return min(counted, self.CAP)
