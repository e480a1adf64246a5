"""Importing decisions, arrivals and procedures from the sheet: the events are recorded through
services.event_add, so the deadline rules compute their deadlines exactly as for a decision
entered by hand; the procedure gives the case its checklist; bad dates and unknown outcomes are
reported per row; the import runs in the worker, all or nothing, and the coordinators of the
organisation follow its progress."""

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse

from casework import services
from casework.importing import plan_import, recognise
from casework.models import (
    AccessEvent,
    Case,
    CaseProcedure,
    Client,
    Event,
    Membership,
    SpreadsheetImport,
)
from casework.tasks import import_spreadsheet
from core.spreadsheets import read_sheet
from tests.factories import make_user

LIMITS = {"max_rows": 5000, "max_unzipped_bytes": 50_000_000}
HEADERS = "ФИО;Дата рождения;Страна назначения;Орган;Процедура;Дата прибытия;Дата решения;Решение"


def sheet_bytes(*rows: str) -> bytes:
    return "\r\n".join([HEADERS, *rows, ""]).encode("utf-8")


def plan_for(org, user, *rows: str):
    sheet = read_sheet(sheet_bytes(*rows), **LIMITS)
    return plan_import(sheet, recognise(sheet.headers), organisation=org, user=user)


def imported(client, data: bytes, capture, **options) -> SpreadsheetImport:
    """Upload, confirm the recognised columns, start the import; the worker's task runs on
    commit (eagerly in the tests)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("casework:import_upload"), {"upload": SimpleUploadedFile("clients.csv", data)}
    )
    assert response.status_code == 302, response.content.decode()[-1500:]
    sheet_import = SpreadsheetImport.objects.latest("pk")
    headers = HEADERS.split(";")
    mapping = recognise(headers)
    client.post(
        reverse("casework:import_mapping", args=[sheet_import.pk]),
        {f"column_{i}": mapping.get(i, "") for i in range(len(headers))},
    )
    with capture(execute=True):
        response = client.post(reverse("casework:import_preview", args=[sheet_import.pk]), options)
    assert response.status_code == 302, response.content.decode()[-1500:]
    sheet_import.refresh_from_db()
    return sheet_import


# --- what the preview says ----------------------------------------------------------------------


def test_the_decision_and_arrival_columns_are_recognised_in_both_languages():
    mapping = recognise(
        ["ФИО", "Дата решения", "Решение", "Дата въезда", "Процедура", "Decision date", "Arrival"]
    )
    assert mapping == {
        0: "full_name",
        1: "decision_date",
        2: "decision_outcome",
        3: "arrival_date",
        4: "procedure",
    }
    assert recognise(["Name", "Date of decision", "Outcome", "Date of arrival"]) == {
        0: "full_name",
        1: "decision_date",
        2: "decision_outcome",
        3: "arrival_date",
    }


@pytest.mark.parametrize(
    "outcome, expected, rule",
    [
        ("отказ", "refused", "Action at the Verwaltungsgericht"),
        ("Rejected", "refused", "Action at the Verwaltungsgericht"),
        (
            "явно необоснованно",
            "manifestly_unfounded",
            "Action at the Verwaltungsgericht (manifestly unfounded)",
        ),
        (
            "Refused as manifestly unfounded",
            "manifestly_unfounded",
            "Action at the Verwaltungsgericht (manifestly unfounded)",
        ),
        ("одобрено", "granted", None),
        ("Granted", "granted", None),
        ("", "", "Action at the Verwaltungsgericht"),
    ],
)
def test_each_outcome_maps_to_the_event_outcome_and_its_rule(
    org, coordinator, outcome, expected, rule
):
    plan = plan_for(
        org, coordinator, f"Тестов Пётр;01.02.1990;Германия;BAMF;;;02.11.2026;{outcome}"
    )
    [row] = plan.rows
    assert row.errors == []
    [event] = row.events
    assert (event.kind, event.date, event.outcome) == ("decision", date(2026, 11, 2), expected)
    assert (event.rule.name if event.rule else None) == rule
    [line] = row.creates
    if rule is None:
        assert line.endswith("no deadline rule applies")
    else:
        assert "→ deadline computed: " + rule in line


def test_preview_says_what_each_row_creates_with_the_computed_deadline(org, coordinator):
    plan = plan_for(
        org,
        coordinator,
        "Тестова Анна;01.02.1990;Франция;OFPRA;OFPRA;;14.10.2026;отказ",
        "Тестов Иван;01.02.1991;США;USCIS;I-589;15.03.2026;;",
    )
    first, second = plan.rows
    assert first.creates == [
        "decision (refused) 14 October 2026 → deadline computed: CNDA appeal by 16 November "
        "2026 (already passed)",
        "checklist: OFPRA asylum claim",
    ]
    assert second.creates[0] == (
        "arrival 15 March 2026 → deadline computed: One-year asylum filing deadline by 15 "
        "March 2027"
    )
    assert second.creates[1] == "checklist: USCIS Form I-589 filing"


@pytest.mark.parametrize(
    "cells, message",
    [
        (";;32.10.2026;отказ", "Decision date “32.10.2026” is not a date"),
        (";;2026-13-01;", "Decision date “2026-13-01” is not a date"),
        (";1.1.1900;;", "Arrival date 01.01.1900 is not between 01.01.1990"),
        (";;;отказ", "The decision has no date"),
        (";;01.11.2026;ждём", "Decision “ждём” is not one Pristan knows"),
        ("Dublin;;;", "Unknown procedure “Dublin”."),
        ("OFPRA / BAMF;;;", "“OFPRA / BAMF” could be several procedures"),
    ],
)
def test_bad_dates_unknown_outcomes_and_procedures_are_reported(org, coordinator, cells, message):
    plan = plan_for(org, coordinator, f"Тестов Пётр;01.02.1990;Германия;BAMF;{cells}")
    [row] = plan.rows
    assert row.status == "error"
    assert any(error.startswith(message) for error in row.errors), row.errors


def test_a_decision_date_in_the_future_is_refused(org, coordinator):
    tomorrow = date.today() + timedelta(days=2)
    plan = plan_for(
        org, coordinator, f"Тестов Пётр;01.02.1990;Германия;BAMF;;;{tomorrow:%d.%m.%Y};отказ"
    )
    assert "is not between" in plan.rows[0].errors[0]


# --- the import, in the worker ------------------------------------------------------------------


def test_imported_decision_gets_the_same_deadline_as_one_entered_by_hand(
    client, org, coordinator, private_media, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    sheet_import = imported(
        client,
        sheet_bytes(
            "Тестов Пётр;01.02.1990;Германия;BAMF;BAMF;;02.11.2026;offensichtlich unbegründet",
            "Тестова Анна;01.02.1991;США;USCIS;I-589;15.03.2026;;",
            "Тестов Иван;01.02.1992;Франция;OFPRA;;;01.09.2026;одобрено",
        ),
        django_capture_on_commit_callbacks,
    )
    assert sheet_import.status == SpreadsheetImport.Status.IMPORTED
    assert (sheet_import.created_count, sheet_import.deadline_count) == (3, 2)
    bamf, uscis, ofpra = Case.objects.order_by("pk")

    decision = bamf.events.get(kind="decision")
    assert decision.outcome == "manifestly_unfounded"
    [deadline] = decision.computed.all()
    # The same decision entered by hand on another case gets the same deadline, explained alike.
    by_hand = services.event_add(
        case=uscis,
        event=Event(kind="decision", date=date(2026, 11, 2), outcome="manifestly_unfounded"),
        by=coordinator,
    )
    uscis.authority = bamf.authority
    uscis.save()
    services.event_update(event=by_hand, changed_fields=[], by=coordinator)
    [by_hand_deadline] = by_hand.computed.all()
    assert (deadline.date, deadline.title, deadline.rule_id, deadline.is_deadline) == (
        by_hand_deadline.date,
        by_hand_deadline.title,
        by_hand_deadline.rule_id,
        True,
    )
    assert deadline.date == date(2026, 11, 9)
    assert bamf.log_entries.filter(detail="Appeal deadline: computed").exists()

    arrival = uscis.events.get(kind="arrival", source=None)
    assert arrival.computed.get().date == date(2027, 3, 15)
    assert [p.procedure.name for p in uscis.procedures.all()] == ["USCIS Form I-589 filing"]
    # A granted decision has no deadline; no procedure column value, no checklist.
    assert ofpra.events.get().outcome == "granted"
    assert not Event.objects.filter(case=ofpra, source__isnull=False).exists()
    assert not ofpra.procedures.exists()


def test_all_or_nothing_when_an_event_fails_at_write_time(
    client, org, coordinator, private_media, monkeypatch, django_capture_on_commit_callbacks
):
    real_event_add = services.event_add
    calls = []

    def failing_event_add(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_event_add(**kwargs)

    monkeypatch.setattr(services, "event_add", failing_event_add)
    client.force_login(coordinator)
    sheet_import = imported(
        client,
        sheet_bytes(
            "Тестов Пётр;01.02.1990;Германия;BAMF;BAMF;;02.11.2026;отказ",
            "Тестова Анна;01.02.1991;Германия;BAMF;BAMF;;03.11.2026;отказ",
        ),
        django_capture_on_commit_callbacks,
    )
    assert len(calls) == 2
    assert sheet_import.status == SpreadsheetImport.Status.UPLOADED
    assert "RuntimeError" in sheet_import.error
    assert Client.objects.count() == 0 and Case.objects.count() == 0
    assert Event.objects.count() == 0 and CaseProcedure.objects.count() == 0
    assert sheet_import.file  # kept for another try
    assert not AccessEvent.objects.filter(object_type="case").exists()


def test_rows_with_errors_are_not_queued_without_the_users_say(
    client, org, coordinator, private_media, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.post(
        reverse("casework:import_upload"),
        {"upload": SimpleUploadedFile("c.csv", sheet_bytes("Тестов;01.02.1990;;;;;32.1.2026;"))},
    )
    sheet_import = SpreadsheetImport.objects.get()
    headers = HEADERS.split(";")
    mapping = recognise(headers)
    client.post(
        reverse("casework:import_mapping", args=[sheet_import.pk]),
        {f"column_{i}": mapping.get(i, "") for i in range(len(headers))},
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("casework:import_preview", args=[sheet_import.pk]), {})
    assert response.status_code == 200
    assert "1 rows have errors" in response.content.decode()
    assert callbacks == []
    sheet_import.refresh_from_db()
    assert sheet_import.status == SpreadsheetImport.Status.UPLOADED


def test_the_task_runs_a_queued_import_once(
    client, org, coordinator, private_media, django_capture_on_commit_callbacks, monkeypatch
):
    reported = []
    monkeypatch.setattr(
        services, "_report_progress", lambda pk, phase, done, total: reported.append(phase)
    )
    client.force_login(coordinator)
    sheet_import = imported(
        client,
        sheet_bytes("Тестов Пётр;01.02.1990;Германия;BAMF;;;02.11.2026;отказ"),
        django_capture_on_commit_callbacks,
    )
    assert sheet_import.status == SpreadsheetImport.Status.IMPORTED
    assert reported == ["checking", "saving", "saving"]  # announced, then done
    # Sent again (a redelivery): nothing to do, nothing created twice.
    assert import_spreadsheet.delay(sheet_import.pk).get() is None
    assert Case.objects.count() == 1
    # The access log has the import and its case, under the coordinator who started it.
    created = AccessEvent.objects.filter(user=coordinator, action="create")
    assert created.filter(object_type="case").count() == 1
    assert created.filter(object_type="spreadsheetimport").count() == 2  # upload, import


def test_an_upload_not_started_is_not_run_by_the_task(client, org, coordinator, private_media):
    sheet_import = services.spreadsheet_import_upload(
        organisation=org, data=sheet_bytes("Тестов;01.02.1990;;;;;;"), file_format="csv",
        row_count=1, by=coordinator,
    )  # fmt: skip
    assert import_spreadsheet.delay(sheet_import.pk).get() is None
    sheet_import.refresh_from_db()
    assert sheet_import.status == SpreadsheetImport.Status.UPLOADED


# --- following the import: who may --------------------------------------------------------------


@pytest.fixture
def queued_import(org, coordinator, private_media):
    """An import its coordinator has started and the worker has not taken yet."""
    sheet_import = services.spreadsheet_import_upload(
        organisation=org, data=sheet_bytes("Тестов;01.02.1990;;;;;;"), file_format="csv",
        row_count=1, by=coordinator,
    )  # fmt: skip
    SpreadsheetImport.objects.filter(pk=sheet_import.pk).update(
        status=SpreadsheetImport.Status.QUEUED, started_by=coordinator
    )
    return sheet_import


@pytest.mark.parametrize(
    "persona, status",
    [
        ("coordinator", 200),  # who started it
        ("other_coordinator", 200),  # another importer of the same organisation
        ("administrator", 200),
        ("caseworker", 403),
        ("volunteer", 403),
        ("lawyer", 403),
        ("outsider", 404),
    ],
)
def test_progress_is_followed_only_by_the_organisations_importers(
    client, personas, org, queued_import, persona, status
):
    personas = {
        **personas,
        "other_coordinator": make_user(
            organisation=org, role=Membership.Role.COORDINATOR, username="coordinator2"
        ),
    }
    client.force_login(personas[persona])
    url = reverse("casework:import_progress", args=[queued_import.pk])
    assert client.get(url).status_code == status
    assert client.get(url, headers={"HX-Request": "true"}).status_code == status


def test_progress_polls_until_done_and_shows_the_counts(client, coordinator, queued_import):
    client.force_login(coordinator)
    url = reverse("casework:import_progress", args=[queued_import.pk])
    page = client.get(url).content.decode()
    assert "Waiting for the worker to start the import" in page
    assert 'hx-trigger="every 2s"' in page and '"Pristan-Poll": "1"' in page

    cache.set(
        services.import_progress_key(queued_import.pk),
        {"phase": "saving", "done": 50, "total": 120},
    )
    SpreadsheetImport.objects.filter(pk=queued_import.pk).update(status="running")
    logged = AccessEvent.objects.count()
    poll = client.get(url, headers={"HX-Request": "true", "Pristan-Poll": "1"}).content.decode()
    assert poll.lstrip().startswith('<section id="import-status"')
    assert "Saving the clients and their cases: 50 of 120" in poll
    assert AccessEvent.objects.count() == logged  # counts only: the poll is not logged
    cache.delete(services.import_progress_key(queued_import.pk))


def test_a_failed_import_says_why_and_leads_back_to_the_preview(client, coordinator, queued_import):
    SpreadsheetImport.objects.filter(pk=queued_import.pk).update(
        status="uploaded", error="No row is left to import."
    )
    client.force_login(coordinator)
    page = client.get(reverse("casework:import_progress", args=[queued_import.pk])).content
    text = page.decode()
    assert "No row is left to import." in text
    assert reverse("casework:import_preview", args=[queued_import.pk]) in text
    assert "every 2s" not in text


# --- the error report after the import ----------------------------------------------------------


def test_rows_left_out_are_downloadable_after_the_import_then_deleted(
    client, org, coordinator, settings, tmp_path, django_capture_on_commit_callbacks
):
    """The sheet is deleted by the import; the rows it left out stay downloadable as the error
    report, stored encrypted, until the cleanup deletes them with the stale uploads."""
    from django.utils import timezone

    from casework.tasks import delete_stale_imports
    from core import crypto

    root = tmp_path / "private"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.storage.EncryptedFileSystemStorage",
            "OPTIONS": {"location": root, "base_url": None},
        },
    }
    client.force_login(coordinator)
    sheet_import = imported(
        client,
        sheet_bytes(
            "Тестов Пётр;01.02.1990;Германия;BAMF;;;02.11.2026;отказ",
            "Тестова Анна;01.02.1991;Германия;BAMF;;;31.11.2026;отказ",
        ),
        django_capture_on_commit_callbacks,
        skip_errors="on",
    )
    assert sheet_import.status == SpreadsheetImport.Status.IMPORTED
    assert not sheet_import.file and sheet_import.report
    [stored] = [p for p in root.rglob("*") if p.is_file()]
    blob = stored.read_bytes()
    assert blob.startswith(crypto.FILE_MAGIC) and "Тестова".encode() not in blob

    page = client.get(reverse("casework:import_progress", args=[sheet_import.pk])).content
    url = reverse("casework:import_errors_csv", args=[sheet_import.pk])
    assert url in page.decode()
    response = client.get(url)
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith("3;Тестова Анна;")
    assert "Decision date “31.11.2026” is not a date" in lines[1]
    assert AccessEvent.objects.filter(action="export", object_type="spreadsheetimport").exists()
    # Another organisation's coordinator gets the 404 of a report that does not exist.
    client.force_login(make_user(organisation=make_organisation_other(), role="coordinator"))
    assert client.get(url).status_code == 404

    SpreadsheetImport.objects.filter(pk=sheet_import.pk).update(
        imported_at=timezone.now() - timedelta(hours=settings.PRISTAN_IMPORT_KEEP_HOURS + 1)
    )
    delete_stale_imports.delay().get()
    assert [p for p in root.rglob("*") if p.is_file()] == []
    sheet_import.refresh_from_db()
    assert not sheet_import.report
    client.force_login(coordinator)
    assert client.get(url).status_code == 404


def make_organisation_other():
    from tests.factories import make_organisation

    return make_organisation(name="Another Committee", letters=False)
