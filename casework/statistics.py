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

The SVG uses presentation attributes (fill, x, width…) and classes from static/css/pristan.css,
never a style attribute or a <style> element, so that the page keeps its strict CSP.
"""

import math
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Iterator
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
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django_countries import countries

from casework.models import Case, CaseLogEntry, Consent, Event, Ground
from letters.models import Letter

THRESHOLD = 5
MONTHS = 24
QUARTERS = 8
QUARTER_STARTS = (1, 4, 7, 10)
LABEL_WIDTH = 38  # characters on one line of a category's label: fits a phone at 13 px

SMALL = "small"  # fewer than THRESHOLD: shown as "<5"
COMPLEMENTARY = "complementary"  # hidden so that a small one cannot be recomputed: "*"

Key = tuple[str, ...]
TOTAL: Key = ("total",)  # the number of counted cases: never shown, maybe derivable

GRANTED, REFUSED, CLOSED, PENDING = "granted", "refused", "closed", "pending"
OUTCOMES = (GRANTED, REFUSED, CLOSED, PENDING)
PENDING_STATUSES = tuple(
    s
    for s in Case.Status.values
    if s not in (Case.Status.GRANTED, Case.Status.REFUSED, Case.Status.CLOSED)
)

BAR = "#1f4e5f"
SERIES = ("#1f4e5f", "#c8642a")  # teal and orange: apart for colour-blind readers too
GRID = "#dee2e6"
AXIS = "#adb5bd"
HATCH_LINE = "#6c757d"
HATCH_BACKGROUND = "#f1f3f5"


@dataclass
class Cell:
    key: Key
    count: int
    hidden: str = ""  # "", SMALL or COMPLEMENTARY

    @property
    def display(self) -> str:
        if self.hidden == SMALL:
            return f"<{THRESHOLD}"
        if self.hidden == COMPLEMENTARY:
            return "*"
        return str(self.count)

    @property
    def csv_value(self) -> str:
        return _("hidden") if self.hidden == COMPLEMENTARY else self.display


@dataclass
class Row:
    label: str
    cells: list[Cell]
    # Vertical charts: the two lines under the bar (e.g. "Jan" / "2026"), and whether the tick
    # may be left out on a narrow screen.
    tick: tuple[str, str] = ("", "")
    minor: bool = False


@dataclass
class Chart:
    key: str
    title: str
    label_heading: str
    series: list[str]
    rows: list[Row]
    vertical: bool = False
    note: str = ""
    empty_text: str = ""  # said in the plot when every count is zero

    @property
    def legend(self) -> list[tuple[str, str]]:
        """(series, colour) when there are several series."""
        return list(zip(self.series, SERIES, strict=False)) if len(self.series) > 1 else []

    @property
    def cells(self) -> Iterator[Cell]:
        for row in self.rows:
            yield from row.cells

    @property
    def svg(self) -> SafeString:
        return render_vertical(self) if self.vertical else render_horizontal(self)


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


def _as_date(value) -> date | None:
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
        Case.grounds.through.objects.filter(case__in=cases)
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


def suppress(values: dict[Key, int], relations: Iterable[tuple[Key, ...]]) -> dict[Key, str]:
    """Which cells to hide: {key: SMALL or COMPLEMENTARY}.

    Every count from 1 to THRESHOLD - 1 is hidden (SMALL). Then, as long as some hidden cell
    can be recomputed — a relation with all members but one known gives that one, and what it
    gives may unlock another relation — the smallest other shown member of the relation that
    gave it away is hidden too (COMPLEMENTARY). Members that are not cells (TOTAL) are never
    shown but can be derived. Ends because each round hides one more cell; a leak that no
    shown cell can close (there is none left in its relation) is accepted."""
    relations = list(relations)
    hidden = {k: SMALL for k, v in values.items() if 0 < v < THRESHOLD}
    accepted: set[Key] = set()
    while True:
        leak = _first_leak(values, relations, hidden, accepted)
        if leak is None:
            return hidden
        key, relation = leak
        shown = [m for m in relation if m in values and m not in hidden]
        if not shown:
            accepted.add(key)
            continue
        # The smallest non-zero count first: it costs the reader least.
        hidden[min(shown, key=lambda m: (values[m] == 0, values[m]))] = COMPLEMENTARY


def _first_leak(values, relations, hidden, accepted) -> tuple[Key, tuple[Key, ...]] | None:
    known = {k for k in values if k not in hidden}
    progress = True
    while progress:
        progress = False
        for relation in relations:
            unknown = {m for m in relation if m not in known}
            if len(unknown) == 1:
                (member,) = unknown
                if member in hidden and member not in accepted:
                    return member, relation
                known.add(member)
                progress = True
    return None


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


# SVG -----------------------------------------------------------------------------------------


def _attrs(attrs: dict[str, str]) -> str:
    """XML attributes; a trailing underscore is dropped (class_) and underscores become
    hyphens (font_size), except in names SVG spells in camel case."""
    return " ".join(
        f'{name.rstrip("_").replace("_", "-")}="{escape(value)}"' for name, value in attrs.items()
    )


def _el(tag: str, text: str = "", *, children: str = "", **attrs: str) -> str:
    inner = escape(text) + children
    return f"<{tag} {_attrs(attrs)}>{inner}</{tag}>" if inner else f"<{tag} {_attrs(attrs)}/>"


def _text(text: str, *, x: str, y: float, size: int = 11, **attrs: str) -> str:
    return _el("text", text, x=x, y=f"{y:.1f}", fill="currentColor", font_size=str(size), **attrs)


def _bar(tooltip: str, *, x: str, y: float, width: str, height: float, **paint: str) -> str:
    """A bar with its value as a tooltip (<title>) for mouse users."""
    return _el(
        "rect",
        children=_el("title", tooltip),
        x=x,
        y=f"{y:.1f}",
        width=width,
        height=f"{height:.1f}",
        **paint,
    )


def _pct(value: float) -> str:
    return f"{value:.2f}%"


def _paint(chart: Chart, cell: Cell, colour: str) -> dict[str, str]:
    if cell.hidden:
        return {"fill": f"url(#chart-{chart.key}-hatch)", "stroke": HATCH_LINE}
    return {"fill": colour}


def _svg(chart: Chart, height: float, body: list[str]) -> SafeString:
    """The <svg> element: its accessible name (title and desc), the hatch pattern that marks
    hidden counts, and the body. Width 100% and lengths in percent: the chart takes the width
    it is given while its text keeps its size."""
    ident = f"chart-{chart.key}"
    hatch = _el(
        "pattern",
        children=_el("rect", width="6", height="6", fill=HATCH_BACKGROUND)
        + _el("line", x1="0", y1="0", x2="0", y2="6", stroke=HATCH_LINE, stroke_width="3"),
        id=f"{ident}-hatch",
        width="6",
        height="6",
        patternUnits="userSpaceOnUse",
        patternTransform="rotate(45)",
    )
    head = [
        _el("title", chart.title, id=f"{ident}-title"),
        _el(
            "desc",
            _("Bar chart. The table that follows gives the same numbers."),
            id=f"{ident}-desc",
        ),
        _el("defs", children=hatch),
    ]
    svg = _el(
        "svg",
        children="".join(head + body),
        xmlns="http://www.w3.org/2000/svg",
        class_="chart",
        width="100%",
        height=f"{height:.0f}",
        role="img",
        aria_labelledby=f"{ident}-title {ident}-desc",
    )
    return mark_safe(svg)  # noqa: S308 — every text and attribute value is escaped by _el


def _tooltip(label: str, cell: Cell, series: str = "") -> str:
    return f"{label} · {series}: {cell.display}" if series else f"{label}: {cell.display}"


def render_horizontal(chart: Chart) -> SafeString:
    """Categories as horizontal bars, each label above its bar (wrapped if long), so that
    long labels, Russian ones too, never squeeze the bars on a phone. Bars use up to 82% of
    the width and the count follows the bar; a hidden count is a short hatched stub."""
    line_height, bar_height, span, stub = 17, 16, 82.0, 3.0
    scale = max((c.count for c in chart.cells if not c.hidden), default=0) or 1
    body, y = [], 0
    for row in chart.rows:
        cell = row.cells[0]
        for line in textwrap.wrap(row.label, LABEL_WIDTH) or [""]:
            y += line_height
            body.append(_text(line, x="0", y=y - 3, size=13))
        y += 3
        width = stub if cell.hidden else cell.count / scale * span
        if cell.hidden or cell.count:
            width = max(width, 0.5)
            paint = _paint(chart, cell, BAR)
            tooltip = _tooltip(row.label, cell)
            body.append(_bar(tooltip, x="0", y=y, width=_pct(width), height=bar_height, **paint))
        offset = width + 1 if width else 0
        body.append(_text(cell.display, x=_pct(offset), y=y + 13, size=13, font_weight="600"))
        y += bar_height + 10
    return _svg(chart, y, body)


def _nice_ceiling(value: int) -> int:
    """1, 2 or 5 times a power of ten, at least `value` and at least THRESHOLD."""
    value = max(value, THRESHOLD)
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def render_vertical(chart: Chart) -> SafeString:
    """Periods as vertical bars (the series side by side; the page shows the legend) over a
    light grid on a rounded-up scale. On a narrow screen the CSS drops the ticks marked minor
    (two months in three) and the numbers over dense bars (the table has them)."""
    top, plot_h, left = 16.0, 150.0, 6.0  # left: room for the scale's numbers, in percent
    bottom = top + plot_h
    n_series = len(chart.series)
    slot = (100.0 - left) / max(len(chart.rows), 1)
    bar_w = slot * 0.72 / n_series
    value_class = "value-dense" if len(chart.rows) * n_series > 12 else "value"
    scale = _nice_ceiling(max((c.count for c in chart.cells if not c.hidden), default=0))
    body = []
    if chart.empty_text and not any(c.count or c.hidden for c in chart.cells):
        middle = _pct(left + (100 - left) / 2)
        body.append(
            _text(chart.empty_text, x=middle, y=top + plot_h / 2, size=13, text_anchor="middle")
        )
    for tick in [0, scale // 2, scale] if scale % 2 == 0 else [0, scale]:
        y = f"{bottom - tick / scale * plot_h:.1f}"
        line = AXIS if tick == 0 else GRID
        body.append(_el("line", x1=_pct(left), x2="100%", y1=y, y2=y, stroke=line))
        body.append(_text(str(tick), x=_pct(left - 1), y=float(y) + 4, text_anchor="end"))
    for i, row in enumerate(chart.rows):
        for j, cell in enumerate(row.cells):
            x = left + i * slot + slot * 0.14 + j * bar_w
            h = 8.0 if cell.hidden else cell.count / scale * plot_h
            if h:
                tooltip = _tooltip(row.label, cell, chart.series[j] if n_series > 1 else "")
                paint = _paint(chart, cell, SERIES[j])
                body.append(
                    _bar(
                        tooltip, x=_pct(x), y=bottom - h, width=_pct(bar_w * 0.9), height=h, **paint
                    )
                )
            if cell.count or cell.hidden:
                body.append(
                    _text(
                        cell.display,
                        x=_pct(x + bar_w * 0.45),
                        y=bottom - h - 4,
                        text_anchor="middle",
                        class_=value_class,
                    )
                )
        tick_class = "tick-minor" if row.minor else "tick"
        centre = _pct(left + (i + 0.5) * slot)
        for line, text in enumerate(row.tick):
            if text:
                body.append(
                    _text(
                        text,
                        x=centre,
                        y=bottom + 15 + 14 * line,
                        text_anchor="middle",
                        class_=tick_class,
                    )
                )
    return _svg(chart, bottom + 36, body)
