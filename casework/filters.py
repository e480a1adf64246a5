from datetime import timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from casework.models import Authority, Case, CaseReference, Client, Event, Ground
from casework.names import normalise_reference, query_index_tokens, reference_index
from casework.selectors import assignable_users

User = get_user_model()
ANY = _("Any")


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
        self.filters["destination_country"].extra["choices"] = list(countries)
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
        matching |= Q(reference__icontains=value)
        if normalise_reference(value):
            # An authority's number (OFPRA, A-Number…) in any formatting: equal blind-index
            # hashes, so the references stay encrypted.
            by_reference = CaseReference.objects.filter(value_index=reference_index(value))
            matching |= Q(pk__in=by_reference.values("case_id"))
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
