"""Document checklists per procedure: the shipped procedures, a case's checklist with have /
missing / not applicable per item linked to its documents, who may see and change it."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from casework import selectors, services
from casework.defaults import PROCEDURES, load_defaults
from casework.models import (
    CaseLogEntry,
    CaseProcedure,
    ChecklistEntry,
    ChecklistItem,
    DeadlineRule,
    Document,
    Procedure,
)
from tests.helpers import PDF

State = ChecklistEntry.State


def pdf_upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@pytest.fixture
def procedures(db):
    load_defaults(DeadlineRule, Procedure, ChecklistItem)
    return {p.name: p for p in Procedure.objects.filter(organisation=None)}


@pytest.fixture
def document(case, caseworker, private_media):
    return services.document_upload(
        case=case,
        upload=pdf_upload("decision.pdf"),
        kind=Document.Kind.AUTHORITY_DECISION,
        title="OFPRA decision of 3 March",
        content_type="application/pdf",
        by=caseworker,
    )


@pytest.fixture
def cnda(procedures, case, caseworker, document):
    """The case goes through a CNDA appeal: it has the decision (with its scan), the legal aid
    request does not apply, the rest is missing."""
    case_procedure = services.case_procedure_add(
        case=case, procedure=procedures["CNDA appeal"], by=caseworker
    )
    items = list(case_procedure.procedure.items.all())
    services.checklist_save(
        case_procedure=case_procedure,
        states={
            items[0].pk: (State.HAVE, [document]),
            items[2].pk: (State.NOT_APPLICABLE, []),
        },
        by=caseworker,
    )
    return case_procedure


def _checklist_url(case, case_procedure):
    return reverse("casework:checklist_edit", args=[case.reference, case_procedure.pk])


def test_the_shipped_procedures_and_their_checklists(procedures):
    assert set(procedures) == {p["name"] for p in PROCEDURES}
    assert set(procedures) >= {
        "OFPRA asylum claim",
        "CNDA appeal",
        "BAMF hearing",
        "USCIS Form I-589 filing",
    }
    for procedure in procedures.values():
        assert procedure.items.count() >= 4
        assert "confirm with your lawyers" in procedure.note


def test_checklist_state_on_the_case_page(client, case, caseworker, cnda, document):
    client.force_login(caseworker)
    page = client.get(
        reverse("casework:case_detail", args=[case.reference]), headers={"accept-language": "en"}
    ).content.decode()

    assert "Document checklists" in page
    assert "CNDA appeal" in page
    assert page.count('data-state="have"') == 1
    assert page.count('data-state="not_applicable"') == 1
    assert page.count('data-state="missing"') == 2
    assert ">OFPRA decision<" not in page  # the item's name, then its linked document
    assert "OFPRA decision of 3 March" in page
    assert reverse("casework:document_download", args=[case.reference, document.pk]) in page
    # State in words too, not only colour.
    for label in ("Have", "Missing", "Not applicable"):
        assert label in page


def test_a_volunteer_sees_the_checklist_but_not_the_documents(client, case, volunteer, cnda):
    client.force_login(volunteer)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()
    assert 'data-state="have"' in page
    assert "OFPRA decision of 3 March" not in page


def test_the_lawyer_reads_the_checklist_without_a_way_to_change_it(client, case, lawyer, cnda):
    client.force_login(lawyer)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()
    assert 'data-state="have"' in page
    assert _checklist_url(case, cnda) not in page
    assert reverse("casework:procedure_add", args=[case.reference]) not in page


def test_selector_gives_every_item_missing_until_said_otherwise(case, cnda):
    ((case_procedure, rows),) = selectors.case_checklists(case)
    assert [row.state for row in rows] == [
        State.HAVE,
        State.MISSING,
        State.NOT_APPLICABLE,
        State.MISSING,
    ]
    assert [d.title for d in rows[0].documents] == ["OFPRA decision of 3 March"]


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("caseworker", 302),
        ("volunteer", 302),
        ("coordinator", 302),
        ("colleague", 404),
        ("outsider", 404),
        ("lawyer", 403),
        ("lawyer_expired", 404),
        ("auditor", 404),
    ],
)
def test_who_may_add_a_procedure(client, case, procedures, personas, persona, status):
    client.force_login(personas[persona])
    url = reverse("casework:procedure_add", args=[case.reference])
    assert client.get(url).status_code == (200 if status == 302 else status)
    response = client.post(url, {"procedure": procedures["OFPRA asylum claim"].pk})
    assert response.status_code == status
    assert case.procedures.exists() is (status == 302)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("caseworker", 302),
        ("volunteer", 302),
        ("coordinator", 302),
        ("colleague", 404),
        ("outsider", 404),
        ("lawyer", 403),
        ("lawyer_expired", 404),
        ("auditor", 404),
    ],
)
def test_who_may_update_and_remove_a_checklist(client, case, cnda, personas, persona, status):
    client.force_login(personas[persona])
    url = _checklist_url(case, cnda)
    assert client.get(url).status_code == (200 if status == 302 else status)
    items = list(cnda.procedure.items.all())
    data = {f"state_{item.pk}": State.HAVE for item in items}
    response = client.post(url, data)
    assert response.status_code == status
    haves = ChecklistEntry.objects.filter(case_procedure=cnda, state=State.HAVE).count()
    assert haves == (len(items) if status == 302 else 1)
    remove = reverse("casework:procedure_remove", args=[case.reference, cnda.pk])
    assert client.post(remove).status_code == status
    assert CaseProcedure.objects.filter(pk=cnda.pk).exists() is (status != 302)


def test_a_volunteer_update_keeps_the_document_links_they_cannot_see(
    client, case, volunteer, cnda, document
):
    client.force_login(volunteer)
    form = client.get(_checklist_url(case, cnda)).content.decode()
    assert "OFPRA decision of 3 March" not in form
    first = cnda.procedure.items.first()
    client.post(_checklist_url(case, cnda), {f"state_{first.pk}": State.HAVE})
    entry = ChecklistEntry.objects.get(case_procedure=cnda, item=first)
    assert list(entry.documents.all()) == [document]


def test_a_caseworker_links_documents_and_the_history_says_so(
    client, case, caseworker, cnda, document
):
    client.force_login(caseworker)
    items = list(cnda.procedure.items.all())
    data = {f"state_{item.pk}": State.MISSING for item in items}
    data[f"state_{items[1].pk}"] = State.HAVE
    data[f"documents_{items[1].pk}"] = [document.pk]
    assert client.post(_checklist_url(case, cnda), data).status_code == 302
    entry = ChecklistEntry.objects.get(case_procedure=cnda, item=items[1])
    assert list(entry.documents.all()) == [document]
    assert case.log_entries.filter(action=CaseLogEntry.Action.CHECKLIST).count() == 3


def test_a_document_of_another_case_cannot_be_linked(
    client, case, other_case, caseworker, colleague, cnda, private_media
):
    foreign = services.document_upload(
        case=other_case,
        upload=pdf_upload("other.pdf"),
        kind=Document.Kind.PASSPORT,
        title="Their passport",
        content_type="application/pdf",
        by=colleague,
    )
    client.force_login(caseworker)
    first = cnda.procedure.items.first()
    response = client.post(
        _checklist_url(case, cnda),
        {f"state_{first.pk}": State.HAVE, f"documents_{first.pk}": [foreign.pk]},
    )
    assert response.status_code == 200  # the form refuses the choice
    assert not ChecklistEntry.objects.filter(documents=foreign).exists()
    with pytest.raises(ValidationError):
        services.checklist_save(
            case_procedure=cnda, states={first.pk: (State.HAVE, [foreign])}, by=caseworker
        )


def test_another_organisations_procedure_cannot_be_added(client, case, caseworker, other_org):
    theirs = Procedure.objects.create(
        organisation=other_org, name="Their own", country="FR", language="fr"
    )
    client.force_login(caseworker)
    response = client.post(
        reverse("casework:procedure_add", args=[case.reference]), {"procedure": theirs.pk}
    )
    assert response.status_code == 200
    assert not case.procedures.exists()


def test_a_checklist_of_another_case_is_not_found_through_this_one(
    client, case, other_case, colleague, caseworker, procedures
):
    theirs = services.case_procedure_add(
        case=other_case, procedure=procedures["BAMF hearing"], by=colleague
    )
    client.force_login(caseworker)
    assert client.get(_checklist_url(case, theirs)).status_code == 404


def test_enclosures_list_what_the_case_has_in_the_letters_language(case, cnda, procedures):
    assert selectors.enclosures(case, "fr") == ["Copie de la décision de l'OFPRA"]
    assert selectors.enclosures(case, "de") == []
