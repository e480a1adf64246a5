import logging
from datetime import timedelta
from typing import Any

import django_filters
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from casework.models import Authority, Case, CaseReference, Client, Event, Ground
from casework.names import normalise_reference, query_index_tokens, reference_index
from casework.selectors import assignable_users

User = get_user_model()
ANY = _("Any")
logger = logging.getLogger(__name__)
SIDEBAR_CACHE_SECONDS = 600  # also how long new translations take to show after a deploy


class _OptionsInPython:
    """A select that writes its <option>s in Python. Django renders one template per option,
    and the destination list alone has about 250 countries: that made the filter form most of
    the case list's server time. The markup is the same as Django's."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">', group_name))
            parts += [
                format_html(
                    '<option value="{}"{}>{}</option>',
                    str(option["value"]),
                    flatatt(option["attrs"]),
                    option["label"],
                )
                for option in options
            ]
            if group_name:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("\n".join(parts))  # noqa: S308  (every part is escaped above)


class Select(_OptionsInPython, forms.Select):
    pass


class _Countries:
    """The destination countries, read (in the active language) only when iterated. A form
    deep-copies its fields' choices when it is made: a list of 250 countries on every request."""

    def __iter__(self):
        return iter(countries)

    def __len__(self) -> int:
        return len(countries)

    def __deepcopy__(self, memo: dict) -> "_Countries":
        return self


class SelectMultiple(_OptionsInPython, forms.SelectMultiple):
    pass


class CaseFilter(django_filters.FilterSet):
    """The case list's filters. It only ever narrows a queryset that is already scoped to the
    user (`Case.objects.visible_to`), so no choice here can widen what they see."""

    DEADLINE_CHOICES = [
        ("overdue", _("Overdue")),
        ("7", _("Next 7 days")),
        ("14", _("Next 14 days")),
        ("30", _("Next 30 days")),
    ]

    MAX_CLIENT_IDS = 2000

    q = django_filters.CharFilter(label=_("Reference or name"), method="filter_q", max_length=100)
    status = django_filters.MultipleChoiceFilter(
        # One column: no join, no duplicates, so no DISTINCT (which sorted every matching row).
        label=_("Status"),
        choices=Case.Status.choices,
        widget=SelectMultiple,
        distinct=False,
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=Case.Kind.choices, empty_label=ANY, widget=Select
    )
    grounds = django_filters.ModelChoiceFilter(
        label=_("Grounds"),
        queryset=Ground.objects.all(),
        field_name="grounds",
        empty_label=ANY,
        widget=Select,
    )
    destination_country = django_filters.ChoiceFilter(
        label=_("Destination"), choices=[], empty_label=ANY, widget=Select
    )
    authority = django_filters.ModelChoiceFilter(
        label=_("Authority"), queryset=Authority.objects.all(), empty_label=ANY, widget=Select
    )
    assignee = django_filters.ModelChoiceFilter(
        label=_("Assigned to"),
        queryset=User.objects.none(),
        method="filter_assignee",
        empty_label=ANY,
        widget=Select,
    )
    deadline = django_filters.ChoiceFilter(
        label=_("Deadline"),
        choices=DEADLINE_CHOICES,
        method="filter_deadline",
        empty_label=ANY,
        widget=Select,
    )
    risk = django_filters.ChoiceFilter(
        label=_("Risk"), choices=Case.Risk.choices, empty_label=ANY, widget=Select
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def __init__(self, *args, organisation=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organisation is not None:
            self.filters["assignee"].queryset = assignable_users(organisation)
            self.filters["authority"].queryset = Authority.objects.for_organisation(organisation.pk)
        self.organisation = organisation
        self.organisation_id = organisation.pk if organisation is not None else None
        self.filters["destination_country"].extra["choices"] = _Countries()
        self.filters["assignee"].field.label_from_instance = lambda u: (
            u.get_full_name() or u.username
        )

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # The clients first, in a query of their own: their ids then let the database combine
        # two indexes (reference, client) instead of joining every case to its client. A broad
        # search ("Клиент" matches every pseudonym) keeps them as subqueries instead.
        by_pseudonym = Client.objects.filter(pseudonym__icontains=value).values("pk")
        hashes = query_index_tokens(value)
        by_name = Client.objects.with_name_tokens(hashes).values("pk") if hashes else None
        clients = by_name.union(by_pseudonym) if by_name is not None else by_pseudonym
        client_ids = [row["pk"] for row in clients[: self.MAX_CLIENT_IDS + 1]]
        if len(client_ids) <= self.MAX_CLIENT_IDS:
            matching = Q(client_id__in=client_ids)
        else:
            matching = Q(client_id__in=by_pseudonym)
            if by_name is not None:
                matching |= Q(client_id__in=by_name)
        if any(c.isdigit() for c in value):
            # Case references are digits and a hyphen ("2026-0042"): a name cannot match one,
            # and the LIKE would read every case's reference for nothing.
            matching |= Q(reference__icontains=value)
        if normalise_reference(value):
            # An authority's number (OFPRA, A-Number…) in any formatting: equal blind-index
            # hashes, so the references stay encrypted. Fetched first, as the clients are: a
            # subquery in the OR makes PostgreSQL expect half the cases to match, and walk
            # them all in the list's order (50 ms at 100,000 cases).
            by_reference = CaseReference.objects.filter(value_index=reference_index(value))
            case_ids = by_reference.values_list("case_id", flat=True)
            matching |= Q(pk__in=list(case_ids[: self.MAX_CLIENT_IDS]))
        return queryset.filter(matching)

    def filter_assignee(self, queryset, name, value):
        return queryset.filter(assignments__user=value) if value else queryset

    def filter_deadline(self, queryset, name, value):
        today = timezone.localdate()
        events = Event.objects.filter(case=OuterRef("pk"), is_deadline=True, done=False)
        if value == "overdue":
            events = events.filter(date__lt=today)
        else:
            events = events.filter(date__gte=today, date__lte=today + timedelta(days=int(value)))
        return queryset.filter(Exists(events))

    def sidebar(self) -> dict[str, SafeString]:
        """The filter form's fields as the case list shows them: {"q": the search box, "more":
        the other filters}, the same markup as crispy's `as_crispy_field` of each field.

        The options (250 countries, the organisation's authorities and members) are rendered
        once per organisation and language and cached (`sidebar_forget` on a change); each
        request only marks the chosen ones. A form with errors is rendered by crispy."""
        form = self.form
        if form.is_bound and not form.is_valid():
            rendered = {field.name: as_crispy_field(field) for field in form}
        else:
            rendered = {
                name: _with_value(html, name, form[name].value())
                for name, html in self._unbound_sidebar().items()
            }
        more = "".join(html for name, html in rendered.items() if name != "q")
        return {"q": mark_safe(rendered.get("q", "")), "more": mark_safe(more)}  # noqa: S308

    def _unbound_sidebar(self) -> dict[str, str]:
        key = _sidebar_key(self.organisation_id, get_language())
        try:
            cached = cache.get(key)
        except Exception:  # a cache outage costs the rendering, not the page
            logger.warning("filter sidebar: cache unavailable", exc_info=True)
            cached = None
        if cached is not None:
            return cached
        unbound = type(self)(None, queryset=self.queryset.none(), organisation=self.organisation)
        rendered = {field.name: str(as_crispy_field(field)) for field in unbound.form}
        try:
            cache.set(key, rendered, SIDEBAR_CACHE_SECONDS)
        except Exception:
            logger.warning("filter sidebar: cache unavailable", exc_info=True)
        return rendered


def _sidebar_key(organisation_id: int | None, language: str | None) -> str:
    return f"casework:filter-sidebar:{organisation_id}:{language}"


def sidebar_forget(*, organisation_ids: list[int | None]) -> None:
    """Drop the cached filter options of these organisations (all languages): their members,
    authorities or the grounds changed."""
    keys = [_sidebar_key(o, code) for o in organisation_ids for code, _name in settings.LANGUAGES]
    try:
        cache.delete_many(keys)
    except Exception:
        logger.warning("filter sidebar: cache unavailable", exc_info=True)


def _with_value(html: str, name: str, value: Any) -> str:
    """The unbound field's markup with `value` shown, as Django's widgets render it."""
    if name == "q":
        if value in (None, ""):
            return html
        return html.replace('name="q"', f'name="q" value="{escape(value)}"', 1)
    values = value if isinstance(value, list | tuple) else [value]
    chosen = [str(v) for v in values if v not in (None, "")]
    if not chosen:
        return html  # the unbound field: "Any" (or nothing, when several may be chosen)
    html = html.replace('<option value="" selected>', '<option value="">', 1)
    for v in chosen:
        option = f'<option value="{escape(v)}"'
        html = html.replace(f"{option}>", f"{option} selected>", 1)
    return html
