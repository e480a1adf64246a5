"""Middleware with no knowledge of the case file."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render


class NoStoreForAuthenticatedMiddleware:
    """Pages seen by a signed-in user must not stay in a shared or seized browser's cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response["Cache-Control"] = "no-store"
        return response


# Powerful browser features, all refused to every page and every frame: Pristan uses none of
# them (uploads are file inputs, codes are typed, nothing plays, locates, pays or goes full
# screen). Features the browser does not know are logged as console errors, so only names that
# Chromium and Firefox recognise are listed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in [
        "accelerometer",
        "autoplay",
        "bluetooth",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    ]
)


class PermissionsPolicyMiddleware:
    """Permissions-Policy on every response: a page that some injected markup or a compromised
    script tried to turn into a camera, microphone or locator gets nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class RequestSizeLimitMiddleware:
    """Refuses a request whose body is larger than PRISTAN_REQUEST_MAX_BYTES (a document and
    its form) from its Content-Length, before anything reads the body: Django's own limits
    (DATA_UPLOAD_MAX_MEMORY_SIZE) leave file parts alone, and CSRF checking parses every POST.
    The answer is a page in the user's language (a document that is too large is the usual
    case); nothing saved before is touched. Goes after the locale, authentication and CSP
    middleware, before anything that reads request.POST."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body without a valid length
        if length > settings.PRISTAN_REQUEST_MAX_BYTES:
            return render(
                request,
                "413.html",
                {"max_bytes": settings.DOCUMENT_MAX_BYTES},
                status=413,
            )
        return self.get_response(request)
