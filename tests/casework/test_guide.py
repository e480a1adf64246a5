"""The user guide ("Help" in the menu): one page per language, for logged-in users only, linked
from every page's menu; and the layout promises it makes (phone filters, status first)."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from casework.models import AccessEvent, Event
from tests.factories import make_case, make_event

pytestmark = pytest.mark.django_db

GUIDE = "/help/"

EN_HEADINGS = [
    "User guide",
    "Contents",
    "Who sees what",
    "Logging in with two factors",
    "Recording a new case",
    "Finding a case",
    "Deadlines and the dashboard",
    "Notes and documents",
    "Special-category data and “Reveal”",
    "Status and team",
    "Referral to a partner lawyer",
    "Writing a letter",
    "Approving and issuing (coordinators)",
    "The QR code and the verification page",
    "Revoking a letter",
    "Letters for many cases (batch)",
    "The register",
    "Recovery codes, password, sessions",
    "Phone or laptop lost or seized",
    "Users and roles",
    "Letter templates",
    "Authorities",
    "Retention and erasure",
    "The access log",
    "When something does not work",
]
RU_HEADINGS = [
    "Справка",
    "Оглавление",
    "Кто что видит",
    "Вход с двумя факторами",
    "Новое дело",
    "Как найти дело",
    "Сроки и главная страница",
    "Заметки и документы",
    "Данные особой категории и кнопка «Показать»",
    "Статус и команда",
    "Передача дела адвокату-партнёру",
    "Как написать письмо",
    "Одобрение и выпуск (координаторы)",
    "QR-код и страница проверки",
    "Отзыв письма",
    "Письма по многим делам (пакет)",
    "Журнал исходящих",
    "Коды восстановления, пароль, сеансы",
    "Телефон или ноутбук потерян или изъят",
    "Пользователи и роли",
    "Шаблоны писем",
    "Органы власти",
    "Срок хранения и удаление",
    "Журнал доступа",
    "Если что-то не получается",
]


def headings(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", text).strip()
        for text in re.findall(r"<h[1-3][^>]*>(.*?)</h[1-3]>", html, re.S)
    ]


def section_ids(html: str) -> list[str]:
    return re.findall(r'<section id="([\w-]+)"', html)


def toc_targets(html: str) -> list[str]:
    toc = html.split('id="toc-h"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'href="#([\w-]+)"', toc)


def test_the_guide_url():
    assert reverse("casework:guide") == GUIDE


def test_the_guide_needs_a_login(client):
    response = client.get(GUIDE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_english_guide(client, caseworker):
    client.force_login(caseworker)

    response = client.get(GUIDE, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "guide/guide_en.html"
    html = response.content.decode()
    assert '<html lang="en">' in html
    found = headings(html)
    for heading in EN_HEADINGS:
        assert heading in found
    assert "Справка" not in found
    assert "<title>User guide · Pristan</title>" in html


@pytest.mark.parametrize(
    "how", ["accept-language", "cookie"], ids=["Accept-Language", "language cookie"]
)
def test_russian_guide(client, caseworker, how):
    client.force_login(caseworker)
    if how == "cookie":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
        response = client.get(GUIDE, HTTP_ACCEPT_LANGUAGE="en")
    else:
        response = client.get(GUIDE, HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9,en;q=0.5")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "guide/guide_ru.html"
    html = response.content.decode()
    assert '<html lang="ru">' in html
    found = headings(html)
    for heading in RU_HEADINGS:
        assert heading in found
    assert "User guide" not in found


def test_both_guides_have_the_same_sections_and_a_complete_table_of_contents(client, caseworker):
    client.force_login(caseworker)
    en = client.get(GUIDE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    ru = client.get(GUIDE, HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert section_ids(en) == section_ids(ru)
    assert len(section_ids(en)) == 23
    for html in (en, ru):
        assert toc_targets(html) == section_ids(html)


def test_the_guide_links_to_the_emergency_lock_and_the_security_page(client, caseworker):
    client.force_login(caseworker)
    for language in ("en", "ru"):
        html = client.get(GUIDE, HTTP_ACCEPT_LANGUAGE=language).content.decode()

        assert f'href="{reverse("accounts:emergency_lock")}"' in html
        assert f'href="{reverse("accounts:security")}"' in html


def test_the_guide_shows_no_case_data_and_logs_nothing(client, caseworker, case):
    client.force_login(caseworker)
    before = AccessEvent.objects.count()

    html = client.get(GUIDE, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert case.reference not in html
    assert case.client.pseudonym not in html
    assert AccessEvent.objects.count() == before


@pytest.mark.parametrize("persona", ["volunteer", "coordinator", "administrator", "auditor"])
def test_every_role_can_read_the_guide(client, personas, persona):
    client.force_login(personas[persona])

    response = client.get(GUIDE, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "You are logged in as" in response.content.decode()


def test_a_user_without_an_organisation_can_read_the_guide(client, django_user_model):
    user = django_user_model.objects.create_user(username="newcomer", password="x" * 20)
    client.force_login(user)

    assert client.get(GUIDE, HTTP_ACCEPT_LANGUAGE="en").status_code == 200


# --- the Help link in the menu --------------------------------------------------------------


def _help_link(html: str) -> bool:
    return re.search(rf'<a [^>]*href="{re.escape(GUIDE)}"', html) is not None


@pytest.mark.parametrize("page", ["dashboard", "case list", "case page"])
@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_help_link_is_in_the_menu(client, caseworker, case, page, language):
    client.force_login(caseworker)
    url = {
        "dashboard": reverse("casework:dashboard"),
        "case list": reverse("casework:case_list"),
        "case page": reverse("casework:case_detail", args=[case.reference]),
    }[page]

    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    html = response.content.decode()
    assert _help_link(html)
    menu = html.split('id="nav"', 1)[1].split("</nav>", 1)[0]
    assert _help_link(menu)


def test_the_help_link_is_marked_current_on_the_guide(client, caseworker):
    client.force_login(caseworker)

    html = client.get(GUIDE, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert re.search(rf'<a [^>]*href="{re.escape(GUIDE)}"[^>]*aria-current="page"', html)


def test_no_help_link_for_anonymous_visitors(client):
    html = client.get(reverse("login")).content.decode()

    assert not _help_link(html)


# --- layout: phones, confirmations ----------------------------------------------------------


def test_case_list_keeps_its_form_and_folds_the_filters_on_phones(client, caseworker, case):
    client.force_login(caseworker)

    html = client.get(reverse("casework:case_list")).content.decode()

    assert html.count('id="case-filter"') == 1
    assert html.count('id="id_q"') == 1
    assert html.count('id="results"') == 1
    # The search box stays in view; the other filters are in a collapse shown from lg up.
    form = html.split('id="case-filter"', 1)[1].split("</form>", 1)[0]
    search, more = form.split('id="case-filter-more"', 1)
    assert 'id="id_q"' in search
    assert 'class="collapse d-lg-block"' in form
    assert 'data-bs-target="#case-filter-more"' in search
    for field in ("id_status", "id_kind", "id_risk", "id_deadline"):
        assert f'id="{field}"' in more


def test_case_page_has_status_and_team_first_once(client, caseworker, case):
    client.force_login(caseworker)

    html = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()

    for heading_id in ("status-h", "team-h", "client-h"):
        assert html.count(f'id="{heading_id}"') == 1
    assert html.count('id="id_status"') == 1
    assert html.index('id="status-h"') < html.index('id="team-h"') < html.index('id="client-h"')


def test_closing_and_marking_done_ask_for_confirmation(client, caseworker, case):
    make_event(case=case, kind=Event.Kind.HEARING)
    client.force_login(caseworker)

    html = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()

    status_form = re.search(r'<form [^>]*action="[^"]*/status/"[^>]*>', html).group(0)
    done_form = re.search(r'<form [^>]*action="[^"]*/done/"[^>]*>', html).group(0)
    assert "data-confirm=" in status_form
    assert "data-confirm=" in done_form


def test_the_emergency_lock_asks_for_confirmation_in_the_form(client):
    """A required "I understand" box rather than a dialog: it works without JavaScript, and a
    second question would only slow down someone whose phone was just taken."""
    html = client.get(reverse("accounts:emergency_lock")).content.decode()

    assert re.search(r'<input type="checkbox" name="confirm"[^>]*required', html)


def test_empty_lists_say_what_to_do(client, coordinator, org):
    case = make_case(organisation=org, assignees=[])
    client.force_login(coordinator)

    html = client.get(
        reverse("casework:case_detail", args=[case.reference]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "Nobody is assigned." in html
    assert "Choose who works on it with “Assign”." in html
    assert "Upload passport scans, decisions and evidence with “Upload”." in html
