from django.core.exceptions import PermissionDenied

from casework import audit
from casework.access import Forbidden, OutOfScope
from casework.models import Case


class AccessDeniedLogMiddleware:
    """Every refusal goes into the access log: a 403 (PermissionDenied) anywhere, and the 404s
    of the access helpers (`casework.access.OutOfScope`). The answer itself is untouched, so an
    out-of-scope object still looks exactly like one that does not exist.

    Successful access is logged by the views themselves, one entry per request; refusals are
    logged here because they are raised from many places (helpers, decorators, the admin)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OutOfScope):
            audit.record(
                request,
                audit.Action.DENIED,
                object_type=exception.object_type,
                object_id=exception.object_id,
                case_id=exception.case_id,
            )
        elif isinstance(exception, Forbidden):
            audit.record(request, audit.Action.DENIED, exception.object)
        elif isinstance(exception, PermissionDenied):
            audit.record(request, audit.Action.DENIED, **_object_from_url(request))
        return None


# URL keyword arguments that name an object, and the object type the log calls it.
_URL_OBJECTS = {"letter_id": "letter", "batch_id": "batch", "document_id": "document"}


def _object_from_url(request) -> dict:
    """For a 403 raised without naming its object: the object the URL points at, if any. A case
    reference is turned into the case's id, within the user's own organisation only."""
    match = getattr(request, "resolver_match", None)
    kwargs = match.kwargs if match else {}
    for name, object_type in _URL_OBJECTS.items():
        if name in kwargs:
            return {"object_type": object_type, "object_id": str(kwargs[name])}
    if "reference" in kwargs:
        membership = getattr(request.user, "membership", None)
        case_id = (
            Case.objects.filter(
                reference=kwargs["reference"], organisation_id=membership.organisation_id
            )
            .values_list("pk", flat=True)
            .first()
            if membership
            else None
        )
        return {"object_type": "case", "object_id": str(case_id or ""), "case_id": case_id}
    return {}
