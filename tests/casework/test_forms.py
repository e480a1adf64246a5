"""Hostile and invalid input on every form: each bad submission re-renders the form with an error
and saves nothing half-way; text is stored as typed and always rendered escaped."""

import re
from datetime import timedelta
from html import escape
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from casework.models import (
    Assignment,
    Authority,
    Case,
    CaseLogEntry,
    Client,
    ClientName,
    ContactChannel,
    Document,
    Event,
    Ground,
    Membership,
    Note,
    Relative,
    Share,
)
from tests.factories import make_organisation, make_user
from tests.helpers import PDF, edit_data

Role = Membership.Role
SCRIPT = "<script>alert(1)</script>"
NOTE_MAX = Note._meta.get_field("body").max_length


def snapshot(media=None) -> dict[str, Any]:
    """Row counts of everything a form could write, and the files in private storage."""
    counts: dict[str, Any] = {
        model.__name__: model.objects.count()
        for model in (
            Client,
            ClientName,
            ContactChannel,
            Case,
            Assignment,
            Note,
            Document,
            Event,
            Relative,
            Share,
            CaseLogEntry,
        )
    }
    if media is not None:
        counts["files"] = sorted(str(p) for p in media.rglob("*") if p.is_file())
    return counts


def case_state(case: Case) -> dict[str, Any]:
    """Everything the edit page can change, read back from the database."""
    case = Case.objects.get(pk=case.pk)
    client = Client.objects.get(pk=case.client_id)
    return {
        "case": {f.name: getattr(case, f.name) for f in Case._meta.concrete_fields},
        "grounds": set(case.grounds.values_list("pk", flat=True)),
        "client": {f.name: getattr(client, f.name) for f in Client._meta.concrete_fields},
        "names": list(client.names.values_list("kind", "family_name", "given_names")),
        "contacts": list(client.contacts.values_list("kind", "value")),
    }


def intake_data(**changes: Any) -> dict[str, Any]:
    today = timezone.localdate()
    data: dict[str, Any] = {
        "client-pseudonym": "Falcon",
        "client-birth_date": "1990-05-17",
        "client-birth_place": "Kazan",
        "client-citizenships": ["RU"],
        "client-languages": "Russian, Tatar",
        "client-current_country": "GE",
        "client-current_city": "Tbilisi",
        "client-documents_held": "foreign",
        "names-TOTAL_FORMS": "3",
        "names-INITIAL_FORMS": "0",
        "names-MIN_NUM_FORMS": "1",
        "names-MAX_NUM_FORMS": "8",
        "names-0-kind": "legal",
        "names-0-script": "cyrl",
        "names-0-family_name": "Зуганшин",
        "names-0-given_names": "Рустам",
        "names-0-patronymic": "Ильдарович",
        "names-1-kind": "translit",
        "names-1-script": "latn",
        "names-1-family_name": "Zuganshin",
        "names-1-given_names": "Rustam",
        "names-2-kind": "legal",
        "names-2-script": "cyrl",
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "10",
        "contacts-0-kind": "signal",
        "contacts-0-value": "+995 555 0100",
        "contacts-0-safety_note": "Signal only, never call",
        "case-kind": "asylum_claim",
        "case-destination_country": "FR",
        "case-authority": str(Authority.objects.get(code="ofpra").pk),
        "case-grounds": [str(Ground.objects.get(code="political").pk)],
        "case-risk": "high",
        "case-opened_at": today.isoformat(),
        "case-summary": "Activist, detained twice; needs a support letter for OFPRA.",
    }
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def assert_rerendered_with_error(response, message: str) -> None:
    assert response.status_code == 200
    assert escape(message).encode() in response.content, response.content.decode()[-3000:]


# --- intake ---------------------------------------------------------------------------------


def test_valid_intake_by_caseworker_creates_one_client_names_case_and_assignment(
    client, caseworker
):
    client.force_login(caseworker)
    before = snapshot()

    response = client.post(reverse("casework:case_create"), intake_data())

    assert response.status_code == 302
    after = snapshot()
    assert after["Client"] == before["Client"] + 1
    assert after["ClientName"] == before["ClientName"] + 2  # the blank third form is ignored
    assert after["ContactChannel"] == before["ContactChannel"] + 1
    assert after["Case"] == before["Case"] + 1
    case = Case.objects.latest("pk")
    assert re.fullmatch(rf"{timezone.localdate().year}-\d{{4}}", case.reference)
    assert response["Location"] == reverse("casework:case_detail", args=[case.reference])
    assert case.status == Case.Status.INTAKE
    assert case.organisation == caseworker.membership.organisation
    assert list(case.assignments.values_list("user", flat=True)) == [caseworker.pk]
    assert set(case.grounds.values_list("code", flat=True)) == {"political"}
    assert case.log_entries.filter(action=CaseLogEntry.Action.CREATED, actor=caseworker).exists()
    assert sorted(n.family_name for n in case.client.names.all()) == [
        "Zuganshin",
        "Зуганшин",
    ]
    assert case.client.name_index.strip()
    assert "Зуганшин" not in case.reference and "Zuganshin" not in case.reference
    assert client.get(response["Location"]).status_code == 200


def test_valid_intake_by_coordinator_creates_no_assignment(client, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("casework:case_create"), intake_data())
    assert response.status_code == 302
    case = Case.objects.latest("pk")
    assert not case.assignments.exists()


def test_volunteer_keeps_the_case_they_record(client, volunteer):
    client.force_login(volunteer)
    response = client.post(reverse("casework:case_create"), intake_data())
    assert response.status_code == 302
    case = Case.objects.latest("pk")
    assert list(case.assignments.values_list("user", flat=True)) == [volunteer.pk]


@pytest.mark.parametrize("persona", ["lawyer", "auditor"])
def test_roles_without_intake_cannot_create_cases(client, personas, persona):
    client.force_login(personas[persona])
    before = snapshot()
    assert client.get(reverse("casework:case_create")).status_code == 403
    assert client.post(reverse("casework:case_create"), intake_data()).status_code == 403
    assert snapshot() == before


def test_intake_ignores_special_fields_from_a_user_without_the_capability(client, caseworker):
    client.force_login(caseworker)
    response = client.post(
        reverse("casework:case_create"), intake_data(**{"client-orientation": "INJECTED"})
    )
    assert response.status_code == 302
    assert Case.objects.latest("pk").client.orientation == ""


def test_intake_stores_special_fields_for_a_coordinator(client, coordinator):
    client.force_login(coordinator)
    response = client.post(
        reverse("casework:case_create"), intake_data(**{"client-religion": "Jehovah's Witness"})
    )
    assert response.status_code == 302
    assert Case.objects.latest("pk").client.religion == "Jehovah's Witness"


FUTURE = (timezone.localdate() + timedelta(days=3)).isoformat()
INVALID_INTAKE = {
    "pseudonym_300_chars": (
        {"client-pseudonym": "x" * 300},
        "Ensure this value has at most 100 characters (it has 300).",
    ),
    "pseudonym_blank": ({"client-pseudonym": "   "}, "This field is required."),
    "birth_date_in_2999": (
        {"client-birth_date": "2999-01-01"},
        "Enter a date of birth between 1900 and today.",
    ),
    "birth_date_1850": (
        {"client-birth_date": "1850-01-01"},
        "Enter a date of birth between 1900 and today.",
    ),
    "birth_date_not_a_date": ({"client-birth_date": "not-a-date"}, "Enter a valid date."),
    "unknown_citizenship": ({"client-citizenships": ["XX"]}, "Select a valid choice."),
    "opened_in_the_future": ({"case-opened_at": FUTURE}, "A case cannot be opened in the future."),
    "unknown_kind": ({"case-kind": "deportation"}, "Select a valid choice."),
    "unknown_authority": ({"case-authority": "999999"}, "Select a valid choice."),
    "summary_too_long": (
        {"case-summary": "s" * 5001},
        "Ensure this value has at most 5000 characters (it has 5001).",
    ),
    "no_name_at_all": (
        {
            "names-0-family_name": "",
            "names-0-given_names": "",
            "names-0-patronymic": "",
            "names-1-kind": "legal",
            "names-1-script": "cyrl",
            "names-1-family_name": "",
            "names-1-given_names": "",
        },
        "Please submit at least 1 form.",
    ),
    "given_name_without_family_name": (
        {"names-1-family_name": ""},
        "This field is required.",
    ),
    "family_name_too_long": (
        {"names-0-family_name": "Я" * 101},
        "Ensure this value has at most 100 characters (it has 101).",
    ),
    "names_management_form_missing": (
        {"names-TOTAL_FORMS": None, "names-INITIAL_FORMS": None},
        "Please correct the errors below. Nothing has been saved yet.",
    ),
    "contact_value_too_long": (
        {"contacts-0-value": "9" * 201},
        "Ensure this value has at most 200 characters (it has 201).",
    ),
    "null_character": ({"client-birth_place": "Kazan\x00"}, "Null characters are not allowed."),
}


@pytest.mark.parametrize(
    ("changes", "message"), list(INVALID_INTAKE.values()), ids=list(INVALID_INTAKE)
)
@pytest.mark.parametrize("persona", ["caseworker", "coordinator"])
def test_invalid_intake_rerenders_with_error_and_saves_nothing(
    client, personas, persona, changes, message
):
    client.force_login(personas[persona])
    before = snapshot()

    response = client.post(reverse("casework:case_create"), intake_data(**changes))

    assert_rerendered_with_error(response, message)
    assert snapshot() == before


def test_coordinator_special_field_over_limit_is_refused(client, coordinator):
    client.force_login(coordinator)
    before = snapshot()
    response = client.post(
        reverse("casework:case_create"), intake_data(**{"client-health": "h" * 5001})
    )
    assert_rerendered_with_error(
        response, "Ensure this value has at most 5000 characters (it has 5001)."
    )
    assert snapshot() == before


# --- case edit ------------------------------------------------------------------------------

INVALID_EDIT = {
    "pseudonym_300_chars": (
        {"client-pseudonym": "p" * 300},
        "Ensure this value has at most 100 characters (it has 300).",
    ),
    "birth_date_in_2999": (
        {"client-birth_date": "2999-01-01"},
        "Enter a date of birth between 1900 and today.",
    ),
    "birth_date_not_a_date": ({"client-birth_date": "not-a-date"}, "Enter a valid date."),
    "opened_in_the_future": ({"case-opened_at": FUTURE}, "A case cannot be opened in the future."),
    "summary_too_long": (
        {"case-summary": "s" * 5001},
        "Ensure this value has at most 5000 characters (it has 5001).",
    ),
    "existing_name_blanked": ({"names-0-family_name": ""}, "This field is required."),
    "every_name_deleted": (
        {"names-0-DELETE": "on", "names-1-DELETE": "on"},
        "Please submit at least 1 form.",
    ),
}


@pytest.mark.parametrize(
    ("changes", "message"), list(INVALID_EDIT.values()), ids=list(INVALID_EDIT)
)
def test_invalid_case_edit_rerenders_with_error_and_changes_nothing(
    client, case, caseworker, changes, message
):
    client.force_login(caseworker)
    # A valid change rides along with the invalid one: it must not be saved either.
    data = edit_data(case, **{"client-languages": "Changed", "names-1-given_names": "Changed"})
    data.update(changes)
    before, counts = case_state(case), snapshot()

    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)

    assert_rerendered_with_error(response, message)
    assert case_state(case) == before
    assert snapshot() == counts


@pytest.mark.parametrize("prefix", ["names", "contacts"])
def test_case_edit_cannot_overwrite_rows_of_another_client(
    client, case, other_case, caseworker, prefix
):
    """A tampered row id pointing at another client's name or contact never reaches that row
    (Django either drops the row or treats it as a new one of this client)."""
    foreign_client = other_case.client
    ContactChannel.objects.create(client=foreign_client, kind="phone", value="+7 900 000 00 00")

    def foreign_rows():
        return (
            list(ClientName.objects.filter(client=foreign_client).values_list()),
            list(ContactChannel.objects.filter(client=foreign_client).values_list()),
        )

    foreign_row = (
        foreign_client.names.first() if prefix == "names" else foreign_client.contacts.first()
    )
    before = foreign_rows()
    client.force_login(caseworker)
    data = edit_data(case)
    data.update(
        {
            f"{prefix}-0-id": str(foreign_row.pk),
            f"{prefix}-0-client": str(foreign_client.pk),
            "names-0-family_name": "Hijacked",
            "contacts-0-kind": "phone",
            "contacts-0-value": "hijacked",
        }
    )

    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)

    assert response.status_code in (200, 302)
    assert foreign_rows() == before
    assert "Hijacked" not in {
        n.family_name for n in ClientName.objects.filter(client=foreign_client)
    }


def test_saving_the_edit_form_unchanged_records_no_change(client, case, caseworker):
    client.force_login(caseworker)
    before = case_state(case)

    response = client.post(reverse("casework:case_edit", args=[case.reference]), edit_data(case))

    assert response.status_code == 302
    assert not case.log_entries.exists()
    after = case_state(case)
    for state in (before, after):
        state["case"].pop("updated_at")
        state["client"].pop("updated_at")
    assert after == before


def test_case_edit_ignores_fields_that_are_not_on_the_form(client, case, caseworker, other_org):
    client.force_login(caseworker)
    data = edit_data(
        case,
        **{
            "case-summary": "Edited",
            "case-status": "granted",
            "case-reference": "2026-0001",
            "case-organisation": str(other_org.pk),
            "case-client": "999",
            "client-organisation": str(other_org.pk),
            "client-name_index": " injected ",
        },
    )

    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)

    assert response.status_code == 302
    stored = Case.objects.get(pk=case.pk)
    assert stored.summary == "Edited"
    assert (stored.status, stored.reference, stored.organisation_id, stored.client_id) == (
        case.status,
        case.reference,
        case.organisation_id,
        case.client_id,
    )
    assert stored.client.organisation_id == case.organisation_id
    assert "injected" not in stored.client.name_index


# --- events, notes, relatives -----------------------------------------------------------------


def _in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def _event(**changes):
    return {"kind": "hearing", "title": "CNDA hearing", "date": _in_days(30), **changes}


def _relative(**changes):
    return {"relation": "spouse", "full_name": "Test Spouse", "birth_date": "1988-02-03", **changes}


INVALID_SUBFORMS = {
    "event_20_years_away": (
        "event_add",
        _event(date=_in_days(20 * 365)),
        "Enter a date within five years of today.",
    ),
    "event_20_years_ago": (
        "event_add",
        _event(date=_in_days(-20 * 365)),
        "Enter a date within five years of today.",
    ),
    "event_date_not_a_date": ("event_add", _event(date="not-a-date"), "Enter a valid date."),
    "event_year_99999": ("event_add", _event(date="99999-01-01"), "Enter a valid date."),
    "event_time_25_99": ("event_add", _event(time="25:99"), "Enter a valid time."),
    "event_title_too_long": (
        "event_add",
        _event(title="t" * 201),
        "Ensure this value has at most 200 characters (it has 201).",
    ),
    "event_unknown_kind": ("event_add", _event(kind="party"), "Select a valid choice."),
    "note_over_the_limit": (
        "note_add",
        {"body": "n" * (NOTE_MAX + 1)},
        f"Ensure this value has at most {NOTE_MAX} characters (it has {NOTE_MAX + 1}).",
    ),
    "note_blank": ("note_add", {"body": " \n\t "}, "This field is required."),
    "note_null_character": ("note_add", {"body": "a\x00b"}, "Null characters are not allowed."),
    "relative_born_2999": (
        "relative_add",
        _relative(birth_date="2999-01-01"),
        "Enter a date of birth between 1900 and today.",
    ),
    "relative_birth_not_a_date": (
        "relative_add",
        _relative(birth_date="not-a-date"),
        "Enter a valid date.",
    ),
    "relative_name_too_long": (
        "relative_add",
        _relative(full_name="r" * 201),
        "Ensure this value has at most 200 characters (it has 201).",
    ),
    "relative_unknown_relation": (
        "relative_add",
        _relative(relation="pet"),
        "Select a valid choice.",
    ),
    "relative_notes_too_long": (
        "relative_add",
        _relative(notes="r" * 5001),
        "Ensure this value has at most 5000 characters (it has 5001).",
    ),
}


@pytest.mark.parametrize(
    ("url_name", "data", "message"), list(INVALID_SUBFORMS.values()), ids=list(INVALID_SUBFORMS)
)
def test_invalid_subform_rerenders_with_error_and_saves_nothing(
    client, case, caseworker, url_name, data, message
):
    client.force_login(caseworker)
    before = snapshot()

    response = client.post(reverse(f"casework:{url_name}", args=[case.reference]), data)

    assert_rerendered_with_error(response, message)
    assert snapshot() == before


def test_note_up_to_the_limit_is_saved_whole(client, case, caseworker):
    client.force_login(caseworker)
    body = "ю" * NOTE_MAX
    response = client.post(reverse("casework:note_add", args=[case.reference]), {"body": body})
    assert response.status_code == 302
    assert Note.objects.get(case=case).body == body


def test_note_cannot_be_attributed_to_someone_else_or_another_case(
    client, case, other_case, caseworker, colleague
):
    client.force_login(caseworker)
    response = client.post(
        reverse("casework:note_add", args=[case.reference]),
        {"body": "Mine", "author": colleague.pk, "case": other_case.pk},
    )
    assert response.status_code == 302
    note = Note.objects.get()
    assert (note.case_id, note.author_id) == (case.pk, caseworker.pk)


# --- documents ------------------------------------------------------------------------------

INVALID_UPLOADS = {
    "windows_executable": (
        "setup.exe",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64,
        "This kind of file is not accepted.",
    ),
    "executable_renamed_pdf": (
        "scan.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64,
        "This kind of file is not accepted.",
    ),
    "html_renamed_pdf": (
        "decision.pdf",
        b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        "This kind of file is not accepted.",
    ),
    "pdf_signature_not_at_the_start": (
        "decision.pdf",
        b"<html>%PDF-1.4</html>",
        "This kind of file is not accepted.",
    ),
    "plain_zip_not_an_office_document": (
        "archive.docx",
        b"PK\x03\x04" + b"\x00" * 26 + b"evil.sh",
        "This kind of file is not accepted.",
    ),
    "empty_file": ("empty.pdf", b"", "The submitted file is empty."),
}


@pytest.mark.parametrize(
    ("name", "content", "message"), list(INVALID_UPLOADS.values()), ids=list(INVALID_UPLOADS)
)
def test_rejected_upload_rerenders_with_error_and_stores_no_file(
    client, case, caseworker, private_media, name, content, message
):
    client.force_login(caseworker)
    before = snapshot(private_media)

    response = client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {
            "kind": "court_decision",
            "title": "Decision",
            "upload": SimpleUploadedFile(name, content, content_type="application/pdf"),
        },
    )

    assert_rerendered_with_error(response, message)
    assert snapshot(private_media) == before


def test_upload_over_the_size_limit_is_refused(client, case, caseworker, private_media, settings):
    settings.DOCUMENT_MAX_BYTES = 1024
    client.force_login(caseworker)
    before = snapshot(private_media)

    response = client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {
            "kind": "evidence",
            "title": "Large",
            "upload": SimpleUploadedFile("big.pdf", PDF + b"0" * 2048),
        },
    )

    assert response.status_code == 200
    assert b"The file is too large" in response.content
    assert snapshot(private_media) == before


def test_upload_without_file_or_with_overlong_title_is_refused(
    client, case, caseworker, private_media
):
    client.force_login(caseworker)
    before = snapshot(private_media)
    url = reverse("casework:document_upload", args=[case.reference])

    no_file = client.post(url, {"kind": "evidence", "title": "Nothing attached"})
    long_title = client.post(
        url, {"kind": "evidence", "title": "t" * 201, "upload": SimpleUploadedFile("a.pdf", PDF)}
    )

    assert_rerendered_with_error(no_file, "This field is required.")
    assert_rerendered_with_error(
        long_title, "Ensure this value has at most 200 characters (it has 201)."
    )
    assert snapshot(private_media) == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (PDF, "application/pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 32, "image/jpeg"),
    ],
)
def test_upload_type_comes_from_the_bytes_not_the_name_or_the_browser(
    client, case, caseworker, private_media, content, content_type
):
    client.force_login(caseworker)
    response = client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {
            "kind": "evidence",
            "title": "Photo",
            "upload": SimpleUploadedFile("file.exe", content, content_type="text/html"),
        },
    )
    assert response.status_code == 302
    document = Document.objects.get(case=case)
    assert document.content_type == content_type
    download = client.get(reverse("casework:document_download", args=[case.reference, document.pk]))
    assert download["Content-Type"] == content_type
    assert download["Content-Disposition"].startswith("attachment")


def test_an_html_file_with_a_pdf_signature_is_stored_and_downloaded_as_pdf(
    client, case, caseworker, private_media
):
    """A polyglot: an HTML page whose first bytes are a PDF's passes the checks as a PDF. It
    keeps none of the uploader's `.html`: stored as poly.pdf, downloaded as poly.pdf, as a PDF
    attachment, so that no browser or desktop opens it as a page."""
    polyglot = b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n"
    client.force_login(caseworker)
    response = client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {
            "kind": "evidence",
            "title": "Polyglot",
            "upload": SimpleUploadedFile("poly.html", polyglot, content_type="text/html"),
        },
    )
    assert response.status_code == 302
    document = Document.objects.get(case=case)
    assert document.original_name == "poly.pdf"
    assert document.content_type == "application/pdf"
    download = client.get(reverse("casework:document_download", args=[case.reference, document.pk]))
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="poly.pdf"'
    assert b"".join(download.streaming_content) == polyglot


def test_a_document_stored_with_the_uploaders_extension_downloads_with_its_types(
    client, case, caseworker, private_media
):
    # Documents uploaded before the name followed the type.
    client.force_login(caseworker)
    client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {"kind": "evidence", "title": "Old", "upload": SimpleUploadedFile("old.pdf", PDF)},
    )
    document = Document.objects.get(case=case)
    document.original_name = "old.html"
    document.save(update_fields=["original_name"])
    download = client.get(reverse("casework:document_download", args=[case.reference, document.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="old.pdf"'


# --- sharing --------------------------------------------------------------------------------


@pytest.fixture
def lawyer_elsewhere(other_org):
    return make_user(organisation=other_org, role=Role.LAWYER, username="lawyer_elsewhere")


INVALID_SHARES = {
    "expiring_yesterday": (lambda p: p["lawyer_without_share"], -1, "Choose a day after today."),
    "expiring_today": (lambda p: p["lawyer_without_share"], 0, "Choose a day after today."),
    "lasting_over_a_year": (
        lambda p: p["lawyer_without_share"],
        400,
        "A referral can last at most one year.",
    ),
    "with_a_caseworker": (lambda p: p["colleague"], 30, "Select a valid choice."),
    "with_a_lawyer_of_another_organisation": (
        lambda p: p["lawyer_elsewhere"],
        30,
        "Select a valid choice.",
    ),
}


@pytest.mark.parametrize(
    ("pick_lawyer", "days", "message"), list(INVALID_SHARES.values()), ids=list(INVALID_SHARES)
)
def test_invalid_share_rerenders_with_error_and_shares_nothing(
    client, case, personas, lawyer_elsewhere, pick_lawyer, days, message
):
    people = {**personas, "lawyer_elsewhere": lawyer_elsewhere}
    client.force_login(people["coordinator"])
    before = snapshot()

    response = client.post(
        reverse("casework:referral_create", args=[case.reference]),
        {"lawyer": pick_lawyer(people).pk, "message": "Appeal", "expires_on": _in_days(days)},
    )

    assert_rerendered_with_error(response, message)
    assert snapshot() == before


def test_share_with_a_date_that_is_not_a_date_is_refused(client, case, coordinator, lawyer):
    client.force_login(coordinator)
    before = snapshot()
    response = client.post(
        reverse("casework:referral_create", args=[case.reference]),
        {"lawyer": lawyer.pk, "message": "Appeal", "expires_on": "not-a-date"},
    )
    assert_rerendered_with_error(response, "Enter a valid date.")
    assert snapshot() == before


def test_share_with_an_inactive_lawyer_is_refused(client, case, coordinator, org):
    gone = make_user(organisation=org, role=Role.LAWYER, is_active=False)
    client.force_login(coordinator)
    before = snapshot()
    response = client.post(
        reverse("casework:referral_create", args=[case.reference]),
        {"lawyer": gone.pk, "message": "Appeal", "expires_on": _in_days(30)},
    )
    assert_rerendered_with_error(response, "Select a valid choice.")
    assert snapshot() == before


def test_assigning_someone_from_another_organisation_is_refused(client, case, coordinator):
    elsewhere = make_user(organisation=make_organisation(name="Third"), role=Role.CASEWORKER)
    client.force_login(coordinator)
    before = snapshot()
    response = client.post(
        reverse("casework:case_assign", args=[case.reference]), {"users": [elsewhere.pk]}
    )
    assert response.status_code == 200
    assert b"Select a valid choice." in response.content
    assert snapshot() == before


# --- script in text is stored as typed and rendered escaped -----------------------------------


def _assert_escaped(content: bytes) -> None:
    assert escape(SCRIPT).encode() in content
    assert SCRIPT.encode() not in content


def test_script_in_a_note_is_saved_and_rendered_escaped(client, case, caseworker):
    client.force_login(caseworker)
    response = client.post(reverse("casework:note_add", args=[case.reference]), {"body": SCRIPT})
    assert response.status_code == 302
    assert Note.objects.get(case=case).body == SCRIPT
    _assert_escaped(client.get(reverse("casework:case_detail", args=[case.reference])).content)


@pytest.mark.parametrize("url_name", ["case_detail", "case_list", "dashboard", "case_edit"])
def test_script_in_a_pseudonym_and_names_is_rendered_escaped_everywhere(
    client, caseworker, url_name
):
    client.force_login(caseworker)
    response = client.post(
        reverse("casework:case_create"),
        intake_data(
            **{
                "client-pseudonym": SCRIPT,
                "names-1-family_name": SCRIPT,
                "contacts-0-safety_note": SCRIPT,
            }
        ),
    )
    assert response.status_code == 302
    case = Case.objects.latest("pk")
    assert case.client.pseudonym == SCRIPT
    args = [case.reference] if url_name in ("case_detail", "case_edit") else []

    content = client.get(reverse(f"casework:{url_name}", args=args)).content

    _assert_escaped(content)


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("event_add", _event(title=SCRIPT, location=SCRIPT)),
        ("relative_add", _relative(full_name=SCRIPT, location=SCRIPT)),
    ],
)
def test_script_in_events_and_relatives_is_rendered_escaped(
    client, case, caseworker, url_name, data
):
    client.force_login(caseworker)
    response = client.post(reverse(f"casework:{url_name}", args=[case.reference]), data)
    assert response.status_code == 302
    _assert_escaped(client.get(reverse("casework:case_detail", args=[case.reference])).content)


def test_script_in_a_rejected_form_is_echoed_escaped(client, case, caseworker):
    client.force_login(caseworker)
    response = client.post(
        reverse("casework:event_add", args=[case.reference]),
        _event(title=SCRIPT, date="not-a-date"),
    )
    assert response.status_code == 200
    _assert_escaped(response.content)


# --- property tests -------------------------------------------------------------------------

PROPERTY_SETTINGS = hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(body=st.text())
def test_any_note_body_is_saved_or_refused_never_a_server_error(client, case, caseworker, body):
    client.force_login(caseworker)
    notes = Note.objects.count()

    response = client.post(reverse("casework:note_add", args=[case.reference]), {"body": body})

    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert Note.objects.count() == notes + 1
        assert Note.objects.latest("pk").body == body.strip()
    else:
        assert Note.objects.count() == notes


@PROPERTY_SETTINGS
@given(pseudonym=st.text(), family_name=st.text(max_size=120))
def test_any_pseudonym_and_name_at_intake_never_cause_a_server_error(
    client, caseworker, pseudonym, family_name
):
    client.force_login(caseworker)
    cases = Case.objects.count()

    response = client.post(
        reverse("casework:case_create"),
        intake_data(**{"client-pseudonym": pseudonym, "names-1-family_name": family_name}),
    )

    assert response.status_code in (200, 302)
    assert Case.objects.count() == cases + (response.status_code == 302)
    if response.status_code == 302:
        case = Case.objects.latest("pk")
        assert client.get(response["Location"]).status_code == 200
        assert client.get(reverse("casework:case_list"), {"q": pseudonym}).status_code == 200
        assert case.client.pseudonym == pseudonym.strip()


@PROPERTY_SETTINGS
@given(query=st.text(max_size=150))
def test_any_search_query_never_causes_a_server_error(client, case, caseworker, query):
    client.force_login(caseworker)
    response = client.get(reverse("casework:case_list"), {"q": query})
    assert response.status_code == 200
