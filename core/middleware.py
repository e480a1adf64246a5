"""Middleware with no knowledge of the case file."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase


class NoStoreForAuthenticatedMiddleware:
    """Pages seen by a signed-in user must not stay in a shared or seized browser's cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response["Cache-Control"] = "no-store"
        return response
