"""Bar charts drawn as SVG on the server, for the statistics page.

The SVG uses presentation attributes (fill, x, width…) and classes from static/css/pristan.css,
never a style attribute or a <style> element, so that the page keeps its strict CSP. Bar lengths
are scaled on the shown counts only, so that a bar's length gives nothing hidden away either.
"""

import math
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from reports.suppression import COMPLEMENTARY, SMALL, THRESHOLD, Key

LABEL_WIDTH = 38  # characters on one line of a category's label: fits a phone at 13 px

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
        stroke = AXIS if tick == 0 else GRID
        body.append(_el("line", x1=_pct(left), x2="100%", y1=y, y2=y, stroke=stroke))
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
