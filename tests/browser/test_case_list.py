"""The case list in a real browser: log in, live search across scripts (htmx, no reload), a
status filter, and on to the case page; desktop and phone screenshots in test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from casework.models import Case, Membership
from tests import factories
from tests.browser.helpers import PHONE
from tests.factories import PASSWORD, make_case, make_organisation, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def caseload():
    org = make_organisation()
    caseworker = make_user(organisation=org, role=Membership.Role.CASEWORKER, username="marina")
    colleague = make_user(organisation=org, role=Membership.Role.CASEWORKER, username="oleg")
    rustam = make_case(  # Zuganshin / Зуганшин, the factory's default client
        organisation=org, assignees=[caseworker], status=Case.Status.ACTIVE
    )
    ildar = make_case(
        organisation=org,
        assignees=[caseworker],
        given_names="Ildar",
        cyrillic=("Зуганшин", "Ильдар"),
        status=Case.Status.AWAITING_DECISION,
    )
    anna = make_case(
        organisation=org,
        assignees=[caseworker],
        family_name="Petrova",
        given_names="Anna",
        cyrillic=("Петрова", "Анна"),
        status=Case.Status.INTAKE,
    )
    not_hers = make_case(organisation=org, assignees=[colleague], status=Case.Status.ACTIVE)
    return {
        "caseworker": caseworker,
        "rustam": rustam,
        "ildar": ildar,
        "anna": anna,
        "not_hers": not_hers,
    }


def watch_for_errors(page) -> list[str]:
    errors = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    return errors


def log_in(page, site_url, user) -> None:
    """Through the real login form; and through the second-factor step when there is one (the
    user gets an authenticator first, and the test types the code it shows)."""
    make_totp_device = getattr(factories, "make_totp_device", None)
    device = make_totp_device(user=user) if make_totp_device else None
    page.goto(f"{site_url}/accounts/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form:has(#id_password) [type=submit]").click()
    page.wait_for_load_state()
    if device is not None and page.locator("#id_code").count():
        page.locator("#id_code").fill(factories.totp_code(device))
        page.locator("form:has(#id_code) [type=submit]").click()
    page.wait_for_url(f"{site_url}/")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def search_and_filter(page, site_url, caseload) -> None:
    """On the case list: type the Cyrillic name, then pick a status; both narrow the list in
    place (htmx), without a reload, and the name never appears in the address."""
    rustam, ildar, anna = (caseload[k] for k in ("rustam", "ildar", "anna"))
    results = page.locator("#results")
    expect(results).to_contain_text("3 cases found")
    for case in (rustam, ildar, anna):
        expect(results.get_by_role("link", name=case.reference)).to_be_visible()
    expect(results.get_by_role("link", name=caseload["not_hers"].reference)).to_have_count(0)

    page.evaluate("window.pristanTestMarker = 'same page'")
    search = page.locator("#id_q")
    search.press_sequentially("Зуганшин", delay=40)
    # Playwright types characters that are not on a US keyboard as text input alone, with no
    # key events, and the form listens for keyup: a real key (End) sends the keyup that the
    # last letter would have sent on a Russian keyboard.
    search.press("End")
    expect(results).to_contain_text("2 cases found")
    expect(results.get_by_role("link", name=rustam.reference)).to_be_visible()
    expect(results.get_by_role("link", name=ildar.reference)).to_be_visible()
    expect(results.get_by_role("link", name=anna.reference)).to_have_count(0)

    status = page.locator("#id_status")
    if not status.is_visible():
        # On a phone the filters other than the search box are folded behind "Filters".
        page.get_by_role("button", name="Filters").click()
    status.select_option(Case.Status.ACTIVE)
    expect(results).to_contain_text("1 case found")
    expect(results.get_by_role("link", name=rustam.reference)).to_be_visible()
    expect(results.get_by_role("link", name=ildar.reference)).to_have_count(0)
    expect(results.locator("tbody tr")).to_have_count(1)

    assert page.evaluate("window.pristanTestMarker") == "same page"  # never reloaded
    assert page.url == f"{site_url}/cases/"  # no name (nor any filter) in the address
    expect(search).to_have_value("Зуганшин")


def open_case(page, site_url, case) -> None:
    page.locator("#results").get_by_role("link", name=case.reference).click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/")
    expect(page.locator("h1")).to_contain_text(case.reference)
    expect(page).to_have_title(re.compile(re.escape(case.reference)))


def fits_width(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def test_case_list_live_search_filter_and_case_page(caseload, site_url, new_page, artifacts):
    rustam = caseload["rustam"]
    page = new_page()
    errors = watch_for_errors(page)
    log_in(page, site_url, caseload["caseworker"])

    page.get_by_role("navigation").get_by_role("link", name="Cases").click()
    page.wait_for_url(f"{site_url}/cases/")
    search_and_filter(page, site_url, caseload)
    page.screenshot(path=artifacts / "case-list-desktop.png", full_page=True)
    open_case(page, site_url, rustam)
    page.screenshot(path=artifacts / "case-page-desktop.png", full_page=True)

    # The same on a phone, with the session of the desktop browser.
    phone = new_page(
        viewport=PHONE,
        storage_state=page.context.storage_state(),
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    errors += watch_for_errors(phone)
    phone.goto(f"{site_url}/cases/")
    search_and_filter(phone, site_url, caseload)
    assert fits_width(phone, PHONE["width"])
    phone.screenshot(path=artifacts / "case-list-phone.png", full_page=True)
    open_case(phone, site_url, rustam)
    assert fits_width(phone, PHONE["width"])
    phone.screenshot(path=artifacts / "case-page-phone.png", full_page=True)

    assert errors == []
