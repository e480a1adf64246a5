"""Journey: a coordinator refers a case to a partner lawyer; the lawyer logs in, sees the offer
(without the client's name), accepts, adds a note and a document; the coordinator sees both,
marked as the lawyer's, and ends the referral; the lawyer's access ends with it. Screenshots in
test-artifacts/browser/referral/ and, for the review, /work/shots/referral-*.png when that
folder exists."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from casework.models import AccessEvent, CaseLogEntry, Consent, Membership, Note, Share
from tests.browser.helpers import DESKTOP, Shots, log_in, watch_for_errors
from tests.browser.test_journey_casework import SMALL_PDF
from tests.factories import make_case, make_organisation, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
REVIEW_SHOTS = Path("/work/shots")
MESSAGE = "CNDA appeal: hearing next month, we need counsel. Decision and checklist attached."


@pytest.fixture
def people_and_case(private_media):
    org = make_organisation()
    coordinator = make_user(
        organisation=org, role=Membership.Role.COORDINATOR, username="olga", first_name="Olga"
    )
    lawyer = make_user(
        organisation=org, role=Membership.Role.LAWYER, username="maitre", first_name="Claire"
    )
    case = make_case(organisation=org, consents=[Consent.Purpose.CASEWORK, Consent.Purpose.SHARING])
    return coordinator, lawyer, case


def _review_copy(shots: Shots, stem: str, name: str) -> None:
    if REVIEW_SHOTS.is_dir():
        shutil.copy(shots.folder / f"{stem}-desktop.png", REVIEW_SHOTS / f"referral-{name}.png")


def test_referral_from_offer_to_end(people_and_case, site_url, new_page, artifacts, tmp_path):
    coordinator, lawyer, case = people_and_case
    shots = Shots(artifacts, "referral")
    case_url = f"{site_url}/cases/{case.reference}/"

    # The coordinator refers the case.
    ngo = new_page(DESKTOP)
    ngo_errors = watch_for_errors(ngo)
    log_in(ngo, site_url, coordinator)
    ngo.goto(case_url)
    ngo.get_by_role("link", name="Refer to a partner lawyer").click()
    expect(ngo.locator("h1")).to_have_text("Refer to a partner lawyer")
    expect(ngo.locator("#referral-consent")).to_have_count(0)
    ngo.locator("#id_lawyer").select_option(str(lawyer.pk))
    ngo.locator("#id_message").fill(MESSAGE)
    ends_on = timezone.localdate() + timedelta(days=60)
    ngo.locator("#id_expires_on").fill(ends_on.isoformat())
    shots.take(ngo, "referral-form", phone=True)
    _review_copy(shots, "01-referral-form", "form")
    ngo.locator("main form").get_by_role("button", name="Refer").click()
    ngo.wait_for_url(case_url)
    expect(ngo.get_by_role("alert")).to_contain_text("Referral offered")
    team = ngo.locator("section[aria-labelledby=team-h]")
    expect(team).to_contain_text("referral offered")

    # The lawyer sees the offer, without the client's name, and accepts it.
    office = new_page(DESKTOP)
    office_errors = watch_for_errors(office)
    log_in(office, site_url, lawyer)
    expect(office.locator("section[aria-labelledby=referrals-h]")).to_contain_text(
        "1 referral waits for your answer"
    )
    office.get_by_role("link", name="Referrals", exact=True).first.click()
    offer = office.locator(".referral-offer")
    expect(offer).to_contain_text(case.reference)
    expect(offer).to_contain_text(MESSAGE)
    expect(office.locator("main")).not_to_contain_text(case.client.pseudonym)
    expect(office.locator("main")).not_to_contain_text("Zuganshin")
    shots.take(office, "lawyer-referrals", phone=True)
    _review_copy(shots, "02-lawyer-referrals", "lawyer-list")
    response = office.goto(case_url)
    assert response is not None and response.status == 404
    office.goto(f"{site_url}/referrals/")
    office.locator(".referral-offer").get_by_role("button", name="Accept").click()
    office.wait_for_url(case_url)
    expect(office.get_by_role("alert")).to_contain_text("Referral accepted")

    # The lawyer adds a note and a document.
    office.locator("#id_body").fill("Read the decision; I will file the appeal brief.")
    office.get_by_role("button", name="Add note").click()
    office.wait_for_url(case_url)
    office.locator("section[aria-labelledby=documents-h]").get_by_role(
        "link", name="Upload"
    ).click()
    office.locator("#id_kind").select_option("evidence")
    office.locator("#id_title").fill("Appeal brief (draft)")
    pdf = tmp_path / "brief.pdf"
    pdf.write_bytes(SMALL_PDF)
    office.locator("#id_upload").set_input_files(pdf)
    office.locator("main form").get_by_role("button", name="Save").click()
    office.wait_for_url(case_url)
    expect(office.locator("main")).not_to_contain_text("Read only")
    shots.take(office, "lawyer-case-page")

    # The coordinator sees both, marked as the partner lawyer's.
    ngo.goto(case_url)
    notes = ngo.locator("section[aria-labelledby=notes-h] article").first
    expect(notes).to_contain_text("I will file the appeal brief")
    expect(notes).to_contain_text("Partner lawyer")
    documents = ngo.locator("section[aria-labelledby=documents-h]")
    expect(documents).to_contain_text("Appeal brief (draft)")
    expect(documents).to_contain_text("Partner lawyer")
    shots.take(ngo, "coordinator-sees-additions")

    # The coordinator ends the referral; the lawyer's access ends with it.
    team.get_by_role("link", name="End the referral").click()
    ngo.locator("#id_reason").fill("The appeal is filed; thank you.")
    ngo.locator("main form").get_by_role("button", name="End the referral").click()
    ngo.wait_for_url(case_url)
    expect(ngo.get_by_role("alert")).to_contain_text("Referral ended")
    expect(team).not_to_contain_text("partner lawyer until")

    response = office.goto(case_url)
    assert response is not None and response.status == 404
    office.goto(f"{site_url}/referrals/")
    expect(office.locator("section[aria-labelledby=past-h]")).to_contain_text(case.reference)

    share = Share.objects.get(case=case, lawyer=lawyer)
    assert share.status == Share.Status.ENDED
    assert Note.objects.filter(case=case, author=lawyer).exists()
    steps = list(
        case.log_entries.filter(action=CaseLogEntry.Action.REFERRAL)
        .order_by("at", "id")
        .values_list("detail", flat=True)
    )
    assert steps == ["maitre: offered", "maitre: accepted", "maitre: ended"]
    assert AccessEvent.objects.filter(object_type="share", object_id=str(share.pk)).count() >= 3
    # The two 404s the lawyer was meant to get are the only console errors.
    assert ngo_errors == []
    assert [e for e in office_errors if "status of 404" not in e] == []
