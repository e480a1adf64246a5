"""The paragraph library: versions, the admin's organisation scope, inserting a paragraph into a
draft's facts (an edit under the two-person rule), who may do it, and the list on the letter
page (the paragraphs that fit the case first, in one query)."""

from datetime import date, timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casework.models import AccessEvent, CaseLogEntry, Ground, Membership
from letters import services
from letters.default_paragraphs import CHECKED_ON, DEFAULT_PARAGRAPHS, DEMO_NOTE
from letters.models import Letter, Paragraph, ParagraphVersion
from tests.factories import make_user

OK, FORBIDDEN, NOT_FOUND, DONE = 200, 403, 404, 302


def make_paragraph(*, organisation=None, title="Test passage", language="fr", grounds=(), **extra):
    fields = {
        "text": f"Texte de « {title} ».",
        "sources": "Rapport de test, example.org",
        "checked_on": date(2026, 12, 1),
        **extra,
    }
    paragraph = Paragraph.objects.create(
        organisation=organisation, title=title, language=language, **fields
    )
    paragraph.grounds.set(Ground.objects.filter(code__in=grounds))
    services.paragraph_save_version(paragraph=paragraph)
    return paragraph


def insert_url(letter, paragraph) -> str:
    return reverse("letters:letter_insert_paragraph", args=[letter.pk, paragraph.pk])


@pytest.fixture
def shared(db):
    return make_paragraph(title="Objecteurs (partagé)", grounds=["military"])


@pytest.fixture
def ours(org):
    return make_paragraph(organisation=org, title="Notre paragraphe")


@pytest.fixture
def theirs(other_org):
    return make_paragraph(organisation=other_org, title="Leur paragraphe")


# --- versions -----------------------------------------------------------------------------


def test_a_changed_text_is_a_new_version_and_the_old_one_stays(shared, coordinator):
    first = shared.current_version
    assert first.number == 1

    assert services.paragraph_save_version(paragraph=shared, by=coordinator) == first

    shared.text = "Un texte revu."
    second = services.paragraph_save_version(paragraph=shared, by=coordinator)
    assert (second.number, second.text, second.created_by) == (2, "Un texte revu.", coordinator)
    first.refresh_from_db()
    assert first.text == "Texte de « Objecteurs (partagé) »."


def test_a_new_check_date_is_a_new_version(shared):
    shared.checked_on = date(2027, 3, 1)
    assert services.paragraph_save_version(paragraph=shared).number == 2


def test_an_old_check_is_flagged(shared):
    assert not shared.check_is_old
    shared.checked_on = timezone.localdate() - timedelta(days=400)
    assert shared.check_is_old


# --- the admin ----------------------------------------------------------------------------


@pytest.fixture
def org_admin(org):
    """An organisation's administrator who is not a superuser: the admin's model permissions
    for the library, nothing more."""
    user = make_user(
        organisation=org, role=Membership.Role.ADMINISTRATOR, username="orgadmin", is_staff=True
    )
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="letters",
            codename__in=[
                f"{action}_{model}"
                for action in ("add", "change", "delete", "view")
                for model in ("paragraph", "paragraphversion")
            ],
        )
    )
    return user


def changelist(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("admin:letters_paragraph_changelist"))
    assert response.status_code == OK
    return response.content.decode()


@pytest.mark.parametrize("persona", ["org_admin", "superadmin"])
def test_admin_lists_shared_and_own_paragraphs_never_another_organisations(
    client, request, persona, shared, ours, theirs
):
    page = changelist(client, request.getfixturevalue(persona))
    assert shared.title in page
    assert ours.title in page
    assert theirs.title not in page


@pytest.mark.parametrize("persona", ["org_admin", "superadmin"])
def test_admin_cannot_open_or_change_another_organisations_paragraph(
    client, request, persona, theirs
):
    client.force_login(request.getfixturevalue(persona))
    url = reverse("admin:letters_paragraph_change", args=[theirs.pk])

    response = client.get(url)
    assert response.status_code == DONE  # "does not exist", back to the admin's index
    assert theirs.title not in client.get(response["Location"]).content.decode()

    client.post(url, {"title": "Taken over", "language": "fr", "text": "x", "sources": "x"})
    theirs.refresh_from_db()
    assert theirs.title == "Leur paragraphe"


def test_organisation_admin_reads_a_shared_paragraph_but_cannot_change_it(
    client, org_admin, shared
):
    client.force_login(org_admin)
    url = reverse("admin:letters_paragraph_change", args=[shared.pk])

    page = client.get(url)
    assert page.status_code == OK
    assert shared.text in page.content.decode()
    assert b'name="_save"' not in page.content

    data = {
        "title": "Changed",
        "language": "fr",
        "text": "Changed",
        "sources": "x",
        "checked_on": "2026-12-01",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
    }
    assert client.post(url, data).status_code == FORBIDDEN
    shared.refresh_from_db()
    assert shared.text == "Texte de « Objecteurs (partagé) »."
    assert shared.versions.count() == 1
    delete = client.post(reverse("admin:letters_paragraph_delete", args=[shared.pk]), {"post": 1})
    assert delete.status_code == FORBIDDEN
    assert Paragraph.objects.filter(pk=shared.pk).exists()


def _form(**changes) -> dict:
    data = {
        "title": "Situation à Grozny",
        "language": "fr",
        "grounds": [Ground.objects.get(code="sogi").pk],
        "origin_countries": ["RU"],
        "destination_countries": ["FR"],
        "text": "Premier texte.",
        "sources": "Rapport, example.org",
        "checked_on": "2026-12-01",
        "is_active": "on",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


def test_organisation_admin_adds_a_paragraph_to_their_organisation_with_a_version(
    client, org, org_admin
):
    client.force_login(org_admin)
    # A "shared" box posted by hand is not a field for them.
    response = client.post(reverse("admin:letters_paragraph_add"), _form(shared="on"))

    assert response.status_code == DONE, response.content.decode()[:2000]
    paragraph = Paragraph.objects.get(title="Situation à Grozny")
    assert paragraph.organisation == org
    assert [c.code for c in paragraph.origin_countries] == ["RU"]
    assert list(paragraph.grounds.values_list("code", flat=True)) == ["sogi"]
    version = paragraph.current_version
    assert (version.number, version.text, version.created_by) == (1, "Premier texte.", org_admin)

    url = reverse("admin:letters_paragraph_change", args=[paragraph.pk])
    client.post(url, _form(text="Texte revu."))
    assert list(paragraph.versions.order_by("number").values_list("text", flat=True)) == [
        "Premier texte.",
        "Texte revu.",
    ]


def test_superuser_edits_a_shared_paragraph_and_it_stays_shared(client, superadmin, shared):
    client.force_login(superadmin)
    url = reverse("admin:letters_paragraph_change", args=[shared.pk])
    assert b'name="shared"' in client.get(url).content

    response = client.post(url, _form(title=shared.title, text="Revu.", shared="on"))

    assert response.status_code == DONE
    shared.refresh_from_db()
    assert (shared.organisation, shared.text, shared.current_version.number) == (None, "Revu.", 2)


def test_admin_list_flags_an_old_check(client, org_admin, ours):
    ours.checked_on = timezone.localdate() - timedelta(days=400)
    ours.save()
    assert "more than a year ago" in changelist(client, org_admin)


# --- inserting into a draft -----------------------------------------------------------------


def test_insert_appends_to_the_facts_and_makes_the_inserter_the_last_editor(
    draft_letter, shared, coordinator
):
    before = draft_letter.facts
    assert before

    services.letter_insert_paragraph(letter=draft_letter, paragraph=shared, by=coordinator)

    draft_letter.refresh_from_db()
    assert draft_letter.facts == before.rstrip() + "\n\n" + shared.text
    assert draft_letter.last_edited_by == coordinator
    entry = draft_letter.case.log_entries.filter(action=CaseLogEntry.Action.LETTER).first()
    assert shared.title in entry.detail
    assert entry.detail.endswith(" v1")
    assert entry.actor == coordinator


def test_who_inserted_a_paragraph_cannot_approve_the_letter(draft_letter, shared, coordinator):
    services.letter_insert_paragraph(letter=draft_letter, paragraph=shared, by=coordinator)
    draft_letter.refresh_from_db()
    services.letter_submit(letter=draft_letter, by=coordinator)

    with pytest.raises(ValidationError) as refused:
        services.letter_approve(
            letter=draft_letter, by=coordinator, text_hash=draft_letter.text_hash
        )

    assert refused.value.code == "two_person_rule"
    draft_letter.refresh_from_db()
    assert draft_letter.status == Letter.Status.IN_REVIEW


def test_insert_into_empty_facts_and_the_current_version_is_named(draft_letter, shared, caseworker):
    Letter.objects.filter(pk=draft_letter.pk).update(facts="")
    shared.text = "Deuxième version."
    shared.save()
    services.paragraph_save_version(paragraph=shared)

    services.letter_insert_paragraph(letter=draft_letter, paragraph=shared, by=caseworker)

    draft_letter.refresh_from_db()
    assert draft_letter.facts == "Deuxième version."
    assert draft_letter.case.log_entries.first().detail.endswith(" v2")


def test_inserting_into_a_letter_in_review_sends_it_back_to_draft(
    in_review_letter, shared, caseworker
):
    services.letter_insert_paragraph(letter=in_review_letter, paragraph=shared, by=caseworker)
    in_review_letter.refresh_from_db()
    assert in_review_letter.status == Letter.Status.DRAFT


@pytest.mark.parametrize("stage", ["approved_letter", "issued_stub_letter"])
def test_an_approved_or_issued_letter_refuses_insertion(request, stage, shared, caseworker):
    letter = request.getfixturevalue(stage)
    facts, entries = letter.facts, letter.case.log_entries.count()

    with pytest.raises(ValidationError):
        services.letter_insert_paragraph(letter=letter, paragraph=shared, by=caseworker)

    letter.refresh_from_db()
    assert (letter.facts, letter.case.log_entries.count()) == (facts, entries)


def test_the_service_refuses_a_paragraph_out_of_the_letters_scope(draft_letter, theirs, caseworker):
    with pytest.raises(ValidationError):
        services.letter_insert_paragraph(letter=draft_letter, paragraph=theirs, by=caseworker)


# --- the insert URL, persona by persona -----------------------------------------------------

EXPECTED = {
    "caseworker": DONE,
    "coordinator": DONE,
    "administrator": DONE,
    "colleague": NOT_FOUND,
    "volunteer": NOT_FOUND,
    "outsider": NOT_FOUND,
    "lawyer_without_share": NOT_FOUND,
    "auditor": NOT_FOUND,
    "lawyer": FORBIDDEN,  # sees the letter, changes nothing
}


@pytest.mark.parametrize("persona", EXPECTED)
def test_insert_url_persona_matrix(client, personas, persona, draft_letter, shared):
    before = draft_letter.facts
    client.force_login(personas[persona])

    response = client.post(insert_url(draft_letter, shared))

    assert response.status_code == EXPECTED[persona], response.status_code
    draft_letter.refresh_from_db()
    if EXPECTED[persona] == DONE:
        assert response["Location"].startswith(
            reverse("letters:letter_detail", args=[draft_letter.pk])
        )
        assert draft_letter.facts.endswith(shared.text)
        assert draft_letter.last_edited_by == personas[persona]
    else:
        assert draft_letter.facts == before


def test_insert_url_takes_no_get(client, caseworker, draft_letter, shared):
    client.force_login(caseworker)
    assert client.get(insert_url(draft_letter, shared)).status_code == 405


@pytest.mark.parametrize("which", ["theirs", "other_language", "inactive", "missing"])
def test_a_paragraph_out_of_scope_is_a_logged_404(client, request, caseworker, draft_letter, which):
    paragraph = {
        "theirs": lambda: request.getfixturevalue("theirs"),
        "other_language": lambda: make_paragraph(title="Verweigerer", language="de"),
        "inactive": lambda: make_paragraph(title="Ancien", is_active=False),
        "missing": lambda: Paragraph(pk=999999),
    }[which]()
    before = draft_letter.facts
    client.force_login(caseworker)

    response = client.post(insert_url(draft_letter, paragraph))

    assert response.status_code == NOT_FOUND
    draft_letter.refresh_from_db()
    assert draft_letter.facts == before
    denied = AccessEvent.objects.filter(action="denied").order_by("-pk").first()
    assert (denied.object_type, denied.object_id) == ("paragraph", "")


def test_approved_letter_through_the_url_changes_nothing(
    client, caseworker, approved_letter, shared
):
    before = approved_letter.facts
    client.force_login(caseworker)

    response = client.post(insert_url(approved_letter, shared), follow=True)

    assert response.status_code == OK
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    approved_letter.refresh_from_db()
    assert approved_letter.facts == before


# --- the library on the letter page -----------------------------------------------------------


@pytest.fixture
def tagged(org, case, other_org):
    """The case: military ground, a Russian client, addressed to OFPRA (France). Paragraphs in
    French that fit it in several ways, and some that do not."""
    case.grounds.set(Ground.objects.filter(code="military"))
    case.client.citizenships = ["RU"]
    case.client.save()
    return {
        "ground": make_paragraph(title="A — ground only", grounds=["military"]),
        "all": make_paragraph(
            organisation=org,
            title="B — ground, origin and destination",
            grounds=["military", "political"],
            origin_countries=["BY", "RU"],
            destination_countries=["FR"],
        ),
        "other_ground": make_paragraph(
            title="C — another ground", grounds=["sogi"], origin_countries=["RU"]
        ),
        "other_origin": make_paragraph(title="D — another origin", origin_countries=["GE"]),
        "untagged": make_paragraph(title="E — no tags"),
        "de": make_paragraph(title="F — German", language="de", grounds=["military"]),
        "theirs": make_paragraph(organisation=other_org, title="G — theirs"),
        "inactive": make_paragraph(title="H — inactive", is_active=False),
    }


def library(client, user, letter):
    client.force_login(user)
    response = client.get(reverse("letters:letter_detail", args=[letter.pk]))
    assert response.status_code == OK
    return response


def test_library_lists_the_letters_language_and_scope_fitting_paragraphs_first(
    client, caseworker, draft_letter, tagged
):
    response = library(client, caseworker, draft_letter)
    ours = [p for p in response.context["paragraphs"] if p.title[1:3] == " —"]

    assert [p.title[0] for p in ours] == ["A", "B", "C", "D", "E"]
    assert [p.fits for p in ours] == [True, True, False, False, False]
    b = ours[1]
    assert (b.ground_match, b.origin_match, b.destination_match) == (True, True, True)
    page = response.content.decode()
    assert "Paragraph library" in page
    assert "Fits this case" in page
    assert insert_url(draft_letter, tagged["all"]) in page
    for absent in ("F — German", "G — theirs", "H — inactive"):
        assert absent not in page


def test_library_follows_the_letters_language(client, caseworker, case, template_de, bamf, tagged):
    from tests.helpers import draft

    letter = draft(case, template_de, bamf, caseworker)
    titles = [p.title for p in library(client, caseworker, letter).context["paragraphs"]]
    assert "F — German" in titles
    assert "A — ground only" not in titles


def test_fitting_defaults_come_first_on_a_demo_like_case(client, caseworker, draft_letter, tagged):
    """The shipped French paragraph on objectors fits a Russian objector's letter to OFPRA."""
    paragraphs = list(library(client, caseworker, draft_letter).context["paragraphs"])
    fitting = [p.title for p in paragraphs if p.fits]
    assert paragraphs[: len(fitting)] == [p for p in paragraphs if p.fits]
    if Paragraph.objects.filter(title=DEFAULT_PARAGRAPHS[0]["title"]).exists():
        assert DEFAULT_PARAGRAPHS[0]["title"] in fitting


@pytest.mark.parametrize("persona", ["lawyer"])
def test_no_library_for_who_cannot_draft(client, personas, persona, draft_letter, shared):
    response = library(client, personas[persona], draft_letter)
    assert response.context["paragraphs"] == []
    assert b"Paragraph library" not in response.content


@pytest.mark.parametrize("stage", ["approved_letter", "issued_stub_letter"])
def test_no_library_once_approved(client, request, caseworker, stage, shared):
    response = library(client, caseworker, request.getfixturevalue(stage))
    assert b"Paragraph library" not in response.content


def test_letter_page_lists_the_library_in_one_query(client, caseworker, draft_letter, tagged):
    library(client, caseworker, draft_letter)

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            library(client, caseworker, draft_letter)
        sql = [q["sql"] for q in ctx.captured_queries]
        return len(sql), sum('FROM "letters_paragraph"' in q for q in sql)

    few, library_queries = queries()
    assert library_queries == 1
    for n in range(15):
        make_paragraph(title=f"Z — extra {n}", grounds=["military"], origin_countries=["RU"])
    assert queries() == (few, 1)


# --- the shipped defaults -----------------------------------------------------------------


def test_default_paragraphs_load_once_by_title_and_language(db):
    load = import_module("letters.migrations.0012_default_paragraphs").forwards
    Paragraph.objects.filter(organisation__isnull=True).delete()

    load(apps, None)
    load(apps, None)

    shipped = Paragraph.objects.filter(organisation__isnull=True)
    assert shipped.count() == len(DEFAULT_PARAGRAPHS) >= 4
    assert {p.language for p in shipped} == {"fr", "de", "en", "ru"}
    for paragraph in shipped:
        assert paragraph.sources.startswith(DEMO_NOTE)
        assert paragraph.checked_on == CHECKED_ON
        assert paragraph.grounds.exists()
        assert [c.code for c in paragraph.origin_countries] == ["RU"]
        assert ParagraphVersion.objects.filter(paragraph=paragraph, number=1).exists()
        if paragraph.language == "fr":  # no line starts with "»" or ";"
            assert not {" »", " ;", " :"} & {
                paragraph.text[i : i + 2] for i in range(len(paragraph.text))
            }


def test_default_paragraph_edited_by_an_administrator_is_kept(db):
    load = import_module("letters.migrations.0012_default_paragraphs").forwards
    load(apps, None)
    first = Paragraph.objects.get(title=DEFAULT_PARAGRAPHS[0]["title"])
    first.text = "Revu par l'administrateur."
    first.save()

    load(apps, None)

    first.refresh_from_db()
    assert first.text == "Revu par l'administrateur."
    assert Paragraph.objects.filter(title=first.title).count() == 1
