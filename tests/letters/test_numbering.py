"""The outgoing-letter register: gapless, consecutive, per organisation, safe under concurrency."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from casework.models import CaseLogEntry, Consent
from letters import services
from letters.models import Letter, Register
from letters.tasks import render_letters
from tests.factories import make_case, make_organisation, make_user
from tests.helpers import approve, draft

YEAR = timezone.localdate().year
YEAR_START = timezone.localdate().replace(month=1, day=1)


def approved_letters(case, template, authority, *, author, approver, n):
    return [
        approve(draft(case, template, authority, author), author=author, approver=approver)
        for _ in range(n)
    ]


@pytest.fixture
def no_rendering(monkeypatch):
    """Issuing without the WeasyPrint render that would follow on commit."""
    monkeypatch.setattr(render_letters, "delay", lambda *args, **kwargs: None)


def stored_files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_issuing_gives_consecutive_numbers(case, template_fr, ofpra, caseworker, coordinator):
    letters = approved_letters(
        case, template_fr, ofpra, author=caseworker, approver=coordinator, n=3
    )
    for letter in letters:
        services.letter_issue(letter=letter, by=coordinator)
    numbers = [Letter.objects.get(pk=x.pk).number for x in letters]
    assert numbers == [f"{YEAR}/1", f"{YEAR}/2", f"{YEAR}/3"]
    assert [Letter.objects.get(pk=x.pk).sequence for x in letters] == [1, 2, 3]
    register = Register.objects.get(organisation=case.organisation, year=YEAR)
    assert register.last_number == 3


def test_several_letters_issued_together_are_consecutive(
    case, template_fr, ofpra, caseworker, coordinator
):
    letters = approved_letters(
        case, template_fr, ofpra, author=caseworker, approver=coordinator, n=3
    )
    issued = services.letters_issue(letters=letters, by=coordinator).letters
    assert [x.number for x in issued] == [f"{YEAR}/1", f"{YEAR}/2", f"{YEAR}/3"]
    assert all(x.status == Letter.Status.ISSUED for x in issued)


def test_issuing_together_records_each_number_in_its_case_history(
    case, template_fr, ofpra, caseworker, coordinator
):
    letters = approved_letters(
        case, template_fr, ofpra, author=caseworker, approver=coordinator, n=2
    )
    issued = services.letters_issue(letters=letters, by=coordinator).letters
    entries = case.log_entries.filter(
        action=CaseLogEntry.Action.LETTER, detail__startswith="issued"
    ).order_by("pk")
    assert [(x.actor, x.detail) for x in entries] == [
        (coordinator, f"issued as {letter.number}") for letter in issued
    ]
    fresh = Letter.objects.get(pk=issued[0].pk)
    assert (fresh.issued_by, fresh.render_status) == (coordinator, Letter.RenderStatus.PENDING)


def test_issuing_refuses_a_letter_whose_consent_was_withdrawn_and_uses_no_number(
    case, template_fr, ofpra, caseworker, coordinator
):
    letters = approved_letters(
        case, template_fr, ofpra, author=caseworker, approver=coordinator, n=2
    )
    case.consents.filter(purpose=Consent.Purpose.LETTERS).update(withdrawn_on=YEAR_START)
    with pytest.raises(ValidationError):
        services.letters_issue(letters=letters, by=coordinator)
    assert not Letter.objects.filter(pk__in=[x.pk for x in letters], number__gt="").exists()
    assert not Register.objects.filter(organisation=case.organisation, last_number__gt=0).exists()


def test_custom_number_format(org, case, template_fr, ofpra, caseworker, coordinator):
    org.letter_number_format = "{year}/{number:04d}"
    org.save()
    case.organisation.refresh_from_db()
    first, second = approved_letters(
        case, template_fr, ofpra, author=caseworker, approver=coordinator, n=2
    )
    assert services.letter_issue(letter=first, by=coordinator).number == f"{YEAR}/0001"
    assert services.letter_issue(letter=second, by=coordinator).number == f"{YEAR}/0002"


def test_two_organisations_have_independent_registers(
    case, template_fr, ofpra, caseworker, coordinator
):
    other = make_organisation(name="Another NGO")
    other_coordinator = make_user(organisation=other, role="coordinator", username="oc")
    other_author = make_user(organisation=other, role="caseworker", username="ocw")
    other_case = make_case(organisation=other, assignees=[other_author])

    ours = approved_letters(case, template_fr, ofpra, author=caseworker, approver=coordinator, n=2)
    theirs = approved_letters(
        other_case, template_fr, ofpra, author=other_author, approver=other_coordinator, n=1
    )
    services.letter_issue(letter=ours[0], by=coordinator)
    assert services.letter_issue(letter=theirs[0], by=other_coordinator).number == f"{YEAR}/1"
    assert services.letter_issue(letter=ours[1], by=coordinator).number == f"{YEAR}/2"
    assert Register.objects.get(organisation=other, year=YEAR).last_number == 1
    assert Register.objects.get(organisation=case.organisation, year=YEAR).last_number == 2


def test_rolled_back_issue_leaves_no_gap(case, template_fr, ofpra, caseworker, coordinator):
    first, second = approved_letters(
        case, template_fr, ofpra, author=caseworker, approver=coordinator, n=2
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        assert services.letter_issue(letter=first, by=coordinator).number == f"{YEAR}/1"
        raise RuntimeError("something failed after issuing")

    first.refresh_from_db()
    assert first.status == Letter.Status.APPROVED
    assert (first.number, first.sequence, first.register_id) == ("", None, None)
    # The number was given back: the next letter issued gets it.
    assert services.letter_issue(letter=second, by=coordinator).number == f"{YEAR}/1"
    assert Register.objects.get(organisation=case.organisation, year=YEAR).last_number == 1


@pytest.mark.parametrize("stage", ["draft", "in_review"])
def test_issuing_a_letter_that_is_not_approved_is_refused_and_uses_no_number(
    stage, case, template_fr, ofpra, caseworker, coordinator
):
    approved = approved_letters(
        case, template_fr, ofpra, author=caseworker, approver=coordinator, n=1
    )[0]
    services.letter_issue(letter=approved, by=coordinator)
    letter = draft(case, template_fr, ofpra, caseworker)
    if stage == "in_review":
        services.letter_submit(letter=letter, by=caseworker)

    with pytest.raises(ValidationError) as excinfo:
        services.letter_issue(letter=letter, by=coordinator)
    assert "approved" in " ".join(excinfo.value.messages)

    letter.refresh_from_db()
    assert letter.status == stage
    assert (letter.number, letter.sequence) == ("", None)
    assert Register.objects.get(organisation=case.organisation, year=YEAR).last_number == 1


def test_issuing_an_issued_letter_again_is_refused(approved_letter, coordinator, no_rendering):
    services.letter_issue(letter=approved_letter, by=coordinator)
    with pytest.raises(ValidationError):
        services.letter_issue(letter=approved_letter, by=coordinator)
    approved_letter.refresh_from_db()
    assert approved_letter.number == f"{YEAR}/1"
    assert Register.objects.get(year=YEAR).last_number == 1


def test_rendering_again_a_ready_letter_does_nothing(issued_letter, private_media):
    files = stored_files(private_media)
    assert len(files) == 1
    before = (issued_letter.pdf.name, issued_letter.pdf_sha256, issued_letter.rendered_at)

    for task_id in (issued_letter.render_task_id, "another-task"):
        result = services.letter_render(letter_id=issued_letter.pk, task_id=task_id)
        assert result == "skipped"

    issued_letter.refresh_from_db()
    assert (issued_letter.pdf.name, issued_letter.pdf_sha256, issued_letter.rendered_at) == before
    assert issued_letter.render_status == Letter.RenderStatus.READY
    assert stored_files(private_media) == files
    assert default_storage.exists(issued_letter.pdf.name)


def test_a_redelivered_task_renders_again_into_the_same_file(issued_letter, private_media):
    """A worker died while rendering: Celery redelivers the task with the same id, which may
    take its claim back; the PDF is replaced, never duplicated, and the number is unchanged."""
    files = stored_files(private_media)
    Letter.objects.filter(pk=issued_letter.pk).update(
        render_status=Letter.RenderStatus.RENDERING, render_task_id="crashed-task"
    )
    # Another task id may not take the claim.
    assert services.letter_render(letter_id=issued_letter.pk, task_id="other") == "skipped"
    assert services.letter_render(letter_id=issued_letter.pk, task_id="crashed-task") == "ready"

    after = Letter.objects.get(pk=issued_letter.pk)
    assert after.render_status == Letter.RenderStatus.READY
    assert after.pdf.name == issued_letter.pdf.name
    assert (after.number, after.sequence) == (issued_letter.number, issued_letter.sequence)
    assert stored_files(private_media) == files
    with after.pdf.open("rb") as f:
        import hashlib

        assert hashlib.sha256(f.read()).hexdigest() == after.pdf_sha256


def test_render_chunks_keep_every_letter_once_and_end_with_single_letters():
    ids = list(range(1, 1363))
    chunks = services.render_chunks(ids)
    assert [i for chunk in chunks for i in chunk] == ids
    assert max(len(chunk) for chunk in chunks) == services.RENDER_CHUNK
    assert all(len(chunk) == 1 for chunk in chunks[-services.RENDER_TAIL :])
    assert len(chunks) == (1362 - services.RENDER_TAIL) // services.RENDER_CHUNK + 1 + 64
    assert services.render_chunks([7, 8]) == [[7], [8]]
    assert services.render_chunks([]) == []


def test_a_letter_that_fails_does_not_stop_the_others_of_its_task(
    issued_letter, monkeypatch, private_media
):
    """One task renders several letters: a letter that cannot be rendered is marked failed
    with a readable reason, and the next letters of the same task are still rendered."""
    other = Letter.objects.get(pk=issued_letter.pk)
    Letter.objects.filter(pk=other.pk).update(
        render_status=Letter.RenderStatus.PENDING, render_attempts=0, pdf=""
    )
    real_render = services.letter_render

    def render(*, letter_id, task_id):
        if letter_id == -1:
            raise ValueError("broken template")
        return real_render(letter_id=letter_id, task_id=task_id)

    monkeypatch.setattr(services, "letter_render", render)
    monkeypatch.setattr(services, "letter_render_failed", lambda **kwargs: None)
    assert render_letters.apply(args=[[-1, other.pk, 999_999]]).get() == "failed ready skipped"
    other.refresh_from_db()
    assert other.render_status == Letter.RenderStatus.READY


def test_rendering_a_letter_takes_a_fixed_number_of_queries(
    issued_letter, private_media, django_assert_max_num_queries
):
    Letter.objects.filter(pk=issued_letter.pk).update(
        render_status=Letter.RenderStatus.PENDING, render_attempts=0
    )
    with django_assert_max_num_queries(7):
        assert services.letter_render(letter_id=issued_letter.pk, task_id="t") == "ready"


# --- concurrency -------------------------------------------------------------------------------

N_LETTERS = 20
N_THREADS = 8


def _issue_concurrently(letter_ids, coordinator):
    """Issue every letter from N_THREADS threads at once; returns the errors raised."""
    pending = list(letter_ids)
    lock = threading.Lock()
    start = threading.Barrier(N_THREADS)
    errors = []

    def worker():
        try:
            start.wait()
            while True:
                with lock:
                    if not pending:
                        return
                    letter_id = pending.pop()
                letter = Letter.objects.select_related("case__organisation").get(pk=letter_id)
                services.letter_issue(letter=letter, by=coordinator)
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(N_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


# Also run on SQLite: the project opens SQLite transactions as IMMEDIATE (config/settings.py),
# so concurrent issuers queue for the write lock (20 s busy timeout) instead of failing.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_issuing_gives_distinct_consecutive_numbers(
    case, template_fr, ofpra, caseworker, coordinator, no_rendering
):
    letters = [draft(case, template_fr, ofpra, caseworker) for _ in range(N_LETTERS)]
    Letter.objects.filter(pk__in=[x.pk for x in letters]).update(
        status=Letter.Status.APPROVED,
        signer=case.organisation.signers.get(),
        approved_by=coordinator,
        approved_at=timezone.now(),
        reviewed_hash=letters[0].text_hash,  # the same text: one case, one template
    )

    errors = _issue_concurrently([x.pk for x in letters], coordinator)

    assert errors == []
    issued = Letter.objects.filter(pk__in=[x.pk for x in letters])
    sequences = sorted(issued.values_list("sequence", flat=True))
    assert sequences == list(range(1, N_LETTERS + 1))
    assert sorted(issued.values_list("number", flat=True)) == sorted(
        f"{YEAR}/{n}" for n in range(1, N_LETTERS + 1)
    )
    assert set(issued.values_list("status", flat=True)) == {Letter.Status.ISSUED}
    register = Register.objects.get(organisation=case.organisation, year=YEAR)
    assert register.last_number == N_LETTERS
    assert Register.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_issuing_on_postgresql(
    case, template_fr, ofpra, caseworker, coordinator, no_rendering
):
    """The same on PostgreSQL, where issuers really run in parallel and the register row lock
    (SELECT … FOR UPDATE) is what keeps numbers unique; with batches of letters too."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (run with DATABASE_URL=postgres://…)")
    letters = [draft(case, template_fr, ofpra, caseworker) for _ in range(N_LETTERS)]
    Letter.objects.filter(pk__in=[x.pk for x in letters]).update(
        status=Letter.Status.APPROVED,
        signer=case.organisation.signers.get(),
        approved_by=coordinator,
        approved_at=timezone.now(),
        reviewed_hash=letters[0].text_hash,  # the same text: one case, one template
    )
    errors = _issue_concurrently([x.pk for x in letters], coordinator)
    assert errors == []
    sequences = list(
        Letter.objects.filter(pk__in=[x.pk for x in letters]).values_list("sequence", flat=True)
    )
    assert sorted(sequences) == list(range(1, N_LETTERS + 1))
    assert len(set(sequences)) == N_LETTERS
    assert Register.objects.get(organisation=case.organisation, year=YEAR).last_number == 20
