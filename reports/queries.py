"""Statistics for coordinators: counts of the organisation's cases and letters, drawn as SVG
bar charts on the server and exported as CSV. Counts only: nothing here reads a name, a
pseudonym, a reference or anything encrypted.

Which cases are counted is decided once, in `counted_cases`. Every aggregate is one grouped
query, so the number of queries does not grow with the number of cases.

Small counts are suppressed: a count from 1 to 4 is shown as "<5" (primary suppression), and
where the charts add up to one another (every case has one status, one outcome, one
destination), enough other cells are hidden as well that a "<5" cannot be worked out by
subtraction (complementary suppression, `suppress`). Bar lengths are scaled on the shown
counts only, so that a bar's length gives nothing hidden away either.
The suppression rule is reports.suppression, the drawing reports.charts.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Case as CaseWhen
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncQuarter
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django_countries import countries

from casework.models import Case, CaseLogEntry, Consent, Event, Ground
from letters.models import Letter
from reports.charts import Cell, Chart, Row
from reports.suppression import TOTAL, Key, suppress

MONTHS = 24
QUARTERS = 8
QUARTER_STARTS = (1, 4, 7, 10)

GRANTED, REFUSED, CLOSED, PENDING = "granted", "refused", "closed", "pending"
OUTCOMES = (GRANTED, REFUSED, CLOSED, PENDING)
PENDING_STATUSES = tuple(
    s
    for s in Case.Status.values
    if s not in (Case.Status.GRANTED, Case.Status.REFUSED, Case.Status.CLOSED)
)


@dataclass
class Statistics:
    charts: list[Chart] = field(default_factory=list)
    counted: int = 0  # never printed: a total would undo the suppression
    any_cases: bool = False  # the organisation has cases at all, counted or not

    @property
    def empty(self) -> bool:
        return self.counted == 0


# Which cases, and what they came to ------------------------------------------------------


def counted_cases(user) -> QuerySet:
    """The cases that statistics count: those the user may see (a coordinator's or an
    administrator's whole organisation) whose client has agreed to anonymous statistics and has
    not withdrawn it (Consent.Purpose.STATISTICS). Erased cases lose their consents and drop
    out."""
    consented = Consent.objects.filter(
        case=OuterRef("pk"), purpose=Consent.Purpose.STATISTICS, withdrawn_on__isnull=True
    )
    return Case.objects.visible_to(user).filter(Exists(consented)).order_by()


def _last_decision():
    """The case's latest status change to granted or refused (the history keeps the codes)."""
    return (
        CaseLogEntry.objects.filter(case=OuterRef("pk"), action=CaseLogEntry.Action.STATUS)
        .filter(Q(detail__endswith=f"→ {GRANTED}") | Q(detail__endswith=f"→ {REFUSED}"))
        .order_by("-at", "-id")
    )


def with_outcome(cases: QuerySet) -> QuerySet:
    """Annotate `outcome`: granted, refused, closed (closed without a decision) or pending.

    A case whose status is granted or refused has that outcome. A closed case has the outcome
    of the last decision in its history: most cases are closed after a grant, and counting
    those as "closed" would make grants disappear from the figures as files are tidied up.
    Everything else is pending (including an appeal after a refusal)."""
    S = Case.Status
    return cases.annotate(
        last_decision=Subquery(_last_decision().values("detail")[:1]),
        outcome=CaseWhen(
            When(status=S.GRANTED, then=Value(GRANTED)),
            When(status=S.REFUSED, then=Value(REFUSED)),
            When(status=S.CLOSED, last_decision__endswith=GRANTED, then=Value(GRANTED)),
            When(status=S.CLOSED, last_decision__endswith=REFUSED, then=Value(REFUSED)),
            When(status=S.CLOSED, then=Value(CLOSED)),
            default=Value(PENDING),
        ),
    )


def with_decision_date(cases: QuerySet) -> QuerySet:
    """Annotate `decided_on`, the date a decided case (outcome granted or refused) is counted
    under in "decisions over time", taking the first that is known of:

    1. the latest "Decision received" event: the date the authority's decision arrived, which
       is what a report about decisions means;
    2. the day the status was changed to granted or refused (the case history): when the team
       recorded it, usually within days of the decision;
    3. `closed_at`, for a case closed without that history (imported, or edited by hand):
       later than the decision, but still tied to it;
    4. `updated_at` as a last resort: any later edit moves it, so it is only an approximation.
    """
    event = (
        Event.objects.filter(case=OuterRef("pk"), kind=Event.Kind.DECISION)
        .order_by("-date")
        .values("date")[:1]
    )
    logged = _last_decision().values(on=TruncDate("at"))[:1]
    return cases.annotate(
        decided_on=Coalesce(
            Subquery(event, output_field=DateField()),
            Subquery(logged, output_field=DateField()),
            "closed_at",
            TruncDate("updated_at"),
            output_field=DateField(),
        )
    )


# Periods -------------------------------------------------------------------------------------


def months_back(today: date, n: int = MONTHS) -> list[date]:
    """The first days of the last `n` months, oldest first, this month last."""
    index = today.year * 12 + today.month - 1
    return [date((i // 12), i % 12 + 1, 1) for i in range(index - n + 1, index + 1)]


def quarters_back(today: date, n: int = QUARTERS) -> list[date]:
    """The first days of the last `n` quarters, oldest first, this quarter last."""
    index = today.year * 4 + (today.month - 1) // 3
    return [date(i // 4, (i % 4) * 3 + 1, 1) for i in range(index - n + 1, index + 1)]


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


# Collecting --------------------------------------------------------------------------------


def collect(*, user, today: date | None = None) -> Statistics:
    """All charts for this user's organisation: five grouped queries (and one more when nothing
    is counted, to tell "no cases" from "no case counted")."""
    today = today or timezone.localdate()
    cases = counted_cases(user)

    by_status_outcome = list(
        with_outcome(cases).values("status", "outcome").annotate(n=Count("pk")).order_by()
    )
    status: dict[str, int] = defaultdict(int)
    outcome: dict[str, int] = defaultdict(int)
    for row in by_status_outcome:
        status[row["status"]] += row["n"]
        outcome[row["outcome"]] += row["n"]
    counted = sum(status.values())
    if not counted:
        return Statistics(any_cases=Case.objects.visible_to(user).exists())

    grounds = dict(
        # django-stubs does not follow annotate() on an auto-created through model: it
        # cannot find `n` below.
        Case.grounds.through.objects.filter(case__in=cases)  # type: ignore[misc]
        .values("ground__code")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("ground__code", "n")
    )
    destinations = dict(
        cases.values("destination_country")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("destination_country", "n")
    )
    months = months_back(today)
    start = timezone.make_aware(datetime(months[0].year, months[0].month, 1))
    letters: dict[date, int] = defaultdict(int)
    for month, n in (
        Letter.objects.filter(case__in=cases, issued_at__gte=start)
        .annotate(month=TruncMonth("issued_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("month", "n")
    ):
        letters[_as_date(month)] += n
    decisions: dict[tuple[date, str], int] = defaultdict(int)
    for quarter, result, n in (
        with_decision_date(with_outcome(cases).filter(outcome__in=(GRANTED, REFUSED)))
        .values(quarter=TruncQuarter("decided_on"), result=F("outcome"))
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("quarter", "result", "n")
    ):
        decisions[_as_date(quarter), result] += n

    charts = [
        _status_chart(status),
        _outcome_chart(outcome),
        _grounds_chart(grounds),
        _destination_chart(destinations),
        _letters_chart(letters, months),
        _decisions_chart(decisions, quarters_back(today)),
    ]
    quarters_shown = {row.cells[0].key[1] for row in charts[-1].rows}
    relations = _relations(
        charts, decisions_complete=all(q.isoformat() in quarters_shown for q, _result in decisions)
    )
    apply_suppression(charts, relations)
    _sort_destinations(charts[3])
    return Statistics(charts=charts, counted=counted, any_cases=True)


def _single(chart: str, key: str, label: str, count: int) -> Row:
    return Row(label=label, cells=[Cell(key=(chart, key), count=count)])


def _status_chart(status: dict[str, int]) -> Chart:
    return Chart(
        key="status",
        title=_("Cases by status"),
        label_heading=_("Status"),
        series=[_("Cases")],
        rows=[_single("status", v, str(label), status[v]) for v, label in Case.Status.choices],
    )


def _outcome_chart(outcome: dict[str, int]) -> Chart:
    labels = {
        GRANTED: _("Granted"),
        REFUSED: _("Refused"),
        CLOSED: _("Closed without a decision"),
        PENDING: _("Pending"),
    }
    return Chart(
        key="outcome",
        title=_("Cases by outcome"),
        label_heading=_("Outcome"),
        series=[_("Cases")],
        rows=[_single("outcome", o, labels[o], outcome[o]) for o in OUTCOMES],
        note=_("A case closed after a decision counts under that decision."),
    )


def _grounds_chart(grounds: dict[str, int]) -> Chart:
    return Chart(
        key="grounds",
        title=_("Cases by ground of persecution"),
        label_heading=_("Ground"),
        series=[_("Cases")],
        rows=[
            _single("grounds", code, str(label), grounds.get(code, 0))
            for code, label in Ground.Code.choices
        ],
        note=_("A case can have several grounds, or none yet."),
    )


def _destination_chart(destinations: dict[str, int]) -> Chart:
    rows = [
        _single(
            "destination",
            code or "-",
            countries.name(code) if code else _("Not recorded"),
            n,
        )
        for code, n in destinations.items()
        if n
    ]
    return Chart(
        key="destination",
        title=_("Cases by destination country"),
        label_heading=_("Country"),
        series=[_("Cases")],
        rows=rows,
    )


def _sort_destinations(chart: Chart) -> None:
    """Largest first; the hidden ones after, by name, so that their order tells nothing."""
    chart.rows.sort(
        key=lambda r: (
            bool(r.cells[0].hidden),
            -r.cells[0].count if not r.cells[0].hidden else 0,
            r.label,
        )
    )


def _letters_chart(letters: dict[date, int], months: list[date]) -> Chart:
    """On a phone only the months that start a quarter keep their tick, the first of them
    with its year."""
    first_major = next(i for i, m in enumerate(months) if m.month in QUARTER_STARTS)
    rows = []
    for i, month in enumerate(months):
        rows.append(
            Row(
                label=dateformat.format(month, "F Y"),
                cells=[Cell(key=("letters", month.isoformat()), count=letters.get(month, 0))],
                tick=(
                    dateformat.format(month, "M"),
                    str(month.year) if i in (0, first_major) or month.month == 1 else "",
                ),
                minor=month.month not in QUARTER_STARTS,
            )
        )
    return Chart(
        key="letters",
        title=_("Letters issued per month"),
        label_heading=_("Month"),
        series=[_("Letters")],
        rows=rows,
        vertical=True,
        note=_("Letters issued in the last 24 months, including any revoked later."),
        empty_text=_("No letter was issued in these months."),
    )


def _decisions_chart(decisions: dict[tuple[date, str], int], quarters: list[date]) -> Chart:
    rows = []
    for i, quarter in enumerate(quarters):
        number = (quarter.month - 1) // 3 + 1
        rows.append(
            Row(
                label=_("Q%(quarter)d %(year)d") % {"quarter": number, "year": quarter.year},
                cells=[
                    Cell(
                        key=("decisions", quarter.isoformat(), r),
                        count=decisions.get((quarter, r), 0),
                    )
                    for r in (GRANTED, REFUSED)
                ],
                tick=(
                    _("Q%(quarter)d") % {"quarter": number},
                    str(quarter.year) if i == 0 or number == 1 else "",
                ),
            )
        )
    return Chart(
        key="decisions",
        title=_("Decisions per quarter"),
        label_heading=_("Quarter"),
        series=[_("Granted"), _("Refused")],
        rows=rows,
        vertical=True,
        empty_text=_("No decision in these quarters."),
        note=_(
            "Dated by the “Decision received” event, else by the day the status was changed, "
            "else by the closing date. The last eight quarters."
        ),
    )


# Suppression ---------------------------------------------------------------------------------


def _relations(charts: list[Chart], *, decisions_complete: bool) -> list[tuple[Key, ...]]:
    """Groups of cells whose counts add up to the same number (written as one side plus the
    other, all members together): knowing all but one member of a group gives the last."""
    keys = {chart.key: [cell.key for cell in chart.cells] for chart in charts}
    s = {status: ("status", status) for status in Case.Status.values}
    o = {result: ("outcome", result) for result in OUTCOMES}
    relations: list[tuple[Key, ...]] = [
        (TOTAL, *keys["status"]),
        (TOTAL, *keys["outcome"]),
        (TOTAL, *keys["destination"]),
        # Pending is exactly the pending statuses; hence also decided+closed on both sides.
        (o[PENDING], *(s[p] for p in PENDING_STATUSES)),
        (o[GRANTED], o[REFUSED], o[CLOSED], s[GRANTED], s[REFUSED], s[CLOSED]),
    ]
    if decisions_complete:  # every decision falls in the quarters shown
        for result in (GRANTED, REFUSED):
            quarterly = [k for k in keys["decisions"] if k[2] == result]
            relations.append((o[result], *quarterly))
    return relations


def apply_suppression(charts: list[Chart], relations: list[tuple[Key, ...]]) -> None:
    cells = {cell.key: cell for chart in charts for cell in chart.cells}
    hidden = suppress({k: c.count for k, c in cells.items()}, relations)
    for key, reason in hidden.items():
        cells[key].hidden = reason


# CSV -----------------------------------------------------------------------------------------


def csv_rows(stats: Statistics) -> Iterator[list[str]]:
    """One section per chart: chart, label, count ("<5" and "hidden" where suppressed)."""
    yield [_("Chart"), _("Label"), _("Count")]
    for chart in stats.charts:
        for row in chart.rows:
            for series, cell in zip(chart.series, row.cells, strict=True):
                label = row.label if len(chart.series) == 1 else f"{row.label} · {series}"
                yield [chart.title, label, cell.csv_value]
