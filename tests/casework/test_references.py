"""Procedure references and statements for letters: stored encrypted, found by search, edited
through the case page by those who may edit the case, erased and exported with the person."""

import io
import json
import zipfile
from datetime import date

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import translation

from casework import services
from casework.models import AccessEvent, Authority, CaseLogEntry, CaseReference, CaseStatement
from privacy import erasure, export
from tests.factories import make_case

A_NUMBER = "A 123-456-789"
STATEMENT = "Mr Zuganshin was detained twice in 2024 for his posts."


def raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def a_number(case, caseworker):
    return services.reference_save(
        case=case, reference=CaseReference(kind="a_number", value=A_NUMBER), by=caseworker
    )


@pytest.fixture
def statement(case, caseworker):
    case.statements.all().delete()  # the factory's French statement: this one is the only one
    return services.statement_save(case=case, language="en", text=STATEMENT, by=caseworker)


# Models ------------------------------------------------------------------------------------


def test_reference_fields_are_ciphertext_in_the_database(case, caseworker):
    reference = services.reference_save(
        case=case,
        reference=CaseReference(
            kind="eoir",
            value=A_NUMBER,
            date=date(2026, 12, 3),
            court="New York Broadway Immigration Court",
            judge="Judge Harmon",
        ),
        by=caseworker,
    )
    row = {c: raw("casework_casereference", c, reference.pk) for c in ("value", "court", "judge")}
    assert all(v.startswith("pv1:") for v in row.values())
    assert "123" not in row["value"] and "Broadway" not in row["court"]
    assert "2026" not in raw("casework_casereference", "date", reference.pk)
    assert "123" not in raw("casework_casereference", "value_index", reference.pk)
    fresh = CaseReference.objects.get(pk=reference.pk)
    assert (fresh.value, fresh.date, fresh.judge) == (A_NUMBER, date(2026, 12, 3), "Judge Harmon")


def test_statement_and_birthplace_are_ciphertext_in_the_database(case, statement):
    client = case.client
    client.birth_place_latin = "Rostov-on-Don"
    client.save()
    assert "detained" not in raw("casework_casestatement", "text", statement.pk)
    assert "Rostov" not in raw("casework_client", "birth_place_latin", client.pk)
    assert CaseStatement.objects.get(pk=statement.pk).text == STATEMENT


def test_fields_a_kind_does_not_use_are_emptied(case, caseworker):
    reference = services.reference_save(
        case=case,
        reference=CaseReference(kind="ofpra", value="2401234", court="x", judge="y"),
        by=caseworker,
    )
    reference.refresh_from_db()
    assert (reference.court, reference.judge, reference.date) == ("", "", None)


def test_history_names_the_kind_and_language_never_the_content(case, a_number, statement):
    details = list(
        case.log_entries.filter(
            action__in=[CaseLogEntry.Action.REFERENCE, CaseLogEntry.Action.STATEMENT]
        ).values_list("detail", flat=True)
    )
    assert len(details) == 2
    assert not any("123" in d or "detained" in d for d in details)
    assert any("A-Number" in d for d in details) and any("English" in d for d in details)


def test_authorities_have_precise_kinds_and_immigration_courts(db):
    kinds = dict(Authority.objects.values_list("code", "kind"))
    assert kinds["cnda"] == "appeal_court"
    assert kinds["ta-nancy"] == kinds["vg-berlin"] == "administrative_court"
    assert kinds["eoir"] == "other"
    assert kinds["eoir-ny-broadway"] == kinds["eoir-sf"] == "immigration_court"
    court = Authority.objects.get(code="eoir-ny-broadway")
    assert (court.country.code, court.language) == ("US", "en")
    assert "290 Broadway" in court.address


# Search ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [A_NUMBER, "a123456789", "A123-456-789", " A 123 456 789"])
def test_case_list_finds_a_case_by_its_reference_in_any_formatting(
    client, case, caseworker, a_number, query
):
    make_case(organisation=case.organisation, assignees=[caseworker])
    client.force_login(caseworker)
    response = client.post(reverse("casework:case_list"), {"q": query})
    assert [c.pk for c in response.context["page"]] == [case.pk]


def test_search_by_reference_stays_inside_what_the_user_may_see(
    client, case, a_number, colleague, outsider
):
    for user in (colleague, outsider):
        client.force_login(user)
        response = client.post(reverse("casework:case_list"), {"q": "a123456789"})
        assert list(response.context["page"]) == []


def test_a_part_of_a_reference_finds_nothing(client, case, caseworker, a_number):
    client.force_login(caseworker)
    response = client.post(reverse("casework:case_list"), {"q": "123456"})
    assert list(response.context["page"]) == []


# Views: who may do what ---------------------------------------------------------------------


def add_url(case):
    return reverse("casework:reference_add", args=[case.reference])


def statement_url(case, language="fr"):
    return reverse("casework:statement_edit", args=[case.reference, language])


REFERENCE_POST = {"kind": "ofpra", "value": "2401234"}


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("caseworker", 302),
        ("volunteer", 302),  # assigned, and volunteers may edit their cases
        ("coordinator", 302),
        ("colleague", 404),
        ("outsider", 404),
        ("lawyer", 403),  # read-only share
        ("lawyer_without_share", 404),
        ("auditor", 404),
    ],
)
def test_who_may_add_a_reference(client, case, personas, persona, status):
    client.force_login(personas[persona])
    assert client.get(add_url(case)).status_code == (200 if status == 302 else status)
    response = client.post(add_url(case), REFERENCE_POST)
    assert response.status_code == status
    assert case.references.exists() is (status == 302)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("caseworker", 302),
        ("volunteer", 302),
        ("colleague", 404),
        ("outsider", 404),
        ("lawyer", 403),
    ],
)
def test_who_may_edit_and_delete_a_reference(client, case, a_number, personas, persona, status):
    client.force_login(personas[persona])
    url = reverse("casework:reference_edit", args=[case.reference, a_number.pk])
    response = client.post(url, {"kind": "a_number", "value": "A 987 654 321"})
    assert response.status_code == status
    a_number.refresh_from_db()
    assert (a_number.value == "A 987 654 321") is (status == 302)
    delete = reverse("casework:reference_delete", args=[case.reference, a_number.pk])
    assert client.post(delete).status_code == status
    assert case.references.exists() is (status != 302)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("caseworker", 302),
        ("volunteer", 302),
        ("coordinator", 302),
        ("colleague", 404),
        ("outsider", 404),
        ("lawyer", 403),
    ],
)
def test_who_may_write_a_statement(client, case, personas, persona, status):
    case.statements.all().delete()  # the factory writes a French one
    client.force_login(personas[persona])
    response = client.post(statement_url(case), {"text": "Les faits."})
    assert response.status_code == status
    assert case.statements.filter(language="fr").exists() is (status == 302)


def test_anonymous_users_are_sent_to_the_login_page(client, case, a_number):
    urls = [
        add_url(case),
        reverse("casework:reference_edit", args=[case.reference, a_number.pk]),
        statement_url(case),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    delete = reverse("casework:reference_delete", args=[case.reference, a_number.pk])
    assert "/accounts/login/" in client.post(delete)["Location"]
    assert case.references.count() == 1


def test_a_reference_of_another_case_is_not_found(client, case, other_case, caseworker, colleague):
    other = services.reference_save(
        case=other_case, reference=CaseReference(kind="bamf", value="8123456-439"), by=colleague
    )
    client.force_login(caseworker)
    url = reverse("casework:reference_edit", args=[case.reference, other.pk])
    assert client.get(url).status_code == 404
    delete = reverse("casework:reference_delete", args=[case.reference, other.pk])
    assert client.post(delete).status_code == 404
    assert CaseReference.objects.filter(pk=other.pk).exists()


def test_a_language_that_letters_do_not_use_is_not_found(client, case, caseworker):
    client.force_login(caseworker)
    assert client.get(statement_url(case, "it")).status_code == 404


def test_editing_a_statement_changes_the_one_of_its_language(client, case, caseworker, statement):
    client.force_login(caseworker)
    response = client.get(statement_url(case, "en"))
    assert STATEMENT in response.content.decode()
    client.post(statement_url(case, "en"), {"text": "New facts."})
    assert [(s.language, s.text) for s in case.statements.all()] == [("en", "New facts.")]


def test_one_reference_per_kind_with_an_error_in_the_users_language(
    client, case, caseworker, a_number
):
    client.force_login(caseworker)
    with translation.override("ru"):
        response = client.post(
            add_url(case), {"kind": "a_number", "value": "A 1"}, HTTP_ACCEPT_LANGUAGE="ru"
        )
    assert response.status_code == 200
    assert response.context["form"].errors["kind"]
    assert "уже есть" in response.content.decode()
    assert case.references.count() == 1


def test_a_reference_needs_letters_or_digits(client, case, caseworker):
    client.force_login(caseworker)
    response = client.post(add_url(case), {"kind": "ofpra", "value": " - / "})
    assert response.status_code == 200 and response.context["form"].errors["value"]


# The case page ------------------------------------------------------------------------------


def test_case_page_shows_references_and_statements(client, case, caseworker, a_number, statement):
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()
    assert A_NUMBER in page and "A-Number" in page
    assert "detained twice" in page
    assert reverse("casework:reference_add", args=[case.reference]) in page
    assert reverse("casework:statement_edit", args=[case.reference, "de"]) in page


def test_lawyer_reads_references_and_statements_without_edit_links(
    client, case, lawyer, a_number, statement
):
    client.force_login(lawyer)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()
    assert A_NUMBER in page and "detained twice" in page
    assert reverse("casework:reference_add", args=[case.reference]) not in page
    assert reverse("casework:statement_edit", args=[case.reference, "en"]) not in page


# Access log ---------------------------------------------------------------------------------


def last_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize(
    ("method", "url", "data", "action"),
    [
        ("get", lambda c, r: add_url(c), None, "view"),
        ("post", lambda c, r: add_url(c), {"kind": "ofpra", "value": "1"}, "change"),
        (
            "post",
            lambda c, r: reverse("casework:reference_edit", args=[c.reference, r.pk]),
            {"kind": "a_number", "value": "A 2"},
            "change",
        ),
        (
            "post",
            lambda c, r: reverse("casework:reference_delete", args=[c.reference, r.pk]),
            None,
            "change",
        ),
        ("get", lambda c, r: statement_url(c), None, "view"),
        ("post", lambda c, r: statement_url(c), {"text": "Faits."}, "change"),
    ],
)
def test_each_view_logs_one_entry_for_the_case(
    client, case, caseworker, a_number, method, url, data, action
):
    client.force_login(caseworker)
    before = last_id()
    response = getattr(client, method)(url(case, a_number), data)
    assert response.status_code in (200, 302)
    [entry] = AccessEvent.objects.filter(pk__gt=before)
    assert (entry.action, entry.object_type, entry.case_id) == (action, "case", case.pk)
    assert entry.user_id == caseworker.pk


# Erasure and export -------------------------------------------------------------------------


def test_erasure_removes_references_statements_and_identity_details(
    case, coordinator, a_number, statement
):
    client = case.client
    client.gender = "m"
    client.birth_place_latin = "Rostov-on-Don"
    client.save()
    case.letter_name = client.names.filter(script="latn").first()
    case.save()

    erasure.client_erase(client=client, by=coordinator, reason="request")

    assert not CaseReference.objects.exists() and not CaseStatement.objects.exists()
    client.refresh_from_db()
    case.refresh_from_db()
    assert (client.gender, client.birth_place_latin, case.letter_name) == ("", "", None)


def test_erasing_one_case_keeps_the_others_references(case, other_case, coordinator, a_number):
    services.reference_save(
        case=other_case, reference=CaseReference(kind="bamf", value="8123456"), by=coordinator
    )
    erasure.case_erase(case=case, by=coordinator)
    assert list(CaseReference.objects.values_list("case_id", flat=True)) == [other_case.pk]


def test_export_includes_references_statements_and_identity_details(case, a_number, statement):
    client = case.client
    client.gender = "f"
    client.birth_place_latin = "Rostov-on-Don"
    client.save()
    case.letter_name = client.names.filter(script="latn").first()
    case.save()

    data = json.loads(
        zipfile.ZipFile(io.BytesIO(export.client_export(client=client))).read("client.json")
    )

    assert data["client"]["gender"] == "f"
    assert data["client"]["birth_place_latin"] == "Rostov-on-Don"
    [exported] = data["cases"]
    assert exported["letter_name"] == "Zuganshin Rustam"
    assert exported["references"] == [
        {
            "kind": "a_number",
            "kind_display": "A-Number",
            "value": A_NUMBER,
            "date": None,
            "court": "",
            "judge": "",
            "created_at": exported["references"][0]["created_at"],
        }
    ]
    assert [(s["language"], s["text"]) for s in exported["statements"]] == [("en", STATEMENT)]


# Forms --------------------------------------------------------------------------------------


def test_case_form_offers_the_clients_latin_spellings_and_shows_the_icao_fallback(case):
    from casework.forms import CaseForm

    form = CaseForm(instance=case, client=case.client)
    field = form.fields["letter_name"]
    assert [n.full_name for n in field.queryset] == ["Zuganshin Rustam"]
    assert "Zuganshin Rustam" in str(field.help_text)  # ICAO of Зуганшин Рустам
    assert "letter_name" not in CaseForm().fields  # a new case: the names are not saved yet


def test_case_edit_saves_the_latin_spelling_gender_and_passport_birthplace(
    client, case, caseworker
):
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_edit", args=[case.reference]))
    data = {}
    for form in page.context["client_form"], page.context["case_form"]:
        for name in form.fields:
            value = form[name].value()
            if value is None:
                continue
            data[form.add_prefix(name)] = value
    for formset in page.context["names"], page.context["contacts"]:
        data.update(
            {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
        )
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value not in (None, False):
                    data[form.add_prefix(name)] = value
    latin = case.client.names.get(script="latn")
    data.update(
        {
            "client-gender": "m",
            "client-birth_place_latin": "Rostov-na-Donu",
            "case-letter_name": latin.pk,
            "case-grounds": [],
        }
    )
    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)
    assert response.status_code == 302, response.context and [
        f.errors for f in (response.context["client_form"], response.context["case_form"])
    ]
    case.refresh_from_db()
    case.client.refresh_from_db()
    assert case.letter_name == latin
    assert (case.client.gender, case.client.birth_place_latin) == ("m", "Rostov-na-Donu")
