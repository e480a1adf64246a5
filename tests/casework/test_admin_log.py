"""Django admin and the two logs. Its own history (django_admin_log) holds ids only, never a
name or a title; every read and write of case data in the admin is in the access log, as in
the app; so are reads of the access log itself."""

import importlib

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from casework import services
from casework.models import AccessEvent, Case, Client, Document, Event, Note
from core.fields import EncryptedMixin
from letters.models import Letter, LetterTemplate
from tests.factories import make_case, make_event, make_note
from tests.helpers import (
    PDF,
    TEMPLATE_BODY,
    admin_change_data,
    admin_edits,
    draft,
    get_authority,
)

Action = AccessEvent.Action
MARKER = "Q7ADMINLOGMARKER"


# --- Django admin's history ---------------------------------------------------------------------


def _with_markers(model):
    """An instance of `model` with MARKER in every encrypted field and its case or client."""
    obj = model(pk=7)
    for field in model._meta.concrete_fields:
        if isinstance(field, EncryptedMixin):
            setattr(obj, field.attname, MARKER)
        elif field.name == "case":
            obj.case = Case(pk=1, reference="2026-0001", summary=MARKER)
        elif field.name == "client":
            obj.client = Client(pk=1, pseudonym=MARKER)
    return obj


def test_str_of_every_row_with_client_data_names_no_one():
    models = [
        m
        for m in apps.get_models()
        if any(isinstance(f, EncryptedMixin) for f in m._meta.concrete_fields)
    ]
    assert {Client, Case, Event, Note, Document, Letter} <= set(models)
    for model in models:
        assert MARKER not in str(_with_markers(model)), model
    assert str(_with_markers(Event)) == "Event #7"


@pytest.fixture
def marked_case(org, superadmin, private_media):
    case = make_case(
        organisation=org,
        family_name=f"{MARKER}-latin",
        cyrillic=(f"{MARKER}-cyrillic", "Рустам"),
        pseudonym="Client P-7",
    )
    services.document_upload(
        case=case,
        upload=SimpleUploadedFile("scan.pdf", PDF),
        kind=Document.Kind.EVIDENCE,
        title=f"{MARKER}-upload",
        content_type="application/pdf",
        by=superadmin,
    )
    return case


def test_admin_edits_leave_only_ids_in_the_admin_history(client, superadmin, marked_case):
    client.force_login(superadmin)

    admin_edits(client, case=marked_case, by=superadmin, marker=MARKER)

    entries = list(LogEntry.objects.all())
    assert len(entries) == 5  # client, case, event, document changed; the document deleted
    for entry in entries:
        assert MARKER not in entry.object_repr, entry.object_repr
        assert MARKER not in entry.change_message, entry.change_message
    messages = " ".join(e.get_change_message() for e in entries)
    assert "Added client name “Client name #" in messages
    assert "Deleted client name “Client name #" in messages
    assert "Added event “Event #" in messages
    assert LogEntry.objects.filter(object_repr__startswith="Document #").count() == 2


def test_admin_pages_show_names_where_they_are_needed(client, superadmin, marked_case):
    client.force_login(superadmin)
    marked_case.letter_name = marked_case.client.names.get(script="latn")
    marked_case.save()

    case_page = client.get(reverse("admin:casework_case_change", args=[marked_case.pk]))
    letter_name = case_page.context["adminform"].form.fields["letter_name"]
    assert [label for _, label in letter_name.choices][1:] == [f"{MARKER}-latin Rustam"]
    clients = case_page.context["adminform"].form.fields["client"]
    assert [label for _, label in clients.choices][1:] == ["Client P-7"]
    case_list = client.get(reverse("admin:casework_case_changelist"))
    assert b"Client P-7" in case_list.content
    # The app's case page too.
    case_detail = client.get(reverse("casework:case_detail", args=[marked_case.reference]))
    assert f"{MARKER}-latin Rustam".encode() in case_detail.content


def test_migration_rewrites_the_admin_history_to_ids(marked_case, superadmin):
    name = marked_case.client.names.first()
    event = make_event(case=marked_case, title=f"{MARKER}-event")
    for obj, message in [
        (name, ""),
        (event, ""),
        (
            marked_case.client,
            f'[{{"added": {{"name": "client name", "object": "{MARKER}-added"}}}}, '
            f'{{"changed": {{"fields": ["Pseudonym"]}}}}]',
        ),
        (marked_case, f"Changed the event {MARKER} by hand"),
    ]:
        entry = LogEntry.objects.log_actions(
            user_id=superadmin.pk, queryset=[obj], action_flag=2, change_message=message
        )[0]
        LogEntry.objects.filter(pk=entry.pk).update(object_repr=f"{MARKER}-repr")
    migration = importlib.import_module("casework.migrations.0009_admin_log_ids_only")

    migration.rewrite_admin_log(apps, None)

    by_model = {e.content_type.model: e for e in LogEntry.objects.all()}
    assert by_model["clientname"].object_repr == f"Client name #{name.pk}"
    assert by_model["event"].object_repr == f"Event #{event.pk}"
    assert by_model["client"].get_change_message() == ("Added client name “—”. Changed Pseudonym.")
    assert by_model["case"].change_message == ""
    assert by_model["case"].object_repr == f"{MARKER}-repr"  # a case's is its reference


# --- the access log -----------------------------------------------------------------------------


@pytest.fixture
def rows(case, caseworker, private_media):
    make_event(case=case, title="Hearing")
    make_note(case=case, author=caseworker)
    services.document_upload(
        case=case,
        upload=SimpleUploadedFile("scan.pdf", PDF),
        kind=Document.Kind.EVIDENCE,
        title="Scan",
        content_type="application/pdf",
        by=caseworker,
    )
    return case


def _objects(case):
    return {
        "case": case,
        "client": case.client,
        "event": Event.objects.get(case=case),
        "note": Note.objects.get(case=case),
        "document": Document.objects.get(case=case),
    }


def _entries(user):
    return list(
        AccessEvent.objects.filter(user=user)
        .order_by("id")
        .values_list("action", "object_type", "object_id", "case_id", "path_name")
    )


@pytest.mark.parametrize("model", ["case", "client", "event", "note", "document"])
def test_admin_change_page_is_logged_as_a_view(client, superadmin, rows, model):
    obj = _objects(rows)[model]
    client.force_login(superadmin)

    response = client.get(reverse(f"admin:casework_{model}_change", args=[obj.pk]))

    assert response.status_code == 200
    # Opening a client shows their special-category data to an administrator.
    action = Action.REVEAL if model == "client" else Action.VIEW
    case_id = None if model == "client" else rows.pk
    assert _entries(superadmin) == [
        (action, model, str(obj.pk), case_id, f"admin:casework_{model}_change")
    ]


@pytest.mark.parametrize("view", ["history", "delete"])
def test_admin_history_and_delete_pages_are_logged_as_views(client, superadmin, rows, view):
    client.force_login(superadmin)
    event = _objects(rows)["event"]

    response = client.get(reverse(f"admin:casework_event_{view}", args=[event.pk]))

    assert response.status_code == 200
    assert _entries(superadmin) == [
        (Action.VIEW, "event", str(event.pk), rows.pk, f"admin:casework_event_{view}")
    ]


def test_admin_client_list_is_logged_and_a_search_as_a_search(client, superadmin, rows):
    client.force_login(superadmin)
    url = reverse("admin:casework_client_changelist")

    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "Zuganshin"}).status_code == 200

    assert _entries(superadmin) == [
        (Action.LIST, "client", "", None, "admin:casework_client_changelist"),
        (Action.SEARCH, "client", "", None, "admin:casework_client_changelist"),
    ]


def test_admin_autocomplete_is_logged_as_a_search(client, superadmin, rows, other_org):
    theirs = make_case(organisation=other_org, reference="2026-9902")
    client.force_login(superadmin)

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "casework", "model_name": "event", "field_name": "case", "term": "2026"},
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [rows.reference]
    assert theirs.reference not in response.content.decode()
    assert _entries(superadmin) == [(Action.SEARCH, "case", "", None, "admin:autocomplete")]


def test_admin_changes_and_deletions_are_logged(client, superadmin, rows):
    client.force_login(superadmin)
    event = _objects(rows)["event"]
    url = reverse("admin:casework_event_change", args=[event.pk])
    data = admin_change_data(client.get(url))
    before = len(_entries(superadmin))

    assert client.post(url, {**data, "title": "Hearing at the CNDA"}).status_code == 302
    delete_url = reverse("admin:casework_event_delete", args=[event.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 302

    assert _entries(superadmin)[before:] == [
        (Action.CHANGE, "event", str(event.pk), rows.pk, "admin:casework_event_change"),
        (Action.DELETE, "event", str(event.pk), rows.pk, "admin:casework_event_delete"),
    ]


def test_admin_letter_page_is_logged(client, superadmin, case, caseworker):
    template = LetterTemplate.objects.create(
        name="Support", kind="support", language="fr", body=TEMPLATE_BODY
    )
    letter = draft(case, template, get_authority("ofpra"), caseworker)
    client.force_login(superadmin)

    response = client.get(reverse("admin:letters_letter_change", args=[letter.pk]))

    assert response.status_code == 200
    assert _entries(superadmin)[-1] == (
        Action.VIEW, "letter", str(letter.pk), case.pk, "admin:letters_letter_change",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "action"), [({}, Action.LIST), ({"action": "view"}, Action.SEARCH)]
)
def test_reading_the_access_log_is_logged(client, auditor, query, action):
    client.force_login(auditor)

    assert client.get(reverse("casework:access_log"), query).status_code == 200

    assert _entries(auditor) == [(action, "access_log", "", None, "casework:access_log")]


def test_reading_the_access_log_in_the_admin_is_logged(client, superadmin):
    client.force_login(superadmin)

    assert client.get(reverse("admin:casework_accessevent_changelist")).status_code == 200

    assert _entries(superadmin) == [
        (Action.LIST, "access_log", "", None, "admin:casework_accessevent_changelist")
    ]
