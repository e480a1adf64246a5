"""Journey 5, security, in a real browser: setting up two-factor login with the secret the page
shows and logging in again with a TOTP code; the lockout after five wrong passwords; the public
emergency lock page; and a volunteer who never sees special-category data or documents.
Screenshots in test-artifacts/browser/security/."""

import re
from base64 import b32decode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_otp.oath import TOTP
from playwright.sync_api import expect

from accounts.models import TOTPDevice
from casework import services
from casework.models import Case, Membership
from tests.browser.helpers import (
    DESKTOP,
    LOGOUT_BUTTON,
    Shots,
    fresh_code,
    log_in,
    submit_password,
    watch_for_errors,
)
from tests.factories import PASSWORD, make_case, make_organisation, make_totp_device, make_user
from tests.integration.helpers import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
WRONG_LOGIN = "Please enter a correct username and password"
LOCKED_OUT = "Too many failed attempts"
SMALL_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def org():
    return make_organisation()


@pytest.fixture
def caseworker(org):
    return make_user(
        organisation=org, role=Membership.Role.CASEWORKER, username="marina",
        first_name="Marina", last_name="Volkova",
    )  # fmt: skip


def test_two_factor_enrolment_then_login_with_a_totp_code(
    caseworker, site_url, new_page, artifacts
):
    shots = Shots(artifacts, "security-two-factor")
    page = new_page(DESKTOP)
    errors = watch_for_errors(page)
    page.goto(f"{site_url}/accounts/login/")
    shots.take(page, "login", phone=True)

    # First login: no authenticator yet, so the password leads to the enrolment page.
    submit_password(page, site_url, caseworker.username)
    page.wait_for_url(f"{site_url}/accounts/login/enrol/")
    expect(page.locator("h1")).to_have_text("Set up two-factor login")
    expect(page.get_by_alt_text("QR code to scan with your authenticator app")).to_be_visible()
    secret = page.locator(".user-select-all").inner_text()
    key = b32decode(re.sub(r"\s", "", secret))
    shots.take(page, "enrol", phone=True)

    # What an authenticator app computes from the key the page shows; first a wrong code.
    page.locator("#id_code").fill("000000" if TOTP(key).token() != 0 else "111111")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#id_code")).to_have_attribute("aria-invalid", "true")
    # The error message is tied to its field.
    expect(page.locator("#id_code")).to_have_attribute(
        "aria-describedby", re.compile(r"\bid_code_error\b")
    )
    expect(page.locator("#id_code_error")).to_contain_text("This code is not valid")
    # django-otp makes the next try wait after a wrong code (1 s after the first).
    enrolling = TOTPDevice.objects.get(user=caseworker)
    wait_until(
        lambda: enrolling.refresh_from_db() or enrolling.verify_is_allowed()[0],
        timeout=10,
        interval=0.2,
    )
    page.locator("#id_code").fill(f"{TOTP(key).token():06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("main")).to_contain_text("Two-factor login is set up.")
    codes = page.locator("main li.user-select-all")
    expect(codes.first).to_be_visible()
    assert codes.count() >= 8
    shots.take(page, "recovery-codes", phone=True)
    page.get_by_role("link", name="I have saved them: continue").click()
    page.wait_for_url(f"{site_url}/")
    expect(page.locator(LOGOUT_BUTTON)).to_be_visible()

    # Log out, and in again: now the code step, with a code from the same key.
    page.locator(LOGOUT_BUTTON).click()
    page.wait_for_url(re.compile(re.escape(site_url) + "/accounts/login/"))
    device = TOTPDevice.objects.get(user=caseworker, confirmed=True)
    assert device.bin_key == key
    submit_password(page, site_url, caseworker.username)
    page.wait_for_url(f"{site_url}/accounts/login/code/")
    expect(page.locator("h1")).to_have_text("Enter your code")
    shots.take(page, "code-step", phone=True)
    page.locator("#id_code").fill(fresh_code(device))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site_url}/")
    expect(page.locator("h1")).to_have_text("Hello, Marina")
    assert errors == []


def test_five_wrong_passwords_lock_the_username_out(caseworker, site_url, new_page, artifacts):
    shots = Shots(artifacts, "security-lockout")
    make_totp_device(user=caseworker)
    page = new_page(DESKTOP)
    errors = watch_for_errors(page)
    for attempt in range(1, 5):
        submit_password(page, site_url, caseworker.username, password=f"wrong-{attempt}")
        expect(page.locator("main")).to_contain_text(WRONG_LOGIN)
        expect(page.locator("main")).not_to_contain_text(LOCKED_OUT)
    shots.take(page, "wrong-password", phone=True)

    # The fifth failure locks the username for 30 minutes…
    submit_password(page, site_url, caseworker.username, password="wrong-5")
    expect(page.get_by_role("alert")).to_contain_text(LOCKED_OUT)
    # …so the sixth attempt, with the right password, gets the lockout message, not the code.
    submit_password(page, site_url, caseworker.username, password=PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text(
        "logging in with this username is blocked for 30 minutes"
    )
    assert page.url == f"{site_url}/accounts/login/"
    expect(page.locator("#id_code")).to_have_count(0)
    shots.take(page, "locked-out", phone=True)
    # The status code is not an error the page shows in the console, but the browser logs it.
    assert [e for e in errors if "429" not in e] == []


def lock_by_username(page, site_url, username: str) -> str:
    """Fill in the public emergency page; returns the text of the answer."""
    page.goto(f"{site_url}/accounts/login/")
    page.get_by_role("link", name="Lost your phone or laptop?").click()
    page.wait_for_url(f"{site_url}/accounts/lock/")
    page.locator("#id_username").fill(username)
    page.locator("#id_confirm").check()
    page.get_by_role("button", name="Lock my account").click()
    expect(page.locator("h1")).to_have_text("Done")
    return page.locator("main").inner_text()


def test_the_emergency_lock_page(caseworker, site_url, new_page, artifacts):
    shots = Shots(artifacts, "security-emergency-lock")
    laptop = new_page(DESKTOP)  # the laptop that was taken, still logged in
    errors = watch_for_errors(laptop)
    log_in(laptop, site_url, caseworker)

    phone = new_page(DESKTOP)  # a borrowed phone, nobody logged in
    errors += watch_for_errors(phone)
    # Locking asks for confirmation first (data-confirm, when the page has it): yes.
    phone.on("dialog", lambda dialog: dialog.accept())
    phone.goto(f"{site_url}/accounts/lock/")
    expect(phone.locator("h1")).to_have_text("Lost your phone or laptop?")
    shots.take(phone, "emergency-lock", phone=True)
    unknown = lock_by_username(phone, site_url, "nobody-by-that-name")
    existing = lock_by_username(phone, site_url, caseworker.username)
    assert existing == unknown  # the page does not tell whether the username exists
    shots.take(phone, "emergency-lock-done", phone=True)
    caseworker.refresh_from_db()
    assert caseworker.locked_at is not None

    # The laptop's session has ended…
    laptop.goto(f"{site_url}/cases/")
    laptop.wait_for_url(re.compile(re.escape(site_url) + r"/accounts/login/"))
    expect(laptop.locator(LOGOUT_BUTTON)).to_have_count(0)
    # …and the right password now gets the same answer as a wrong one.
    submit_password(phone, site_url, caseworker.username, password=PASSWORD)
    expect(phone.locator("main")).to_contain_text(WRONG_LOGIN)
    assert phone.url == f"{site_url}/accounts/login/"
    shots.take(phone, "locked-user-cannot-log-in", phone=False)
    assert errors == []


@pytest.fixture
def sensitive_case(org, caseworker):
    """A case assigned to a volunteer and a caseworker, with special-category data (the
    factory's markers) and a document."""
    volunteer = make_user(
        organisation=org, role=Membership.Role.VOLUNTEER, username="olga",
        first_name="Olga", last_name="Smirnova",
    )  # fmt: skip
    coordinator = make_user(
        organisation=org, role=Membership.Role.COORDINATOR, username="anna",
        first_name="Anna", last_name="Kuznetsova",
    )  # fmt: skip
    case = make_case(organisation=org, assignees=[volunteer, caseworker], status=Case.Status.ACTIVE)
    document = services.document_upload(
        case=case,
        upload=SimpleUploadedFile("court-decision.pdf", SMALL_PDF),
        kind="court_decision",
        title="Court decision of 2024",
        content_type="application/pdf",
        by=caseworker,
    )
    return volunteer, coordinator, case, document


def test_a_volunteer_sees_neither_special_category_data_nor_documents(
    sensitive_case, site_url, new_page, artifacts
):
    volunteer, coordinator, case, document = sensitive_case
    shots = Shots(artifacts, "security-volunteer")
    page = new_page(DESKTOP)
    errors = watch_for_errors(page)
    log_in(page, site_url, volunteer)
    page.goto(f"{site_url}/cases/{case.reference}/")
    expect(page.locator("h1")).to_contain_text(case.reference)
    special = page.locator("#special-category")
    expect(special).to_contain_text("Your role does not include special-category data")
    expect(special.get_by_role("button", name="Reveal")).to_have_count(0)
    expect(page.locator("#documents-h")).to_have_count(0)
    expect(page.get_by_role("link", name="Court decision of 2024")).to_have_count(0)
    expect(page.get_by_role("link", name="Upload")).to_have_count(0)
    html = page.content()
    assert "SPECIAL-ORIENTATION-MARKER" not in html and "SPECIAL-CRIMINAL-MARKER" not in html
    shots.take(page, "volunteer-case-page", phone=True)

    # Nor in the edit form, nor at the document's address.
    # By its address: the statements for letters have "Edit" links of their own.
    page.locator(f'a[href="/cases/{case.reference}/edit/"]').click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/edit/")
    expect(page.locator("#id_client-pseudonym")).to_be_visible()
    expect(page.locator("#id_client-orientation")).to_have_count(0)
    expect(page.locator("#id_client-criminal_case")).to_have_count(0)
    response = page.goto(f"{site_url}/cases/{case.reference}/documents/{document.pk}/")
    assert response.status == 404

    # A coordinator, on the same case, can reveal them (a logged action) and see the document.
    boss = new_page(DESKTOP)
    errors += watch_for_errors(boss)
    log_in(boss, site_url, coordinator)
    boss.goto(f"{site_url}/cases/{case.reference}/")
    expect(boss.locator("#documents-h")).to_be_visible()
    expect(boss.get_by_role("link", name="Court decision of 2024")).to_be_visible()
    expect(boss.locator("#special-category")).not_to_contain_text("SPECIAL-ORIENTATION-MARKER")
    boss.locator("#special-category").get_by_role("button", name="Reveal").click()
    expect(boss.locator("#special-category")).to_contain_text("SPECIAL-ORIENTATION-MARKER")
    shots.take(boss, "coordinator-revealed", phone=False)
    assert [e for e in errors if "404" not in e] == []
