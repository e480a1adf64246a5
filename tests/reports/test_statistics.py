"""The statistics page and its CSV: who may see them, what they count, and what they never
show (names, references, small counts)."""

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from casework.models import (
    AccessEvent,
    Authority,
    Case,
    CaseLogEntry,
    Consent,
    Event,
    Ground,
    Membership,
)
from letters.models import Letter, LetterTemplate, LetterTemplateVersion
from reports import queries as statistics
from reports.queries import collect
from reports.suppression import COMPLEMENTARY, SMALL, TOTAL, suppress
from tests.factories import make_case, make_event, make_organisation, make_user

pytestmark = pytest.mark.django_db

PAGE = reverse("reports:statistics")
CSV = reverse("reports:statistics_csv")
S = Case.Status
COUNTED = (Consent.Purpose.CASEWORK, Consent.Purpose.LETTERS, Consent.Purpose.STATISTICS)
SVG_NS = "{http://www.w3.org/2000/svg}"


def counted_case(org, *, status=S.ACTIVE, grounds=(), destination="", **fields) -> Case:
    """A case whose client agreed to anonymous statistics."""
    case = make_case(
        organisation=org,
        status=status,
        destination_country=destination,
        consents=COUNTED,
        pseudonym=f"Pseudonym-{org.pk}-{Case.objects.count()}",
        **fields,
    )
    case.grounds.set(Ground.objects.filter(code__in=grounds))
    return case


def issue_letters(case, author, *, n: int, at) -> None:
    authority, _ = Authority.objects.get_or_create(
        code="stats-office",
        defaults={
            "short_name": "Office",
            "name": "Asylum office",
            "kind": Authority.Kind.ASYLUM_OFFICE,
            "country": "FR",
            "address": "1 rue X",
            "language": "fr",
        },
    )
    template = LetterTemplate.objects.create(name="T", kind="support", language="fr", body="B")
    version = LetterTemplateVersion.objects.create(template=template, number=1, body="B")
    for _ in range(n):
        Letter.objects.create(
            case=case,
            template_version=version,
            authority=authority,
            language="fr",
            body="Lettre",
            author=author,
            status=Letter.Status.ISSUED if at else Letter.Status.DRAFT,
            issued_at=at,
        )


def decided_on(case, day, *, old="awaiting_decision", new="granted") -> None:
    CaseLogEntry.objects.create(
        case=case,
        action=CaseLogEntry.Action.STATUS,
        detail=f"{old} → {new}",
        at=timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 12)),
    )


@pytest.fixture
def quarters():
    return statistics.quarters_back(timezone.localdate())


@pytest.fixture
def figures(org, other_org, coordinator, quarters):
    """21 counted cases, every count 5 or more (nothing suppressed), and cases that must not
    be counted: no statistics consent, a withdrawn one, another organisation's."""
    for _ in range(6):
        counted_case(org, status=S.ACTIVE, grounds=["political"], destination="FR")
    granted = [
        counted_case(org, status=S.GRANTED, grounds=["political", "religion"], destination="DE")
        for _ in range(5)
    ]
    for case in granted:  # decision received two quarters ago
        days = (quarters[-3] - timezone.localdate()).days
        make_event(case=case, kind=Event.Kind.DECISION, days=days)
    for _ in range(5):  # no date of decision recorded: updated_at, this quarter
        counted_case(org, status=S.REFUSED, destination="DE")
    for _ in range(5):  # closed after a grant recorded last quarter: granted
        case = counted_case(org, status=S.CLOSED)
        decided_on(case, quarters[-2] + timedelta(days=3))
        decided_on(case, quarters[-1], old="granted", new="closed")
    now = timezone.now()
    issue_letters(granted[0], coordinator, n=5, at=now)
    issue_letters(granted[1], coordinator, n=6, at=now - timedelta(days=95))
    issue_letters(granted[2], coordinator, n=2, at=now - timedelta(days=800))  # too old
    issue_letters(granted[3], coordinator, n=3, at=None)  # drafts

    make_case(organisation=org, status=S.REFUSED, destination_country="IT")  # no consent
    withdrawn = counted_case(org, status=S.REFUSED, destination="IT")
    withdrawn.consents.filter(purpose=Consent.Purpose.STATISTICS).update(
        withdrawn_on=timezone.localdate()
    )
    for _ in range(5):
        counted_case(other_org, status=S.APPEAL, destination="IT", grounds=["sogi"])


def cells(stats) -> dict[tuple[str, str], str]:
    """(chart key, row label [· series]) → what is shown."""
    shown = {}
    for chart in stats.charts:
        for row in chart.rows:
            for name, cell in zip(chart.series, row.cells, strict=True):
                label = row.label if len(chart.series) == 1 else f"{row.label} · {name}"
                shown[chart.key, label] = cell.display
    return shown


def page_table(content: str) -> dict[tuple[str, str], list[str]]:
    """The visually-hidden tables of the page: (caption, row header) → cells."""
    rows = {}
    for caption, body in re.findall(
        r"<caption>(.*?)</caption>.*?<tbody>(.*?)</tbody>", content, flags=re.S
    ):
        for header, tds in re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', body, re.S):
            rows[caption, header] = re.findall(r"<td>(.*?)</td>", tds)
    return rows


def csv_of(response) -> list[list[str]]:
    text = b"".join(response).decode("utf-8-sig") if response.streaming else None
    text = text or response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# Who may see it --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("coordinator", 200),
        ("administrator", 200),
        ("caseworker", 403),
        ("volunteer", 403),
        ("lawyer", 403),
        ("auditor", 403),
    ],
)
def test_only_coordinators_and_administrators_see_statistics(client, personas, persona, expected):
    client.force_login(personas[persona])
    assert client.get(PAGE).status_code == expected
    assert client.get(CSV).status_code == expected


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for url in (PAGE, CSV):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_menu_links_to_statistics_for_coordinators_only(client, coordinator, caseworker):
    client.force_login(coordinator)
    assert PAGE in client.get(reverse("casework:dashboard")).content.decode()
    client.force_login(caseworker)
    assert PAGE not in client.get(reverse("casework:dashboard")).content.decode()


# What it counts --------------------------------------------------------------------------


def test_counts_on_a_small_organisation(figures, coordinator, quarters):
    stats = collect(user=coordinator)
    shown = cells(stats)
    assert stats.counted == 21
    assert shown["status", "Active"] == "6"
    assert shown["status", "Granted"] == "5"
    assert shown["status", "Refused"] == "5"
    assert shown["status", "Closed"] == "5"
    assert shown["status", "Appeal"] == "0"  # the other organisation's appeals
    assert shown["outcome", "Granted"] == "10"  # closed after a grant counts as granted
    assert shown["outcome", "Refused"] == "5"
    assert shown["outcome", "Closed without a decision"] == "0"
    assert shown["outcome", "Pending"] == "6"
    assert shown["grounds", "Political opinion"] == "11"
    assert shown["grounds", "Religion"] == "5"
    assert shown["grounds", "Sexual orientation / gender identity"] == "0"
    destination = next(c for c in stats.charts if c.key == "destination")
    assert [(r.label, r.cells[0].display) for r in destination.rows] == [
        ("Germany", "10"),
        ("France", "6"),
        ("Not recorded", "5"),
    ]
    letters = next(c for c in stats.charts if c.key == "letters")
    assert len(letters.rows) == 24
    assert letters.rows[-1].cells[0].display == "5"
    assert sum(r.cells[0].count for r in letters.rows) == 11  # no drafts, nothing too old
    decisions = next(c for c in stats.charts if c.key == "decisions")
    by_quarter = {r.cells[0].key[1]: [c.count for c in r.cells] for r in decisions.rows}
    assert len(by_quarter) == 8
    assert by_quarter[quarters[-3].isoformat()] == [5, 0]  # the "Decision received" events
    assert by_quarter[quarters[-2].isoformat()] == [5, 0]  # the status change in the history
    assert by_quarter[quarters[-1].isoformat()] == [0, 5]  # updated_at, the last resort
    assert not [c for chart in stats.charts for c in chart.cells if c.hidden]


def test_the_page_shows_the_counts(client, figures, coordinator):
    client.force_login(coordinator)
    table = page_table(client.get(PAGE).content.decode())
    assert table["Cases by status", "Active"] == ["6"]
    assert table["Cases by outcome", "Granted"] == ["10"]
    assert table["Cases by destination country", "Germany"] == ["10"]


def test_only_the_own_organisations_cases_are_counted(figures, outsider):
    stats = collect(user=outsider)
    shown = cells(stats)
    assert stats.counted == 5
    assert shown["status", "Appeal"] == "5"
    assert shown["status", "Active"] == "0"
    assert shown["grounds", "Sexual orientation / gender identity"] == "5"
    assert shown["grounds", "Political opinion"] == "0"


def test_the_csv_has_one_section_per_chart(client, figures, coordinator):
    client.force_login(coordinator)
    response = client.get(CSV)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_of(response)
    assert rows[0] == ["Chart", "Label", "Count"]
    assert ["Cases by status", "Active", "6"] in rows
    assert ["Cases by outcome", "Granted", "10"] in rows
    assert ["Cases by ground of persecution", "Religion", "5"] in rows
    assert ["Cases by destination country", "Not recorded", "5"] in rows
    charts = [row[0] for row in rows[1:]]
    assert list(dict.fromkeys(charts)) == [
        "Cases by status",
        "Cases by outcome",
        "Cases by ground of persecution",
        "Cases by destination country",
        "Letters issued per month",
        "Decisions per quarter",
    ]
    assert charts.count("Letters issued per month") == 24
    assert charts.count("Decisions per quarter") == 16  # granted and refused, 8 quarters
    assert all(len(row) == 3 for row in rows)


def test_month_names_follow_the_language(figures, coordinator):
    with translation.override("ru"):
        stats = collect(user=coordinator)
    letters = next(c for c in stats.charts if c.key == "letters")
    assert re.fullmatch(r"[А-Яа-яё]+ \d{4}", letters.rows[0].label)
    assert letters.title == str(letters.title)


# What it never shows ---------------------------------------------------------------------


@pytest.fixture
def small_counts(org, coordinator):
    """Counts under 5: two refusals among many cases, all going to France."""
    for _ in range(8):
        counted_case(org, status=S.ACTIVE, destination="FR", grounds=["political"])
    for _ in range(6):
        counted_case(org, status=S.GRANTED, destination="FR")
    for _ in range(2):
        counted_case(org, status=S.REFUSED, destination="FR", grounds=["sogi"])


def test_counts_under_five_are_suppressed_on_the_page(client, small_counts, coordinator):
    client.force_login(coordinator)
    content = client.get(PAGE).content.decode()
    table = page_table(content)
    assert table["Cases by status", "Refused"] == ["&lt;5"]
    assert table["Cases by outcome", "Refused"] == ["&lt;5"]
    assert table["Cases by ground of persecution", "Sexual orientation / gender identity"] == [
        "&lt;5"
    ]
    # All 16 cases go to France, so the number of cases is known: with one cell hidden,
    # another is hidden too, or 16 − 8 − 6 would give the refusals away.
    assert table["Cases by destination country", "France"] == ["16"]
    assert table["Cases by status", "Granted"] == ["*"]
    assert table["Cases by outcome", "Granted"] == ["*"]
    assert table["Cases by status", "Active"] == ["8"]
    # Nor as a bar: the hidden ones are hatched stubs, their tooltips say "<5".
    assert "Refused: &lt;5" in content
    assert "Refused: 2" not in content and "Granted: 6" not in content


def test_counts_under_five_are_suppressed_in_the_csv(client, small_counts, coordinator):
    client.force_login(coordinator)
    rows = csv_of(client.get(CSV))
    assert ["Cases by status", "Refused", "<5"] in rows
    assert ["Cases by status", "Granted", "hidden"] in rows
    assert ["Cases by ground of persecution", "Sexual orientation / gender identity", "<5"] in rows
    assert ["Cases by status", "Active", "8"] in rows
    assert not [row for row in rows if row[2] in {"1", "2", "3", "4"}]


def test_hidden_destinations_are_listed_by_name_not_by_size(org, coordinator):
    for code, n in (("FR", 7), ("BY", 1), ("AM", 3), ("GE", 2)):
        for _ in range(n):
            counted_case(org, destination=code)
    destination = next(c for c in collect(user=coordinator).charts if c.key == "destination")
    assert [r.label for r in destination.rows] == ["France", "Armenia", "Belarus", "Georgia"]


def test_no_name_pseudonym_or_reference_in_the_output(client, figures, coordinator):
    client.force_login(coordinator)
    page = client.get(PAGE).content.decode()
    export = "\n".join(",".join(row) for row in csv_of(client.get(CSV)))
    cases = Case.objects.filter(organisation__memberships__user=coordinator)
    secrets = [c.reference for c in cases] + [c.client.pseudonym for c in cases]
    secrets += ["Zuganshin", "Rustam", "Зуганшин", "Рустам", "SPECIAL-"]
    for secret in secrets:
        assert secret not in page
        assert secret not in export


def test_suppression_hides_a_second_cell_where_a_total_would_give_one_away():
    values = {("a", "x"): 3, ("a", "y"): 10, ("a", "z"): 7, ("b", "x"): 20}
    relations = [(TOTAL, ("a", "x"), ("a", "y"), ("a", "z")), (TOTAL, ("b", "x"))]
    assert suppress(values, relations) == {("a", "x"): SMALL, ("a", "z"): COMPLEMENTARY}
    # Without a way to know the total, one hidden cell is enough.
    assert suppress(values, relations[:1]) == {("a", "x"): SMALL}
    # Two small cells hide each other; zeros are shown.
    values = {("a", "x"): 3, ("a", "y"): 2, ("a", "z"): 0, ("b", "x"): 5}
    assert suppress(values, relations) == {("a", "x"): SMALL, ("a", "y"): SMALL}


# Logged, well-formed, cheap --------------------------------------------------------------


def test_viewing_is_logged_as_a_listing_and_the_csv_as_an_export(client, figures, coordinator):
    client.force_login(coordinator)
    client.get(PAGE)
    client.get(CSV)
    entries = AccessEvent.objects.filter(user=coordinator, object_type="statistics")
    assert list(entries.order_by("id").values_list("action", "path_name")) == [
        (AccessEvent.Action.LIST, "reports:statistics"),
        (AccessEvent.Action.EXPORT, "reports:statistics_csv"),
    ]


def test_every_chart_is_well_formed_accessible_svg(client, figures, small_counts, coordinator):
    client.force_login(coordinator)
    content = client.get(PAGE).content.decode()
    charts = re.findall(r'<svg xmlns="http://www.w3.org/2000/svg".*?</svg>', content, re.S)
    assert len(charts) == 6
    for markup in charts:
        svg = ET.fromstring(markup)  # noqa: S314 — our own output
        assert svg.get("role") == "img"
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert svg.find(f"{SVG_NS}title").get("id") == title_id
        assert svg.find(f"{SVG_NS}desc").get("id") == desc_id
        assert svg.find(f"{SVG_NS}title").text
        # CSP: no style attribute and no <style> (style-src 'self' would block them).
        assert not [el for el in svg.iter() if "style" in el.attrib or el.tag.endswith("style")]
    assert content.count('class="visually-hidden"') >= 6


def test_the_number_of_queries_does_not_grow_with_the_cases(client, org, coordinator):
    counted_case(org, status=S.GRANTED, grounds=["political"], destination="FR")
    client.force_login(coordinator)
    client.get(PAGE)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get(PAGE).status_code == 200
    for status in (S.ACTIVE, S.REFUSED, S.CLOSED, S.GRANTED) * 3:
        case = counted_case(org, status=status, grounds=["religion", "sogi"], destination="DE")
        make_event(case=case, kind=Event.Kind.DECISION, days=-30)
        issue_letters(case, coordinator, n=2, at=timezone.now())
    with CaptureQueriesContext(connection) as many:
        assert client.get(PAGE).status_code == 200
    assert len(many) == len(few)


def test_the_page_needs_a_bounded_number_of_queries(
    client, figures, coordinator, django_assert_max_num_queries
):
    with django_assert_max_num_queries(5):  # five grouped queries, whatever the cases
        collect(user=coordinator)
    client.force_login(coordinator)
    client.get(PAGE)
    # The rest is the session, the user, the second factor, the lockdown check and the log.
    with django_assert_max_num_queries(20):
        client.get(PAGE)
    with django_assert_max_num_queries(20):
        client.get(CSV)


# Empty states ----------------------------------------------------------------------------


def test_without_cases_the_page_says_what_to_expect(client, coordinator):
    client.force_login(coordinator)
    content = client.get(PAGE).content.decode()
    assert "No cases yet — statistics appear once cases are recorded." in content
    assert "<svg xmlns" not in content


def test_cases_without_consent_to_statistics_are_not_counted(client, org, coordinator):
    make_case(organisation=org)
    client.force_login(coordinator)
    content = client.get(PAGE).content.decode()
    assert "No case is counted yet" in content


def test_a_new_organisation_without_cases_gets_an_empty_csv(client):
    org = make_organisation(name="New NGO")
    user = make_user(organisation=org, role=Membership.Role.COORDINATOR, username="new")
    client.force_login(user)
    assert csv_of(client.get(CSV)) == [["Chart", "Label", "Count"]]
