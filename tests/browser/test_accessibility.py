"""Accessibility in a real browser: axe-core (node_modules/axe-core, from package-lock.json) finds
no serious or critical violation on the dashboard, the case list, a case page, a letter draft, the
register, a checklist, the security page and the login page, in English and in Russian; and the
login form and the case-list filters work with the keyboard alone.

axe-core is injected as an inline script, which the pages' CSP forbids: only the axe contexts
bypass the CSP (bypass_csp=True); every other browser test runs under the real policy. The full
list of violations (minor and moderate ones included) is written to
test-artifacts/browser/axe/<locale>.txt and printed."""

import re

import pytest
from playwright.sync_api import expect

from casework import services as casework_services
from casework.models import Case, Membership, Procedure
from letters import services as letter_services
from letters.models import LetterTemplate
from tests.browser.helpers import (
    DESKTOP,
    LOGOUT_BUTTON,
    OFPRA_TEMPLATE,
    describe_violations,
    fresh_code,
    log_in,
    run_axe,
    watch_for_errors,
)
from tests.factories import (
    PASSWORD,
    make_case,
    make_event,
    make_note,
    make_organisation,
    make_totp_device,
    make_user,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
BLOCKING = {"serious", "critical"}


@pytest.fixture
def office():
    """A coordinator with a few cases, one with events, a note and a letter draft."""
    org = make_organisation()
    coordinator = make_user(
        organisation=org, role=Membership.Role.COORDINATOR, username="anna",
        first_name="Anna", last_name="Kuznetsova",
    )  # fmt: skip
    case = make_case(
        organisation=org,
        assignees=[coordinator],
        status=Case.Status.ACTIVE,
        risk=Case.Risk.HIGH,
        summary="Persecuted for taking part in anti-war protests.",
    )
    make_case(
        organisation=org, status=Case.Status.INTAKE, family_name="Petrova", given_names="Anna"
    )
    make_case(organisation=org, status=Case.Status.AWAITING_DECISION, given_names="Ildar")
    make_event(case=case, days=3)
    make_event(case=case, days=-2, title="Submit the documents")
    make_note(case=case, author=coordinator)
    checklist = casework_services.case_procedure_add(
        case=case, procedure=Procedure.objects.get(name="CNDA appeal"), by=coordinator
    )
    first = checklist.procedure.items.first()
    casework_services.checklist_save(
        case_procedure=checklist, states={first.pk: ("have", [])}, by=coordinator
    )
    template = LetterTemplate.objects.get(name=OFPRA_TEMPLATE, language="fr")
    letter = letter_services.letter_draft(
        case=case, template=template, authority=case.authority, by=coordinator
    )
    return coordinator, case, letter


@pytest.mark.parametrize("locale", ["en-GB", "ru-RU"])
def test_axe_finds_no_serious_violation(office, locale, site_url, new_page, artifacts):
    coordinator, case, letter = office
    page = new_page(DESKTOP, locale=locale, bypass_csp=True)
    pages = {"login": f"{site_url}/accounts/login/"}
    report, blocking = [], []

    def check(name: str) -> None:
        violations = run_axe(page)
        summary = describe_violations(f"{name} {page.url}", violations)
        report.append(f"== {name} ({page.url}): {len(violations)} violation(s)\n{summary}")
        blocking.extend(
            f"{name}: {v['id']} ({v['impact']})" for v in violations if v["impact"] in BLOCKING
        )

    page.goto(pages["login"])
    check("login")
    log_in(page, site_url, coordinator)
    pages |= {
        "dashboard": f"{site_url}/",
        "case list": f"{site_url}/cases/",
        "case page": f"{site_url}/cases/{case.reference}/",
        "letter draft": f"{site_url}/letters/{letter.pk}/",
        "register": f"{site_url}/letters/register/",
        "checklist": f"{site_url}/cases/{case.reference}/procedures/{case.procedures.get().pk}/",
        "security": f"{site_url}/accounts/security/",
        "refer to a lawyer": f"{site_url}/cases/{case.reference}/refer/",
        "referrals": f"{site_url}/referrals/",
    }
    for name, url in list(pages.items())[1:]:
        page.goto(url)
        expect(page.locator("h1")).to_be_visible()
        check(name)

    text = "\n\n".join(report)
    folder = artifacts / "axe"
    folder.mkdir(exist_ok=True)
    (folder / f"{locale}.txt").write_text(text + "\n")
    print(text)
    assert blocking == [], "serious or critical accessibility violations:\n" + text


def tab_to(page, selector: str, *, limit: int = 40) -> int:
    """Press Tab until the element matching `selector` has the focus; returns how many presses
    it took. Fails if it never gets the focus (not reachable with the keyboard)."""
    target = page.locator(selector)
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{selector} never got the focus after {limit} presses of Tab")


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def test_login_and_case_filters_with_the_keyboard_only(office, site_url, new_page):
    coordinator, case, _ = office
    device = make_totp_device(user=coordinator)
    page = new_page(DESKTOP)
    errors = watch_for_errors(page)
    page.goto(f"{site_url}/accounts/login/")

    # The username field has the focus on arrival (autofocus), Tab goes on to the password.
    expect(page.locator("#id_username")).to_be_focused()
    page.keyboard.type(coordinator.username)
    page.keyboard.press("Tab")
    expect(page.locator("#id_password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site_url}/accounts/login/code/")
    expect(page.locator("#id_code")).to_be_focused()
    page.keyboard.type(fresh_code(device))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site_url}/")
    expect(page.locator(LOGOUT_BUTTON)).to_be_visible()

    # The case list: the first Tab from the top of the page goes to "Skip to content" (shown
    # when focused), then on to the search box; a reference, Enter.
    page.goto(f"{site_url}/cases/")
    results = page.locator("#results")
    expect(results).to_contain_text("3 cases found")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    tab_to(page, "#id_q")
    page.keyboard.type(case.reference)
    page.keyboard.press("Enter")
    expect(results).to_contain_text("1 case found")
    expect(results.get_by_role("link", name=case.reference)).to_be_visible()
    assert page.url == f"{site_url}/cases/"  # in place (htmx), nothing in the address

    # Clear the search, then the status filter: Tab to the list box, type the first letters of
    # a status to select it; Tab on to "Apply" and press Enter.
    page.keyboard.press("Shift+Tab")
    tab_to(page, "#id_q")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.press("Tab")
    expect(page.locator("#id_status")).to_be_focused()
    page.keyboard.type("Awaiting")
    expect(page.locator("#id_status")).to_have_values([Case.Status.AWAITING_DECISION])
    tab_to(page, "#case-filter [type=submit]")
    page.keyboard.press("Enter")
    expect(results).to_contain_text("1 case found")
    expect(results.locator("tbody tr")).to_contain_text("Awaiting decision")

    # And into the case from the results, with Enter on the link, once the list has settled:
    # clearing the search also sent a delayed search (400 ms) whose answer replaces the list,
    # and the focus with it.
    page.wait_for_load_state("networkidle")
    tab_to(page, "#results a[href$='/']")
    assert re.fullmatch(r"\d{4}-\d+", page.evaluate("document.activeElement.textContent"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(site_url) + r"/cases/\d{4}-\d+/$"))
    expect(page.locator("h1")).to_be_visible()
    assert errors == []
