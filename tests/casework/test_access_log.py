"""The access log: one entry per request that touches client data, with the right action, user
and object, never any content; denials logged without changing the answer; the auditors' page;
a table the database itself keeps append-only; a hash chain that shows tampering."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from casework import audit, services
from casework.models import AccessEvent, Consent, Document
from letters import services as letter_services
from letters.models import Batch, DownloadLogEntry, Letter, LetterTemplate
from tests.factories import make_user
from tests.helpers import (
    MISSING_REFERENCE,
    PDF,
    TEMPLATE_BODY,
    edit_data,
    get_authority,
    store_stub_pdf,
)

Action = AccessEvent.Action
SEARCH_MARKER = "Qwyzmarker"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def document(case, caseworker, private_media):
    return services.document_upload(
        case=case,
        upload=SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf"),
        kind=Document.Kind.PASSPORT,
        title="Passport scan",
        content_type="application/pdf",
        by=caseworker,
    )


@pytest.fixture
def approved_letter(case, caseworker, coordinator, private_media):
    if not case.consents.filter(purpose=Consent.Purpose.LETTERS, withdrawn_on=None).exists():
        Consent.objects.create(case=case, purpose=Consent.Purpose.LETTERS)
    template = LetterTemplate.objects.create(
        name="Support (test)",
        kind="support",
        language="fr",
        subject="Objet : dossier {{ case.reference }}",
        body=TEMPLATE_BODY,
    )
    letter = letter_services.letter_draft(
        case=case, template=template, authority=get_authority("ofpra"), by=caseworker
    )
    letter_services.letter_submit(letter=letter, by=caseworker)
    letter_services.letter_approve(letter=letter, by=coordinator, text_hash=letter.text_hash)
    letter.refresh_from_db()
    return letter


@pytest.fixture
def issued_letter(approved_letter, coordinator):
    """Issued, with a stub PDF stored as if rendered (rendering is not what is tested here)."""
    letter_services.letter_issue(letter=approved_letter, by=coordinator)
    approved_letter.refresh_from_db()
    return store_stub_pdf(approved_letter)


@pytest.fixture
def batch(org, issued_letter, coordinator):
    batch = Batch.objects.create(
        organisation=org,
        template=issued_letter.template_version.template,
        authority=issued_letter.authority,
        language="fr",
        case_ids=[issued_letter.case_id],
        created_by=coordinator,
        status=Batch.Status.FINISHED,
    )
    Letter.objects.filter(pk=issued_letter.pk).update(batch=batch)
    return batch


def new_entries(before: int) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(pk__gt=before).order_by("id"))


def last_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def log(user, action=Action.VIEW, **fields) -> AccessEvent:
    return audit.record(None, action, user=user, **fields)


# --- one entry per request, for every endpoint ------------------------------------------------

# name: (persona, method, url(world), data(world), action, object type, object id(world))
ENDPOINTS = {
    "case_detail": (
        "caseworker",
        "get",
        lambda w: reverse("casework:case_detail", args=[w["case"].reference]),
        None,
        Action.VIEW,
        "case",
        lambda w: w["case"].pk,
    ),
    "case_list": (
        "caseworker",
        "get",
        lambda w: reverse("casework:case_list"),
        None,
        Action.LIST,
        "case",
        None,
    ),
    "search": (
        "caseworker",
        "post",
        lambda w: reverse("casework:case_list"),
        lambda w: {"q": "Zuganshin"},
        Action.SEARCH,
        "case",
        None,
    ),
    "dashboard": (
        "caseworker",
        "get",
        lambda w: reverse("casework:dashboard"),
        None,
        Action.LIST,
        "case",
        None,
    ),
    "document_download": (
        "caseworker",
        "get",
        lambda w: reverse(
            "casework:document_download", args=[w["case"].reference, w["document"].pk]
        ),
        None,
        Action.DOWNLOAD,
        "document",
        lambda w: w["document"].pk,
    ),
    "case_edit": (
        "caseworker",
        "post",
        lambda w: reverse("casework:case_edit", args=[w["case"].reference]),
        lambda w: edit_data(w["case"], **{"case-summary": "Edited summary"}),
        Action.CHANGE,
        "case",
        lambda w: w["case"].pk,
    ),
    "note_add": (
        "caseworker",
        "post",
        lambda w: reverse("casework:note_add", args=[w["case"].reference]),
        lambda w: {"body": "Called back."},
        Action.CHANGE,
        "case",
        lambda w: w["case"].pk,
    ),
    "letter_detail": (
        "caseworker",
        "get",
        lambda w: reverse("letters:letter_detail", args=[w["letter"].pk]),
        None,
        Action.VIEW,
        "letter",
        lambda w: w["letter"].pk,
    ),
    "letter_preview": (
        "caseworker",
        "get",
        lambda w: reverse("letters:letter_preview", args=[w["letter"].pk]),
        None,
        Action.VIEW,
        "letter",
        lambda w: w["letter"].pk,
    ),
    "letter_download": (
        "caseworker",
        "get",
        lambda w: reverse("letters:letter_download", args=[w["letter"].pk]),
        None,
        Action.DOWNLOAD,
        "letter",
        lambda w: w["letter"].pk,
    ),
    "register": (
        "coordinator",
        "get",
        lambda w: reverse("letters:register"),
        None,
        Action.LIST,
        "letter",
        None,
    ),
    "register_csv": (
        "coordinator",
        "get",
        lambda w: reverse("letters:register") + "?format=csv",
        None,
        Action.EXPORT,
        "letter",
        None,
    ),
    "batch_zip": (
        "coordinator",
        "get",
        lambda w: reverse("letters:batch_zip", args=[w["batch"].pk]),
        None,
        Action.EXPORT,
        "batch",
        lambda w: w["batch"].pk,
    ),
    "batch_csv": (
        "coordinator",
        "get",
        lambda w: reverse("letters:batch_csv", args=[w["batch"].pk]),
        None,
        Action.EXPORT,
        "batch",
        lambda w: w["batch"].pk,
    ),
}


@pytest.fixture
def world(case, document, batch, issued_letter, personas):
    return {"case": case, "document": document, "letter": issued_letter, "batch": batch, **personas}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_each_endpoint_logs_exactly_one_entry(client, world, name):
    persona, method, url, data, action, object_type, object_id = ENDPOINTS[name]
    user = world[persona]
    client.force_login(user)
    before = last_id()

    response = getattr(client, method)(url(world), data(world) if data else None)
    if response.streaming:
        b"".join(response.streaming_content)

    assert response.status_code in (200, 302), response.status_code
    [entry] = new_entries(before)
    assert entry.action == action
    assert entry.user_id == user.pk
    assert entry.organisation_id == user.membership.organisation_id
    assert entry.object_type == object_type
    assert entry.object_id == (str(object_id(world)) if object_id else "")
    assert entry.ip == "127.0.0.1"
    assert entry.path_name == response.resolver_match.view_name
    if object_type in ("case", "document", "letter") and object_id:
        assert entry.case_id == world["case"].pk


def test_letter_issue_logs_one_issue_entry(client, approved_letter, coordinator):
    client.force_login(coordinator)
    before = last_id()

    response = client.post(reverse("letters:letter_issue", args=[approved_letter.pk]))

    assert response.status_code == 302
    approved_letter.refresh_from_db()
    assert approved_letter.status == Letter.Status.ISSUED
    [entry] = new_entries(before)
    assert (entry.action, entry.user_id, entry.object_type, entry.object_id, entry.case_id) == (
        Action.ISSUE,
        coordinator.pk,
        "letter",
        str(approved_letter.pk),
        approved_letter.case_id,
    )


def test_letter_download_keeps_its_download_log_too(client, issued_letter, caseworker):
    client.force_login(caseworker)
    client.get(reverse("letters:letter_download", args=[issued_letter.pk]))
    assert DownloadLogEntry.objects.filter(letter=issued_letter, user=caseworker).count() == 1


def test_a_search_entry_never_contains_what_was_searched(client, case, caseworker):
    client.force_login(caseworker)
    before = last_id()

    client.post(reverse("casework:case_list"), {"q": SEARCH_MARKER})

    [entry] = new_entries(before)
    assert entry.action == Action.SEARCH
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM casework_accessevent WHERE id = %s", [entry.pk])
        row = cursor.fetchone()
    assert not any(SEARCH_MARKER.lower() in str(value).lower() for value in row)


def test_who_looked_at_this_case_for_coordinators(client, case, caseworker, coordinator):
    client.force_login(caseworker)
    client.get(reverse("casework:case_detail", args=[case.reference]))
    client.force_login(coordinator)

    response = client.get(reverse("casework:case_detail", args=[case.reference]))

    entries = response.context["access_log"]
    assert [(e.user_id, e.action) for e in entries] == [
        (coordinator.pk, Action.VIEW),
        (caseworker.pk, Action.VIEW),
    ]
    assert "Who looked at this case" in response.text


def test_who_looked_at_this_case_is_not_for_caseworkers(client, case, caseworker):
    client.force_login(caseworker)
    response = client.get(reverse("casework:case_detail", args=[case.reference]))
    assert response.context["access_log"] is None
    assert "Who looked at this case" not in response.text


# --- denials ----------------------------------------------------------------------------------


def test_out_of_scope_case_is_the_same_404_and_one_denied_entry(client, case, colleague):
    client.force_login(colleague)
    before = last_id()

    hidden = client.get(reverse("casework:case_detail", args=[case.reference]))

    [entry] = new_entries(before)
    assert (entry.action, entry.user_id, entry.object_type, entry.object_id, entry.case_id) == (
        Action.DENIED,
        colleague.pk,
        "case",
        str(case.pk),
        case.pk,
    )
    missing = client.get(reverse("casework:case_detail", args=[MISSING_REFERENCE]))
    assert hidden.status_code == missing.status_code == 404
    assert _page(hidden).replace(case.reference, MISSING_REFERENCE) == _page(missing)


def _page(response) -> str:
    """The page without what differs on every response (CSP nonce, masked CSRF token)."""
    page = re.sub(r'nonce="[^"]*"', "", response.content.decode())
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", page)


def test_another_organisations_case_is_logged_like_a_missing_one(client, case, outsider):
    """The log is read by the prober's own organisation: it must not tell them which
    references exist elsewhere."""
    client.force_login(outsider)
    before = last_id()
    client.get(reverse("casework:case_detail", args=[case.reference]))
    client.get(reverse("casework:case_detail", args=[MISSING_REFERENCE]))

    hidden, missing = new_entries(before)
    for entry in (hidden, missing):
        assert (entry.action, entry.object_type, entry.object_id, entry.case_id) == (
            Action.DENIED,
            "case",
            "",
            None,
        )


def test_out_of_scope_letter_is_a_denied_entry(client, approved_letter, colleague):
    client.force_login(colleague)
    before = last_id()

    response = client.get(reverse("letters:letter_detail", args=[approved_letter.pk]))

    assert response.status_code == 404
    [entry] = new_entries(before)
    assert (entry.action, entry.object_type, entry.object_id, entry.case_id) == (
        Action.DENIED,
        "letter",
        str(approved_letter.pk),
        approved_letter.case_id,
    )


def test_403_is_a_denied_entry(client, case, lawyer):
    client.force_login(lawyer)
    before = last_id()

    response = client.post(reverse("casework:event_add", args=[case.reference]), {"title": "x"})

    assert response.status_code == 403
    [entry] = new_entries(before)
    assert (entry.action, entry.user_id, entry.object_type, entry.object_id, entry.case_id) == (
        Action.DENIED,
        lawyer.pk,
        "case",
        str(case.pk),
        case.pk,
    )
    assert not case.events.exists()


def test_403_without_an_object_is_a_denied_entry(client, caseworker):
    client.force_login(caseworker)
    before = last_id()
    assert client.get(reverse("casework:access_log")).status_code == 403
    [entry] = new_entries(before)
    assert (entry.action, entry.user_id, entry.path_name) == (
        Action.DENIED,
        caseworker.pk,
        "casework:access_log",
    )


# --- the auditors' page -----------------------------------------------------------------------

AUDIT = reverse("casework:access_log")
AUDIT_CSV = reverse("casework:access_log_csv")


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("auditor", 200),
        ("administrator", 200),
        ("caseworker", 403),
        ("volunteer", 403),
        ("coordinator", 403),
        ("lawyer", 403),
    ],
)
def test_audit_page_is_for_auditors_and_administrators(client, personas, persona, status):
    client.force_login(personas[persona])
    assert client.get(AUDIT).status_code == status
    assert client.get(AUDIT_CSV).status_code == status
    assert (reverse("casework:access_log") in client.get("/").text) == (status == 200)


def test_audit_page_needs_a_login(client, db):
    response = client.get(AUDIT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_audit_page_lists_newest_first_only_own_organisation(
    client, auditor, caseworker, case, outsider
):
    mine = audit.record(None, Action.VIEW, case, user=caseworker)
    foreign = log(outsider, Action.LIST, object_type="case")
    client.force_login(auditor)

    response = client.get(AUDIT)

    entries = list(response.context["page"].object_list)
    assert mine in entries and foreign not in entries
    assert [e.pk for e in entries] == sorted((e.pk for e in entries), reverse=True)
    assert case.reference in response.text  # the case column shows the reference
    assert "Viewed" in response.text  # the action's label
    # Ids and usernames only: nothing about the client.
    assert case.client.pseudonym not in response.text
    assert "Zuganshin" not in response.text


def test_audit_page_filters(client, auditor, caseworker, coordinator, case, other_case):
    a = audit.record(None, Action.VIEW, case, user=caseworker).pk
    b = audit.record(None, Action.DOWNLOAD, case, user=coordinator).pk
    c = log(coordinator, Action.LIST, object_type="case").pk
    d = audit.record(None, Action.VIEW, other_case, user=coordinator).pk
    e = log(caseworker, Action.VIEW, object_type="letter", object_id="7").pk
    everything = {a, b, c, d, e}
    client.force_login(auditor)

    def shown(**params) -> set[int]:
        response = client.get(AUDIT, params)
        assert response.status_code == 200
        # (Logging in may log an entry of its own: only these five are compared.)
        return {entry.pk for entry in response.context["page"].object_list} & everything

    assert shown() == everything
    assert shown(user="caseworker") == {a, e}
    assert shown(action="download") == {b}
    assert shown(object_type="letter") == {e}
    assert shown(case=case.reference) == {a, b}
    assert shown(case=other_case.reference, user="coordinator") == {d}
    assert shown(case="2099-0000") == set()
    today = timezone.localdate()
    assert shown(date_from=today.isoformat(), date_to=today.isoformat()) == everything
    assert shown(date_from=(today + timedelta(days=1)).isoformat()) == set()
    assert shown(date_to=(today - timedelta(days=1)).isoformat()) == set()
    # A user of another organisation is not a choice: the filter is invalid, nothing is shown.
    assert shown(user="outsider-nobody") == set()


def test_audit_page_paginates_by_100(client, auditor, caseworker):
    for _ in range(101):
        log(caseworker, Action.LIST, object_type="case")
    client.force_login(auditor)
    assert len(client.get(AUDIT).context["page"].object_list) == 100
    assert len(client.get(AUDIT, {"page": 2}).context["page"].object_list) >= 1


def test_audit_csv_export_is_filtered_and_logged(client, auditor, caseworker, case, outsider):
    viewed = audit.record(None, Action.VIEW, case, user=caseworker)
    log(caseworker, Action.LIST, object_type="case")
    log(outsider, Action.VIEW, object_type="case", object_id="1")
    client.force_login(auditor)
    before = last_id()

    response = client.get(AUDIT_CSV, {"user": "caseworker", "action": "view"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["id"], r["user"], r["action"], r["case"]) for r in rows] == [
        (str(viewed.pk), "caseworker", "view", case.reference)
    ]
    [entry] = new_entries(before)
    assert (entry.action, entry.user_id, entry.object_type) == (
        Action.EXPORT,
        auditor.pk,
        "access_log",
    )


def test_admin_access_log_is_read_only_and_scoped(client, org, caseworker, outsider):
    superadmin = make_user(
        organisation=org,
        role="administrator",
        username="superadmin",
        is_staff=True,
        is_superuser=True,
    )
    mine = log(caseworker, Action.LIST, object_type="case")
    foreign = log(outsider, Action.LIST, object_type="case")
    client.force_login(superadmin)
    url = reverse("admin:casework_accessevent_changelist")

    response = client.get(url)

    assert response.status_code == 200
    shown = {e.pk for e in response.context["cl"].result_list}
    assert mine.pk in shown and foreign.pk not in shown
    assert client.get(url, {"action__exact": "view"}).status_code == 200
    assert client.get(reverse("admin:casework_accessevent_add")).status_code == 403
    change_url = reverse("admin:casework_accessevent_change", args=[mine.pk])
    assert client.get(change_url).status_code == 200  # read-only view
    assert client.post(change_url, {"action": "erase"}).status_code == 403
    delete = client.post(
        reverse("admin:casework_accessevent_delete", args=[mine.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    foreign_url = reverse("admin:casework_accessevent_change", args=[foreign.pk])
    assert client.get(foreign_url).status_code == 302  # "does not exist"
    mine.refresh_from_db()
    assert mine.action == Action.LIST


# --- append-only, in the database itself ------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE casework_accessevent SET action = 'view' WHERE id = %s",
        "UPDATE casework_accessevent SET user_id = NULL WHERE id = %s",
        "DELETE FROM casework_accessevent WHERE id = %s",
    ],
)
def test_the_database_refuses_update_and_delete(caseworker, sql):
    entry = log(caseworker, Action.LIST, object_type="case")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.action == Action.LIST and entry.user_id == caseworker.pk
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.filter(pk=entry.pk).delete()
    assert AccessEvent.objects.filter(pk=entry.pk).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_truncate(caseworker):
    log(caseworker, Action.LIST, object_type="case")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE casework_accessevent")
    assert AccessEvent.objects.exists()


# The keyed, per-organisation chains and their anchors: tests/casework/test_access_log_chain.py.
