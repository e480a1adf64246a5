"""The facts about a person, in the browser: a caseworker with special-category access records
an interpreter, vulnerabilities, two contact channels (a phone safe for calls, an e-mail nobody
confirmed) and an identity phrase; the case page links the phone only, and reveals the
vulnerabilities and the phrase on request (htmx). A volunteer on the same case sees the contact
warnings but never the vulnerabilities. Screenshots in test-artifacts/browser/person-facts/ and,
for the record of the work, /work/shots/facts-*.png when that folder exists."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from casework.models import AccessEvent, Case, Client, Membership
from tests.browser.helpers import (
    Shots,
    describe_violations,
    log_in,
    run_axe,
    watch_for_errors,
)
from tests.factories import make_case, make_organisation, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHOTS = Path("/work/shots")


def _keep(shots: Shots, name: str) -> None:
    """Copy the last screenshot to /work/shots/facts-<name>.png (only on the developer's
    machine that has the folder)."""
    if SHOTS.is_dir():
        last = sorted(shots.folder.glob(f"{shots.count:02d}-*-desktop.png"))[-1]
        shutil.copy(last, SHOTS / f"facts-{name}.png")


def test_person_facts_recorded_masked_and_revealed(site_url, new_page, artifacts):
    org = make_organisation()
    caseworker = make_user(
        organisation=org, role=Membership.Role.CASEWORKER, username="irina", special=True
    )
    volunteer = make_user(organisation=org, role=Membership.Role.VOLUNTEER, username="pavel")
    case = make_case(organisation=org, assignees=[caseworker, volunteer], status=Case.Status.ACTIVE)
    shots = Shots(artifacts, "person-facts")

    page = new_page(bypass_csp=True)  # for axe's injected script
    errors = watch_for_errors(page)
    log_in(page, site_url, caseworker)
    page.goto(f"{site_url}/cases/{case.reference}/edit/")
    page.select_option("#id_client-interpreter_language", "ce")
    page.fill("#id_client-interpreter_dialect", "Cheberloi dialect")
    page.select_option("#id_client-interpreter_gender", "f")
    page.get_by_label("Survivor of torture").check()
    page.get_by_label("Mental-health needs").check()
    page.fill("#id_client-vulnerability_note", "Needs breaks in long interviews.")
    page.fill("#id_client-contact_note", "Only on Signal after 18:00; never say the NGO's name.")
    page.fill("#id_client-new_identity_phrase", "Привет от тёти Веры")
    page.select_option("#id_contacts-0-kind", "phone")
    page.fill("#id_contacts-0-value", "+44 7700 900123")
    page.fill("#id_contacts-0-safety_note", "Her own phone; calls 10–12 only")
    # An unfitting use first: the form says so and keeps what was typed.
    page.check("#id_contacts-0-may_email")
    page.check("#id_contacts-0-may_call")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_contacts-0-may_email").locator("..")).to_contain_text(
        "does not fit a channel of the kind"
    )
    expect(page.locator("#id_contacts-0-value")).to_have_value("+44 7700 900123")
    shots.take(page, "contact-use-refused")
    _keep(shots, "form-error")
    page.uncheck("#id_contacts-0-may_email")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/")

    client = Client.objects.get(pk=case.client_id)
    assert client.vulnerabilities == ["torture_survivor", "mental_health"]
    assert client.identity_phrase == "Привет от тёти Веры"
    client.contacts.create(kind="email", value="irina.client@example.org")

    page.reload()
    contacts = page.locator("#client-contacts")
    expect(contacts.locator('a[href="tel:+447700900123"]')).to_be_visible()
    expect(contacts.locator('a[href^="mailto:"]')).to_have_count(0)
    expect(contacts).to_contain_text("no e-mail")
    expect(contacts).to_contain_text("Only on Signal after 18:00")
    expect(page.locator("#special-category")).not_to_contain_text("Survivor of torture")
    expect(page.locator("#identity-phrase")).not_to_contain_text("тёти Веры")
    shots.take(page, "case-masked")
    _keep(shots, "masked")

    page.locator("#special-category").get_by_role("button", name="Reveal").click()
    expect(page.locator("#special-category")).to_contain_text("Survivor of torture")
    page.locator("#identity-phrase").get_by_role("button").click()
    expect(page.locator("#identity-phrase")).to_contain_text("Привет от тёти Веры")
    shots.take(page, "case-revealed")
    _keep(shots, "revealed")
    # The badges, warnings and revealed blocks: no serious accessibility fault.
    violations = [v for v in run_axe(page) if v["impact"] in ("serious", "critical")]
    assert not violations, describe_violations(page.url, violations)
    assert AccessEvent.objects.filter(
        user=caseworker, action=AccessEvent.Action.REVEAL, object_type="identity_phrase"
    ).exists()
    assert errors == []

    other = new_page()
    log_in(other, site_url, volunteer)
    other.goto(f"{site_url}/cases/{case.reference}/")
    expect(other.locator("#special-category")).to_contain_text("Your role does not include")
    expect(other.locator("#client-contacts")).to_contain_text("Only on Signal after 18:00")
    assert "Survivor of torture" not in other.content()
    shots.take(other, "volunteer")
    _keep(shots, "volunteer")

    russian = new_page(locale="ru-RU")
    log_in(russian, site_url, caseworker)
    russian.goto(f"{site_url}/cases/{case.reference}/")
    expect(russian.locator("#client-contacts")).to_contain_text("не писать на эл. почту")
    expect(russian.locator("#client-contacts")).to_contain_text("звонить можно")
    expect(russian.locator("#identity-phrase")).to_contain_text("Показать контрольную фразу")
    shots.take(russian, "case-russian")
    _keep(shots, "russian")
