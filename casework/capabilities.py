"""Which role may do what: a pure table, imported by the models and by the access helpers."""

from enum import StrEnum


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
    # Add notes to a case one may see: staff who edit cases, and partner lawyers on the cases
    # referred to them (who change nothing else).
    ADD_NOTES = "add_notes"
    VIEW_LETTERS = "view_letters"
    DRAFT_LETTERS = "draft_letters"
    APPROVE_LETTERS = "approve_letters"
    ISSUE_LETTERS = "issue_letters"
    RUN_BATCHES = "run_batches"
    VIEW_REGISTER = "view_register"
    VIEW_ACCESS_LOG = "view_access_log"
    VIEW_STATISTICS = "view_statistics"
    MANAGE_ORGANISATION = "manage_organisation"
    # Bring a caseload in from the NGO's spreadsheet: creates clients and cases in bulk.
    IMPORT_CLIENTS = "import_clients"


C = Capability
_CASEWORK = {
    C.CREATE_CASES,
    C.EDIT_CASES,
    C.ADD_NOTES,
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
            C.IMPORT_CLIENTS,
        }
    ),
    "caseworker": frozenset(_CASEWORK | {C.VIEW_ASSIGNED_CASES, C.VIEW_REGISTER}),
    # Volunteers do intake and practical help: no special-category data, no documents, ever.
    "volunteer": frozenset({C.VIEW_ASSIGNED_CASES, C.CREATE_CASES, C.EDIT_CASES, C.ADD_NOTES}),
    # Partner lawyers read the cases referred to them (accepted, until the referral ends) and
    # add their own notes and documents there; they change nothing of the NGO's.
    "lawyer": frozenset(
        {
            C.VIEW_SHARED_CASES,
            C.VIEW_DOCUMENTS,
            C.VIEW_LETTERS,
            C.ADD_NOTES,
            C.UPLOAD_DOCUMENTS,
        }
    ),
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
