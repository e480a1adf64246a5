"""Retention and the rights of the person: the retention date, the scheduled erasure, erasure
on request (nothing of the person left in the database or the storage folder, the register and
the verification page still answering) and the per-person export (GDPR Art. 15)."""

import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from casework import referrals, services
from casework.models import (
    AccessEvent,
    Case,
    CaseLogEntry,
    Client,
    ClientName,
    Consent,
    ContactChannel,
    DailyRun,
    Document,
    Event,
    Membership,
    Note,
    Relative,
)
from core.fields import EncryptedMixin
from letters import services as letter_services
from letters.models import Batch, Letter, LetterTemplate
from privacy import erasure as retention
from privacy import export
from privacy.admin import PrivacyClientAdmin as ClientAdmin
from privacy.tasks import erase_expired_cases
from tests.factories import make_case, make_event, make_note, make_user
from tests.helpers import admin_edits

Role = Membership.Role
TODAY = timezone.localdate

LATIN = "Zhmarkovskiy"
CYRILLIC = "Жмарковский"
ORIENTATION = "ORIENTATION-MARK-41c7"
NOTE = "NOTE-MARK-41c7 Signal only"
DOCUMENT = b"%PDF-1.4\n% DOCUMENT-MARK-41c7\n%%EOF\n"
LETTER_PDF = b"%PDF-1.4\n% LETTER-PDF-MARK-41c7\n%%EOF\n"
PSEUDONYM = "PSEUDO-MARK-41c7"
LANGUAGES = "LANG-MARK-41c7"
MARKERS = [
    LATIN,
    CYRILLIC,
    ORIENTATION,
    "NOTE-MARK-41c7",
    "DOCUMENT-MARK-41c7",
    "LETTER-PDF-MARK-41c7",
    PSEUDONYM,
    LANGUAGES,
]


def login(client, user):
    client.force_login(user)


@pytest.fixture
def media(settings, tmp_path):
    """A private storage folder, encrypted as in production."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.storage.EncryptedFileSystemStorage",
            "OPTIONS": {"location": root, "base_url": None},
        },
    }
    return root


@pytest.fixture
def template(db):
    return LetterTemplate.objects.create(
        name="Support (test)",
        kind="support",
        language="fr",
        subject="Dossier {{ case.reference }}",
        body="Nous soutenons {{ client.full_name }}, dossier {{ case.reference }}.",
    )


def issue_letter(case, template, *, author, approver) -> Letter:
    """Drafted, approved and issued; a small PDF stored as the worker would (no WeasyPrint)."""
    letter = letter_services.letter_draft(
        case=case, template=template, authority=case.authority, by=author
    )
    letter_services.letter_submit(letter=letter, by=author)
    letter_services.letter_approve(letter=letter, by=approver, text_hash=letter.text_hash)
    letter_services.letter_issue(letter=letter, by=approver)
    letter.refresh_from_db()
    letter.pdf.save(f"letters/{letter.pk}.pdf", ContentFile(LETTER_PDF), save=False)
    letter.pdf_sha256 = hashlib.sha256(LETTER_PDF).hexdigest()
    letter.render_status = Letter.RenderStatus.READY
    letter.save(update_fields=["pdf", "pdf_sha256", "render_status"])
    return letter


@pytest.fixture
def marked(org, caseworker, coordinator, lawyer, template, media):
    """A client with markers everywhere: names in both scripts, orientation, a note, a
    document, an issued letter (text and PDF), a draft letter, a failed batch, admin history."""
    case = make_case(
        organisation=org,
        assignees=[caseworker],
        family_name=LATIN,
        given_names="Rustam",
        cyrillic=(CYRILLIC, "Рустам"),
        pseudonym=PSEUDONYM,
        summary="Summary of " + LATIN,
    )
    client = case.client
    client.orientation = ORIENTATION
    client.languages = LANGUAGES
    client.birth_date = timezone.datetime(1990, 5, 17).date()
    client.citizenships = ["RU"]
    client.save()
    ContactChannel.objects.create(client=client, kind="signal", value="+7 900 " + LATIN)
    Relative.objects.create(client=client, relation="spouse", full_name=CYRILLIC + "а Анна")
    make_event(case=case, title="Interview of " + LATIN)
    make_note(case=case, author=caseworker, body=NOTE)
    document = services.document_upload(
        case=case,
        upload=SimpleUploadedFile(f"{LATIN}.pdf", DOCUMENT),
        kind=Document.Kind.EVIDENCE,
        title="Passport of " + LATIN,
        content_type="application/pdf",
        by=caseworker,
    )
    services.consent_record(case=case, purpose=Consent.Purpose.SHARING, by=coordinator)
    referrals.referral_offer(
        case=case,
        lawyer=lawyer,
        message="Appeal at the CNDA",
        ends_at=timezone.now() + timedelta(days=3),
        by=coordinator,
    )
    letter = issue_letter(case, template, author=caseworker, approver=coordinator)
    draft = letter_services.letter_draft(
        case=case, template=template, authority=case.authority, by=caseworker
    )
    Batch.objects.create(
        organisation=org,
        template=template,
        authority=case.authority,
        language="fr",
        case_ids=[case.pk],
        status=Batch.Status.FAILED,
        error=f"ValidationError: ({case.reference} is “Draft”)",
        created_by=coordinator,
    )
    LogEntry.objects.log_actions(
        user_id=coordinator.pk, queryset=[client], action_flag=CHANGE, change_message="[]"
    )
    return {"case": case, "client": client, "document": document, "letter": letter, "draft": draft}


def dump_database() -> str:
    """Every row of every table, read with raw SQL, as text."""
    lines = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                values = [
                    bytes(v).decode("utf-8", "replace") if isinstance(v, bytes | memoryview) else v
                    for v in row
                ]
                lines.append(f"{table}: {values!r}")
    return "\n".join(lines)


def decrypted_values() -> str:
    """Every encrypted column of every row, decrypted."""
    values = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]
        for obj in model.objects.all() if fields else []:
            values += [str(getattr(obj, f.attname)) for f in fields]
    return "\n".join(values)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def raw_columns(table: str, columns: list[str], pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()


def encrypted_columns(model) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]


# Retention date ------------------------------------------------------------------------------


def test_closing_sets_the_retention_date_and_reopening_clears_it(case, coordinator, settings):
    settings.PRISTAN_RETENTION_DAYS = 30
    services.case_change_status(case=case, status=Case.Status.CLOSED, by=coordinator)
    case.refresh_from_db()
    assert case.closed_at == TODAY()
    assert case.retention_until == TODAY() + timedelta(days=30)

    services.case_change_status(case=case, status=Case.Status.ACTIVE, by=coordinator)
    case.refresh_from_db()
    assert case.retention_until is None and case.closed_at is None


def test_the_default_retention_period_is_five_years(case, coordinator):
    services.case_change_status(case=case, status=Case.Status.CLOSED, by=coordinator)
    assert case.retention_until == TODAY() + timedelta(days=5 * 365)


def test_the_job_is_scheduled_daily_at_a_fixed_local_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["erase-expired-cases"]
    assert entry["task"] == "casework.tasks.erase_expired_cases"
    assert entry["schedule"] == crontab(hour=3, minute=30)
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE


# The scheduled job ---------------------------------------------------------------------------


def closed_case(org, *, days: int, **kwargs) -> Case:
    case = make_case(organisation=org, status=Case.Status.CLOSED, **kwargs)
    Case.objects.filter(pk=case.pk).update(
        closed_at=TODAY() - timedelta(days=400), retention_until=TODAY() + timedelta(days=days)
    )
    case.refresh_from_db()
    return case


def test_the_job_erases_only_expired_cases(org, media):
    expired = closed_case(org, days=-1, pseudonym="Expired")
    due_today = closed_case(org, days=0, pseudonym="DueToday")
    later = closed_case(org, days=30, pseudonym="Later")
    # Reopened by hand with a stale date: it is not closed, so it stays.
    reopened = make_case(organisation=org, pseudonym="Reopened")
    Case.objects.filter(pk=reopened.pk).update(retention_until=TODAY() - timedelta(days=3))
    # A client with an expired case and an open one: the case goes, the client stays.
    two = closed_case(org, days=-10, pseudonym="TwoCases")
    open_case = make_case(organisation=org, pseudonym="ignored")
    Case.objects.filter(pk=open_case.pk).update(client=two.client)

    assert erase_expired_cases() == {"cases": 2, "clients": 1, "failed": 0}

    for case in (expired, due_today, later, reopened, two, open_case):
        case.refresh_from_db()
    assert expired.erased_at and expired.reference.startswith("X-")
    assert two.erased_at
    assert not (due_today.erased_at or later.erased_at or reopened.erased_at)
    assert open_case.erased_at is None
    assert Client.objects.get(pk=expired.client_id).pseudonym == retention.ERASED_PSEUDONYM
    assert not ClientName.objects.filter(client_id=expired.client_id).exists()
    assert Client.objects.get(pk=two.client_id).pseudonym == "TwoCases"
    assert ClientName.objects.filter(client_id=two.client_id).exists()
    assert AccessEvent.objects.filter(action=AccessEvent.Action.ERASE).count() == 3

    # Idempotent: nothing left to do, nothing written.
    assert retention.cases_erase_expired() == {"cases": 0, "clients": 0, "failed": 0}
    assert AccessEvent.objects.filter(action=AccessEvent.Action.ERASE).count() == 3


def test_the_job_runs_once_a_day_however_often_it_is_sent(org, media):
    """A second scheduler, or one restarted that catches up, sends the task again the same
    day: the second run does nothing, the next day's run does its work."""
    closed_case(org, days=-1)
    assert erase_expired_cases() == {"cases": 1, "clients": 1, "failed": 0}
    second = closed_case(org, days=-1)  # expired since (say, by an edit in the admin)

    assert erase_expired_cases() is None

    second.refresh_from_db()
    assert second.erased_at is None
    run = DailyRun.objects.get(job="erase-expired-cases")
    assert run.day == TODAY() and run.finished_at is not None
    assert AccessEvent.objects.filter(action=AccessEvent.Action.ERASE).count() == 2

    # Tomorrow's run is a new day.
    DailyRun.objects.filter(pk=run.pk).update(day=TODAY() - timedelta(days=1))
    assert erase_expired_cases() == {"cases": 1, "clients": 1, "failed": 0}


def test_the_client_goes_when_the_last_case_expires(org, media):
    first = closed_case(org, days=-5)
    second = make_case(organisation=org)
    Case.objects.filter(pk=second.pk).update(client=first.client)
    retention.cases_erase_expired()
    assert Client.objects.get(pk=first.client_id).pseudonym != retention.ERASED_PSEUDONYM

    Case.objects.filter(pk=second.pk).update(
        status=Case.Status.CLOSED, retention_until=TODAY() - timedelta(days=1)
    )
    assert retention.cases_erase_expired() == {"cases": 1, "clients": 1, "failed": 0}
    assert Client.objects.get(pk=first.client_id).pseudonym == retention.ERASED_PSEUDONYM


# Erasure on request --------------------------------------------------------------------------


def test_erasure_leaves_no_marker_in_the_database_or_the_storage(
    marked, superadmin, media, django_capture_on_commit_callbacks
):
    client, case, letter = marked["client"], marked["case"], marked["letter"]
    old_reference = case.reference
    before = dump_database()
    # The dump sees what is stored in clear; the rest is encrypted.
    assert PSEUDONYM in before and LANGUAGES in before and old_reference in before
    assert all(marker in decrypted_values() for marker in (LATIN, CYRILLIC, ORIENTATION))
    files_before = stored_files(media)
    assert len(files_before) == 2  # the document and the letter's PDF

    with django_capture_on_commit_callbacks(execute=True):
        retention.client_erase(client=client, by=superadmin, reason="request")

    after = dump_database()
    for marker in [*MARKERS, old_reference]:
        assert marker not in after, marker
    decrypted = decrypted_values()
    for marker in MARKERS:
        assert marker not in decrypted, marker

    # The files are gone from the storage folder.
    assert stored_files(media) == []

    # Rows of the person are deleted; the rows the register needs are emptied.
    for model in (ClientName, ContactChannel, Relative):
        assert not model.objects.filter(client=client).exists(), model
    for model in (Note, Event, Document, Consent, CaseLogEntry):
        assert not model.objects.filter(case=case).exists(), model
    assert not case.assignments.exists() and not case.shares.exists()
    assert not Letter.objects.filter(pk=marked["draft"].pk).exists()
    assert set(raw_columns("casework_client", encrypted_columns(Client), client.pk)) <= {"", None}
    assert set(raw_columns("casework_case", encrypted_columns(Case), case.pk)) <= {"", None}
    assert set(raw_columns("letters_letter", encrypted_columns(Letter), letter.pk)) == {""}

    client.refresh_from_db()
    assert client.pseudonym == "—" and client.name_index == "" and client.birth_date is None
    assert list(client.citizenships) == [] and client.languages == ""
    case.refresh_from_db()
    assert case.reference.startswith("X-") and case.reference != old_reference
    assert case.erased_at and case.status == Case.Status.CLOSED
    assert case.summary == "" and not case.grounds.exists()
    letter.refresh_from_db()
    assert letter.number and letter.sequence and letter.issued_at and letter.register_id
    assert letter.authority.code == "ofpra" and letter.status == Letter.Status.ISSUED
    assert letter.body == "" and letter.subject == "" and letter.signer_name == ""
    assert not letter.pdf and letter.pdf_sha256 == hashlib.sha256(LETTER_PDF).hexdigest()

    erase = AccessEvent.objects.get(action=AccessEvent.Action.ERASE)
    assert (erase.object_type, erase.object_id, erase.user) == (
        "client",
        str(client.pk),
        superadmin,
    )

    # Again: nothing changes, nothing breaks.
    with django_capture_on_commit_callbacks(execute=True):
        retention.client_erase(client=client, by=superadmin, reason="request")
    case.refresh_from_db()
    assert case.erased_at


def test_a_rollback_keeps_the_files(marked, superadmin, media, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the log is down")

    monkeypatch.setattr(retention.audit, "record", broken)
    with pytest.raises(RuntimeError):
        retention.client_erase(client=marked["client"], by=superadmin, reason="request")
    assert len(stored_files(media)) == 2
    assert ClientName.objects.filter(client=marked["client"]).exists()


def test_register_and_verification_still_answer_after_erasure(
    client, marked, coordinator, superadmin, django_capture_on_commit_callbacks
):
    letter, old_reference = marked["letter"], marked["case"].reference
    with django_capture_on_commit_callbacks(execute=True):
        retention.client_erase(client=marked["client"], by=superadmin, reason="request")
    letter.refresh_from_db()

    login(client, coordinator)
    page = client.get(reverse("letters:register")).text
    assert letter.number in page
    assert letter.authority.short_name in page
    assert date_format(timezone.localdate(letter.issued_at), "SHORT_DATE_FORMAT") in page
    for marker in [*MARKERS, old_reference, "Rustam"]:
        assert marker not in page, marker
    csv_text = client.get(reverse("letters:register") + "?format=csv").content.decode()
    assert letter.number in csv_text and old_reference not in csv_text

    client.logout()
    url = reverse("verify", args=[letter.verification_token])
    response = client.get(url)
    assert response.status_code == 200
    assert letter.number in response.text and "VALID" in response.text
    for marker in [*MARKERS, old_reference]:
        assert marker not in response.text
    # A PDF an authority already holds can still be checked against the register.
    response = client.post(url, {"pdf": SimpleUploadedFile("l.pdf", LETTER_PDF)})
    assert "Identical" in response.text


def test_case_erase_keeps_the_client_while_another_case_is_open(
    marked, org, superadmin, django_capture_on_commit_callbacks
):
    other = make_case(organisation=org)
    Case.objects.filter(pk=other.pk).update(client=marked["client"])
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.case_erase(case=marked["case"], by=superadmin) is False
    marked["case"].refresh_from_db()
    assert marked["case"].erased_at
    assert ClientName.objects.filter(client=marked["client"]).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.case_erase(case=other, by=superadmin) is True
    assert not ClientName.objects.filter(client=marked["client"]).exists()


# Export --------------------------------------------------------------------------------------


def test_export_holds_every_field_and_the_decrypted_files(marked):
    archive = zipfile.ZipFile(io.BytesIO(export.client_export(client=marked["client"])))
    data = json.loads(archive.read("client.json"))
    assert data["client"]["pseudonym"] == PSEUDONYM
    assert data["client"]["orientation"] == ORIENTATION
    assert data["client"]["birth_date"] == "1990-05-17"
    assert data["client"]["citizenships"] == ["RU"]
    assert {n["family_name"] for n in data["names"]} == {LATIN, CYRILLIC}
    assert data["contacts"][0]["value"].endswith(LATIN)
    assert data["relatives"][0]["full_name"].startswith(CYRILLIC)
    (case,) = data["cases"]
    assert case["reference"] == marked["case"].reference
    assert case["summary"] == "Summary of " + LATIN
    assert [note["body"] for note in case["notes"]] == [NOTE]
    assert case["events"][0]["title"] == "Interview of " + LATIN
    assert {c["purpose"] for c in case["consents"]} == {"casework", "letters", "sharing"}
    (document,) = case["documents"]
    assert archive.read(document["file"]) == DOCUMENT
    assert document["original_name"] == f"{LATIN}.pdf"
    issued = next(x for x in case["letters"] if x["number"])
    assert issued["number"] == marked["letter"].number
    assert LATIN in issued["body"] and issued["authority"]
    assert archive.read(issued["pdf"]) == LETTER_PDF
    # Staff are not part of the person's data.
    assert "caseworker" not in archive.read("client.json").decode()


# Admin actions -------------------------------------------------------------------------------


def changelist():
    return reverse("admin:casework_client_changelist")


def test_administrator_exports_a_client_from_the_admin(client, marked, superadmin):
    login(client, superadmin)
    response = client.post(
        changelist(), {"action": "export_everything", "_selected_action": [marked["client"].pk]}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment")
    assert PSEUDONYM not in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert CYRILLIC in archive.read("client.json").decode()
    export = AccessEvent.objects.get(action=AccessEvent.Action.EXPORT)
    assert (export.object_type, export.object_id) == ("client", str(marked["client"].pk))


def test_administrator_erases_a_client_after_confirming(
    client, marked, superadmin, django_capture_on_commit_callbacks
):
    login(client, superadmin)
    selected = {"action": "erase_on_request", "_selected_action": [marked["client"].pk]}
    response = client.post(changelist(), selected)
    assert response.status_code == 200
    assert "Erase for good" in response.text and marked["case"].reference in response.text
    assert ClientName.objects.filter(client=marked["client"]).exists()

    # Without the confirmation box, still nothing.
    response = client.post(changelist(), {**selected, "post": "yes", "reason": "request"})
    assert response.status_code == 200
    assert ClientName.objects.filter(client=marked["client"]).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            changelist(), {**selected, "post": "yes", "reason": "request", "confirm": "on"}
        )
    assert response.status_code == 302
    assert not ClientName.objects.filter(client=marked["client"]).exists()
    erase = AccessEvent.objects.get(action=AccessEvent.Action.ERASE)
    assert erase.path_name == "admin:casework_client_changelist"


def test_only_administrators_get_the_actions(client, marked, org, coordinator, superadmin):
    # A coordinator is not staff: the admin is closed to them.
    login(client, coordinator)
    response = client.post(
        changelist(), {"action": "export_everything", "_selected_action": [marked["client"].pk]}
    )
    assert response.status_code == 302
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.EXPORT).exists()

    # Even a coordinator made staff and superuser by mistake does not get them.
    staff_coordinator = make_user(
        organisation=org,
        role=Role.COORDINATOR,
        username="staffcoord",
        is_staff=True,
        is_superuser=True,
    )
    model_admin = ClientAdmin(Client, admin.site)
    request = RequestFactory().get(changelist())
    request.user = staff_coordinator
    assert not {"erase_on_request", "export_everything"} & set(model_admin.get_actions(request))
    request.user = superadmin
    assert {"erase_on_request", "export_everything"} <= set(model_admin.get_actions(request))

    login(client, staff_coordinator)
    client.post(
        changelist(),
        {
            "action": "erase_on_request",
            "_selected_action": [marked["client"].pk],
            "post": "yes",
            "reason": "request",
            "confirm": "on",
        },
    )
    assert ClientName.objects.filter(client=marked["client"]).exists()
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.ERASE).exists()


def test_admin_history_of_the_client_is_erased(marked, superadmin, media):
    content_type = ContentType.objects.get_for_model(Client)
    assert LogEntry.objects.filter(content_type=content_type).exists()
    retention.client_erase(client=marked["client"], by=superadmin, reason="request")
    assert not LogEntry.objects.filter(content_type=content_type).exists()


def test_admin_history_of_every_erased_row_goes(client, marked, superadmin, media):
    client.force_login(superadmin)
    admin_edits(client, case=marked["case"], by=superadmin, marker="Q7ERASED")
    document = ContentType.objects.get_for_model(Document)
    assert LogEntry.objects.exclude(content_type=document).count() == 4  # client, case, event

    retention.client_erase(client=marked["client"], by=superadmin, reason="request")

    assert not LogEntry.objects.exclude(content_type=document).exists()
    # The document deleted in the admin is no longer tied to the case: its entries hold its id.
    assert {e.object_repr for e in LogEntry.objects.all()} == {
        f"Document #{marked['document'].pk} (Evidence)"
    }
