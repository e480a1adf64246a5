"""Journey 2, in Russian: the caseworker, on her case, adds a relative, an upcoming interview
and an appeal deadline, uploads a document (a small PDF) and writes a note; the deadline then
shows on her dashboard, the interview (not a deadline) does not. Screenshots in
test-artifacts/browser/casework/, desktop and phone."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from casework.models import Case, Document, Membership
from tests.browser.helpers import DESKTOP, Shots, log_in, watch_for_errors
from tests.factories import make_case, make_organisation, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The smallest PDF a viewer opens: one empty page.
SMALL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def caseworker_and_case():
    org = make_organisation()
    caseworker = make_user(
        organisation=org, role=Membership.Role.CASEWORKER, username="marina",
        first_name="Марина", last_name="Волкова",
    )  # fmt: skip
    case = make_case(organisation=org, assignees=[caseworker], status=Case.Status.ACTIVE)
    return caseworker, case


def iso(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def open_subform(page, site_url, case, section: str, path: str):
    page.locator(f"section[aria-labelledby={section}]").get_by_role("link").first.click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/{path}")


def save_subform(page, site_url, case, message: str) -> None:
    page.locator("main form").get_by_role("button", name="Сохранить").click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/")
    expect(page.get_by_role("alert")).to_contain_text(message)


def test_caseworker_fills_in_the_case_and_sees_the_deadline(
    caseworker_and_case, site_url, new_page, artifacts, tmp_path
):
    caseworker, case = caseworker_and_case
    shots = Shots(artifacts, "casework")
    page = new_page(DESKTOP, locale="ru-RU")
    errors = watch_for_errors(page)
    log_in(page, site_url, caseworker)
    page.locator("section[aria-labelledby=mine-h]").get_by_role(
        "link", name=re.compile(re.escape(case.reference))
    ).click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/")

    # A relative.
    open_subform(page, site_url, case, "relatives-h", "relatives/new/")
    expect(page.locator("h1")).to_have_text("Добавить родственника")
    page.locator("#id_relation").select_option("spouse")
    page.locator("#id_full_name").fill("Зуганшина Алия Ринатовна")
    page.locator("#id_birth_date").fill("1993-07-02")
    page.locator("#id_location").fill("Казань")
    page.locator("#id_in_household").check()
    shots.take(page, "relative-form", phone=True)
    save_subform(page, site_url, case, "Родственник добавлен.")
    expect(page.locator("section[aria-labelledby=relatives-h]")).to_contain_text(
        "Зуганшина Алия Ринатовна"
    )

    # An interview in nine days, and an appeal deadline in five.
    open_subform(page, site_url, case, "events-h", "events/new/")
    expect(page.locator("h1")).to_have_text("Добавить событие или срок")
    page.locator("#id_kind").select_option("interview")
    page.locator("#id_title").fill("Собеседование в OFPRA")
    page.locator("#id_date").fill(iso(9))
    page.locator("#id_time").fill("10:30")
    page.locator("#id_location").fill("Fontenay-sous-Bois")
    shots.take(page, "event-form", phone=True)
    save_subform(page, site_url, case, "Событие добавлено.")

    open_subform(page, site_url, case, "events-h", "events/new/")
    page.locator("#id_kind").select_option("appeal_deadline")
    page.locator("#id_title").fill("Жалоба в CNDA")
    page.locator("#id_date").fill(iso(5))
    page.locator("#id_is_deadline").check()
    save_subform(page, site_url, case, "Событие добавлено.")
    events = page.locator("section[aria-labelledby=events-h] li")
    expect(events).to_have_count(2)
    expect(events.nth(0)).to_contain_text("Жалоба в CNDA")  # sooner first
    expect(events.nth(0)).to_contain_text("срок")
    expect(events.nth(1)).to_contain_text("Собеседование в OFPRA")
    expect(events.nth(1)).to_contain_text("10:30")

    # A document: a small PDF through the file input.
    open_subform(page, site_url, case, "documents-h", "documents/new/")
    expect(page.locator("h1")).to_have_text("Загрузить документ")
    page.locator("#id_kind").select_option("evidence")
    page.locator("#id_title").fill("Повестка в суд")
    pdf = tmp_path / "povestka.pdf"
    pdf.write_bytes(SMALL_PDF)
    page.locator("#id_upload").set_input_files(pdf)
    shots.take(page, "document-form", phone=True)
    save_subform(page, site_url, case, "Документ загружен.")
    documents = page.locator("section[aria-labelledby=documents-h]")
    expect(documents.get_by_role("link", name="Повестка в суд")).to_be_visible()
    with page.expect_download() as download:
        documents.get_by_role("link", name="Повестка в суд").click()
    assert download.value.suggested_filename == "povestka.pdf"
    assert download.value.path().read_bytes() == SMALL_PDF

    # A note, with the form on the case page itself.
    page.locator("#id_body").fill("Позвонила по Signal: повестку получила, жалобу готовим.")
    page.get_by_role("button", name="Добавить заметку").click()
    page.wait_for_url(f"{site_url}/cases/{case.reference}/")
    expect(page.get_by_role("alert")).to_contain_text("Заметка добавлена.")
    expect(page.locator("section[aria-labelledby=notes-h] article")).to_contain_text(
        "повестку получила"
    )
    shots.take(page, "case-page", phone=True)

    # The dashboard: the deadline is there, the interview is not a deadline.
    page.locator("nav").get_by_role("link", name="Главная").click()
    page.wait_for_url(f"{site_url}/")
    upcoming = page.locator("section[aria-labelledby=upcoming-h]")
    expect(upcoming.locator("li")).to_have_count(1)
    expect(upcoming.locator("li")).to_contain_text(case.reference)
    expect(upcoming.locator("li")).to_contain_text("Срок обжалования")
    expect(upcoming.locator(".card-header .badge")).to_have_text("1")
    expect(upcoming.locator("li .badge")).to_have_text("через 5 дней")  # marked, in words
    shots.take(page, "dashboard", phone=True)

    document = Document.objects.get(case=case)
    assert (document.title, document.content_type) == ("Повестка в суд", "application/pdf")
    assert case.events.filter(is_deadline=True).count() == 1
    assert errors == []
