"""The facts about a person that caseworkers need: interpreter, vulnerabilities (special
category: masked, revealed on request and logged), safe-to-contact flags per channel and the
identity phrase (a secret for the staff who contact the client)."""

import io
import json
import zipfile

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.urls import reverse
from django.utils import translation

from casework.models import AccessEvent, Assignment, Client, ContactChannel, Membership
from core import crypto
from privacy import erasure, export
from tests.factories import make_share, make_user
from tests.helpers import admin_change_data, edit_data

Role = Membership.Role

NOTE_MARKER = "VULN-NOTE-MARKER-3K"
PHRASE_MARKER = "PHRASE-MARKER-3K"
DIALECT_MARKER = "DIALECT-MARKER-3K"
CONTACT_NOTE_MARKER = "CONTACT-NOTE-MARKER-3K"
TORTURE_LABEL = "Survivor of torture"


@pytest.fixture
def facts(case):
    """The case's client with every new fact filled in, and three channels: a phone safe for
    calls, an e-mail nobody confirmed, a Signal number safe for messages only."""
    client = Client.objects.get(pk=case.client_id)
    client.vulnerabilities = [Client.Vulnerability.TORTURE, Client.Vulnerability.PREGNANCY]
    client.vulnerability_note = NOTE_MARKER
    client.identity_phrase = PHRASE_MARKER
    client.interpreter_language = Client.InterpreterLanguage.CHECHEN
    client.interpreter_dialect = DIALECT_MARKER
    client.interpreter_gender = Client.InterpreterGender.FEMALE
    client.contact_note = CONTACT_NOTE_MARKER
    client.save()
    phone = ContactChannel.objects.create(
        client=client, kind="phone", value="+7 999 555-01-02", may_call=True
    )
    email = ContactChannel.objects.create(client=client, kind="email", value="ms.x@example.org")
    signal = ContactChannel.objects.create(
        client=client, kind="signal", value="+995 555 0100", may_text=True
    )
    return {"client": client, "phone": phone, "email": email, "signal": signal}


def _persona(name, personas, org, case):
    """The personas of tests/conftest.py, and those with special-category access granted."""
    if name in personas:
        return personas[name]
    role = {"caseworker_special": Role.CASEWORKER, "lawyer_special": Role.LAWYER}[name]
    user = make_user(organisation=org, role=role, special=True)
    if role == Role.LAWYER:
        make_share(case=case, lawyer=user, days=3)
    else:
        Assignment.objects.create(case=case, user=user)
    return user


def _reveals(object_type: str) -> int:
    return AccessEvent.objects.filter(
        action=AccessEvent.Action.REVEAL, object_type=object_type
    ).count()


# --- vulnerabilities: special category ---------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("coordinator", True),  # coordinators always have special-category access
        ("caseworker_special", True),
        ("caseworker", False),  # assigned, without the extra permission
        ("volunteer", False),  # never, even assigned
        ("lawyer", False),  # shared, without the extra permission
        ("lawyer_special", True),
    ],
)
def test_vulnerabilities_masked_and_revealed_per_persona(
    client, org, case, facts, personas, persona, sees
):
    client.force_login(_persona(persona, personas, org, case))

    page = client.get(reverse("casework:case_detail", args=[case.reference]))

    assert page.status_code == 200
    assert NOTE_MARKER.encode() not in page.content  # masked for everyone until revealed
    assert TORTURE_LABEL.encode() not in page.content
    before = _reveals("client")
    response = client.post(reverse("casework:case_reveal", args=[case.reference]))
    if sees:
        assert response.status_code == 200
        assert NOTE_MARKER.encode() in response.content
        assert TORTURE_LABEL.encode() in response.content
        assert b"Pregnancy" in response.content
        assert _reveals("client") == before + 1
    else:
        assert response.status_code == 403
        assert NOTE_MARKER.encode() not in response.content
        assert _reveals("client") == before


@pytest.mark.parametrize("persona", ["colleague", "outsider", "lawyer_without_share", "auditor"])
def test_vulnerabilities_out_of_scope_is_404(client, case, facts, personas, persona):
    client.force_login(personas[persona])

    for url in ("casework:case_detail", "casework:case_reveal"):
        method = client.get if url == "casework:case_detail" else client.post
        response = method(reverse(url, args=[case.reference]))
        assert response.status_code == 404
        assert NOTE_MARKER.encode() not in response.content


def test_reveal_of_vulnerabilities_is_in_the_access_log(client, case, facts, coordinator):
    client.force_login(coordinator)

    client.post(reverse("casework:case_reveal", args=[case.reference]))

    entry = AccessEvent.objects.filter(action=AccessEvent.Action.REVEAL).latest("id")
    assert (entry.user, entry.object_type, entry.object_id, entry.case_id) == (
        coordinator,
        "client",
        str(facts["client"].pk),
        case.pk,
    )


@pytest.mark.parametrize("persona", ["caseworker", "volunteer"])
def test_editing_without_special_access_keeps_the_vulnerabilities(
    client, case, facts, personas, persona
):
    client.force_login(personas[persona])
    response = client.get(reverse("casework:case_edit", args=[case.reference]))
    assert "vulnerabilities" not in response.context["client_form"].fields
    assert NOTE_MARKER.encode() not in response.content

    data = edit_data(case, **{"client-vulnerabilities": [], "client-vulnerability_note": ""})
    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)

    assert response.status_code == 302
    stored = Client.objects.get(pk=case.client_id)
    assert stored.vulnerabilities == ["torture_survivor", "pregnancy"]
    assert stored.vulnerability_note == NOTE_MARKER


def test_vulnerabilities_saved_through_the_form_in_the_list_order(client, case, coordinator):
    client.force_login(coordinator)
    data = edit_data(case, **{"client-vulnerabilities": ["elderly", "minor"]})

    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)

    assert response.status_code == 302
    assert Client.objects.get(pk=case.client_id).vulnerabilities == ["minor", "elderly"]


def test_unknown_vulnerability_is_refused_with_a_message(client, case, coordinator):
    client.force_login(coordinator)
    data = edit_data(case, **{"client-vulnerabilities": ["minor", "made_up"]})

    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)

    assert response.status_code == 200
    assert "vulnerabilities" in response.context["client_form"].errors
    assert Client.objects.get(pk=case.client_id).vulnerabilities == []


def test_vulnerabilities_and_secrets_are_encrypted_in_the_database(case, facts):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT vulnerabilities, vulnerability_note, identity_phrase, interpreter_dialect, "
            "interpreter_gender, contact_note FROM casework_client WHERE id = %s",
            [facts["client"].pk],
        )
        row = cursor.fetchone()
    stored = " ".join(row)
    for clear in ("torture", "pregnancy", NOTE_MARKER, PHRASE_MARKER, DIALECT_MARKER):
        assert clear not in stored
    assert CONTACT_NOTE_MARKER not in stored
    assert all(value.startswith(crypto.PREFIX + ":") for value in row), row
    assert row[4] != "f"


# --- the identity phrase: for the staff who contact the client ---------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("caseworker", 200),
        ("volunteer", 200),
        ("coordinator", 200),
        ("lawyer", 403),  # a partner lawyer only reads the file
        ("colleague", 404),
        ("outsider", 404),
        ("auditor", 404),
    ],
)
def test_identity_phrase_revealed_per_persona(client, case, facts, personas, persona, status):
    client.force_login(personas[persona])
    url = reverse("casework:identity_phrase_reveal", args=[case.reference])

    if status != 404:
        page = client.get(reverse("casework:case_detail", args=[case.reference])).content
        assert PHRASE_MARKER.encode() not in page
        assert (url.encode() in page) == (status == 200)
    before = _reveals("identity_phrase")
    response = client.post(url)

    assert response.status_code == status
    assert (PHRASE_MARKER.encode() in response.content) == (status == 200)
    assert _reveals("identity_phrase") == before + (status == 200)


def test_identity_phrase_reveal_is_logged_against_the_client_and_case(
    client, case, facts, caseworker
):
    client.force_login(caseworker)

    client.post(reverse("casework:identity_phrase_reveal", args=[case.reference]))

    entry = AccessEvent.objects.filter(object_type="identity_phrase").get()
    assert (entry.action, entry.user, entry.object_id, entry.case_id) == (
        AccessEvent.Action.REVEAL,
        caseworker,
        str(facts["client"].pk),
        case.pk,
    )


def test_identity_phrase_reveal_needs_post(client, case, facts, caseworker):
    client.force_login(caseworker)

    response = client.get(reverse("casework:identity_phrase_reveal", args=[case.reference]))

    assert response.status_code == 405


def test_edit_form_never_shows_the_identity_phrase_and_keeps_it_when_empty(
    client, case, facts, coordinator
):
    client.force_login(coordinator)
    url = reverse("casework:case_edit", args=[case.reference])
    assert PHRASE_MARKER.encode() not in client.get(url).content

    response = client.post(url, edit_data(case, **{"client-languages": "Chechen"}))

    assert response.status_code == 302
    assert Client.objects.get(pk=case.client_id).identity_phrase == PHRASE_MARKER


def test_identity_phrase_replaced_and_removed_through_the_edit_form(
    client, case, facts, caseworker
):
    client.force_login(caseworker)
    url = reverse("casework:case_edit", args=[case.reference])

    client.post(url, edit_data(case, **{"client-new_identity_phrase": "blue heron"}))
    assert Client.objects.get(pk=case.client_id).identity_phrase == "blue heron"

    both = edit_data(
        case, **{"client-new_identity_phrase": "x", "client-remove_identity_phrase": "on"}
    )
    response = client.post(url, both)
    assert response.status_code == 200
    assert "remove_identity_phrase" in response.context["client_form"].errors
    assert Client.objects.get(pk=case.client_id).identity_phrase == "blue heron"

    client.post(url, edit_data(case, **{"client-remove_identity_phrase": "on"}))
    assert Client.objects.get(pk=case.client_id).identity_phrase == ""


# --- safe-to-contact flags ---------------------------------------------------------------------


def test_only_a_channel_marked_safe_is_a_link(client, case, facts, caseworker):
    client.force_login(caseworker)

    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()

    assert 'href="tel:+79995550102"' in page  # the phone: calls OK
    assert "mailto:" not in page  # the e-mail: nobody confirmed it is safe
    assert "ms.x@example.org" in page
    assert "no e-mail" in page
    assert "messages OK" in page and "no calls" in page  # the Signal number
    assert CONTACT_NOTE_MARKER in page  # how to contact, for every persona on the case


def test_safe_email_is_a_mailto_link_and_cannot_carry_extra_headers(
    client, case, facts, caseworker
):
    email = facts["email"]
    email.may_email = True
    email.save()
    client.force_login(caseworker)

    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()

    assert 'href="mailto:ms.x@example.org"' in page


def test_do_not_contact_removes_every_link_and_shows_the_warning(client, case, facts, caseworker):
    for channel in ContactChannel.objects.filter(client=facts["client"]):
        channel.may_call = channel.may_email = channel.may_text = channel.may_post = True
        channel.save()
    Client.objects.filter(pk=facts["client"].pk).update(do_not_contact=True)
    client.force_login(caseworker)

    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()

    assert "tel:" not in page and "mailto:" not in page
    assert "Do not contact the client directly." in page
    assert "calls OK" not in page


def test_channel_without_flags_is_never_linked(case):
    phone = ContactChannel.objects.create(client=case.client, kind="phone", value="+7 999 1")
    assert phone.link == "" and phone.is_unsafe


def test_contact_flags_saved_through_the_edit_form(client, case, caseworker):
    client.force_login(caseworker)
    data = edit_data(
        case,
        **{
            "contacts-0-kind": "phone",
            "contacts-0-value": "+7 (999) 123-45-67",
            "contacts-0-may_call": "on",
        },
    )

    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)

    assert response.status_code == 302
    channel = ContactChannel.objects.get(client=case.client_id)
    assert (channel.may_call, channel.may_text, channel.may_email) == (True, False, False)
    assert channel.link == "tel:+79991234567"


@pytest.mark.parametrize(
    ("row", "field", "english", "russian"),
    [
        (
            {"kind": "phone", "value": "+7 999 123 45 67", "may_email": "on"},
            "may_email",
            "does not fit a channel of the kind",
            "не подходит для канала",
        ),
        (
            {"kind": "email", "value": "x@example.org", "may_call": "on"},
            "may_call",
            "does not fit a channel of the kind",
            "не подходит для канала",
        ),
        (
            {"kind": "phone", "value": "ask her sister", "may_call": "on"},
            "value",
            "Enter a phone number",
            "Введите номер телефона",
        ),
        (
            {"kind": "email", "value": "not an address", "may_email": "on"},
            "value",
            "Enter an e-mail address",
            "Введите адрес электронной почты",
        ),
    ],
)
def test_contact_flags_that_do_not_fit_are_refused_in_both_languages(
    client, case, caseworker, row, field, english, russian
):
    client.force_login(caseworker)
    data = edit_data(case, **{f"contacts-0-{k}": v for k, v in row.items()})
    url = reverse("casework:case_edit", args=[case.reference])

    response = client.post(url, data)
    with translation.override("ru"):
        response_ru = client.post(url, data, HTTP_ACCEPT_LANGUAGE="ru")

    assert response.status_code == 200
    errors = response.context["contacts"].forms[0].errors
    assert field in errors and english in str(errors[field])
    assert russian in response_ru.content.decode()
    assert not ContactChannel.objects.filter(client=case.client_id).exists()  # nothing saved


def test_do_not_contact_needs_a_note(client, case, coordinator):
    client.force_login(coordinator)
    data = edit_data(case, **{"client-do_not_contact": "on", "client-contact_note": ""})

    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)

    assert response.status_code == 200
    assert "contact_note" in response.context["client_form"].errors
    assert not Client.objects.get(pk=case.client_id).do_not_contact


# --- the interpreter -------------------------------------------------------------------------


def test_interpreter_shown_on_the_case_page(client, case, facts, volunteer):
    client.force_login(volunteer)

    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()

    assert "Chechen" in page and DIALECT_MARKER in page
    assert "a woman preferred" in page


@pytest.mark.parametrize(
    ("language", "shown"),
    [("", "not asked yet: ask before booking an interview"), ("none", "not needed")],
)
def test_an_interpreter_nobody_asked_about_is_not_called_unneeded(
    client, case, volunteer, language, shown
):
    """An imported or hand-made client whose language nobody asked about must not read as
    "no interpreter needed": an interview booked without one is lost."""
    Client.objects.filter(pk=case.client_id).update(interpreter_language=language)
    client.force_login(volunteer)

    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()

    assert shown in page


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"client-interpreter_language": "other"}, "interpreter_language_other"),
        (
            {"client-interpreter_language": "ru", "client-interpreter_language_other": "Lak"},
            "interpreter_language_other",
        ),
        ({"client-interpreter_dialect": "Kist"}, "interpreter_language"),
        (
            {"client-interpreter_language": "none", "client-interpreter_dialect": "Kist"},
            "interpreter_language",
        ),
    ],
)
def test_interpreter_inconsistencies_are_refused(client, case, coordinator, changes, field):
    client.force_login(coordinator)

    response = client.post(
        reverse("casework:case_edit", args=[case.reference]), edit_data(case, **changes)
    )

    assert response.status_code == 200
    assert field in response.context["client_form"].errors


def test_other_interpreter_language_is_shown_as_written(client, case, coordinator):
    client.force_login(coordinator)
    data = edit_data(
        case,
        **{"client-interpreter_language": "other", "client-interpreter_language_other": "Lak"},
    )

    assert (
        client.post(reverse("casework:case_edit", args=[case.reference]), data).status_code == 302
    )
    assert Client.objects.get(pk=case.client_id).interpreter_language_display == "Lak"


# --- privacy: export, erasure, admin -----------------------------------------------------------


def test_export_holds_the_new_facts(case, facts):
    archive = zipfile.ZipFile(io.BytesIO(export.client_export(client=facts["client"])))
    data = json.loads(archive.read("client.json"))

    person = data["client"]
    assert person["vulnerabilities"] == ["torture_survivor", "pregnancy"]
    assert person["vulnerabilities_display"] == [TORTURE_LABEL, "Pregnancy"]
    assert person["vulnerability_note"] == NOTE_MARKER
    assert person["identity_phrase"] == PHRASE_MARKER
    assert person["interpreter_language"] == "ce"
    assert person["interpreter_dialect"] == DIALECT_MARKER
    assert person["contact_note"] == CONTACT_NOTE_MARKER
    phone = next(c for c in data["contacts"] if c["kind"] == "phone")
    assert (phone["may_call"], phone["may_text"]) == (True, False)


def test_erasure_wipes_the_new_facts(case, facts, superadmin):
    erasure.client_erase(client=facts["client"], by=superadmin, reason="request")

    erased = Client.objects.get(pk=facts["client"].pk)
    assert erased.vulnerabilities == []
    for name in (
        "vulnerability_note",
        "identity_phrase",
        "interpreter_dialect",
        "interpreter_language_other",
        "interpreter_gender",
        "contact_note",
        "interpreter_language",
    ):
        assert getattr(erased, name) == "", name
    assert erased.do_not_contact is False
    assert not ContactChannel.objects.filter(client=erased).exists()


def test_admin_shows_the_facts_and_its_history_keeps_none(client, case, facts, superadmin):
    client.force_login(superadmin)
    url = reverse("admin:casework_client_change", args=[facts["client"].pk])
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"vulnerabilities", "identity_phrase", "interpreter_dialect"} <= set(form.fields)

    data = admin_change_data(response)
    data["vulnerability_note"] = "ADMIN-" + NOTE_MARKER
    data["vulnerabilities"] = ["minor"]
    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = Client.objects.get(pk=facts["client"].pk)
    assert stored.vulnerabilities == ["minor"]
    history = " ".join(f"{e.object_repr} {e.change_message}" for e in LogEntry.objects.all())
    assert NOTE_MARKER not in history and "minor" not in history.lower().replace("vulnerab", "")
    assert AccessEvent.objects.filter(
        action=AccessEvent.Action.CHANGE, object_type="client"
    ).exists()
