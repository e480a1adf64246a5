from datetime import timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from casework.models import Authority, Case, Client, Event, Ground
from casework.names import query_index_tokens
from casework.services import assignable_users

User = get_user_model()
ANY = _("Any")


class CaseFilter(django_filters.FilterSet):
    """The case list's filters. It only ever narrows a queryset that is already scoped to the
    user (`Case.objects.visible_to`), so no choice here can widen what they see."""

    DEADLINE_CHOICES = [
        ("overdue", _("Overdue")),
        ("7", _("Next 7 days")),
        ("14", _("Next 14 days")),
        ("30", _("Next 30 days")),
    ]

    q = django_filters.CharFilter(label=_("Reference or name"), method="filter_q", max_length=100)
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=Case.Status.choices, widget=forms.SelectMultiple
    )
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Case.Kind.choices, empty_label=ANY)
    grounds = django_filters.ModelChoiceFilter(
        label=_("Grounds"), queryset=Ground.objects.all(), field_name="grounds", empty_label=ANY
    )
    destination_country = django_filters.ChoiceFilter(
        label=_("Destination"), choices=[], empty_label=ANY
    )
    authority = django_filters.ModelChoiceFilter(
        label=_("Authority"), queryset=Authority.objects.all(), empty_label=ANY
    )
    assignee = django_filters.ModelChoiceFilter(
        label=_("Assigned to"),
        queryset=User.objects.none(),
        method="filter_assignee",
        empty_label=ANY,
    )
    deadline = django_filters.ChoiceFilter(
        label=_("Deadline"), choices=DEADLINE_CHOICES, method="filter_deadline", empty_label=ANY
    )
    risk = django_filters.ChoiceFilter(label=_("Risk"), choices=Case.Risk.choices, empty_label=ANY)

    class Meta:
        model = Case
        fields: list[str] = []

    def __init__(self, *args, organisation=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organisation is not None:
            self.filters["assignee"].queryset = assignable_users(organisation)
        self.filters["destination_country"].extra["choices"] = list(countries)
        self.filters["assignee"].field.label_from_instance = lambda u: (
            u.get_full_name() or u.username
        )

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        by_name = Q()
        hashes = query_index_tokens(value)
        if hashes:
            clients = Client.objects.all()
            for h in hashes:
                clients = clients.filter(name_index__contains=f" {h} ")
            by_name = Q(client__in=clients.values("pk")) | Q(client__pseudonym__icontains=value)
        return queryset.filter(Q(reference__icontains=value) | by_name)

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
