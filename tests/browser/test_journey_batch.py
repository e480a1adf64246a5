"""Journey 4: a batch of letters. The coordinator filters the case list down to the 20 cases
awaiting a decision, asks for "Letters for these cases", picks the template and the addressee,
confirms and starts the batch; a real Celery worker drafts, numbers and renders the letters while
the progress bar fills up (htmx polls, no reload); the ZIP then holds the 20 PDFs and the register
rows. Screenshots in test-artifacts/browser/batch/."""

import csv
import io
import zipfile

import pytest
from playwright.sync_api import expect

from casework.models import Authority, Case, Membership
from letters.models import Batch, Letter, LetterTemplate
from tests.browser.helpers import (
    DESKTOP,
    OFPRA_TEMPLATE,
    Shots,
    log_in,
    watch_for_errors,
    worker_paused,
)
from tests.factories import make_case, make_organisation, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
SIZE = 20

# Records every value the progress bar takes, across htmx's swaps of the whole section.
WATCH_PROGRESS = """() => {
    window.progressSeen = [];
    const record = () => {
        const bar = document.querySelector("#batch-progress");
        if (bar) window.progressSeen.push(Number(bar.getAttribute("value")));
    };
    record();
    new MutationObserver(record).observe(document.body, {
        subtree: true, childList: true, attributes: true, attributeFilter: ["value"],
    });
}"""


@pytest.fixture
def caseload():
    org = make_organisation()
    coordinator = make_user(
        organisation=org, role=Membership.Role.COORDINATOR, username="anna",
        first_name="Anna", last_name="Kuznetsova",
    )  # fmt: skip
    waiting = [
        make_case(
            organisation=org,
            status=Case.Status.AWAITING_DECISION,
            given_names=f"Client{n:02d}",
            cyrillic=None,
        )
        for n in range(SIZE)
    ]
    others = [make_case(organisation=org, status=status) for status in Case.Status.values[:3]]
    return coordinator, waiting, others


def test_batch_of_twenty_letters(
    caseload, site_url, celery_worker_process, new_page, artifacts, settings
):
    # One coordinator's journey: the second person's approval of a template batch
    # (LETTERS_BATCH_TWO_PERSON_RULE) has its own tests in tests/letters/test_review.py.
    settings.LETTERS_BATCH_TWO_PERSON_RULE = False
    coordinator, waiting, others = caseload
    shots = Shots(artifacts, "batch")
    page = new_page(DESKTOP)
    errors = watch_for_errors(page)
    log_in(page, site_url, coordinator)

    page.locator("nav").get_by_role("link", name="Cases", exact=True).click()
    page.wait_for_url(f"{site_url}/cases/")
    results = page.locator("#results")
    expect(results).to_contain_text(f"{SIZE + len(others)} cases found")
    page.locator("#id_status").select_option(Case.Status.AWAITING_DECISION)
    expect(results).to_contain_text(f"{SIZE} cases found")
    expect(results.locator("tbody tr")).to_have_count(SIZE)
    shots.take(page, "case-list-filtered", phone=True)

    results.get_by_role("button", name="Letters for these cases").click()
    page.wait_for_url(f"{site_url}/letters/batches/new/")
    expect(page.locator("main")).to_contain_text(f"{SIZE} letters will be made")
    template = LetterTemplate.objects.get(name=OFPRA_TEMPLATE, language="fr")
    page.locator("#id_batch-template").select_option(str(template.pk))
    page.locator("#id_batch-authority").select_option(str(Authority.objects.get(code="ofpra").pk))
    page.locator("#id_batch-confirm").check()
    shots.take(page, "batch-new", phone=True)

    # The worker waits until the page is watching, so that the bar is seen at 0 first.
    with worker_paused(celery_worker_process):
        page.get_by_role("button", name="Start the batch").click()
        page.wait_for_url(f"{site_url}/letters/batches/*/")
        expect(page.get_by_role("alert")).to_contain_text(f"Batch started: {SIZE} letters")
        progress = page.locator("#batch-progress")
        expect(progress).to_have_attribute("max", str(SIZE))
        expect(progress).to_have_attribute("value", "0")
        shots.take(page, "batch-progress-start", phone=True)
        page.evaluate(WATCH_PROGRESS)
        page.evaluate("window.pristanTestMarker = 'same page'")

    expect(progress).to_have_attribute("value", str(SIZE), timeout=90_000)
    expect(page.locator("#progress label")).to_contain_text(f"{SIZE} of {SIZE} letters ready")
    zip_link = page.get_by_role("link", name="Download all PDFs (ZIP)")
    expect(zip_link).to_be_visible()
    assert page.evaluate("window.pristanTestMarker") == "same page"  # htmx polled, no reload
    seen = page.evaluate("window.progressSeen")
    assert seen[0] == 0 and seen[-1] == SIZE and seen == sorted(seen), seen
    shots.take(page, "batch-finished", phone=True)

    with page.expect_download() as download_info:
        zip_link.click()
    download = download_info.value
    with zipfile.ZipFile(download.path()) as archive:
        names = archive.namelist()
        pdfs = [name for name in names if name.endswith(".pdf")]
        assert len(pdfs) == SIZE, names
        assert all(archive.read(name).startswith(b"%PDF") for name in pdfs)
        rows = list(csv.DictReader(io.StringIO(archive.read("register.csv").decode())))
    assert sorted(row["case"] for row in rows) == sorted(case.reference for case in waiting)

    batch = Batch.objects.get()
    assert batch.status == Batch.Status.FINISHED
    assert Letter.objects.filter(batch=batch, render_status="ready").count() == SIZE
    assert errors == []
