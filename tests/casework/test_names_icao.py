"""ICAO 9303 transliteration and the French and German spellings that name search folds."""

import pytest
from django.urls import reverse

from casework.names import icao_9303, normalise_reference, query_index_tokens, skeleton
from tests.factories import make_case


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Ростов-на-Дону", "Rostov-na-Donu"),
        ("Фёдор", "Fedor"),
        ("Юлия", "Iuliia"),
        ("Мария", "Mariia"),
        ("Андрей", "Andrei"),
        ("Цветаева", "Tsvetaeva"),
        ("Харитонов", "Kharitonov"),
        ("Щукин", "Shchukin"),
        ("Подъячев", "Podieiachev"),
        ("Рыбаков", "Rybakov"),
        ("Эльвира", "Elvira"),
        ("Журавлёв", "Zhuravlev"),
        ("ЩУКИН Фёдор", "SHCHUKIN Fedor"),
        ("Набережные Челны", "Naberezhnye Chelny"),
    ],
)
def test_icao_9303_writes_russian_as_the_passport_does(cyrillic, latin):
    assert icao_9303(cyrillic) == latin


def test_icao_9303_never_capitalises_word_parts():
    assert icao_9303("Ростов-на-Дону") != "Rostov-Na-Donu"
    assert icao_9303("Комсомольск-на-Амуре") == "Komsomolsk-na-Amure"


def test_demo_data_uses_the_same_transliteration():
    from demo.data import icao

    assert icao("Юлия") == "Iuliia"


@pytest.mark.parametrize(
    ("cyrillic", "spelling"),
    [
        ("Фёдор", "Fiodor"),
        ("Фёдор", "Fjodor"),
        ("Фёдор", "Fyodor"),
        ("Ерофей", "Yerofey"),
        ("Ерофей", "Jerofej"),
        ("Журавлёв", "Jouravlev"),
        ("Журавлёв", "Shurawljow"),
        ("Дмитриев", "Dmitrijew"),
        ("Алексеев", "Alekseyev"),
        ("Евгений", "Jewgeni"),
        ("Щукин", "Chtchoukine"),
        ("Щукин", "Schtschukin"),
        ("Цветаева", "Zwetajewa"),
    ],
)
def test_french_and_german_spellings_share_the_skeleton(cyrillic, spelling):
    assert skeleton(cyrillic) == skeleton(spelling)


@pytest.mark.parametrize(
    ("query", "family", "given"),
    [
        ("Fiodor", "Журавлёв", "Фёдор"),
        ("Fjodor", "Журавлёв", "Фёдор"),
        ("Jouravlev", "Журавлёв", "Фёдор"),
        ("Shurawljow", "Журавлёв", "Фёдор"),
        ("Yerofey", "Дмитриев", "Ерофей"),
        ("Jerofej Dmitrijew", "Дмитриев", "Ерофей"),
    ],
)
def test_case_list_finds_a_russian_name_by_its_french_or_german_spelling(
    client, org, caseworker, query, family, given
):
    case = make_case(
        organisation=org,
        assignees=[caseworker],
        family_name="X",
        given_names="Y",
        cyrillic=(family, given),
    )
    make_case(organisation=org, assignees=[caseworker])  # Зуганшин Рустам: never found
    client.force_login(caseworker)
    response = client.post(reverse("casework:case_list"), {"q": query})
    assert [c.pk for c in response.context["page"]] == [case.pk]


def test_names_are_found_after_the_reindex_migration(org, caseworker):
    """Migration 0007 recomputes the blind index of existing clients with the new folding."""
    from importlib import import_module

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from casework.models import Client

    migration = "0007_authority_kinds_and_name_reindex"
    apps = MigrationLoader(connection).project_state(("casework", migration)).apps

    case = make_case(organisation=org, cyrillic=("Журавлёв", "Фёдор"))
    Client.objects.filter(pk=case.client_id).update(name_index=" stale ")
    import_module(f"casework.migrations.{migration}").reindex_names(apps, None)
    found = Client.objects.with_name_tokens(query_index_tokens("Fiodor"))
    assert list(found.values_list("pk", flat=True)) == [case.client_id]


@pytest.mark.parametrize(
    "value", ["A 123-456-789", "a123456789", "A123.456/789", " A-123 456 789 "]
)
def test_references_are_normalised_for_comparison(value):
    assert normalise_reference(value) == "A123456789"
