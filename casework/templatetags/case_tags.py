"""Tags for what the case list, the dashboard and the case page show for every case.

Written in Python because they run once per row: an `{% include %}` or a `{% for %}` loop per
row costs the case list several milliseconds of template machinery for a few words of output
(bench/pages.py)."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

register = template.Library()

_STATUS_BADGE = {
    "granted": "text-bg-success",
    "refused": "text-bg-danger",
    "closed": "text-bg-secondary",
    "intake": "text-bg-info",
}


@register.simple_tag
def status_badge(case) -> str:
    """The case's status as a coloured badge."""
    colour = _STATUS_BADGE.get(case.status, "text-bg-primary")
    return format_html(
        '<span class="badge badge-status {}">{}</span>', colour, case.get_status_display()
    )


@register.simple_tag
def assignee_names(case) -> str:
    """Who works on the case (the case list's prefetched `assignee_list`), or a red
    "nobody"."""
    people = case.assignee_list
    if not people:
        return format_html('<span class="text-danger">{}</span>', gettext("nobody"))
    return format_html_join(", ", "{}", ((p.get_short_name() or p.username,) for p in people))
