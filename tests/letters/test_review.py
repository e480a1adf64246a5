"""Review and batches (issue 11): the two-person rule bound to the text that is issued, the
review queue, batches of individually approved letters, and the second person's approval of a
template batch."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casework.models import AccessEvent, CaseLogEntry, Consent
from letters import services
from letters.models import LETTER_TEXT_FIELDS, Batch, Letter, Register, letter_text_hash
from tests.factories import make_case, make_user
from tests.helpers import approve, draft

REVIEW_QUEUE = reverse("letters:review_queue")
APPROVED = reverse("letters:approved_letters")
BATCH_APPROVED_NEW = reverse("letters:batch_approved_new")
HIDDEN_HASH = re.compile(r'name="text_hash" value="([0-9a-f]{64})"')


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def second_coordinator(org):
    return make_user(organisation=org, role="coordinator", username="second")


@pytest.fixture
def no_rendering(monkeypatch):
    """Issued letters stay pending: these tests are about numbers and states, not PDFs."""
    monkeypatch.setattr(services, "_enqueue_renders", lambda letters: True)


# --- the text hash ------------------------------------------------------------------------------


def test_text_hash_covers_the_printed_fields_only(draft_letter):
    before = letter_text_hash(draft_letter)
    assert LETTER_TEXT_FIELDS == ("subject", "body", "facts")
    assert len(before) == 64
    draft_letter.signer_name = "Someone else"  # not part of the letter's text
    assert letter_text_hash(draft_letter) == before
    draft_letter.facts += " Un fait de plus."
    assert letter_text_hash(draft_letter) != before
    draft_letter.body += " Une phrase de plus."
    assert letter_text_hash(draft_letter) != before


def test_text_hash_is_unchanged_by_an_empty_field_added_to_the_list(draft_letter, monkeypatch):
    """Adding a field (`facts` was added so) keeps the approvals of letters without it valid."""
    from letters import models

    draft_letter.facts = ""
    with_facts = letter_text_hash(draft_letter)
    monkeypatch.setattr(models, "LETTER_TEXT_FIELDS", ("subject", "body"))
    assert letter_text_hash(draft_letter) == with_facts


# --- the two-person rule on the text ------------------------------------------------------------


def test_coordinator_who_edits_a_draft_cannot_approve_it(
    client, draft_letter, caseworker, coordinator, second_coordinator
):
    client.force_login(coordinator)
    client.post(
        reverse("letters:letter_detail", args=[draft_letter.pk]),
        {"subject": draft_letter.subject, "body": "Un texte réécrit par la coordinatrice."},
    )
    draft_letter.refresh_from_db()
    assert draft_letter.last_edited_by == coordinator
    services.letter_submit(letter=draft_letter, by=caseworker)

    page = client.get(reverse("letters:letter_detail", args=[draft_letter.pk])).text
    assert "You wrote or last edited this text, so a colleague must approve it." in page
    assert reverse("letters:letter_approve", args=[draft_letter.pk]) not in page
    response = client.post(
        reverse("letters:letter_approve", args=[draft_letter.pk]),
        {"text_hash": draft_letter.text_hash},
    )
    assert response.status_code == 302
    assert messages_of(response) == [
        "You edited this letter last, so you cannot approve it. Ask a colleague to review it."
    ]
    draft_letter.refresh_from_db()
    assert draft_letter.status == Letter.Status.IN_REVIEW
    assert draft_letter.approved_by is None and draft_letter.reviewed_hash == ""
    # Nor can they issue it alone: it is not approved.
    with pytest.raises(ValidationError):
        services.letter_issue(letter=draft_letter, by=coordinator)

    # A second coordinator reads it and approves it.
    client.force_login(second_coordinator)
    page = client.get(reverse("letters:letter_detail", args=[draft_letter.pk])).text
    (shown_hash,) = HIDDEN_HASH.findall(page)
    assert shown_hash == draft_letter.text_hash
    client.post(
        reverse("letters:letter_approve", args=[draft_letter.pk]), {"text_hash": shown_hash}
    )
    draft_letter.refresh_from_db()
    assert draft_letter.status == Letter.Status.APPROVED
    assert draft_letter.approved_by == second_coordinator
    assert draft_letter.reviewed_hash == shown_hash


def test_caseworker_who_edits_after_a_coordinator_may_be_reviewed_by_them(
    draft_letter, caseworker, coordinator
):
    """The last editor is who counts: the coordinator's change was read by the caseworker who
    changed the text after it, and the coordinator reviews the caseworker's."""
    services.letter_update_text(letter=draft_letter, subject="", body="Version A.", by=coordinator)
    services.letter_update_text(letter=draft_letter, subject="", body="Version B.", by=caseworker)
    services.letter_submit(letter=draft_letter, by=caseworker)
    services.letter_approve(letter=draft_letter, by=coordinator, text_hash=draft_letter.text_hash)
    assert draft_letter.status == Letter.Status.APPROVED


def test_saving_the_same_text_does_not_make_an_editor(in_review_letter, coordinator):
    services.letter_update_text(
        letter=in_review_letter,
        subject=in_review_letter.subject,
        body=in_review_letter.body,
        by=coordinator,
    )
    in_review_letter.refresh_from_db()
    assert in_review_letter.last_edited_by is None
    assert in_review_letter.status == Letter.Status.IN_REVIEW


def test_approval_of_a_text_changed_since_it_was_read_is_refused(
    client, in_review_letter, caseworker, coordinator
):
    client.force_login(coordinator)
    page = client.get(reverse("letters:letter_detail", args=[in_review_letter.pk])).text
    (read_hash,) = HIDDEN_HASH.findall(page)
    # Meanwhile the caseworker changes the text and submits it again.
    services.letter_update_text(
        letter=in_review_letter, subject="Objet", body="Un autre texte.", by=caseworker
    )
    services.letter_submit(letter=in_review_letter, by=caseworker)

    response = client.post(
        reverse("letters:letter_approve", args=[in_review_letter.pk]), {"text_hash": read_hash}
    )
    assert response.status_code == 302
    assert messages_of(response) == [
        "The text was changed while you were reading it. Nothing was approved: read the "
        "current text, then approve it."
    ]
    in_review_letter.refresh_from_db()
    assert in_review_letter.status == Letter.Status.IN_REVIEW
    assert in_review_letter.approved_by is None and in_review_letter.reviewed_hash == ""
    assert not CaseLogEntry.objects.filter(case=in_review_letter.case, detail="approved").exists()


def test_approval_without_a_hash_is_refused(client, in_review_letter, coordinator):
    client.force_login(coordinator)
    client.post(reverse("letters:letter_approve", args=[in_review_letter.pk]))
    in_review_letter.refresh_from_db()
    assert in_review_letter.status == Letter.Status.IN_REVIEW


def test_issuing_a_letter_whose_text_changed_after_approval_is_refused(
    approved_letter, coordinator, no_rendering
):
    # Not possible through the pages (an approved letter cannot be edited): defence in depth.
    approved_letter.body = "Un texte que personne n'a relu."
    approved_letter.save(update_fields=["body"])
    with pytest.raises(ValidationError) as refused:
        services.letter_issue(letter=approved_letter, by=coordinator)
    assert "is not the text that was approved" in refused.value.messages[0]
    approved_letter.refresh_from_db()
    assert approved_letter.status == Letter.Status.APPROVED and not approved_letter.number
    assert not Register.objects.filter(last_number__gt=0).exists()


def test_sending_back_to_draft_forgets_the_approval(approved_letter, caseworker):
    services.letter_return_to_draft(letter=approved_letter, by=caseworker)
    approved_letter.refresh_from_db()
    assert approved_letter.reviewed_hash == "" and approved_letter.approved_by is None


# --- the review queue ---------------------------------------------------------------------------


@pytest.fixture
def queue(case, other_case, template_fr, ofpra, caseworker, colleague):
    """Two letters in review, the older on a case not assigned to the coordinator's own; a
    draft and an approved letter that are not in the queue."""
    other_case.authority = ofpra
    other_case.save(update_fields=["authority"])
    older = draft(other_case, template_fr, ofpra, colleague)
    services.letter_submit(letter=older, by=colleague)
    Letter.objects.filter(pk=older.pk).update(submitted_at=timezone.now() - timedelta(days=2))
    newer = draft(case, template_fr, ofpra, caseworker)
    services.letter_submit(letter=newer, by=caseworker)
    draft(case, template_fr, ofpra, caseworker)
    return [older, newer]


@pytest.mark.parametrize("persona", ["coordinator", "administrator"])
def test_review_queue_lists_the_organisations_letters_in_review_oldest_first(
    client, personas, persona, queue, other_case, case
):
    client.force_login(personas[persona])
    response = client.get(REVIEW_QUEUE)
    assert response.status_code == 200
    page = response.text
    links = [reverse("letters:letter_detail", args=[letter.pk]) for letter in queue]
    assert all(link in page for link in links)
    assert page.index(links[0]) < page.index(links[1])  # oldest first
    assert other_case.reference in page and case.reference in page
    assert page.count('href="/letters/') - page.count("/letters/review/") >= 2
    assert "OFPRA" in page and "Français" in page and "colleague" in page
    entry = AccessEvent.objects.filter(user=personas[persona]).latest("id")
    assert (entry.action, entry.object_type, entry.path_name) == (
        "list",
        "letter",
        "letters:review_queue",
    )


@pytest.mark.parametrize(
    "persona", ["caseworker", "colleague", "volunteer", "lawyer", "auditor", "lawyer_expired"]
)
def test_review_queue_is_for_reviewers_only(client, personas, persona, queue):
    client.force_login(personas[persona])
    assert client.get(REVIEW_QUEUE).status_code == 403
    page = client.get(reverse("casework:dashboard")).text
    assert REVIEW_QUEUE not in page


def test_review_queue_of_another_organisation_shows_none_of_ours(client, outsider, queue):
    client.force_login(outsider)
    response = client.get(REVIEW_QUEUE)
    assert response.status_code == 200
    assert "No letter is waiting for review." in response.text
    for letter in queue:
        assert reverse("letters:letter_detail", args=[letter.pk]) not in response.text
        assert letter.case.reference not in response.text


def test_review_queue_needs_a_login(client):
    response = client.get(REVIEW_QUEUE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_navigation_and_dashboard_show_how_many_letters_wait(client, coordinator, queue):
    client.force_login(coordinator)
    client.get(reverse("casework:dashboard"))
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("casework:dashboard")).text
    counts = [
        q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"] and "letter" in q["sql"]
    ]
    assert len(counts) == 1, counts  # one COUNT for the badge and the dashboard card
    assert 'text-bg-warning">2<span class="visually-hidden"> letters waiting for review' in page
    assert f'href="{REVIEW_QUEUE}"' in page and f'href="{APPROVED}"' in page


# --- batches of individually approved letters ---------------------------------------------------


@pytest.fixture
def approved_letters(case, other_case, template_fr, ofpra, caseworker, colleague, coordinator):
    """Three approved letters on two cases, and one in review."""
    other_case.authority = ofpra
    other_case.save(update_fields=["authority"])
    letters = [
        approve(
            draft(case, template_fr, ofpra, caseworker), author=caseworker, approver=coordinator
        )
        for _ in range(2)
    ]
    letters.append(
        approve(
            draft(other_case, template_fr, ofpra, colleague), author=colleague, approver=coordinator
        )
    )
    return letters


def test_approved_letters_page_lists_them_with_boxes(client, coordinator, approved_letters):
    client.force_login(coordinator)
    response = client.get(APPROVED)
    assert response.status_code == 200
    for letter in approved_letters:
        assert f'name="letter" value="{letter.pk}"' in response.text
    assert f'action="{BATCH_APPROVED_NEW}"' in response.text


@pytest.mark.parametrize(
    "persona", ["caseworker", "colleague", "volunteer", "lawyer", "auditor", "lawyer_expired"]
)
def test_approved_letters_and_their_batch_are_for_coordinators(
    client, personas, persona, approved_letters
):
    client.force_login(personas[persona])
    assert client.get(APPROVED).status_code == 403
    response = client.post(BATCH_APPROVED_NEW, {"letter": [x.pk for x in approved_letters]})
    assert response.status_code == 403
    assert not Batch.objects.exists()
    assert not Letter.objects.filter(status=Letter.Status.ISSUED).exists()


def test_another_organisation_cannot_issue_our_approved_letters(client, outsider, approved_letters):
    client.force_login(outsider)
    response = client.get(APPROVED)
    assert response.status_code == 200
    assert all(f'value="{x.pk}"' not in response.text for x in approved_letters)
    response = client.post(BATCH_APPROVED_NEW, {"letter": [x.pk for x in approved_letters]})
    assert response.status_code == 302
    assert messages_of(response) == ["Choose at least one approved letter."]
    assert not Batch.objects.exists()
    assert not Letter.objects.filter(status=Letter.Status.ISSUED).exists()


def test_batch_of_approved_letters_issues_exactly_the_valid_selection(
    client, coordinator, approved_letters, in_review_letter, template_fr, ofpra, caseworker,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    chosen, changed, not_chosen = approved_letters[0], approved_letters[2], approved_letters[1]
    # Text changed after approval (not possible through the pages: defence in depth).
    changed.body = "Modifié après la relecture."
    changed.save(update_fields=["body"])
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            BATCH_APPROVED_NEW, {"letter": [chosen.pk, changed.pk, in_review_letter.pk]}
        )
    batch = Batch.objects.get()
    assert response["Location"] == reverse("letters:batch_detail", args=[batch.pk])
    assert batch.kind == Batch.Kind.APPROVED and batch.template is None
    assert batch.created_by == coordinator

    assert list(batch.letters.values_list("pk", flat=True)) == [chosen.pk]
    chosen.refresh_from_db()
    assert chosen.status == Letter.Status.ISSUED and chosen.sequence == 1
    assert chosen.render_status == Letter.RenderStatus.READY, chosen.render_error
    assert chosen.approved_by == coordinator and chosen.author == caseworker  # its own approval
    for letter, status in (
        (changed, Letter.Status.APPROVED),
        (in_review_letter, Letter.Status.IN_REVIEW),
        (not_chosen, Letter.Status.APPROVED),
    ):
        letter.refresh_from_db()
        assert (letter.status, letter.batch_id, letter.number) == (status, None, "")
    notes = messages_of(response)
    assert notes[0] == "1 letter issued in this batch. The PDFs are being made."
    assert (
        changed.case.reference in notes[1] and "its text changed after it was approved" in notes[1]
    )
    assert "“In review”, not approved" in notes[1]

    page = client.get(reverse("letters:batch_detail", args=[batch.pk])).text
    assert "1 of 1 letters ready" in page and "Individually approved letters" in page
    assert reverse("letters:batch_zip", args=[batch.pk]) in page
    response = client.get(reverse("letters:batch_zip", args=[batch.pk]))
    assert response.status_code == 200
    assert AccessEvent.objects.filter(
        action="issue", object_type="batch", object_id=str(batch.pk)
    ).exists()


def test_batch_of_approved_letters_numbers_them_together(
    client, coordinator, approved_letters, no_rendering
):
    client.force_login(coordinator)
    client.post(BATCH_APPROVED_NEW, {"letter": [x.pk for x in approved_letters]})
    batch = Batch.objects.get()
    letters = list(batch.letters.order_by("sequence").select_related("case"))
    assert [x.sequence for x in letters] == [1, 2, 3]
    assert {x.pk for x in letters} == {x.pk for x in approved_letters}
    assert all(x.issued_by == coordinator for x in letters)
    assert batch.status == Batch.Status.RENDERING
    # Each letter's case has it in its history.
    for letter in letters:
        assert CaseLogEntry.objects.filter(
            case=letter.case, detail=f"issued as {letter.number} in batch #{batch.pk}"
        ).exists()


def test_nothing_is_issued_when_no_selected_letter_is_valid(
    client, coordinator, in_review_letter, approved_letter, no_rendering
):
    Consent.objects.filter(case=approved_letter.case, purpose=Consent.Purpose.LETTERS).update(
        withdrawn_on=timezone.localdate()
    )
    client.force_login(coordinator)
    response = client.post(
        BATCH_APPROVED_NEW, {"letter": [in_review_letter.pk, approved_letter.pk]}
    )
    assert response.status_code == 302 and response["Location"] == APPROVED
    (note,) = messages_of(response)
    assert note.startswith("Nothing was issued. Refused: ")
    assert "withdrawn" in note
    assert not Batch.objects.exists()
    assert not Letter.objects.filter(status=Letter.Status.ISSUED).exists()
    assert not Register.objects.filter(last_number__gt=0).exists()


def test_batch_of_approved_letters_needs_a_post(client, coordinator):
    client.force_login(coordinator)
    assert client.get(BATCH_APPROVED_NEW).status_code == 405


def test_issuing_approved_letters_takes_as_many_queries_for_many(
    case, template_fr, ofpra, caseworker, coordinator, no_rendering
):
    def issue(n) -> int:
        letters = [
            approve(
                draft(case, template_fr, ofpra, caseworker), author=caseworker, approver=coordinator
            )
            for _ in range(n)
        ]
        with CaptureQueriesContext(connection) as ctx:
            result = services.batch_issue_approved(
                organisation=case.organisation, letters=letters, by=coordinator
            )
        assert len(result.issued.letters) == n
        return len(ctx.captured_queries)

    issue(1)  # the register row is created by the first issue
    assert issue(2) == issue(6)


# --- a template batch needs a second person's approval ------------------------------------------


@pytest.fixture
def waiting_batch(client, coordinator, case, other_case, template_fr, ofpra):
    batch, queued = services.batch_start(
        organisation=coordinator.membership.organisation,
        template=template_fr,
        authority=ofpra,
        case_ids=[case.pk, other_case.pk],
        by=coordinator,
    )
    assert queued
    return batch


def test_template_batch_waits_for_approval(client, coordinator, waiting_batch, case):
    assert waiting_batch.status == Batch.Status.AWAITING_APPROVAL
    assert not waiting_batch.letters.exists()
    client.force_login(coordinator)
    page = client.get(reverse("letters:batch_detail", args=[waiting_batch.pk])).text
    assert "Awaiting approval" in page and case.reference in page
    assert "You started this batch: another coordinator" in page
    assert reverse("letters:batch_approve", args=[waiting_batch.pk]) not in page
    assert 'hx-trigger="every 2s"' not in page  # nothing to poll for
    # Not sent again by the sweep either, however long it waits.
    Batch.objects.filter(pk=waiting_batch.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert services.batches_requeue_stuck() == 0


def test_whoever_started_a_batch_cannot_approve_it(client, coordinator, waiting_batch):
    client.force_login(coordinator)
    response = client.post(reverse("letters:batch_approve", args=[waiting_batch.pk]))
    assert response.status_code == 302
    assert messages_of(response) == [
        "You started this batch, so you cannot approve it. Ask another coordinator to approve it."
    ]
    waiting_batch.refresh_from_db()
    assert waiting_batch.status == Batch.Status.AWAITING_APPROVAL
    assert waiting_batch.approved_by is None and not waiting_batch.letters.exists()


def test_second_coordinator_approves_the_batch_and_it_is_issued(
    client, coordinator, second_coordinator, waiting_batch, case, other_case,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    client.force_login(second_coordinator)
    page = client.get(reverse("letters:batch_detail", args=[waiting_batch.pk])).text
    assert reverse("letters:batch_approve", args=[waiting_batch.pk]) in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("letters:batch_approve", args=[waiting_batch.pk]))
    assert messages_of(response) == ["Batch approved: its letters are being issued and rendered."]
    waiting_batch.refresh_from_db()
    assert waiting_batch.approved_by == second_coordinator
    assert waiting_batch.status == Batch.Status.FINISHED
    letters = list(waiting_batch.letters.order_by("sequence"))
    assert len(letters) == 2
    for letter in letters:
        assert letter.status == Letter.Status.ISSUED
        assert letter.author == coordinator and letter.issued_by == coordinator
        assert letter.approved_by == second_coordinator
        assert letter.reviewed_hash == letter.text_hash
    entry = AccessEvent.objects.filter(path_name="letters:batch_approve").get()
    assert (entry.user, entry.action, entry.object_id) == (
        second_coordinator,
        "change",
        str(waiting_batch.pk),
    )
    # A second approval does nothing.
    response = client.post(reverse("letters:batch_approve", args=[waiting_batch.pk]))
    assert messages_of(response)[-1] == "This batch is not waiting for approval."


def test_every_batch_letter_is_in_its_case_history(
    coordinator, second_coordinator, waiting_batch, case, other_case, no_rendering
):
    services.batch_approve(batch=waiting_batch, by=second_coordinator)
    services.batch_prepare(batch=waiting_batch)
    for letter in waiting_batch.letters.all():
        history = list(
            CaseLogEntry.objects.filter(case=letter.case, action=CaseLogEntry.Action.LETTER)
            .order_by("pk")
            .values_list("actor", "detail")
        )
        assert history == [
            (coordinator.pk, f"drafted in batch #{waiting_batch.pk}"),
            (second_coordinator.pk, f"approved in batch #{waiting_batch.pk}"),
            (coordinator.pk, f"issued as {letter.number} in batch #{waiting_batch.pk}"),
        ]
    assert {x.case_id for x in waiting_batch.letters.all()} == {case.pk, other_case.pk}


def test_batch_history_takes_as_many_queries_for_many_cases(
    org, coordinator, second_coordinator, template_fr, ofpra, no_rendering
):
    """The history entries and approvals of a batch's letters are written in bulk: preparing
    more cases costs only what drafting each letter costs."""

    def prepare(n) -> tuple[int, int]:
        cases = [make_case(organisation=org, cyrillic=None) for _ in range(n)]
        batch, _ = services.batch_start(
            organisation=org,
            template=template_fr,
            authority=ofpra,
            case_ids=[x.pk for x in cases],
            by=coordinator,
        )
        services.batch_approve(batch=batch, by=second_coordinator)
        with CaptureQueriesContext(connection) as ctx:
            services.batch_prepare(batch=batch)
        log_writes = [q for q in ctx.captured_queries if "casework_caselogentry" in q["sql"]]
        return len(ctx.captured_queries), len(log_writes)

    small, large = prepare(2), prepare(5)
    assert small[1] == large[1] == 2  # drafted + approved in one INSERT, issued in one
    per_letter = (large[0] - small[0]) / 3
    # letter_draft itself (consent, template version, INSERT) and nothing more per letter.
    assert per_letter <= 4, (small, large)


@pytest.mark.parametrize(
    "persona", ["caseworker", "colleague", "volunteer", "lawyer", "auditor", "outsider"]
)
def test_batch_approval_is_for_coordinators_of_the_organisation(
    client, personas, persona, waiting_batch
):
    client.force_login(personas[persona])
    url = reverse("letters:batch_approve", args=[waiting_batch.pk])
    assert client.post(url).status_code == 404
    assert client.get(reverse("letters:batch_detail", args=[waiting_batch.pk])).status_code == 404
    waiting_batch.refresh_from_db()
    assert waiting_batch.status == Batch.Status.AWAITING_APPROVAL


def test_batch_approval_needs_a_post(client, second_coordinator, waiting_batch):
    client.force_login(second_coordinator)
    url = reverse("letters:batch_approve", args=[waiting_batch.pk])
    assert client.get(url).status_code == 405


def test_approved_batch_waits_for_the_sweep_from_its_approval(
    second_coordinator, waiting_batch, monkeypatch, django_capture_on_commit_callbacks
):
    from letters.tasks import prepare_batch

    sent = []
    monkeypatch.setattr(prepare_batch, "delay", lambda batch_id: sent.append(batch_id))
    Batch.objects.filter(pk=waiting_batch.pk).update(created_at=timezone.now() - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_approve(batch=waiting_batch, by=second_coordinator)
    assert sent == [waiting_batch.pk]
    assert services.batches_requeue_stuck() == 0  # approved just now: on its way
    Batch.objects.filter(pk=waiting_batch.pk).update(
        approved_at=timezone.now() - timedelta(minutes=3)
    )
    assert services.batches_requeue_stuck() == 1


def test_without_the_batch_rule_a_batch_is_prepared_at_once(
    settings, coordinator, case, template_fr, ofpra, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from letters.tasks import prepare_batch

    settings.LETTERS_BATCH_TWO_PERSON_RULE = False
    sent = []
    monkeypatch.setattr(prepare_batch, "delay", lambda batch_id: sent.append(batch_id))
    with django_capture_on_commit_callbacks(execute=True):
        batch, _ = services.batch_start(
            organisation=case.organisation,
            template=template_fr,
            authority=ofpra,
            case_ids=[case.pk],
            by=coordinator,
        )
    assert sent == [batch.pk]
    assert batch.status == Batch.Status.PREPARING


def test_admin_cannot_release_a_waiting_batch(client, org, waiting_batch):
    """The batch admin is read-only: a status set there would skip the second approval."""
    root = make_user(
        organisation=org, role="administrator", username="root", is_staff=True, is_superuser=True
    )
    client.force_login(root)
    url = reverse("admin:letters_batch_change", args=[waiting_batch.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert 'name="status"' not in response.text and 'name="approved_by"' not in response.text
    client.post(url, {"status": Batch.Status.PREPARING})
    waiting_batch.refresh_from_db()
    assert waiting_batch.status == Batch.Status.AWAITING_APPROVAL
