"""The 500 handler: a database that does not answer gets a calm 503 page instead.

Django calls `handler500` for any exception a view or a middleware did not handle, with the
exception still in `sys.exc_info()`. A database error there (PostgreSQL restarting, out of
connections, SQLite locked for too long) is a dependency being down, not a bug: the answer is
503 with Retry-After and a page that says so. That page is rendered without the request's
context processors, the session or the user, all of which would ask the database again; its
language is the one LocaleMiddleware took from the language cookie or the browser. Any other
exception gets Django's own 500 page (templates/500.html). No traceback reaches the user: it
goes to the server log (django.request) as for any error."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.utils import translation
from django.views import defaults

RETRY_AFTER_SECONDS = 30


def database_unavailable(exception: BaseException | None) -> bool:
    """Whether `exception` (or one it was raised from) says the database is not answering:
    OperationalError (refused, cut, restarting, too many connections, locked) or InterfaceError
    (a connection already closed). Integrity or programming errors are bugs: a 500."""
    seen = set()
    while exception is not None and id(exception) not in seen:
        if isinstance(exception, OperationalError | InterfaceError):
            return True
        seen.add(id(exception))
        exception = exception.__cause__ or exception.__context__
    return False


def service_unavailable(request) -> HttpResponse:
    language = translation.get_language_from_request(request)
    with translation.override(language):
        html = loader.get_template("503.html").render({"LANGUAGE_CODE": language})
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if database_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    return defaults.server_error(request, template_name)
