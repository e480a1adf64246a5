"""Middleware with no knowledge of the case file."""


class NoStoreForAuthenticatedMiddleware:
    """Pages seen by a signed-in user must not stay in a shared or seized browser's cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response["Cache-Control"] = "no-store"
        return response
