"""Pagination for long lists."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most `CAP` rows: an exact COUNT of 100,000 cases or letters costs more than
    the page itself. Beyond the cap, `more` is true, the list says "more than", and the pages
    stop there (filters narrow the list)."""

    CAP = 10_000
    more = False

    @cached_property
    def count(self) -> int:
        counted = self.object_list[: self.CAP + 1].count()
        self.more = counted > self.CAP
        return min(counted, self.CAP)
