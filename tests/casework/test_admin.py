"""Django admin: the same case scope as the app, and the same special-category rule."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from casework import services
from casework.admin import ClientAdmin
from casework.models import (
    Authority,
    Case,
    CaseLogEntry,
    Client,
    Consent,
    Document,
    Event,
    Ground,
    Membership,
    Note,
)
from tests.factories import make_case, make_event, make_note, make_org_administrator, make_user
from tests.helpers import PDF, admin_change_data

Role = Membership.Role


def _rows(case, who, title):
    from django.core.files.uploadedfile import SimpleUploadedFile

    make_event(case=case, title=f"Event {title}")
    make_note(case=case, author=who, body=f"Note {title}")
    services.document_upload(
        case=case,
        upload=SimpleUploadedFile("a.pdf", PDF),
        kind=Document.Kind.EVIDENCE,
        title=f"Document {title}",
        content_type="application/pdf",
        by=who,
    )
    case.log(who, CaseLogEntry.Action.NOTE, f"Log {title}")


@pytest.fixture
def ours(org, caseworker, private_media):
    case = make_case(
        organisation=org, assignees=[caseworker], pseudonym="OurClient", reference="2026-8101"
    )
    _rows(case, caseworker, "ours")
    return case


@pytest.fixture
def theirs(other_org, outsider, private_media):
    case = make_case(organisation=other_org, pseudonym="TheirClient", reference="2026-8202")
    _rows(case, outsider, "theirs")
    return case


MODELS = {
    "case": ("2026-8101", "2026-8202"),
    "client": ("OurClient", "TheirClient"),
    "event": ("Event ours", "Event theirs"),
    "note": ("2026-8101", "2026-8202"),
    "document": ("Document ours", "Document theirs"),
    "caselogentry": ("Log ours", "Log theirs"),
}


@pytest.mark.parametrize("model", list(MODELS))
def test_changelist_shows_only_rows_in_scope(client, superadmin, ours, theirs, model):
    mine, foreign = MODELS[model]
    client.force_login(superadmin)

    response = client.get(reverse(f"admin:casework_{model}_changelist"))

    assert response.status_code == 200
    assert mine.encode() in response.content
    assert foreign.encode() not in response.content
    assert b"2026-8202" not in response.content
    assert b"TheirClient" not in response.content


@pytest.mark.parametrize("model", list(MODELS))
def test_changelist_search_does_not_reach_other_organisations(
    client, superadmin, ours, theirs, model
):
    client.force_login(superadmin)
    response = client.get(reverse(f"admin:casework_{model}_changelist"), {"q": "2026-8202"})
    assert response.status_code == 200
    assert b"TheirClient" not in response.content
    assert response.context["cl"].result_count == 0


def _objects_of(case):
    return {
        "case": case,
        "client": case.client,
        "event": Event.objects.get(case=case),
        "note": Note.objects.get(case=case),
        "document": Document.objects.get(case=case),
        "caselogentry": CaseLogEntry.objects.filter(case=case).latest("pk"),
    }


@pytest.mark.parametrize("view", ["change", "history", "delete"])
@pytest.mark.parametrize("model", list(MODELS))
def test_objects_of_another_organisation_cannot_be_opened(
    client, superadmin, ours, theirs, model, view
):
    client.force_login(superadmin)
    obj = _objects_of(theirs)[model]

    response = client.get(reverse(f"admin:casework_{model}_{view}", args=[obj.pk]))

    assert response.status_code in (302, 403, 404)  # 403: history is never deletable
    if response.status_code == 302:
        assert response["Location"] == reverse("admin:index")
    assert b"TheirClient" not in response.content
    assert MODELS[model][1].encode() not in response.content


@pytest.mark.parametrize("model", list(MODELS))
def test_objects_in_scope_open(client, superadmin, ours, theirs, model):
    client.force_login(superadmin)
    obj = _objects_of(ours)[model]
    response = client.get(reverse(f"admin:casework_{model}_change", args=[obj.pk]))
    assert response.status_code == 200
    assert b"2026-8202" not in response.content


def test_deleting_another_organisations_case_is_refused(client, superadmin, theirs):
    client.force_login(superadmin)
    client.post(reverse("admin:casework_case_delete", args=[theirs.pk]), {"post": "yes"})
    theirs.refresh_from_db()  # raises if the case was deleted
    assert Event.objects.filter(case=theirs).exists()


def test_event_cannot_be_moved_to_a_case_out_of_scope(client, superadmin, ours, theirs):
    client.force_login(superadmin)
    event = Event.objects.get(case=ours)
    url = reverse("admin:casework_event_change", args=[event.pk])

    def post(case, title):
        return client.post(
            url,
            {
                "case": case.pk,
                "kind": event.kind,
                "title": title,
                "date": event.date.isoformat(),
                "time": "",
                "location": "",
                "is_deadline": "on",
                "created_by": superadmin.pk,
            },
        )

    assert post(ours, "renamed").status_code == 302  # the form itself is valid
    event.refresh_from_db()
    assert event.title == "renamed"

    post(theirs, "moved")

    event.refresh_from_db()
    assert event.case_id == ours.pk
    assert Event.objects.filter(case=theirs).count() == 1


def test_case_admin_offers_only_clients_in_scope(client, superadmin, ours, theirs):
    client.force_login(superadmin)
    response = client.get(reverse("admin:casework_case_change", args=[ours.pk]))
    field = response.context["adminform"].form.fields["client"]
    assert set(field.queryset) == {ours.client}


def test_staff_without_permissions_cannot_use_the_changelists(client, administrator, ours):
    # The administrator persona is staff but holds no model permissions of its own.
    client.force_login(administrator)
    response = client.get(reverse("admin:casework_case_changelist"))
    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "volunteer", "lawyer", "auditor"])
def test_non_staff_roles_are_kept_out_of_admin(client, personas, persona):
    client.force_login(personas[persona])
    response = client.get(reverse("admin:casework_case_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_client_change_form_of_an_administrator_shows_special_fields(client, superadmin, ours):
    client.force_login(superadmin)
    response = client.get(reverse("admin:casework_client_change", args=[ours.client.pk]))
    form_fields = response.context["adminform"].form.fields
    assert set(Client.SPECIAL_CATEGORY_FIELDS) <= set(form_fields)
    assert b"SPECIAL-ORIENTATION-MARKER" in response.content


# --- ClientAdmin.get_exclude ------------------------------------------------------------------


def _request_as(user):
    request = RequestFactory().get("/admin/casework/client/")
    request.user = user
    return request


@pytest.mark.parametrize(
    ("persona", "special", "excluded"),
    [
        ("caseworker", False, True),
        ("caseworker", True, False),
        ("volunteer", True, True),
        ("lawyer", False, True),
        ("auditor", False, True),
        ("coordinator", False, False),
        ("administrator", False, False),
    ],
)
def test_client_admin_excludes_special_fields_without_the_capability(
    org, persona, special, excluded
):
    user = make_user(organisation=org, role=persona, special=special)
    model_admin = admin.site.get_model_admin(Client)
    assert isinstance(model_admin, ClientAdmin)
    request = _request_as(user)

    exclude = set(model_admin.get_exclude(request) or ())

    assert (set(Client.SPECIAL_CATEGORY_FIELDS) <= exclude) == excluded
    if not excluded:
        assert not exclude & set(Client.SPECIAL_CATEGORY_FIELDS)
    form_fields = set(model_admin.get_form(request).base_fields)
    assert bool(form_fields & set(Client.SPECIAL_CATEGORY_FIELDS)) != excluded


def test_client_admin_for_a_user_without_membership_excludes_special_fields(
    django_user_model,
):
    user = django_user_model.objects.create_user(username="bare", is_staff=True)
    model_admin = admin.site.get_model_admin(Client)
    assert set(Client.SPECIAL_CATEGORY_FIELDS) <= set(model_admin.get_exclude(_request_as(user)))


def test_case_admin_offers_only_the_clients_own_latin_spellings(client, superadmin, ours, theirs):
    client.force_login(superadmin)
    response = client.get(reverse("admin:casework_case_change", args=[ours.pk]))
    field = response.context["adminform"].form.fields["letter_name"]
    assert set(field.queryset) == set(ours.client.names.filter(script="latn"))


def test_references_added_in_the_admin_are_found_by_search(client, superadmin, ours):
    from casework.models import CaseReference, Consent
    from casework.names import reference_index

    # The consent inline requires who recorded a consent (the factory leaves it empty).
    Consent.objects.filter(case=ours).update(recorded_by=superadmin)
    client.force_login(superadmin)
    url = reverse("admin:casework_case_change", args=[ours.pk])
    page = client.get(url).context
    forms = [page["adminform"].form]
    data = {}
    for inline in page["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        forms += formset.initial_forms
        if formset.model is CaseReference:
            prefix = formset.prefix
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value not in (None, False, ""):
                data[form.add_prefix(name)] = (
                    [str(v) for v in value] if isinstance(value, list) else value
                )
    data.update(
        {f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-0-kind": "ofpra", f"{prefix}-0-value": "2401 234"}
    )
    response = client.post(url, data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors,
        [i.formset.errors for i in response.context["inline_admin_formsets"]],
    )
    [reference] = CaseReference.objects.filter(case=ours)
    assert reference.value_index == reference_index("2401234")


# --- one organisation per administrator -------------------------------------------------------


@pytest.fixture
def org_admin(org):
    return make_org_administrator(organisation=org, username="orgadmin")


def test_case_and_client_forms_offer_no_organisation(client, org_admin, ours):
    client.force_login(org_admin)
    for model, obj in [("case", ours), ("client", ours.client)]:
        response = client.get(reverse(f"admin:casework_{model}_change", args=[obj.pk]))
        assert response.status_code == 200
        assert "organisation" not in response.context["adminform"].form.fields
        assert b"Another NGO" not in response.content


def test_superusers_still_choose_the_organisation(client, superadmin, ours, other_org):
    client.force_login(superadmin)
    response = client.get(reverse("admin:casework_case_change", args=[ours.pk]))
    field = response.context["adminform"].form.fields["organisation"]
    assert other_org in field.queryset


@pytest.mark.parametrize("model", ["case", "client"])
def test_cross_organisation_move_refused(client, org_admin, ours, other_org, model):
    """A forged POST that puts the case (or client) into another organisation changes
    nothing of the organisation; the rest of the form is saved."""
    obj = ours if model == "case" else ours.client
    Consent.objects.filter(case=ours).update(recorded_by=org_admin)
    client.force_login(org_admin)
    url = reverse(f"admin:casework_{model}_change", args=[obj.pk])
    data = admin_change_data(client.get(url))
    data["organisation"] = str(other_org.pk)
    data["risk" if model == "case" else "languages"] = "high"

    response = client.post(url, data)

    assert response.status_code == 302
    obj.refresh_from_db()
    assert obj.organisation_id == ours.organisation_id
    assert (obj.risk if model == "case" else obj.languages) == "high"
    assert not Case.objects.filter(organisation=other_org).exists()
    assert not Client.objects.filter(organisation=other_org).exists()


def test_case_admin_offers_only_authorities_of_the_organisation(client, org_admin, ours, other_org):
    theirs = Authority.objects.create(
        code="their-office", short_name="Their office", name="Their office",
        kind=Authority.Kind.ASYLUM_OFFICE, country="FR", language="fr", organisation=other_org,
    )  # fmt: skip
    client.force_login(org_admin)
    response = client.get(reverse("admin:casework_case_change", args=[ours.pk]))
    authorities = response.context["adminform"].form.fields["authority"].queryset
    assert theirs not in authorities
    assert authorities.filter(code="ofpra").exists()  # shared reference data


def test_organisations_are_added_by_superusers_only(client, org_admin, superadmin, org, other_org):
    client.force_login(org_admin)
    assert client.get(reverse("admin:casework_organisation_add")).status_code == 403
    response = client.post(reverse("admin:casework_organisation_add"), {"name": "Mine too"})
    assert response.status_code == 403
    listing = client.get(reverse("admin:casework_organisation_changelist"))
    assert b"Another NGO" not in listing.content
    response = client.post(
        reverse("admin:casework_organisation_delete", args=[org.pk]), {"post": "yes"}
    )
    assert response.status_code == 403

    client.force_login(superadmin)
    assert client.get(reverse("admin:casework_organisation_add")).status_code == 200
    listing = client.get(reverse("admin:casework_organisation_changelist"))
    assert b"Another NGO" in listing.content


def test_grounds_are_changed_by_superusers_only(client, org_admin, superadmin):
    ground = Ground.objects.get(code="political")
    url = reverse("admin:casework_ground_change", args=[ground.pk])
    client.force_login(org_admin)
    response = client.get(url)
    assert response.status_code == 200 and not response.context["has_change_permission"]
    assert client.post(url, {"code": "military"}).status_code == 403
    ground.refresh_from_db()
    assert ground.code == "political"

    client.force_login(superadmin)
    assert client.get(url).context["has_change_permission"]
