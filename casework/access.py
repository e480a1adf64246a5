"""Who may do what: roles grant capabilities; cases are reached only through the access helpers.

The visibility rule itself lives on the queryset (`Case.objects.visible_to(user)`); this module
maps roles to capabilities and gives views one way to fetch a case or refuse.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.http import Http404


class Capability(StrEnum):
    VIEW_ALL_CASES = "view_all_cases"
    VIEW_ASSIGNED_CASES = "view_assigned_cases"
    VIEW_SHARED_CASES = "view_shared_cases"
    CREATE_CASES = "create_cases"
    EDIT_CASES = "edit_cases"
    ASSIGN_CASES = "assign_cases"
    SHARE_CASES = "share_cases"
    VIEW_SPECIAL_CATEGORY = "view_special_category"
    VIEW_DOCUMENTS = "view_documents"
    UPLOAD_DOCUMENTS = "upload_documents"
    VIEW_LETTERS = "view_letters"
    DRAFT_LETTERS = "draft_letters"
    APPROVE_LETTERS = "approve_letters"
    ISSUE_LETTERS = "issue_letters"
    RUN_BATCHES = "run_batches"
    VIEW_REGISTER = "view_register"
    VIEW_ACCESS_LOG = "view_access_log"
    VIEW_STATISTICS = "view_statistics"
    MANAGE_ORGANISATION = "manage_organisation"


C = Capability
_CASEWORK = {
    C.CREATE_CASES,
    C.EDIT_CASES,
    C.VIEW_DOCUMENTS,
    C.UPLOAD_DOCUMENTS,
    C.VIEW_LETTERS,
    C.DRAFT_LETTERS,
}

ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "administrator": frozenset(Capability) - {C.VIEW_ASSIGNED_CASES, C.VIEW_SHARED_CASES},
    "coordinator": frozenset(
        _CASEWORK
        | {
            C.VIEW_ALL_CASES,
            C.ASSIGN_CASES,
            C.SHARE_CASES,
            C.VIEW_SPECIAL_CATEGORY,
            C.APPROVE_LETTERS,
            C.ISSUE_LETTERS,
            C.RUN_BATCHES,
            C.VIEW_REGISTER,
            C.VIEW_STATISTICS,
        }
    ),
    "caseworker": frozenset(_CASEWORK | {C.VIEW_ASSIGNED_CASES, C.VIEW_REGISTER}),
    # Volunteers do intake and practical help: no special-category data, no documents, ever.
    "volunteer": frozenset({C.VIEW_ASSIGNED_CASES, C.CREATE_CASES, C.EDIT_CASES}),
    # Partner lawyers read the cases shared with them and change nothing.
    "lawyer": frozenset({C.VIEW_SHARED_CASES, C.VIEW_DOCUMENTS, C.VIEW_LETTERS}),
    "auditor": frozenset({C.VIEW_ACCESS_LOG}),
}
# Roles that may be granted special-category access on top of their role.
SPECIAL_CATEGORY_GRANTABLE = {"caseworker", "lawyer"}
del C


def capabilities_of(role: str, *, special_category_access: bool = False) -> frozenset[Capability]:
    caps = ROLE_CAPABILITIES.get(role, frozenset())
    if special_category_access and role in SPECIAL_CATEGORY_GRANTABLE:
        caps = caps | {Capability.VIEW_SPECIAL_CATEGORY}
    return caps


def user_can(user, capability: Capability) -> bool:
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    return bool(membership and user.is_active and membership.can(capability))


class OutOfScope(Http404):
    """A 404 that the access log records as a denial (middleware.AccessDeniedLogMiddleware).

    The user gets exactly the 404 of an object that does not exist. The object's id is kept only
    when the object belongs to the user's own organisation: the log is organisation-scoped and
    readable by that organisation's administrators, so it must not become an oracle for which
    references exist elsewhere. A probe of another organisation's case and of a reference that
    does not exist leave the same entry."""

    def __init__(self, object_type: str, object_id: int | str = "", *, case_id: int | None = None):
        super().__init__()
        self.object_type = object_type
        self.object_id = str(object_id)
        self.case_id = case_id


class Forbidden(PermissionDenied):
    """A 403 about a known object (which the user may see), so that the log names it."""

    def __init__(self, obj):
        super().__init__()
        self.object = obj


def same_organisation(user, organisation_id: int | None) -> bool:
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    return membership is not None and membership.organisation_id == organisation_id


def get_case_for_user(user, reference: str, *, capability: Capability | None = None):
    """The case with this reference if the user may see it, else 404 — the same answer as for a
    case that does not exist, so that nothing is learnt by probing references. A visible case
    the user may not act on (`capability`) is a 403. Both are logged as denials."""
    from casework.models import Case

    try:
        case = (
            Case.objects.visible_to(user)
            .select_related("client", "authority")
            .get(reference=reference)
        )
    except Case.DoesNotExist:
        hidden = Case.objects.filter(reference=reference).values("pk", "organisation_id").first()
        if hidden is None or not same_organisation(user, hidden["organisation_id"]):
            raise OutOfScope("case") from None
        raise OutOfScope("case", hidden["pk"], case_id=hidden["pk"]) from None
    if capability is not None and not user_can(user, capability):
        raise Forbidden(case)
    return case
