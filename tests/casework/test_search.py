"""Name search across scripts and transliterations, by reference and pseudonym, always in scope."""

import pytest
from django.urls import reverse

from casework.models import Case, Client, ClientName
from casework.names import name_index, query_skeletons, skeleton, transliterate
from core.crypto import blind_token
from tests.factories import make_case

# --- casework.names -------------------------------------------------------------------------

SAME_NAME = {
    "zuganshin": ["Зуганшин", "Zuganshin", "Zouganchine", "Suganschin", "ZUGANSHIN", "zuganšin"],
    "ivanov": ["Иванов", "Ivanov", "Ivanoff", "Iwanow"],
    "zhukov": ["Жуков", "Zhukov", "Joukov", "Schukow"],
    "tsvetaeva": ["Цветаева", "Tsvetaeva", "Tzvetaeva"],
    "kharitonov": ["Харитонов", "Kharitonov", "Haritonov"],
    "aleksei": ["Алексей", "Aleksei", "Alexej", "Aleksey"],
    "yulia_latin": ["Yulia", "Julia", "Ioulia"],
    "mariya": ["Мария", "Mariya"],
}


@pytest.mark.parametrize("spellings", list(SAME_NAME.values()), ids=list(SAME_NAME))
def test_spellings_of_one_name_share_a_skeleton(spellings):
    skeletons = {skeleton(s) for s in spellings}
    assert len(skeletons) == 1, dict(zip(spellings, map(skeleton, spellings), strict=True))
    assert skeletons != {""}


@pytest.mark.parametrize(
    "spellings",
    [
        ["Мария", "Maria"],
        ["Юлия", "Yulia", "Julia"],
        ["Анастасия", "Anastasia"],
        ["Ксения", "Ksenia"],
    ],
    ids=["maria", "yulia", "anastasia", "ksenia"],
)
def test_cyrillic_ending_iya_shares_a_skeleton_with_latin_ia(spellings):
    assert len({skeleton(s) for s in spellings}) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [("Зуганшин", "Иванов"), ("Ivanov", "Ivanova"), ("Kuznetsova", "Zuganshin"), ("Ким", "Кима")],
)
def test_different_names_have_different_skeletons(one, other):
    assert skeleton(one) != skeleton(other)


def test_transliterate_handles_cyrillic_and_accents():
    assert transliterate("Щукин") == "shchukin"
    assert transliterate("Ёлкина") == "elkina"
    assert transliterate("Müller") == "muller"


def test_name_index_holds_keyed_hashes_of_tokens_and_prefixes_never_the_names():
    index = name_index(["Зуганшин Рустам Ильдарович", "Zuganshin Rustam"])
    assert index.startswith(" ") and index.endswith(" ")
    hashes = index.split()
    assert len(hashes) == len(set(hashes))
    for token in ["Zouganchine", "Зуган", "rustam"]:
        assert f" {blind_token(skeleton(token))} " in index
    for plain in ["zukansin", "Zuganshin", "Зуганшин", "rustam"]:
        assert plain not in index


def test_query_skeletons_ignore_punctuation_and_digits():
    assert query_skeletons("  Зуганшин,  Рустам ") == [skeleton("Zuganshin"), skeleton("Rustam")]
    assert query_skeletons("2026-0137") == []
    assert query_skeletons("") == []


def test_name_index_of_no_names_is_empty():
    assert name_index([]) == ""
    assert name_index(["--- ,"]) == ""


# --- the case list search -------------------------------------------------------------------


def _cyrillic_only_case(organisation, family_name, given_names="", **fields) -> Case:
    client = Client.objects.create(organisation=organisation, pseudonym=fields.pop("pseudonym"))
    ClientName.objects.create(
        client=client, script="cyrl", family_name=family_name, given_names=given_names
    )
    client.reindex_names()
    return Case.objects.create(
        organisation=organisation,
        client=client,
        reference=fields.pop("reference"),
        kind=Case.Kind.SUPPORT_LETTER,
        **fields,
    )


@pytest.fixture
def latin_only(org):
    return make_case(
        organisation=org,
        cyrillic=None,
        family_name="Zuganshin",
        given_names="Rustam",
        pseudonym="Heron",
        reference="2026-3101",
    )


@pytest.fixture
def cyrillic_only(org):
    return _cyrillic_only_case(
        org, "Зуганшина", "Лейла", pseudonym="Sparrow", reference="2026-3102"
    )


@pytest.fixture
def ivanov(org):
    return _cyrillic_only_case(org, "Иванов", "Пётр", pseudonym="Crane", reference="2026-3103")


@pytest.fixture
def unrelated(org):
    return make_case(
        organisation=org,
        cyrillic=("Петрова", "Анна"),
        family_name="Petrova",
        given_names="Anna",
        pseudonym="Owl",
        reference="2026-3104",
    )


def found(client, query: str) -> set[str]:
    response = client.get(reverse("casework:case_list"), {"q": query})
    assert response.status_code == 200
    references = {case.reference for case in response.context["page"].object_list}
    for reference in references:
        assert reference.encode() in response.content
    return references


@pytest.fixture
def searcher(client, coordinator):
    client.force_login(coordinator)
    return client


@pytest.mark.parametrize(
    "query", ["Зуганшин", "Zuganshin", "Zouganchine", "Suganschin", "зуганшин"]
)
def test_any_spelling_finds_a_client_recorded_only_in_latin(searcher, latin_only, unrelated, query):
    assert found(searcher, query) == {latin_only.reference}


@pytest.mark.parametrize("query", ["Zuganshina", "Zuganchina", "Suganschina", "Зуганшина"])
def test_any_spelling_finds_a_client_recorded_only_in_cyrillic(
    searcher, cyrillic_only, unrelated, query
):
    assert found(searcher, query) == {cyrillic_only.reference}


def test_client_recorded_as_mariya_in_cyrillic_is_found_as_maria(searcher, org):
    mariya = _cyrillic_only_case(org, "Смирнова", "Мария", pseudonym="Wren", reference="2026-3105")
    assert found(searcher, "Smirnova Maria") == {mariya.reference}


def test_a_name_prefix_finds_both_scripts(searcher, latin_only, cyrillic_only, unrelated):
    assert found(searcher, "Зуган") == {latin_only.reference, cyrillic_only.reference}
    assert found(searcher, "Zugan") == {latin_only.reference, cyrillic_only.reference}


@pytest.mark.parametrize("query", ["Ivanov", "Ivanoff", "Iwanow", "Иванов", "Иван"])
def test_german_and_french_spellings_find_ivanov(searcher, ivanov, unrelated, query):
    assert found(searcher, query) == {ivanov.reference}


def test_every_word_of_the_query_must_match(searcher, latin_only, cyrillic_only):
    assert found(searcher, "Zuganshin Rustam") == {latin_only.reference}
    assert found(searcher, "Зуганшина Лейла") == {cyrillic_only.reference}
    assert found(searcher, "Zuganshin Anna") == set()


def test_a_suffix_or_infix_does_not_match(searcher, latin_only):
    assert found(searcher, "anshin") == set()


def test_search_by_reference(searcher, latin_only, cyrillic_only, unrelated):
    assert found(searcher, "2026-3102") == {cyrillic_only.reference}
    assert found(searcher, " 2026-3104 ") == {unrelated.reference}
    assert found(searcher, "3101") == {latin_only.reference}


def test_search_by_pseudonym(searcher, latin_only, cyrillic_only, unrelated):
    assert found(searcher, "Sparrow") == {cyrillic_only.reference}
    assert found(searcher, "heron") == {latin_only.reference}


def test_unmatched_and_blank_queries(searcher, latin_only, cyrillic_only):
    assert found(searcher, "Kuznetsova") == set()
    assert found(searcher, "   ") == {latin_only.reference, cyrillic_only.reference}


def test_renamed_client_is_found_under_the_new_name_after_reindexing(searcher, cyrillic_only):
    client = cyrillic_only.client
    ClientName.objects.create(
        client=client, kind=ClientName.Kind.PREVIOUS, script="latn", family_name="Sokolova"
    )
    assert found(searcher, "Sokolova") == set()
    client.reindex_names()
    assert found(searcher, "Sokolova") == {cyrillic_only.reference}
    assert found(searcher, "Соколова") == {cyrillic_only.reference}


def test_search_combines_with_filters(searcher, latin_only, cyrillic_only):
    Case.objects.filter(pk=cyrillic_only.pk).update(status=Case.Status.CLOSED)
    response = searcher.get(reverse("casework:case_list"), {"q": "Зуган", "status": "closed"})
    assert {c.reference for c in response.context["page"].object_list} == {cyrillic_only.reference}


# --- search never reaches outside the user's scope ------------------------------------------


@pytest.fixture
def namesakes(org, other_org, colleague):
    """Clients called Zuganshin that the caseworker must not find: a colleague's case and a case
    of another organisation."""
    return [
        make_case(organisation=org, assignees=[colleague], pseudonym="Kite", reference="2026-3201"),
        make_case(organisation=other_org, pseudonym="Kestrel", reference="2026-3202"),
    ]


@pytest.mark.parametrize(
    "query", ["Зуганшин", "Zuganshin", "Зуган", "Suganschin", "2026-32", "Kite", "Kestrel"]
)
@pytest.mark.parametrize("persona", ["caseworker", "volunteer", "lawyer", "colleague", "outsider"])
def test_search_never_returns_cases_out_of_scope(client, personas, case, namesakes, persona, query):
    client.force_login(personas[persona])
    visible = set(Case.objects.visible_to(personas[persona]).values_list("reference", flat=True))

    response = client.get(reverse("casework:case_list"), {"q": query})
    fragment = client.get(reverse("casework:case_list"), {"q": query}, HTTP_HX_REQUEST="true")

    references = {c.reference for c in response.context["page"].object_list}
    assert references <= visible
    for hidden in namesakes:
        if hidden.reference not in visible:
            assert hidden.reference.encode() not in response.content
            assert hidden.reference.encode() not in fragment.content


def test_colleague_finds_only_their_own_namesake(client, colleague, case, namesakes):
    client.force_login(colleague)
    assert found(client, "Zuganshin") == {namesakes[0].reference}


def test_outsider_finds_only_their_organisations_namesake(client, outsider, case, namesakes):
    client.force_login(outsider)
    assert found(client, "Зуганшин") == {namesakes[1].reference}


def test_caseworker_finds_only_the_assigned_namesake(client, caseworker, case, namesakes):
    client.force_login(caseworker)
    assert found(client, "Зуганшин") == {case.reference}
