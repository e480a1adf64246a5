"""Journey: a caseworker records the OFPRA refusal (the CNDA appeal deadline computes itself
and shows on the dashboard, marked), then gives the case its CNDA appeal checklist and ticks
what the client has, linking the decision's scan. Screenshots of the case page's checklist in
test-artifacts/browser/checklist/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from casework import services
from casework.models import Case, ChecklistEntry, Document, Event, Membership
from tests.browser.helpers import DESKTOP, Shots, log_in, watch_for_errors
from tests.browser.test_journey_casework import SMALL_PDF
from tests.factories import make_case, make_organisation, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def caseworker_and_case(private_media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    org = make_organisation()
    caseworker = make_user(organisation=org, role=Membership.Role.CASEWORKER, username="marina")
    case = make_case(organisation=org, assignees=[caseworker], status=Case.Status.REFUSED)
    services.document_upload(
        case=case,
        upload=SimpleUploadedFile("decision.pdf", SMALL_PDF, content_type="application/pdf"),
        kind=Document.Kind.AUTHORITY_DECISION,
        title="OFPRA decision (scan)",
        content_type="application/pdf",
        by=caseworker,
    )
    return caseworker, case


def test_decision_deadline_and_checklist_on_the_case_page(
    caseworker_and_case, site_url, new_page, artifacts
):
    caseworker, case = caseworker_and_case
    shots = Shots(artifacts, "checklist")
    page = new_page(DESKTOP)
    errors = watch_for_errors(page)
    log_in(page, site_url, caseworker)
    page.goto(f"{site_url}/cases/{case.reference}/")

    # The OFPRA refusal, notified ten days ago: the CNDA appeal is due a month after.
    notified = timezone.localdate() - timedelta(days=20)
    page.locator("section[aria-labelledby=events-h]").get_by_role("link", name="Add").click()
    page.locator("#id_kind").select_option("decision")
    page.locator("#id_title").fill("OFPRA refusal")
    page.locator("#id_date").fill(notified.isoformat())
    page.locator("#id_outcome").select_option("refused")
    page.locator("main form").get_by_role("button", name="Save").click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/")
    expect(page.locator(".alert-info")).to_contain_text(
        "Deadline computed: CNDA appeal — 1 month from notification on"
    )
    deadline = Event.objects.get(case=case, kind=Event.Kind.APPEAL_DEADLINE)
    events = page.locator("section[aria-labelledby=events-h]")
    expect(events).to_contain_text("CNDA appeal — 1 month from notification")
    expect(events).to_contain_text("computed")

    # The checklist of the CNDA appeal.
    checklists = page.locator("section[aria-labelledby=checklists-h]")
    checklists.get_by_role("link", name="Add a procedure").click()
    page.locator("#id_procedure").select_option(label="CNDA appeal")
    page.locator("main form").get_by_role("button", name="Save").click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/")
    expect(checklists.locator("[data-state=missing]")).to_have_count(4)

    checklists.get_by_role("link", name="Update").click()
    fieldsets = page.locator("main form fieldset")
    fieldsets.nth(0).get_by_label("Have").check()
    fieldsets.nth(0).get_by_label("OFPRA decision (scan)").check()
    fieldsets.nth(1).get_by_label("Have").check()
    fieldsets.nth(2).get_by_label("Not applicable").check()
    shots.take(page, "checklist-form")
    page.locator("main form").get_by_role("button", name="Save").click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/")
    expect(page.get_by_role("alert")).to_contain_text("Checklist saved.")

    expect(checklists.locator("[data-state=have]")).to_have_count(2)
    expect(checklists.locator("[data-state=not_applicable]")).to_have_count(1)
    expect(checklists.locator("[data-state=missing]")).to_have_count(1)
    expect(checklists.get_by_role("link", name="OFPRA decision (scan)")).to_be_visible()
    expect(checklists.locator("[data-state=missing]")).to_contain_text("Missing")
    checklists.scroll_into_view_if_needed()
    checklists.screenshot(path=shots.folder / "checklist-section.png")
    shots.take(page, "case-page-checklist", phone=True)
    assert ChecklistEntry.objects.filter(state="have").count() == 2

    # The dashboard marks the deadline (about ten days away) with its time left, in words.
    page.goto(f"{site_url}/")
    upcoming = page.locator("section[aria-labelledby=upcoming-h]")
    days = (deadline.date - timezone.localdate()).days
    assert 7 < days <= 14
    expect(upcoming.locator("li")).to_contain_text(case.reference)
    expect(upcoming.locator("li .badge")).to_have_text(re.compile(rf"in {days} days?"))
    shots.take(page, "dashboard")
    assert errors == []
