"""Journey 1, entirely in Russian (the browser asks for ru-RU): a volunteer records a new client
and case through the intake form, with the legal name in Cyrillic and its Latin spelling; a
coordinator finds it by the Cyrillic name and assigns it to a caseworker, who then sees it on her
dashboard. Screenshots in test-artifacts/browser/intake/, desktop and phone."""

import re

import pytest
from playwright.sync_api import expect

from casework.models import Authority, Case, Membership
from tests.browser.helpers import DESKTOP, Shots, log_in, watch_for_errors
from tests.factories import make_organisation, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
RUSSIAN = {"locale": "ru-RU"}


@pytest.fixture
def team():
    org = make_organisation()
    Role = Membership.Role
    return {
        "volunteer": make_user(
            organisation=org, role=Role.VOLUNTEER, username="olga",
            first_name="Ольга", last_name="Смирнова",
        ),
        "coordinator": make_user(
            organisation=org, role=Role.COORDINATOR, username="anna",
            first_name="Анна", last_name="Кузнецова",
        ),
        "caseworker": make_user(
            organisation=org, role=Role.CASEWORKER, username="marina",
            first_name="Марина", last_name="Волкова",
        ),
    }  # fmt: skip


def record_new_case(page, site_url, shots) -> str:
    """The volunteer fills the intake form and opens the case; returns its reference."""
    page.locator("nav").get_by_role("link", name="Новое дело").first.click()
    page.wait_for_url(f"{site_url}/cases/new/")
    expect(page.locator("h1")).to_have_text("Новый клиент и дело")

    page.locator("#id_client-pseudonym").fill("Клиентка М.")
    page.locator("#id_client-birth_date").fill("1991-03-14")
    page.locator("#id_client-languages").fill("русский, татарский")
    # The legal name in its own script, then its Latin spelling for the French authorities.
    page.locator("#id_names-0-kind").select_option("legal")
    page.locator("#id_names-0-script").select_option("cyrl")
    page.locator("#id_names-0-family_name").fill("Иванова")
    page.locator("#id_names-0-given_names").fill("Мария")
    page.locator("#id_names-0-patronymic").fill("Петровна")
    page.locator("#id_names-1-kind").select_option("translit")
    page.locator("#id_names-1-script").select_option("latn")
    page.locator("#id_names-1-family_name").fill("Ivanova")
    page.locator("#id_names-1-given_names").fill("Maria")
    page.locator("#id_case-kind").select_option(Case.Kind.ASYLUM_CLAIM)
    page.locator("#id_case-authority").select_option(str(Authority.objects.get(code="ofpra").pk))
    page.locator("#id_case-summary").fill(
        "Преследование за участие в антивоенных акциях; нужна поддержка заявления в OFPRA."
    )
    shots.take(page, "volunteer-intake-form", phone=True)

    page.get_by_role("button", name="Открыть дело").click()
    page.wait_for_url(re.compile(re.escape(site_url) + r"/cases/\d{4}-\d+/$"))
    reference = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.get_by_role("alert")).to_contain_text(f"Дело {reference} открыто.")
    expect(page.locator("h1")).to_contain_text("Клиентка М.")
    client_card = page.locator("section[aria-labelledby=client-h]")
    expect(client_card).to_contain_text("Иванова Мария Петровна")
    expect(client_card).to_contain_text("Ivanova Maria")
    # A volunteer stays on the case she recorded.
    expect(page.locator("section[aria-labelledby=team-h]")).to_contain_text("Ольга Смирнова")
    shots.take(page, "volunteer-case-page", phone=True)
    return reference


def assign_to_caseworker(page, site_url, reference, shots) -> None:
    """The coordinator finds the case by the Cyrillic name and assigns the caseworker."""
    page.locator("nav").get_by_role("link", name="Дела", exact=True).click()
    page.wait_for_url(f"{site_url}/cases/")
    expect(page.locator("h1")).to_have_text("Дела")
    search = page.locator("#id_q")
    search.press_sequentially("Иванова", delay=30)
    search.press("End")  # the keyup a Russian keyboard would send (see test_case_list.py)
    results = page.locator("#results")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results.get_by_role("link", name=reference)).to_be_visible()
    # Nobody but the volunteer is on it yet: the list says who is.
    expect(results.locator("tbody tr")).to_contain_text("Ольга")
    shots.take(page, "coordinator-case-list", phone=True)

    results.get_by_role("link", name=reference).click()
    page.wait_for_url(f"{site_url}/cases/{reference}/")
    page.get_by_role("link", name="Назначить", exact=True).click()
    page.wait_for_url(f"{site_url}/cases/{reference}/assign/")
    expect(page.locator("h1")).to_have_text("Назначить сотрудников")
    page.get_by_label("Марина Волкова").check()
    expect(page.get_by_label("Ольга Смирнова")).to_be_checked()
    shots.take(page, "coordinator-assign", phone=True)

    page.get_by_role("button", name="Сохранить").click()
    page.wait_for_url(f"{site_url}/cases/{reference}/")
    expect(page.get_by_role("alert")).to_contain_text("Назначение сохранено.")
    team = page.locator("section[aria-labelledby=team-h]")
    expect(team).to_contain_text("Марина Волкова")
    expect(team).to_contain_text("Ольга Смирнова")
    shots.take(page, "coordinator-case-assigned", phone=True)


def test_intake_and_assignment_in_russian(team, site_url, new_page, artifacts):
    shots = Shots(artifacts, "intake")
    volunteer = new_page(DESKTOP, **RUSSIAN)
    errors = watch_for_errors(volunteer)
    log_in(volunteer, site_url, team["volunteer"])
    expect(volunteer.locator("html")).to_have_attribute("lang", "ru")
    expect(volunteer.locator("h1")).to_have_text("Здравствуйте, Ольга")
    shots.take(volunteer, "volunteer-dashboard", phone=True)
    reference = record_new_case(volunteer, site_url, shots)

    coordinator = new_page(DESKTOP, **RUSSIAN)
    errors += watch_for_errors(coordinator)
    log_in(coordinator, site_url, team["coordinator"])
    assign_to_caseworker(coordinator, site_url, reference, shots)

    caseworker = new_page(DESKTOP, **RUSSIAN)
    errors += watch_for_errors(caseworker)
    log_in(caseworker, site_url, team["caseworker"])
    mine = caseworker.locator("section[aria-labelledby=mine-h]")
    expect(mine).to_contain_text("Мои открытые дела")
    expect(mine.get_by_role("link", name=re.compile(re.escape(reference)))).to_be_visible()
    shots.take(caseworker, "caseworker-dashboard", phone=True)

    case = Case.objects.get(reference=reference)
    assert {u.username for u in case.assignees.all()} == {"olga", "marina"}
    assert sorted(n.full_name for n in case.client.names.all()) == [
        "Ivanova Maria",
        "Иванова Мария Петровна",
    ]
    assert errors == []
