"""Journey (issue 13, "Done when"): a coordinator who has never seen Pristan imports the sample
sheet, fixes the rows it reports, and sees on the dashboard the deadlines that the rules
computed for the imported cases; then opens one case and sees its checklist.

She uploads docs/import-sample.xlsx, keeps the columns Pristan recognised, and the preview
lists the six rows with errors (among them a decision Pristan cannot read and an impossible
decision date) and what every other row will create ("decision … → deadline computed: CNDA
appeal by …"). She fixes the reported rows in her spreadsheet and uploads the corrected copy
("Upload the corrected sheet": the columns are kept), imports it, follows the import that the
Celery worker runs (a real worker, paused so that the waiting page is seen first, then polled
by htmx until it is done), goes to the dashboard and opens a case from its deadlines.

Robust against the calendar: the sample's decision and arrival dates are fixed (autumn 2026),
so their deadlines are in the past by the time this runs. The corrected copy she uploads moves
each decision and arrival so that its deadline falls 4 to 7 days from the day the test runs
(a month, two weeks, one week, thirty days or a year before, by each row's rule); a move to the
next working day adds at most four days, so every deadline is in the dashboard's "next 14
days". None of the dates is in the future, which the import would refuse.

Screenshots in test-artifacts/browser/import-deadlines/: the preview with its errors, the
progress page, the dashboard's deadlines and the case's checklist.
"""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from casework.deadlines import add_months
from casework.models import Event, Membership
from demo import import_sample
from demo.import_sample import DEADLINE_ROWS, DUPLICATE_ROWS, ERROR_ROWS
from tests.browser.helpers import DESKTOP, Shots, log_in, watch_for_errors, worker_paused
from tests.factories import make_organisation, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Columns of import_sample.rows().
NAME, BIRTH, CITIZENSHIP, DECIDED, OUTCOME, ARRIVED = 1, 3, 5, 16, 17, 15


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def corrected_rows(today: date) -> list[list[object]]:
    """The sample as she fixes it: the six reported rows corrected, and the decisions and
    arrivals moved relative to `today` (see the module's docstring)."""
    rows = import_sample.rows()

    def cell(number: int, column: int, value: object) -> None:
        rows[number - 2][column] = value

    cell(10, BIRTH, "28.02.1990")
    cell(11, CITIZENSHIP, "Россия")
    cell(12, NAME, "Романова Юлия")
    cell(14, NAME, "Иванов Сергей")
    cell(20, OUTCOME, "отказ")  # was "ждём ответа"
    cell(22, DECIDED, "30.09.2026")  # was 31.09.2026
    month_ago = add_months(today, -1) + timedelta(days=5)
    year_ago = add_months(today, -12) + timedelta(days=5)
    decided = {
        2: month_ago,  # OFPRA → CNDA appeal, 1 month
        22: month_ago,
        3: today - timedelta(days=3),  # BAMF, manifestly unfounded: 1 week
        6: today - timedelta(days=8),  # BAMF: 2 weeks
        20: today - timedelta(days=8),
        28: today - timedelta(days=8),
        9: today - timedelta(days=8),  # UK Home Office: 14 days
        19: today - timedelta(days=25),  # immigration judge → BIA: 30 days
    }
    for number, day in decided.items():
        cell(number, DECIDED, _day(day))
    for number in (8, 30):  # US: one year from arrival
        cell(number, ARRIVED, _day(year_ago))
    return rows


def test_coordinator_imports_the_sample_and_sees_the_computed_deadlines(
    site_url, celery_worker_process, new_page, artifacts, tmp_path
):
    coordinator = make_user(
        organisation=make_organisation(),
        role=Membership.Role.COORDINATOR,
        username="sofia",
        first_name="Sofia",
        last_name="Marchetti",
    )
    shots = Shots(artifacts, "import-deadlines")
    page = new_page(DESKTOP)
    errors = watch_for_errors(page)
    log_in(page, site_url, coordinator)

    # From the dashboard, where a new coordinator starts.
    page.get_by_role("link", name="Import a spreadsheet").click()
    page.wait_for_url(f"{site_url}/import/")
    page.get_by_label("Spreadsheet").set_input_files(str(import_sample.DOCS / "import-sample.xlsx"))
    page.get_by_role("button", name="Upload and continue").click()

    # The columns: the decision, its outcome, the arrival and the procedure are recognised.
    expect(page.locator("h1")).to_have_text("Which column is which")
    expect(page.get_by_label("Дата решения")).to_have_value("decision_date")
    expect(page.get_by_label("Решение", exact=True)).to_have_value("decision_outcome")
    expect(page.get_by_label("Дата прибытия")).to_have_value("arrival_date")
    expect(page.get_by_label("Процедура")).to_have_value("procedure")
    page.get_by_role("button", name="Show the preview").click()

    # The preview: the rows with errors, and what each good row will create.
    expect(page.locator("h1")).to_have_text("Preview of the import")
    expect(page.locator("#import-rows tr[data-status=error]")).to_have_count(len(ERROR_ROWS))
    expect(page.locator("tr[data-row='20']")).to_contain_text(
        "Decision “ждём ответа” is not one Pristan knows"
    )
    expect(page.locator("tr[data-row='22']")).to_contain_text(
        "Decision date “31.09.2026” is not a date"
    )
    expect(page.locator("tr[data-row='2']")).to_contain_text(
        "decision (refused) 14 October 2026 → deadline computed: CNDA appeal by 16 November 2026"
    )
    expect(page.locator("tr[data-row='2']")).to_contain_text("checklist: OFPRA asylum claim")
    shots.take(page, "import-preview")

    # She fixes the reported rows in her spreadsheet and uploads the corrected copy.
    today = timezone.localdate()
    fixed = import_sample.write_xlsx(tmp_path / "clients-fixed.xlsx", corrected_rows(today))
    page.get_by_label("Upload the corrected sheet").set_input_files(str(fixed))
    page.locator("form:has(#id_replace_upload)").get_by_role(
        "button", name="Upload", exact=True
    ).click()
    expect(page.locator("h1")).to_have_text("Which column is which")
    page.get_by_role("button", name="Show the preview").click()
    expect(page.locator("#import-rows tr[data-status=error]")).to_have_count(0)
    expect(page.locator("#import-rows tr[data-status=duplicate]")).to_have_count(
        len(DUPLICATE_ROWS)
    )
    expect(page.locator("tr[data-row='20']")).to_contain_text("deadline computed")
    expect(page.locator("#import-rows")).not_to_contain_text("already passed")
    shots.take(page, "import-preview-fixed")

    # The import runs in the worker; the page waits for it, then shows it done.
    with worker_paused(celery_worker_process):
        page.locator("#import-form").get_by_role("button", name="Import").click()
        page.wait_for_url(f"{site_url}/import/*/progress/")
        expect(page.locator("#import-status")).to_contain_text(
            "Waiting for the worker to start the import"
        )
        shots.take(page, "import-progress")
        page.evaluate("window.pristanTestMarker = 'same page'")
    status = page.locator("#import-status")
    expect(status).to_contain_text("Import finished", timeout=60_000)
    imported = 30 - len(DUPLICATE_ROWS)
    expect(status).to_contain_text(
        f"Imported {imported} clients with their cases; {len(DUPLICATE_ROWS)} rows left out."
    )
    expect(status).to_contain_text(f"{len(DEADLINE_ROWS) + 2} deadlines were computed")
    assert page.evaluate("window.pristanTestMarker") == "same page"  # htmx polled, no reload
    shots.take(page, "import-finished")

    # The dashboard: every computed deadline in the next 14 days, with its rule.
    page.get_by_role("link", name="See the deadlines on the dashboard").click()
    page.wait_for_url(f"{site_url}/")
    upcoming = page.locator("section[aria-labelledby=upcoming-h]")
    computed = Event.objects.filter(source__isnull=False).select_related("case")
    assert computed.count() == len(DEADLINE_ROWS) + 2  # rows 20 and 22, fixed, have one too
    expect(upcoming.locator("li.deadline")).to_have_count(computed.count())
    for deadline in computed:
        expect(upcoming).to_contain_text(deadline.case.reference)
    expect(upcoming).to_contain_text("CNDA appeal — 1 month from notification on")
    expect(upcoming).to_contain_text("One-year asylum filing deadline — 12 months from arrival")
    expect(page.locator("section[aria-labelledby=overdue-h]")).to_contain_text(
        "Nothing is overdue."
    )
    shots.take(page, "dashboard-deadlines")

    # One of them: the case page shows the procedure's checklist, every document missing.
    cnda = computed.filter(rule__name="CNDA appeal").order_by("case__reference").first()
    upcoming.get_by_role("link", name=cnda.case.reference).first.click()
    page.wait_for_url(f"{site_url}/cases/{cnda.case.reference}/")
    checklist = page.locator("section[aria-labelledby=checklists-h]")
    expect(checklist).to_contain_text("OFPRA asylum claim")
    expect(checklist.locator(".checklist-item[data-state=missing]").first).to_be_visible()
    expect(page.locator("main")).to_contain_text("CNDA appeal — 1 month from notification on")
    checklist.scroll_into_view_if_needed()
    shots.take(page, "case-checklist")
    assert errors == []
