"""Journey 3: a support letter to OFPRA in French, from the case page to the public verification
page, with a real Celery worker making the PDF.

The caseworker records the client's consent to letters, drafts the letter from the French OFPRA
template, previews it, edits the text and submits it for review; the coordinator, in a browser of
her own, approves and issues it; the caseworker's letter page shows the PDF as ready without a
reload (htmx polls), she downloads it, and the verification address printed on the page and in the
PDF opens, in a browser that is not logged in, a page that says the letter is valid and that the
downloaded file is the one issued. Screenshots in test-artifacts/browser/letter/."""

import hashlib
import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from casework import services
from casework.models import Authority, Case, Consent, Membership
from letters import services as letter_services
from letters.models import Letter, LetterTemplate
from letters.rendering import verification_url
from tests.browser.helpers import (
    DESKTOP,
    OFPRA_TEMPLATE,
    PHONE_CONTEXT,
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
EDIT = "Nous joignons à la présente une copie de la convocation reçue le 3 novembre."


@pytest.fixture
def public_url(site_url, settings):
    """The verification address printed on letters points at the live server."""
    settings.PRISTAN_PUBLIC_URL = site_url
    return site_url


@pytest.fixture
def worker_env(public_url):
    return {"PRISTAN_PUBLIC_URL": public_url}


@pytest.fixture
def people():
    org = make_organisation()
    caseworker = make_user(
        organisation=org,
        role=Membership.Role.CASEWORKER,
        username="marina",
        first_name="Marina",
        last_name="Volkova",
    )
    coordinator = make_user(
        organisation=org, role=Membership.Role.COORDINATOR, username="anna",
        first_name="Anna", last_name="Kuznetsova",
    )  # fmt: skip
    # Consent to the case file only: the caseworker records the consent to letters herself.
    case = make_case(
        organisation=org,
        assignees=[caseworker],
        status=Case.Status.ACTIVE,
        consents=(Consent.Purpose.CASEWORK,),
        summary="Poursuivi pour avoir participé à des manifestations contre la guerre.",
    )
    return caseworker, coordinator, case


def record_consent_and_draft(page, site_url, case, shots) -> int:
    page.goto(f"{site_url}/cases/{case.reference}/")
    consent = page.locator("section[aria-labelledby=consent-h]")
    page.locator("#id_consent_purpose").select_option(Consent.Purpose.LETTERS)
    consent.get_by_role("button", name="Record consent").click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/")
    expect(page.get_by_role("alert")).to_contain_text("Consent recorded")
    expect(consent).to_contain_text("Writing letters to authorities: given")
    shots.take(page, "case-page-consent", phone=True)

    page.locator("section[aria-labelledby=letters-h]").get_by_role(
        "link", name="New letter"
    ).click()
    page.wait_for_url(f"{site_url}/letters/new/{case.reference}/")
    template = LetterTemplate.objects.get(name=OFPRA_TEMPLATE, language="fr")
    page.locator("#id_template").select_option(str(template.pk))
    expect(page.locator("#id_authority")).to_have_value(str(Authority.objects.get(code="ofpra").pk))
    shots.take(page, "letter-new", phone=True)
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(re.compile(re.escape(site_url) + r"/letters/\d+/$"))
    expect(page.get_by_role("alert")).to_contain_text("Draft created.")
    expect(page.locator("h1")).to_have_text("Draft letter")
    expect(page.locator("#id_body")).to_contain_text("Madame, Monsieur,")
    expect(page.locator("#id_subject")).to_have_value(re.compile("Lettre de soutien"))
    shots.take(page, "letter-draft", phone=True)
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def preview(page, new_page, shots) -> None:
    """The preview opens in a new tab: the letter as it will be printed, on an A4 sheet. A phone
    shows the sheet zoomed out (the page has no viewport meta tag, like a PDF)."""
    with page.expect_popup() as popup_info:
        page.get_by_role("link", name="Preview").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    for text in ("Madame, Monsieur,", "Office français de protection des réfugiés", "Rustam"):
        expect(popup.locator("body")).to_contain_text(text)
    shots.take(popup, "letter-preview", phone=False)
    phone = new_page(storage_state=page.context.storage_state(), **PHONE_CONTEXT)
    phone.goto(popup.url)
    expect(phone.locator("body")).to_contain_text("Madame, Monsieur,")
    shots.take_phone(phone, "letter-preview")
    phone.close()
    popup.close()


def edit_and_submit(page, site_url, letter_id, shots) -> None:
    body = page.locator("#id_body")
    body.fill(body.input_value().rstrip() + "\n\n" + EDIT)
    page.get_by_role("button", name="Save text").click()
    page.wait_for_url(f"{site_url}/letters/{letter_id}/")
    expect(page.get_by_role("alert")).to_contain_text("Text saved.")
    expect(page.locator("#id_body")).to_contain_text(EDIT)

    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(f"{site_url}/letters/{letter_id}/")
    expect(page.get_by_role("alert")).to_contain_text("Submitted for review.")
    expect(page.locator("main")).to_contain_text("Waiting for a coordinator to approve it.")
    shots.take(page, "letter-in-review", phone=True)


def approve_and_issue(page, site_url, letter_id, shots) -> None:
    page.goto(f"{site_url}/letters/{letter_id}/")
    # A coordinator may still change the text while it is in review (a change sends it back).
    expect(page.locator("#id_body")).to_contain_text(EDIT)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{site_url}/letters/{letter_id}/")
    expect(page.get_by_role("alert")).to_contain_text("Letter approved.")
    shots.take(page, "coordinator-approved", phone=False)

    # Issuing asks for confirmation (data-confirm): the coordinator says yes.
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Issue with a number").click()
    page.wait_for_url(f"{site_url}/letters/{letter_id}/")
    expect(page.get_by_role("alert")).to_contain_text("Letter issued. The PDF is being made.")
    assert dialogs and "next number in the register" in dialogs[0]


def test_letter_to_ofpra_from_draft_to_verification(
    people, public_url, celery_worker_process, new_page, artifacts, tmp_path
):
    site_url = public_url
    caseworker, coordinator, case = people
    shots = Shots(artifacts, "letter")
    page = new_page(DESKTOP)
    errors = watch_for_errors(page)
    log_in(page, site_url, caseworker)

    letter_id = record_consent_and_draft(page, site_url, case, shots)
    preview(page, new_page, shots)
    edit_and_submit(page, site_url, letter_id, shots)

    # The worker is paused while the coordinator issues, so that the caseworker's letter page is
    # seen waiting for the PDF before it is seen with the PDF ready, without a reload.
    with worker_paused(celery_worker_process):
        boss = new_page(DESKTOP)
        errors += watch_for_errors(boss)
        log_in(boss, site_url, coordinator)
        approve_and_issue(boss, site_url, letter_id, shots)

        page.goto(f"{site_url}/letters/{letter_id}/")
        number = Letter.objects.get(pk=letter_id).number
        expect(page.locator("h1")).to_contain_text(number)
        render_status = page.locator("#render-status")
        expect(render_status).to_contain_text("The PDF is being made")
        shots.take(page, "letter-issued-rendering", phone=True)
        page.evaluate("window.pristanTestMarker = 'same page'")

    download_link = render_status.get_by_role("link", name="Download PDF")
    expect(download_link).to_be_visible(timeout=60_000)
    assert page.evaluate("window.pristanTestMarker") == "same page"  # no reload: htmx polled
    shots.take(page, "letter-pdf-ready", phone=True)

    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename == f"letter-{number.replace('/', '-')}.pdf"
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF")
    sha256 = hashlib.sha256(content).hexdigest()
    expect(render_status.locator("code")).to_have_text(sha256)

    # The verification address: on the letter page, and printed in the PDF.
    verification = page.locator("li", has_text="Verification page").get_by_role("link")
    url = verification.get_attribute("href")
    assert re.fullmatch(re.escape(site_url) + r"/v/[\w-]+/", url), url
    pdf_text = "".join(sheet.extract_text() for sheet in PdfReader(io.BytesIO(content)).pages)
    assert url in re.sub(r"\s+", "", pdf_text), "the PDF does not print the verification URL"
    assert EDIT.split(" copie")[0] in pdf_text

    public = new_page(DESKTOP)
    errors += watch_for_errors(public)
    public.goto(url)
    expect(public.locator(".card").first).to_contain_text(
        "This letter is VALID: it was issued by the organisation below."
    )
    expect(public.locator("main")).to_contain_text(number)
    expect(public.locator("main")).to_contain_text(sha256)
    expect(public.locator(LOGOUT_SELECTOR)).to_have_count(0)  # nobody is logged in here
    assert "Zuganshin" not in public.content()
    shots.take(public, "verification-page", phone=True)

    letter = Letter.objects.get(pk=letter_id)
    assert (letter.status, letter.render_status) == (Letter.Status.ISSUED, "ready")
    assert letter.pdf_sha256 == sha256
    assert letter.approved_by == coordinator
    assert errors == []


def test_the_public_verification_page_compares_a_downloaded_pdf(
    people, public_url, new_page, tmp_path
):
    """In a browser nobody is logged in to, the recipient uploads the PDF they were sent."""
    caseworker, coordinator, case = people
    services.consent_record(case=case, purpose=Consent.Purpose.LETTERS, by=caseworker)
    template = LetterTemplate.objects.get(name=OFPRA_TEMPLATE, language="fr")
    letter = letter_services.letter_draft(
        case=case, template=template, authority=case.authority, by=caseworker
    )
    letter_services.letter_submit(letter=letter, by=caseworker)
    letter_services.letter_approve(letter=letter, by=coordinator, text_hash=letter.text_hash)
    letter_services.letter_issue(letter=letter, by=coordinator)  # rendered now (eager mode)
    letter.refresh_from_db()
    assert letter.render_status == Letter.RenderStatus.READY, letter.render_error
    pdf = tmp_path / "letter.pdf"
    with letter.pdf.open("rb") as stored:
        pdf.write_bytes(stored.read())

    public = new_page(DESKTOP)
    public.goto(verification_url(letter))
    expect(public.locator("main")).to_contain_text("This letter is VALID")
    public.locator("input[type=file]").set_input_files(pdf)
    public.get_by_role("button", name="Compare").click()
    expect(public.get_by_role("status")).to_contain_text("Identical")


LOGOUT_SELECTOR = "form[action='/accounts/logout/']"
