"""The case list's filter sidebar: cached options, the markup crispy and Django's widgets give."""

import re

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django import forms
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from casework.filters import CaseFilter, _OptionsInPython
from casework.models import Authority, Case, Ground, Membership
from tests.factories import make_case, make_user
from tests.helpers import BROKEN_CACHE

pytestmark = pytest.mark.django_db

DATA = [
    "",
    "q=Зуганшин+<b>&status=active&status=intake",
    "kind=appeal&risk=high&destination_country=FR&deadline=7",
    "grounds=GROUND&authority=AUTHORITY&assignee=ASSIGNEE&status=closed",
]


def _data(query: str, org, caseworker) -> QueryDict:
    authority = Authority.objects.for_organisation(org.pk).order_by("pk").first()
    query = (
        query.replace("GROUND", str(Ground.objects.order_by("pk").last().pk))
        .replace("AUTHORITY", str(authority.pk))
        .replace("ASSIGNEE", str(caseworker.pk))
    )
    return QueryDict(query)


def _crispy(data, org) -> dict[str, str]:
    """Each field rendered by crispy, as the case list did before the sidebar was cached."""
    form = CaseFilter(data, queryset=Case.objects.none(), organisation=org).form
    rendered = {field.name: str(as_crispy_field(field)) for field in form}
    more = "".join(html for name, html in rendered.items() if name != "q")
    return {"q": rendered["q"], "more": more}


def _sidebar(data, org) -> dict[str, str]:
    sidebar = CaseFilter(data, queryset=Case.objects.none(), organisation=org).sidebar()
    return {name: str(html) for name, html in sidebar.items()}


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("query", DATA)
def test_sidebar_is_byte_identical_to_crispys_rendering(org, caseworker, language, query):
    data = _data(query, org, caseworker)
    with translation.override(language):
        _sidebar(data, org)  # fills the cache
        assert _sidebar(data, org) == _crispy(data, org)


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("query", DATA)
def test_sidebar_options_are_djangos_widget_rendering(
    org, caseworker, language, query, monkeypatch
):
    """The options written in Python are Django's own <select> markup (up to the white space
    between tags, which Django's widget templates indent)."""
    data = _data(query, org, caseworker)
    with translation.override(language):
        ours = _sidebar(data, org)
        monkeypatch.setattr(_OptionsInPython, "render", forms.Widget.render)
        django = _crispy(data, org)
    assert "<option" in django["more"]
    for name in ("q", "more"):
        assert re.sub(r">\s+<", "><", ours[name]) == re.sub(r">\s+<", "><", django[name])


def test_a_second_render_reads_no_members_authorities_or_grounds(org, caseworker):
    data = QueryDict("")
    with translation.override("ru"):
        _sidebar(data, org)
        with CaptureQueriesContext(connection) as ctx:
            sidebar = _sidebar(data, org)
    tables = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "accounts_user" not in tables
    assert "casework_authority" not in tables
    assert "casework_ground" not in tables
    assert caseworker.username in sidebar["more"]


def test_options_follow_new_members_renamed_authorities_and_departures(org, caseworker):
    data = QueryDict("")
    _sidebar(data, org)
    newcomer = make_user(organisation=org, role=Membership.Role.VOLUNTEER, username="newcomer")
    assert "newcomer" in _sidebar(data, org)["more"]
    authority = Authority.objects.for_organisation(org.pk).order_by("pk").first()
    authority.short_name = "Renamed authority"
    authority.save()
    assert "Renamed authority" in _sidebar(data, org)["more"]
    newcomer.membership.delete()
    assert "newcomer" not in _sidebar(data, org)["more"]


def test_options_are_per_organisation(org, other_org, caseworker):
    make_user(organisation=other_org, role=Membership.Role.CASEWORKER, username="elsewhere")
    _sidebar(QueryDict(""), other_org)
    sidebar = _sidebar(QueryDict(""), org)["more"]
    assert caseworker.username in sidebar
    assert "elsewhere" not in sidebar


def test_an_invalid_choice_is_shown_as_crispy_shows_errors(org, caseworker):
    data = QueryDict("kind=no-such-kind&assignee=999999")
    sidebar = _sidebar(data, org)
    assert sidebar == _crispy(data, org)
    assert "is-invalid" in sidebar["more"]


def test_case_list_renders_without_a_cache_server(client, org, coordinator, settings):
    make_case(organisation=org)
    client.force_login(coordinator)
    settings.CACHES = {"default": BROKEN_CACHE}
    response = client.get(reverse("casework:case_list") + "?status=active")
    assert response.status_code == 200
    assert b'<option value="active" selected>' in response.content
