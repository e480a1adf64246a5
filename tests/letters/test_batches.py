"""Batches, with Celery eager: from the case list's filters to N issued, rendered letters with
consecutive numbers, live progress, one ZIP; a failed letter does not stop the others.

A template batch waits for a second coordinator's approval (LETTERS_BATCH_TWO_PERSON_RULE):
the first test goes through it; the tests about preparation itself turn the rule off
(`prepared_at_once`). tests/letters/test_review.py tests the approval and the batches of
individually approved letters."""

import csv
import io
import zipfile

import pytest
from django.db import OperationalError
from django.urls import reverse

from casework.models import Case
from letters import services
from letters.models import Batch, DownloadLogEntry, Letter
from tests.helpers import approve, draft
from tests.letters.helpers import BATCH_NEW, FILTERS


@pytest.fixture
def prepared_at_once(settings):
    """A started batch is prepared at once, without a second person's approval."""
    settings.LETTERS_BATCH_TWO_PERSON_RULE = False


def start_batch(client, template, authority, capture, *, filters=FILTERS):
    with capture(execute=True):
        response = client.post(
            BATCH_NEW + filters,
            {
                "batch-template": template.pk,
                "batch-authority": authority.pk,
                "batch-confirm": "on",
                "start": "1",
            },
        )
    assert response.status_code == 302, response.text
    return Batch.objects.latest("created_at"), response


def zip_of(client, batch) -> zipfile.ZipFile:
    response = client.get(reverse("letters:batch_zip", args=[batch.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment")
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_batch_form_shows_how_many_letters(client, coordinator, active_cases):
    client.force_login(coordinator)
    response = client.get(BATCH_NEW + FILTERS)
    assert response.status_code == 200
    assert "<strong>4</strong> letters will be made" in response.text
    for case in active_cases:
        assert case.reference in response.text
    # Pseudonyms only, never names.
    assert "Petrova" not in response.text and "Zuganshin" not in response.text


def test_batch_needs_confirmation(client, coordinator, active_cases, template_fr, ofpra):
    client.force_login(coordinator)
    response = client.post(BATCH_NEW + FILTERS, {"template": template_fr.pk, "authority": ofpra.pk})
    assert response.status_code == 200
    assert not Batch.objects.exists()


def test_batch_with_no_matching_case(client, coordinator, active_cases, template_fr, ofpra):
    client.force_login(coordinator)
    response = client.post(
        BATCH_NEW + "?status=granted",
        {
            "batch-template": template_fr.pk,
            "batch-authority": ofpra.pk,
            "batch-confirm": "on",
            "start": "1",
        },
    )
    assert response.status_code == 200
    assert "No case matches these filters." in response.text
    assert not Batch.objects.exists()


def test_batch_issues_and_renders_every_letter(
    client,
    coordinator,
    caseworker,
    administrator,
    active_cases,
    template_fr,
    ofpra,
    django_capture_on_commit_callbacks,
):
    # One letter issued before: the batch continues the register.
    earlier = approve(
        draft(active_cases[0], template_fr, ofpra, caseworker),
        author=caseworker,
        approver=coordinator,
    )
    services.letter_issue(letter=earlier, by=coordinator)

    client.force_login(coordinator)
    batch, response = start_batch(client, template_fr, ofpra, django_capture_on_commit_callbacks)
    assert response["Location"] == reverse("letters:batch_detail", args=[batch.pk])
    assert batch.organisation == coordinator.membership.organisation
    assert sorted(batch.case_ids) == sorted(c.pk for c in active_cases)
    # Nothing is drafted before a second person approves the batch.
    assert batch.status == Batch.Status.AWAITING_APPROVAL and not batch.letters.exists()
    client.force_login(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("letters:batch_approve", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.approved_by == administrator
    client.force_login(coordinator)

    letters = list(batch.letters.order_by("sequence"))
    n = len(active_cases)
    assert len(letters) == n
    assert [x.sequence for x in letters] == list(range(2, n + 2))
    assert {x.case_id for x in letters} == {c.pk for c in active_cases}
    for letter in letters:
        assert letter.status == Letter.Status.ISSUED
        assert letter.render_status == Letter.RenderStatus.READY, letter.render_error
        assert letter.author == coordinator and letter.issued_by == coordinator
        assert letter.approved_by == administrator
        assert letter.pdf_sha256 and letter.pdf_size

    page = client.get(reverse("letters:batch_detail", args=[batch.pk])).text
    assert f"{n} of {n} letters ready" in page
    assert f"Done: <strong>{n}</strong>" in page
    assert "Failed: <strong>0</strong>" in page
    assert "Remaining: <strong>0</strong>" in page
    assert reverse("letters:batch_zip", args=[batch.pk]) in page
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FINISHED

    archive = zip_of(client, batch)
    names = archive.namelist()
    pdfs = sorted(name for name in names if name.endswith(".pdf"))
    assert len(pdfs) == n and "register.csv" in names
    assert pdfs == sorted(f"letter-{x.number.replace('/', '-')}.pdf" for x in letters)
    for letter in letters:
        data = archive.read(f"letter-{letter.number.replace('/', '-')}.pdf")
        assert data.startswith(b"%PDF-")
        import hashlib

        assert hashlib.sha256(data).hexdigest() == letter.pdf_sha256
    rows = list(csv.reader(io.StringIO(archive.read("register.csv").decode())))
    assert rows[0] == ["number", "date", "case", "authority", "language", "signer", "status"]
    assert [row[0] for row in rows[1:]] == [x.number for x in letters]
    assert [row[2] for row in rows[1:]] == [x.case.reference for x in letters]
    assert DownloadLogEntry.objects.filter(user=coordinator).count() == n

    response = client.get(reverse("letters:batch_csv", args=[batch.pk]))
    assert response.status_code == 200
    csv_rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [row[0] for row in csv_rows[1:]] == [x.number for x in letters]


def test_failed_letter_does_not_stop_the_others_and_can_be_retried(
    client, coordinator, active_cases, template_fr, ofpra, monkeypatch,
    django_capture_on_commit_callbacks, prepared_at_once,
):  # fmt: skip
    failing = active_cases[2].reference
    real = services.html_to_pdf

    def flaky(html, **kwargs):
        if failing in html:
            raise RuntimeError("font cache corrupted")
        return real(html, **kwargs)

    # letters.services imports html_to_pdf by name, so that is the name to patch.
    monkeypatch.setattr(services, "html_to_pdf", flaky)
    client.force_login(coordinator)
    batch, _ = start_batch(client, template_fr, ofpra, django_capture_on_commit_callbacks)

    letters = {x.case.reference: x for x in batch.letters.select_related("case")}
    assert len(letters) == len(active_cases)
    broken = letters.pop(failing)
    assert broken.status == Letter.Status.ISSUED
    assert broken.render_status == Letter.RenderStatus.FAILED
    assert broken.render_error == "Rendering failed: RuntimeError"
    assert all(x.render_status == Letter.RenderStatus.READY for x in letters.values())
    sequences = sorted(x.sequence for x in batch.letters.all())
    assert sequences == list(range(1, len(active_cases) + 1))

    page = client.get(reverse("letters:batch_detail", args=[batch.pk])).text
    assert f"Done: <strong>{len(active_cases) - 1}</strong>" in page
    assert "Failed: <strong>1</strong>" in page
    assert "Rendering failed: RuntimeError" in page
    assert broken.number in page
    # The ZIP holds what is ready.
    assert len([n for n in zip_of(client, batch).namelist() if n.endswith(".pdf")]) == 3

    monkeypatch.setattr(services, "html_to_pdf", real)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("letters:letter_retry", args=[broken.pk]))
    assert response.status_code == 302
    broken.refresh_from_db()
    assert broken.render_status == Letter.RenderStatus.READY
    assert broken.render_error == ""
    page = client.get(reverse("letters:batch_detail", args=[batch.pk])).text
    assert "Failed: <strong>0</strong>" in page
    assert len([n for n in zip_of(client, batch).namelist() if n.endswith(".pdf")]) == 4


def test_batch_only_includes_cases_of_the_organisation(
    client, coordinator, active_cases, other_org, template_fr, ofpra,
    django_capture_on_commit_callbacks, prepared_at_once,
):  # fmt: skip
    foreign = Case.objects.get(organisation=other_org)
    client.force_login(coordinator)
    # Even asking for the foreign case by its reference finds nothing.
    response = client.get(BATCH_NEW + f"?status=active&q={foreign.reference}")
    assert "<strong>0</strong> letters will be made" in response.text

    batch, _ = start_batch(client, template_fr, ofpra, django_capture_on_commit_callbacks)
    assert foreign.pk not in batch.case_ids
    assert not Letter.objects.filter(case=foreign).exists()
    assert batch.letters.count() == len(active_cases)


def test_batch_prepare_ignores_case_ids_of_another_organisation(
    coordinator, active_cases, other_org, template_fr, ofpra, monkeypatch
):
    """Defence in depth: even if a foreign case id got into a batch, no letter is made for it."""
    from letters.tasks import render_letters

    monkeypatch.setattr(render_letters, "delay", lambda *args, **kwargs: None)
    foreign = Case.objects.get(organisation=other_org)
    batch = Batch.objects.create(
        organisation=coordinator.membership.organisation,
        template=template_fr,
        authority=ofpra,
        language="fr",
        case_ids=[active_cases[0].pk, foreign.pk],
        created_by=coordinator,
    )
    services.batch_prepare(batch=batch)
    assert list(batch.letters.values_list("case_id", flat=True)) == [active_cases[0].pk]


def test_batch_pages_are_for_coordinators_of_the_organisation(
    client, coordinator, caseworker, volunteer, lawyer, outsider, active_cases, template_fr,
    ofpra, django_capture_on_commit_callbacks,
):  # fmt: skip
    client.force_login(coordinator)
    batch, _ = start_batch(client, template_fr, ofpra, django_capture_on_commit_callbacks)
    pages = [
        reverse("letters:batch_detail", args=[batch.pk]),
        reverse("letters:batch_zip", args=[batch.pk]),
        reverse("letters:batch_csv", args=[batch.pk]),
    ]
    for user in (caseworker, volunteer, lawyer, outsider):
        client.force_login(user)
        for url in pages:
            assert client.get(url).status_code == 404, (user, url)
        expected_new = 200 if user == outsider else 403  # outsider: own organisation's form
        assert client.get(BATCH_NEW + FILTERS).status_code == expected_new
        if user != outsider:
            response = client.post(
                BATCH_NEW + FILTERS,
                {
                    "batch-template": template_fr.pk,
                    "batch-authority": ofpra.pk,
                    "batch-confirm": "on",
                    "start": "1",
                },
            )
            assert response.status_code == 403
    assert Batch.objects.count() == 1
    assert not DownloadLogEntry.objects.exclude(user=coordinator).exists()


def test_a_letter_stored_before_the_database_went_away_is_ready_and_the_sweep_ends_its_batch(
    coordinator, active_cases, template_fr, ofpra, monkeypatch
):
    """The database stops answering between a letter's last update and the look at its batch:
    the letter is ready (the task must not retry it and call it "skipped"), and the batch,
    which nobody could mark finished, is finished by the next sweep."""
    from letters.tasks import render_letters, requeue_stuck_letters

    monkeypatch.setattr(render_letters, "delay", lambda *args, **kwargs: None)
    batch = Batch.objects.create(
        organisation=coordinator.membership.organisation,
        template=template_fr,
        authority=ofpra,
        language="fr",
        case_ids=[case.pk for case in active_cases],
        created_by=coordinator,
    )
    services.batch_prepare(batch=batch)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.RENDERING

    def database_gone(batch_id):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(services, "_batch_finish_if_done", database_gone)
    outcomes = [
        services.letter_render(letter_id=letter.pk, task_id=f"task-{letter.pk}")
        for letter in batch.letters.all()
    ]
    assert outcomes == ["ready"] * len(active_cases)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.RENDERING  # nobody could say it was done

    monkeypatch.undo()
    requeue_stuck_letters()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.FINISHED
