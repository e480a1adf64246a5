"""Referral of a case to a partner lawyer: the lifecycle (offered → accepted / declined → ended
or expired), what the lawyer reaches in each state, what the NGO sees of their work, and that
every step is in the case history and the access log."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from casework import referrals, services
from casework.defaults import load_defaults
from casework.models import (
    AccessEvent,
    Case,
    CaseLogEntry,
    CaseProcedure,
    ChecklistItem,
    Consent,
    DeadlineRule,
    Document,
    Event,
    Membership,
    Note,
    Procedure,
    Share,
)
from casework.tasks import expire_referrals
from tests.factories import make_event, make_note, make_share, make_user
from tests.helpers import PDF

Role = Membership.Role
Status = Share.Status
MESSAGE = "CNDA appeal, hearing in March: can you represent?"


def pdf_upload(name: str = "brief.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def _in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


@pytest.fixture
def consent(case):
    return Consent.objects.create(case=case, purpose=Consent.Purpose.SHARING)


@pytest.fixture
def counsel(org):
    """The partner lawyer the case is referred to in these tests (no referral yet)."""
    return make_user(organisation=org, role=Role.LAWYER, username="counsel")


@pytest.fixture
def offer(case, consent, counsel, coordinator):
    return referrals.referral_offer(
        case=case,
        lawyer=counsel,
        message=MESSAGE,
        ends_at=timezone.now() + timedelta(days=30),
        by=coordinator,
    )


def _history(case) -> list[str]:
    return list(
        case.log_entries.filter(action=CaseLogEntry.Action.REFERRAL)
        .order_by("at", "id")
        .values_list("detail", flat=True)
    )


def _logged(share, action=AccessEvent.Action.CHANGE) -> int:
    return AccessEvent.objects.filter(
        action=action, object_type="share", object_id=str(share.pk), case_id=share.case_id
    ).count()


# --- the lifecycle ------------------------------------------------------------------------------


def test_referral_lifecycle_through_the_pages(
    client, case, consent, counsel, coordinator, caseworker, private_media,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    detail = reverse("casework:case_detail", args=[case.reference])
    client.force_login(counsel)
    assert client.get(detail).status_code == 404

    # The coordinator refers the case.
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("casework:referral_create", args=[case.reference]),
            {"lawyer": counsel.pk, "message": MESSAGE, "expires_on": _in_days(20)},
        )
    assert response.status_code == 302
    share = Share.objects.get(case=case, lawyer=counsel)
    assert share.status == Status.OFFERED and share.message == MESSAGE
    assert timezone.localtime(share.expires_at).date() == timezone.localdate() + timedelta(20)
    [offer_mail] = mail.outbox
    assert offer_mail.to == [counsel.email] and case.reference in offer_mail.body
    assert MESSAGE not in offer_mail.body and "Zuganshin" not in offer_mail.body

    # Offered: the lawyer sees the offer, not the case.
    client.force_login(counsel)
    assert client.get(detail).status_code == 404
    page = client.get(reverse("casework:referral_list")).content.decode()
    assert case.reference in page and MESSAGE in page
    assert case.client.pseudonym not in page and "Zuganshin" not in page

    # Accepted: the case opens; the lawyer adds a note and a document.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("casework:referral_accept", args=[share.pk]))
    assert response["Location"] == detail
    assert mail.outbox[-1].to == [coordinator.email]
    page = client.get(detail)
    assert page.status_code == 200
    client.post(reverse("casework:note_add", args=[case.reference]), {"body": "Hearing prep."})
    client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {"kind": "evidence", "title": "Appeal brief", "upload": pdf_upload()},
    )
    note = Note.objects.get(case=case, author=counsel)
    document = Document.objects.get(case=case, uploaded_by=counsel)

    # The NGO sees the lawyer's additions, marked as theirs.
    client.force_login(caseworker)
    page = client.get(detail).content.decode()
    assert note.body in page and document.title in page
    assert page.count("Partner lawyer</span>") >= 2

    # The coordinator ends it: the lawyer's access ends with it.
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("casework:referral_end", args=[share.pk]), {"reason": "Hearing done."}
        )
    assert response.status_code == 302
    share.refresh_from_db()
    assert share.status == Status.ENDED and share.ended_by == coordinator
    assert share.reason == "Hearing done."
    assert mail.outbox[-1].to == [counsel.email]
    client.force_login(counsel)
    assert client.get(detail).status_code == 404
    download = reverse("casework:document_download", args=[case.reference, document.pk])
    assert client.get(download).status_code == 404

    # Every step is in the case history and the access log.
    assert _history(case) == ["counsel: offered", "counsel: accepted", "counsel: ended"]
    assert _logged(share) == 3


def test_lawyer_declines_with_a_reason_and_the_coordinator_is_told(
    client, offer, counsel, coordinator, django_capture_on_commit_callbacks
):
    client.force_login(counsel)
    assert client.get(reverse("casework:referral_decline", args=[offer.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("casework:referral_decline", args=[offer.pk]), {"reason": "Conflict."}
        )
    assert response["Location"] == reverse("casework:referral_list")
    offer.refresh_from_db()
    assert offer.status == Status.DECLINED and offer.reason == "Conflict."
    assert [m.to for m in mail.outbox] == [[coordinator.email]]
    assert _history(offer.case) == ["counsel: offered", "counsel: declined"]
    assert _logged(offer) == 2
    assert (
        client.get(reverse("casework:case_detail", args=[offer.case.reference])).status_code == 404
    )


def test_lawyer_ends_an_accepted_referral_themselves(client, offer, counsel, coordinator):
    referrals.referral_accept(share=offer, by=counsel)
    client.force_login(counsel)
    response = client.post(
        reverse("casework:referral_end", args=[offer.pk]), {"reason": "Moving abroad."}
    )
    assert response["Location"] == reverse("casework:referral_list")
    offer.refresh_from_db()
    assert offer.status == Status.ENDED and offer.ended_by == counsel


def test_ending_needs_a_reason_and_keeps_the_referral_open_without_one(
    client, offer, counsel, coordinator
):
    referrals.referral_accept(share=offer, by=counsel)
    client.force_login(coordinator)
    response = client.post(reverse("casework:referral_end", args=[offer.pk]), {"reason": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == Status.ACCEPTED


def test_refer_without_sharing_consent_says_so_and_saves_nothing(
    client, case, counsel, coordinator
):
    url = reverse("casework:referral_create", args=[case.reference])
    client.force_login(coordinator)
    assert "No consent to sharing." in client.get(url).content.decode()
    response = client.post(
        url, {"lawyer": counsel.pk, "message": MESSAGE, "expires_on": _in_days(10)}
    )
    assert response.status_code == 200
    assert "The client has not consented to sharing the file" in response.content.decode()
    assert not Share.objects.filter(lawyer=counsel).exists()
    assert _history(case) == []


def test_withdrawing_sharing_consent_ends_the_open_referrals(offer, counsel, coordinator, consent):
    referrals.referral_accept(share=offer, by=counsel)
    services.consent_withdraw(consent=consent, by=coordinator)
    offer.refresh_from_db()
    assert offer.status == Status.ENDED
    assert not Case.objects.visible_to(counsel).exists()


def test_a_second_open_referral_to_the_same_lawyer_is_refused(offer, counsel, coordinator):
    with pytest.raises(ValidationError, match="already has an open referral"):
        referrals.referral_offer(
            case=offer.case,
            lawyer=counsel,
            message="",
            ends_at=timezone.now() + timedelta(days=5),
            by=coordinator,
        )


def test_an_ended_referral_can_be_followed_by_a_new_one(offer, counsel, coordinator):
    referrals.referral_end(share=offer, reason="Withdrawn", by=coordinator)
    again = referrals.referral_offer(
        case=offer.case,
        lawyer=counsel,
        message="Again",
        ends_at=timezone.now() + timedelta(days=5),
        by=coordinator,
    )
    assert again.pk != offer.pk and again.status == Status.OFFERED


def test_a_referral_past_its_end_date_can_be_renewed(offer, counsel, coordinator):
    Share.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    again = referrals.referral_offer(
        case=offer.case,
        lawyer=counsel,
        message="Renewed",
        ends_at=timezone.now() + timedelta(days=5),
        by=coordinator,
    )
    offer.refresh_from_db()
    assert offer.status == Status.EXPIRED and again.status == Status.OFFERED


def test_accepting_twice_or_after_the_end_changes_nothing(client, offer, counsel, coordinator):
    client.force_login(counsel)
    client.post(reverse("casework:referral_accept", args=[offer.pk]))
    referrals.referral_end(share=offer, reason="Done", by=coordinator)

    response = client.post(reverse("casework:referral_accept", args=[offer.pk]), follow=True)

    assert "This referral is ended already; nothing was changed." in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == Status.ENDED


def test_only_the_lawyer_of_a_referral_can_accept_it(offer, lawyer):
    with pytest.raises(ValidationError):
        referrals.referral_accept(share=offer, by=lawyer)


def test_referring_to_a_caseworker_is_refused(case, consent, colleague, coordinator):
    with pytest.raises(ValidationError, match="partner lawyer of its organisation"):
        referrals.referral_offer(
            case=case,
            lawyer=colleague,
            message="",
            ends_at=timezone.now() + timedelta(days=5),
            by=coordinator,
        )


# --- the end date -------------------------------------------------------------------------------


def test_access_ends_at_the_end_date_and_the_hourly_job_marks_and_notifies(
    client, offer, counsel, coordinator, django_capture_on_commit_callbacks
):
    Share.objects.exclude(pk=offer.pk).delete()  # the case fixture's other lawyers
    referrals.referral_accept(share=offer, by=counsel)
    detail = reverse("casework:case_detail", args=[offer.case.reference])
    client.force_login(counsel)
    assert client.get(detail).status_code == 200

    Share.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(detail).status_code == 404  # before any job has run

    with django_capture_on_commit_callbacks(execute=True):
        assert expire_referrals() == 1
    assert expire_referrals() == 0
    offer.refresh_from_db()
    assert offer.status == Status.EXPIRED and offer.ended_at is not None
    assert sorted(m.to[0] for m in mail.outbox) == sorted([counsel.email, coordinator.email])
    assert _history(offer.case)[-1] == "counsel: expired at its end date"
    assert _logged(offer) == 3


def test_an_expired_offer_can_no_longer_be_accepted(client, offer, counsel):
    Share.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(counsel)
    client.post(reverse("casework:referral_accept", args=[offer.pk]))
    offer.refresh_from_db()
    assert offer.status == Status.OFFERED
    assert not Case.objects.visible_to(counsel).exists()


# --- the persona matrix -------------------------------------------------------------------------

LAWYER_STATES = ["before", "offered", "accepted", "declined", "ended", "past_end_date"]


@pytest.fixture
def referred(request, case, consent, counsel, coordinator):
    """`counsel` in one state of a referral of `case` (or none: "before")."""
    state = request.param
    if state == "before":
        return None
    if state == "past_end_date":
        return make_share(case=case, lawyer=counsel, days=-1, status=Status.ACCEPTED)
    return make_share(case=case, lawyer=counsel, status=state, created_by=coordinator)


@pytest.fixture
def checklist(case, caseworker):
    load_defaults(DeadlineRule, Procedure, ChecklistItem)
    procedure = Procedure.objects.get(organisation=None, name="CNDA appeal")
    return services.case_procedure_add(case=case, procedure=procedure, by=caseworker)


@pytest.fixture
def ngo_document(case, caseworker, private_media):
    return services.document_upload(
        case=case,
        upload=pdf_upload("decision.pdf"),
        kind=Document.Kind.AUTHORITY_DECISION,
        title="OFPRA decision",
        content_type="application/pdf",
        by=caseworker,
    )


def _case_requests(case, document, checklist: CaseProcedure):
    ref = case.reference
    return {
        "detail": ("get", reverse("casework:case_detail", args=[ref]), {}),
        "note": ("get", reverse("casework:note_add", args=[ref]), {}),
        "note_post": ("post", reverse("casework:note_add", args=[ref]), {"body": "Called."}),
        "upload_post": (
            "post",
            reverse("casework:document_upload", args=[ref]),
            {"kind": "evidence", "title": "Brief", "upload": pdf_upload()},
        ),
        "download": (
            "get",
            reverse("casework:document_download", args=[ref, document.pk]),
            {},
        ),
        "checklist": ("get", reverse("casework:checklist_edit", args=[ref, checklist.pk]), {}),
        "refer": ("get", reverse("casework:referral_create", args=[ref]), {}),
    }


CASE_ACTIONS = ["detail", "note", "note_post", "upload_post", "download", "checklist", "refer"]
NOTHING = dict.fromkeys(CASE_ACTIONS, 404)
STAFF_EXPECTED = {
    "caseworker": {
        "detail": 200,
        "note": 200,
        "note_post": 302,
        "upload_post": 302,
        "download": 200,
        "checklist": 200,
        "refer": 403,
    },
    "volunteer": {
        "detail": 200,
        "note": 200,
        "note_post": 302,
        "upload_post": 403,
        "download": 404,
        "checklist": 200,
        "refer": 403,
    },
    "coordinator": {
        "detail": 200,
        "note": 200,
        "note_post": 302,
        "upload_post": 302,
        "download": 200,
        "checklist": 200,
        "refer": 200,
    },
    "colleague": NOTHING,
    "outsider": NOTHING,
}
ACCEPTED_LAWYER = {
    "detail": 200,
    "note": 200,
    "note_post": 302,
    "upload_post": 302,
    "download": 200,
    "checklist": 403,
    "refer": 403,
}


def _call(client, method, url, data):
    return getattr(client, method)(url, data)


@pytest.mark.parametrize("action", CASE_ACTIONS)
@pytest.mark.parametrize("persona", list(STAFF_EXPECTED))
def test_case_urls_for_staff_personas(
    client, personas, case, consent, ngo_document, checklist, persona, action
):
    method, url, data = _case_requests(case, ngo_document, checklist)[action]
    client.force_login(personas[persona])
    assert _call(client, method, url, data).status_code == STAFF_EXPECTED[persona][action]


@pytest.mark.parametrize("action", CASE_ACTIONS)
@pytest.mark.parametrize("referred", LAWYER_STATES, indirect=True)
def test_case_urls_for_the_lawyer_before_during_and_after_the_referral(
    client, case, counsel, referred, ngo_document, checklist, action
):
    state = "before" if referred is None else referred.status
    if referred is not None and referred.expires_at < timezone.now():
        state = "past_end_date"
    method, url, data = _case_requests(case, ngo_document, checklist)[action]
    notes, documents = Note.objects.count(), Document.objects.count()
    client.force_login(counsel)

    response = _call(client, method, url, data)

    expected = ACCEPTED_LAWYER if state == "accepted" else NOTHING
    assert response.status_code == expected[action], state
    if response.status_code >= 400:
        assert (Note.objects.count(), Document.objects.count()) == (notes, documents)


@pytest.mark.parametrize("action", CASE_ACTIONS)
def test_another_lawyer_reaches_nothing_of_the_referred_case(
    client, case, consent, counsel, org, other_case, ngo_document, checklist, action
):
    make_share(case=case, lawyer=counsel)
    another = make_user(organisation=org, role=Role.LAWYER, username="another")
    make_share(case=other_case, lawyer=another)
    method, url, data = _case_requests(case, ngo_document, checklist)[action]
    client.force_login(another)
    assert _call(client, method, url, data).status_code == 404


def test_the_accepted_lawyer_sees_the_checklist_and_the_deadlines(client, case, counsel, checklist):
    make_share(case=case, lawyer=counsel)
    deadline = make_event(case=case, days=9, title="Appeal to the CNDA")
    client.force_login(counsel)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()
    assert "CNDA appeal" in page  # the procedure's checklist
    assert deadline.title in page
    assert reverse("casework:checklist_edit", args=[case.reference, checklist.pk]) not in page
    assert reverse("casework:event_add", args=[case.reference]) not in page
    assert reverse("casework:note_add", args=[case.reference]) in page


# Writes of the NGO's case file a lawyer must never make: each URL and what it would change.
def _ngo_writes(case, note, event, checklist):
    ref = case.reference
    return {
        "case_edit": (reverse("casework:case_edit", args=[ref]), {}),
        "status": (reverse("casework:case_status", args=[ref]), {"status": "active"}),
        "event_edit": (
            reverse("casework:event_edit", args=[ref, event.pk]),
            {"kind": "hearing", "title": "Changed", "date": _in_days(3)},
        ),
        "event_delete": (reverse("casework:event_delete", args=[ref, event.pk]), {}),
        "event_done": (reverse("casework:event_done", args=[ref, event.pk]), {}),
        "checklist": (reverse("casework:checklist_edit", args=[ref, checklist.pk]), {}),
        "procedure_remove": (
            reverse("casework:procedure_remove", args=[ref, checklist.pk]),
            {},
        ),
        "consent": (
            reverse("casework:case_consent", args=[ref]),
            {"purpose": "sharing", "action": "withdraw"},
        ),
        "statement": (
            reverse("casework:statement_edit", args=[ref, "fr"]),
            {"text": "Changed by the lawyer"},
        ),
        "assign": (reverse("casework:case_assign", args=[ref]), {"users": []}),
    }


@pytest.mark.parametrize(
    "write",
    [
        "case_edit",
        "status",
        "event_edit",
        "event_delete",
        "event_done",
        "checklist",
        "procedure_remove",
        "consent",
        "statement",
        "assign",
    ],
)
def test_the_accepted_lawyer_cannot_change_the_ngos_case_file(
    client, case, consent, counsel, caseworker, checklist, write
):
    make_share(case=case, lawyer=counsel)
    note = make_note(case=case, author=caseworker)
    event = make_event(case=case, days=4)
    url, data = _ngo_writes(case, note, event, checklist)[write]
    before = (
        Case.objects.filter(pk=case.pk).values_list("status", "updated_at").get(),
        list(Event.objects.filter(case=case).values_list("title", "done")),
        CaseProcedure.objects.filter(case=case).count(),
        Consent.objects.filter(case=case, withdrawn_on=None).count(),
        case.log_entries.count(),
    )
    client.force_login(counsel)

    assert client.post(url, data).status_code == 403

    after = (
        Case.objects.filter(pk=case.pk).values_list("status", "updated_at").get(),
        list(Event.objects.filter(case=case).values_list("title", "done")),
        CaseProcedure.objects.filter(case=case).count(),
        Consent.objects.filter(case=case, withdrawn_on=None).count(),
        case.log_entries.count(),
    )
    assert after == before


def test_notes_have_no_edit_or_delete_url_for_anyone(case, caseworker):
    """Notes are append-only in the app: no URL edits or deletes one, so a lawyer cannot
    change the NGO's notes (nor the NGO the lawyer's)."""
    from django.urls import get_resolver

    names = {n for n in get_resolver().reverse_dict if isinstance(n, str)}
    assert not {n for n in names if "note" in n} - {"note_add"}


# --- the referral pages -------------------------------------------------------------------------

REFERRAL_EXPECTED = {
    # persona: (accept an offer, its decline page, end page of an accepted one, the list)
    "counsel": (302, 200, 200, 200),
    "coordinator": (403, 403, 200, 200),
    "caseworker": (404, 404, 404, 403),
    "colleague": (404, 404, 404, 403),
    "volunteer": (404, 404, 404, 403),
    "outsider": (404, 404, 404, 200),
    "another_lawyer": (404, 404, 404, 200),
}


@pytest.fixture
def people(personas, org, counsel):
    another = make_user(organisation=org, role=Role.LAWYER, username="another")
    return {**personas, "counsel": counsel, "another_lawyer": another}


@pytest.mark.parametrize("persona", list(REFERRAL_EXPECTED))
def test_accept_persona_matrix(client, people, offer, persona):
    client.force_login(people[persona])
    response = client.post(reverse("casework:referral_accept", args=[offer.pk]))
    assert response.status_code == REFERRAL_EXPECTED[persona][0]
    offer.refresh_from_db()
    assert offer.status == (Status.ACCEPTED if persona == "counsel" else Status.OFFERED)


@pytest.mark.parametrize("persona", list(REFERRAL_EXPECTED))
def test_decline_persona_matrix(client, people, offer, persona):
    client.force_login(people[persona])
    url = reverse("casework:referral_decline", args=[offer.pk])
    assert client.get(url).status_code == REFERRAL_EXPECTED[persona][1]
    if persona != "counsel":
        assert client.post(url, {"reason": "x"}).status_code == REFERRAL_EXPECTED[persona][1]
    offer.refresh_from_db()
    assert offer.status == Status.OFFERED


@pytest.mark.parametrize("persona", list(REFERRAL_EXPECTED))
def test_end_persona_matrix(client, people, offer, counsel, persona):
    referrals.referral_accept(share=offer, by=counsel)
    client.force_login(people[persona])
    url = reverse("casework:referral_end", args=[offer.pk])
    expected = REFERRAL_EXPECTED[persona][2]
    assert client.get(url).status_code == expected
    response = client.post(url, {"reason": "Done."})
    assert response.status_code == (302 if expected == 200 else expected)
    offer.refresh_from_db()
    assert offer.status == (Status.ENDED if expected == 200 else Status.ACCEPTED)


@pytest.mark.parametrize("persona", list(REFERRAL_EXPECTED))
def test_referral_list_persona_matrix(client, people, offer, persona):
    client.force_login(people[persona])
    response = client.get(reverse("casework:referral_list"))
    assert response.status_code == REFERRAL_EXPECTED[persona][3]
    if response.status_code == 200:
        shown = offer.case.reference in response.content.decode()
        assert shown == (persona in ("counsel", "coordinator"))


@pytest.mark.parametrize("state", ["declined", "ended", "expired"])
def test_a_closed_referral_cannot_be_acted_on_again(client, case, counsel, coordinator, state):
    share = make_share(case=case, lawyer=counsel, status=state)
    client.force_login(counsel)
    client.post(reverse("casework:referral_accept", args=[share.pk]))
    client.post(reverse("casework:referral_end", args=[share.pk]), {"reason": "x"})
    share.refresh_from_db()
    assert share.status == state
    assert not Case.objects.visible_to(counsel).exists()


def test_an_out_of_scope_referral_answers_like_a_missing_one(client, offer, outsider):
    client.force_login(outsider)
    hidden = client.get(reverse("casework:referral_end", args=[offer.pk]))
    missing = client.get(reverse("casework:referral_end", args=[offer.pk + 1000]))
    assert hidden.status_code == missing.status_code == 404


def test_coordinator_ends_from_the_case_page(client, offer, counsel, coordinator):
    referrals.referral_accept(share=offer, by=counsel)
    client.force_login(coordinator)
    page = client.get(reverse("casework:case_detail", args=[offer.case.reference])).content
    assert reverse("casework:referral_end", args=[offer.pk]).encode() in page


def test_dashboard_tells_the_lawyer_of_an_offer(client, offer, counsel):
    client.force_login(counsel)
    page = client.get(reverse("casework:dashboard")).content.decode()
    assert "1 referral waits for your answer" in page


def test_referral_rows_keep_message_and_reason_encrypted(offer, counsel):
    from django.db import connection

    referrals.referral_decline(share=offer, reason="Conflict of interest", by=counsel)
    with connection.cursor() as cursor:
        cursor.execute("SELECT message, reason FROM casework_share WHERE id = %s", [offer.pk])
        message, reason = cursor.fetchone()
    assert MESSAGE not in message and "Conflict" not in reason


# --- the migration ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_shares_become_accepted_referrals(org, caseworker, lawyer, lawyer_expired):
    """Migrations 0015–0016: a running share keeps its access as an accepted referral, one that ran
    out is expired, and of two shares of one case with one lawyer the later-ending stays."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from tests.factories import make_case

    case = make_case(organisation=org, assignees=[caseworker])
    now = timezone.now()
    executor = MigrationExecutor(connection)
    executor.migrate([("casework", "0014_client_person_facts")])
    try:
        with connection.cursor() as cursor:
            for lawyer_id, days in ((lawyer.pk, 10), (lawyer.pk, 5), (lawyer_expired.pk, -1)):
                cursor.execute(
                    "INSERT INTO casework_share (case_id, lawyer_id, expires_at, created_at)"
                    " VALUES (%s, %s, %s, %s)",
                    [case.pk, lawyer_id, now + timedelta(days=days), now],
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

    shares = Share.objects.filter(case=case).order_by("lawyer_id", "-expires_at")
    assert [(s.lawyer_id, s.status) for s in shares] == [
        (lawyer.pk, Status.ACCEPTED),
        (lawyer.pk, Status.ENDED),
        (lawyer_expired.pk, Status.EXPIRED),
    ]
    assert len({s.crypto_id for s in shares}) == 3
    assert list(Case.objects.visible_to(lawyer)) == [case]
    assert not Case.objects.visible_to(lawyer_expired).exists()


def test_a_lawyer_sees_only_their_own_referral_in_the_team_panel(client, case, counsel):
    make_share(case=case, lawyer=counsel)
    client.force_login(counsel)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()
    team = page.split('id="team-h"')[1].split("</section>")[0]
    assert "counsel" in team and "lawyer2" not in team and ">lawyer<" not in team
    assert team.count("referral-row") == 1


def test_the_ngo_sees_every_open_referral_in_the_team_panel(client, case, counsel, caseworker):
    make_share(case=case, lawyer=counsel)
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()
    team = page.split('id="team-h"')[1].split("</section>")[0]
    assert team.count("referral-row") == 2  # counsel, and the case fixture's `lawyer`
