"""Journey: a coordinator who has never seen Pristan imports the NGO's sheet, in Russian. She
uploads docs/import-sample.xlsx, checks the columns, sees the preview with the six rows that
have errors and the two possible duplicates, is refused when she imports without deciding,
downloads the error report, fixes the rows in the sheet, uploads the corrected sheet and
imports it: the duplicates are left out, every other row becomes a client and a case.
Screenshots in test-artifacts/browser/import/ (03-preview-desktop.png is the preview)."""

import csv
import io

import pytest
from playwright.sync_api import expect

from casework.models import Case, Client, Membership, SpreadsheetImport
from demo import import_sample
from demo.import_sample import DUPLICATE_ROWS, ERROR_ROWS
from tests.browser.helpers import DESKTOP, Shots, log_in, watch_for_errors
from tests.factories import make_organisation, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
RUSSIAN = {"locale": "ru-RU"}


@pytest.fixture
def coordinator():
    return make_user(
        organisation=make_organisation(),
        role=Membership.Role.COORDINATOR,
        username="anna",
        first_name="Анна",
        last_name="Кузнецова",
    )


def corrected_rows() -> list[list[object]]:
    """The sample with its six errors fixed, as the coordinator would in her spreadsheet."""
    rows = import_sample.rows()
    fixes = {
        10: (3, "28.02.1990"),
        11: (5, "Россия"),
        12: (1, "Романова Юлия"),
        14: (1, "Иванов Сергей"),
        20: (17, ""),  # "ждём ответа": no decision yet
        22: (16, "30.09.2026"),
    }
    assert set(fixes) == set(ERROR_ROWS)
    for number, (column, value) in fixes.items():
        rows[number - 2][column] = value
    return rows


def test_coordinator_imports_the_sample_sheet(coordinator, site_url, new_page, artifacts, tmp_path):
    shots = Shots(artifacts, "import")
    page = new_page(DESKTOP, **RUSSIAN)
    errors = watch_for_errors(page)
    log_in(page, site_url, coordinator)

    page.get_by_role("link", name="Импорт из таблицы").click()
    page.wait_for_url(f"{site_url}/import/")
    expect(page.locator("h1")).to_have_text("Импорт клиентов из таблицы")
    page.get_by_label("Таблица").set_input_files(str(import_sample.DOCS / "import-sample.xlsx"))
    shots.take(page, "upload")
    page.get_by_role("button", name="Загрузить и продолжить").click()

    # Columns: recognised by their Russian headers; the two unknown ones are listed.
    expect(page.locator("h1")).to_have_text("Какая колонка что значит")
    expect(page.locator("#unmapped")).to_contain_text("№, Откуда узнали")
    expect(page.get_by_label("ФИО", exact=True)).to_have_value("full_name")
    expect(page.get_by_label("Дата рождения")).to_have_value("birth_date")
    shots.take(page, "columns")
    page.get_by_role("button", name="Показать предпросмотр").click()

    # Preview: every row, the four errors and the two duplicates marked, nothing created yet.
    expect(page.locator("h1")).to_have_text("Предпросмотр импорта")
    rows = page.locator("#import-rows tbody tr")
    expect(rows).to_have_count(30)
    expect(page.locator("#import-rows tr[data-status=error]")).to_have_count(len(ERROR_ROWS))
    expect(page.locator("#import-rows tr[data-status=duplicate]")).to_have_count(
        len(DUPLICATE_ROWS)
    )
    expect(page.locator("tr[data-row='11']")).to_contain_text("Неизвестная страна «Московия».")
    expect(page.locator("tr[data-row='16']")).to_contain_text("тот же человек, что в строке 5")
    shots.take(page, "preview")
    assert Client.objects.count() == 0

    # Importing without deciding about the rows with errors is refused, nothing saved.
    page.locator("#import-form").get_by_role("button", name="Импортировать").click()
    expect(page.locator("#import-form .alert-danger")).to_contain_text("Строк с ошибками: 6.")
    assert Client.objects.count() == 0

    # The error report: the rows to fix, with what is wrong.
    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать отчёт об ошибках (CSV)").click()
    report = download.value.path().read_bytes().decode("utf-8-sig")
    numbers = [line[0] for line in csv.reader(io.StringIO(report), delimiter=";")][1:]
    assert sorted(int(n) for n in numbers) == sorted([*ERROR_ROWS, *DUPLICATE_ROWS])

    # Fixed in the spreadsheet, uploaded again: the columns are kept as they were chosen.
    fixed = import_sample.write_xlsx(tmp_path / "clients-fixed.xlsx", corrected_rows())
    page.get_by_label("Загрузить исправленную таблицу").set_input_files(str(fixed))
    replace_form = page.locator("form:has(#id_replace_upload)")
    replace_form.get_by_role("button", name="Загрузить", exact=True).click()
    expect(page.locator("h1")).to_have_text("Какая колонка что значит")
    page.get_by_role("button", name="Показать предпросмотр").click()
    expect(page.locator("#import-rows tr[data-status=error]")).to_have_count(0)
    expect(page.locator("#import-rows tr[data-status=duplicate]")).to_have_count(2)
    shots.take(page, "preview-fixed")

    page.locator("#import-form").get_by_role("button", name="Импортировать").click()
    page.wait_for_url(f"{site_url}/import/*/progress/")
    status = page.locator("#import-status")
    expect(status).to_contain_text("Импорт завершён")
    expect(status).to_contain_text("Импортировано клиентов с делами: 28; пропущено строк: 2.")
    shots.take(page, "import-finished")
    page.get_by_role("link", name="Открыть список дел").click()
    page.wait_for_url(f"{site_url}/cases/")
    shots.take(page, "case-list")

    assert Case.objects.count() == 28
    assert SpreadsheetImport.objects.get().status == SpreadsheetImport.Status.IMPORTED
    assert errors == []
