"""What every page's navigation needs from letters."""

from functools import cache

from django.http import HttpRequest

from casework.access import user_can
from casework.capabilities import Capability
from letters import selectors


def review_queue(request: HttpRequest) -> dict:
    """For reviewers, the number of letters waiting for review: one COUNT query, run only when
    a page shows it (a callable, remembered for the request)."""
    user = getattr(request, "user", None)
    if user is None or not user_can(user, Capability.APPROVE_LETTERS):
        return {}
    return {"letters_in_review_count": cache(lambda: selectors.letters_in_review_count(user))}
