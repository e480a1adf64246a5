"""The access matrix: every URL that takes a case reference, for every persona.

Outside a user's scope the answer is 404, the same as for a case that does not exist; a visible
case the user may not act on is a 403; a refused write changes nothing.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from casework import services
from casework.models import (
    AccessEvent,
    Assignment,
    Case,
    CaseLogEntry,
    Client,
    Consent,
    Document,
    Event,
    Membership,
    Note,
    Relative,
    Share,
)
from tests.factories import make_event, make_user
from tests.helpers import MISSING_REFERENCE, PDF, edit_data

Role = Membership.Role
MARKERS = (b"SPECIAL-ORIENTATION-MARKER", b"SPECIAL-CRIMINAL-MARKER")


# --- helpers ----------------------------------------------------------------------------------


def pdf_upload(name: str = "scan.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def comparable(response) -> bytes:
    """The page without what differs on every response anyway (CSP nonce, CSRF token)."""
    content = re.sub(rb'nonce="[^"]*"', b'nonce=""', body(response))
    content = re.sub(rb'"X-CSRFToken": "[^"]*"', b"", content)
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content)


# --- the world every matrix test runs in --------------------------------------------------------


@dataclass
class World:
    case: Case
    other_case: Case
    event: Event
    document: Document
    personas: dict
    media: Path


@pytest.fixture
def world(case, other_case, personas, private_media) -> World:
    event = make_event(case=case, days=5)
    document = services.document_upload(
        case=case,
        upload=pdf_upload("passport.pdf"),
        kind=Document.Kind.PASSPORT,
        title="Passport scan",
        content_type="application/pdf",
        by=personas["caseworker"],
    )
    # The client consented to sharing: a coordinator may refer the case.
    Consent.objects.create(case=case, purpose=Consent.Purpose.SHARING)
    return World(case, other_case, event, document, personas, private_media)


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    url_name: str
    extra: tuple[str, ...] = ()  # "event" / "document": ids that go into the URL

    def url(self, world: World, reference: str) -> str:
        kwargs: dict[str, Any] = {"reference": reference}
        if "event" in self.extra:
            kwargs["event_id"] = world.event.pk
        if "document" in self.extra:
            kwargs["document_id"] = world.document.pk
        return reverse(f"casework:{self.url_name}", kwargs=kwargs)

    def data(self, world: World) -> dict[str, Any]:
        p, today = world.personas, timezone.localdate()
        return {
            "edit_post": lambda: edit_data(world.case, **{"case-summary": "Edited summary"}),
            "status_post": lambda: {"status": Case.Status.LETTER_REQUESTED},
            "assign_post": lambda: {
                "users": [p["caseworker"].pk, p["volunteer"].pk, p["colleague"].pk]
            },
            "share_post": lambda: {
                "lawyer": p["lawyer_without_share"].pk,
                "message": "Appeal at the CNDA.",
                "expires_on": (today + timedelta(days=30)).isoformat(),
            },
            "relative_post": lambda: {
                "relation": "child",
                "full_name": "Test Child",
                "birth_date": "2015-03-01",
            },
            "event_post": lambda: {
                "kind": "interview",
                "title": "Interview at OFPRA",
                "date": (today + timedelta(days=10)).isoformat(),
            },
            "event_done_post": lambda: {},
            "note_post": lambda: {"body": "Spoke on Signal."},
            "upload_post": lambda: {
                "kind": "passport",
                "title": "Second scan",
                "upload": pdf_upload(),
            },
        }.get(self.name, dict)()

    def state(self, world: World) -> Any:
        """What this action would change, to compare before and after a refused request."""
        case = world.case
        return {
            "edit_post": lambda: Case.objects.get(pk=case.pk).summary,
            "status_post": lambda: Case.objects.get(pk=case.pk).status,
            "assign_post": lambda: set(
                Assignment.objects.filter(case=case).values_list("user_id", flat=True)
            ),
            "share_post": lambda: set(
                Share.objects.filter(case=case).values_list("lawyer_id", "status", "expires_at")
            ),
            "relative_post": lambda: Relative.objects.filter(client=case.client).count(),
            "event_post": lambda: Event.objects.filter(case=case).count(),
            "event_done_post": lambda: Event.objects.get(pk=world.event.pk).done,
            "note_post": lambda: Note.objects.filter(case=case).count(),
            "upload_post": lambda: (
                Document.objects.count(),
                sum(1 for f in world.media.rglob("*") if f.is_file()),
            ),
        }.get(self.name, lambda: None)()


ACTIONS = [
    Action("detail", "get", "case_detail"),
    Action("edit", "get", "case_edit"),
    Action("edit_post", "post", "case_edit"),
    Action("status_post", "post", "case_status"),
    Action("assign", "get", "case_assign"),
    Action("assign_post", "post", "case_assign"),
    Action("share", "get", "referral_create"),
    Action("share_post", "post", "referral_create"),
    Action("relative", "get", "relative_add"),
    Action("relative_post", "post", "relative_add"),
    Action("event", "get", "event_add"),
    Action("event_post", "post", "event_add"),
    Action("event_done_post", "post", "event_done", ("event",)),
    Action("note", "get", "note_add"),
    Action("note_post", "post", "note_add"),
    Action("upload", "get", "document_upload"),
    Action("upload_post", "post", "document_upload"),
    Action("download", "get", "document_download", ("document",)),
]
ACTION_NAMES = [a.name for a in ACTIONS]


def _full_access() -> dict[str, int]:
    return {a.name: 302 if a.method == "post" else 200 for a in ACTIONS}


def _expected() -> dict[str, dict[str, int]]:
    caseworker = _full_access() | {
        "assign": 403,
        "assign_post": 403,
        "share": 403,
        "share_post": 403,
    }
    nothing = dict.fromkeys(ACTION_NAMES, 404)
    return {
        "caseworker": caseworker,
        "volunteer": caseworker | {"upload": 403, "upload_post": 403, "download": 404},
        "coordinator": _full_access(),
        "administrator": _full_access(),
        # A partner lawyer on an accepted referral reads, and adds notes and documents.
        "lawyer": dict.fromkeys(ACTION_NAMES, 403)
        | {
            "detail": 200,
            "download": 200,
            "note": 200,
            "note_post": 302,
            "upload": 200,
            "upload_post": 302,
        },
        "colleague": nothing,
        "lawyer_without_share": nothing,
        "lawyer_expired": nothing,
        "auditor": nothing,
        "outsider": nothing,
    }


EXPECTED = _expected()


def _request(client, action: Action, world: World, reference: str):
    url = action.url(world, reference)
    return getattr(client, action.method)(url, action.data(world))


# --- the matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS, ids=ACTION_NAMES)
@pytest.mark.parametrize("persona", list(EXPECTED))
def test_access_matrix(client, world, persona, action):
    expected = EXPECTED[persona][action.name]
    client.force_login(world.personas[persona])
    before = action.state(world)

    response = _request(client, action, world, world.case.reference)

    assert response.status_code == expected
    if expected in (403, 404):
        assert action.state(world) == before, "a refused request changed the database"
    elif action.method == "post":
        assert action.state(world) != before, "an accepted write changed nothing"
        assert response["Location"] == reverse(
            "casework:case_detail", kwargs={"reference": world.case.reference}
        )


@pytest.mark.parametrize("action", ACTIONS, ids=ACTION_NAMES)
def test_anonymous_is_sent_to_login_and_changes_nothing(client, world, action):
    before = action.state(world)
    url = action.url(world, world.case.reference)

    response = _request(client, action, world, world.case.reference)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={quote(url)}"
    assert action.state(world) == before


@pytest.mark.parametrize("action", ACTIONS, ids=ACTION_NAMES)
@pytest.mark.parametrize(
    "persona", [p for p, row in EXPECTED.items() if set(row.values()) == {404}]
)
def test_out_of_scope_case_answers_exactly_like_a_missing_one(client, world, persona, action):
    client.force_login(world.personas[persona])
    hidden = _request(client, action, world, world.case.reference)
    missing = _request(client, action, world, MISSING_REFERENCE)

    assert hidden.status_code == missing.status_code == 404
    assert comparable(hidden).replace(
        world.case.reference.encode(), MISSING_REFERENCE.encode()
    ) == comparable(missing)


@pytest.mark.parametrize("persona", ["coordinator", "caseworker", "lawyer"])
def test_missing_reference_is_404_even_with_full_access(client, world, persona):
    client.force_login(world.personas[persona])
    response = client.get(reverse("casework:case_detail", args=[MISSING_REFERENCE]))
    assert response.status_code == 404


def test_event_of_another_case_cannot_be_marked_done_through_this_case(client, world):
    foreign_event = make_event(case=world.other_case, days=2)
    client.force_login(world.personas["caseworker"])

    response = client.post(
        reverse("casework:event_done", args=[world.case.reference, foreign_event.pk])
    )

    assert response.status_code == 404
    foreign_event.refresh_from_db()
    assert foreign_event.done is False


def test_document_of_another_case_cannot_be_downloaded_through_this_case(client, world):
    foreign = services.document_upload(
        case=world.other_case,
        upload=pdf_upload("other.pdf", PDF + b"other"),
        kind=Document.Kind.EVIDENCE,
        title="Other evidence",
        content_type="application/pdf",
        by=world.personas["colleague"],
    )
    client.force_login(world.personas["caseworker"])

    response = client.get(
        reverse("casework:document_download", args=[world.case.reference, foreign.pk])
    )

    assert response.status_code == 404


def test_refused_download_is_not_logged_as_a_download(client, world):
    client.force_login(world.personas["volunteer"])
    client.get(
        reverse("casework:document_download", args=[world.case.reference, world.document.pk])
    )
    assert not CaseLogEntry.objects.filter(action=CaseLogEntry.Action.DOWNLOADED).exists()


# --- volunteers: no documents, no special-category data ----------------------------------------


def test_volunteer_case_page_shows_no_documents_and_no_special_category(client, world):
    client.force_login(world.personas["volunteer"])

    content = client.get(reverse("casework:case_detail", args=[world.case.reference])).content

    for marker in MARKERS:
        assert marker not in content
    assert b'id="documents-h"' not in content
    assert b"Passport scan" not in content
    # Neither the upload link nor any download link: both live under .../documents/.
    assert f"/cases/{world.case.reference}/documents/".encode() not in content


def test_caseworker_case_page_links_the_documents(client, world):
    client.force_login(world.personas["caseworker"])
    content = client.get(reverse("casework:case_detail", args=[world.case.reference])).content
    assert b"Passport scan" in content
    assert (
        reverse(
            "casework:document_download", args=[world.case.reference, world.document.pk]
        ).encode()
        in content
    )


# --- lists, search, filters, fragments and the dashboard never reveal other cases ---------------

LIST_REQUESTS = {
    "list": ("casework:case_list", {}, {}),
    "search_cyrillic": ("casework:case_list", {"q": "Кузнецова"}, {}),
    "search_latin": ("casework:case_list", {"q": "Kuznetsova"}, {}),
    "filter_status": ("casework:case_list", {"status": "active"}, {}),
    "filter_assignee": ("casework:case_list", {"assignee": "<colleague>"}, {}),
    "htmx_fragment": ("casework:case_list", {}, {"HTTP_HX_REQUEST": "true"}),
    "htmx_search": ("casework:case_list", {"q": "Kuznetsova"}, {"HTTP_HX_REQUEST": "true"}),
    "dashboard": ("casework:dashboard", {}, {}),
}


@pytest.fixture
def other_case_deadline(other_case):
    return make_event(case=other_case, days=1, title="Deadline tomorrow")


def _get_list(client, personas, request_name):
    url_name, params, headers = LIST_REQUESTS[request_name]
    params = {k: personas["colleague"].pk if v == "<colleague>" else v for k, v in params.items()}
    return client.get(reverse(url_name), params, **headers)


@pytest.mark.parametrize("request_name", list(LIST_REQUESTS))
@pytest.mark.parametrize("persona", ["caseworker", "volunteer", "lawyer", "auditor", "outsider"])
def test_lists_never_reveal_out_of_scope_cases(
    client, case, other_case, other_case_deadline, personas, persona, request_name
):
    client.force_login(personas[persona])

    response = _get_list(client, personas, request_name)

    assert response.status_code == 200
    assert other_case.reference.encode() not in response.content
    if "q" not in LIST_REQUESTS[request_name][1]:  # a search echoes its own query
        assert "Кузнецова".encode() not in response.content
        assert b"Kuznetsova" not in response.content
    assert b"Deadline tomorrow" not in response.content


@pytest.mark.parametrize("request_name", list(LIST_REQUESTS))
def test_coordinator_lists_show_every_case_of_the_organisation(
    client, case, other_case, other_case_deadline, personas, request_name
):
    client.force_login(personas["coordinator"])
    response = _get_list(client, personas, request_name)
    assert response.status_code == 200
    assert other_case.reference.encode() in response.content


@pytest.mark.parametrize(
    ("persona", "total"),
    [
        ("caseworker", 1),
        ("volunteer", 1),
        ("lawyer", 1),
        ("colleague", 1),
        ("auditor", 0),
        ("outsider", 0),
        ("coordinator", 2),
    ],
)
def test_dashboard_counts_only_cases_in_scope(
    client, case, other_case, other_case_deadline, personas, persona, total
):
    client.force_login(personas[persona])
    response = client.get(reverse("casework:dashboard"))
    assert response.context["total"] == total
    assert sum(n for _value, _label, n in response.context["status_counts"]) == total
    deadline_cases = {e.case_id for e in response.context["upcoming"]}
    assert (other_case.pk in deadline_cases) == (persona in ("colleague", "coordinator"))


def test_case_list_htmx_request_returns_only_the_results_fragment(client, case, personas):
    client.force_login(personas["caseworker"])
    response = client.get(reverse("casework:case_list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert case.reference.encode() in response.content
    assert b"<html" not in response.content


# --- special-category data ----------------------------------------------------------------------


def _special_viewer(name, org, case):
    if name == "caseworker_special":
        user = make_user(organisation=org, role=Role.CASEWORKER, special=True)
    elif name == "volunteer_special":
        user = make_user(organisation=org, role=Role.VOLUNTEER, special=True)
    elif name == "lawyer_special":
        user = make_user(organisation=org, role=Role.LAWYER, special=True)
        Share.objects.create(
            case=case,
            lawyer=user,
            expires_at=timezone.now() + timedelta(days=3),
            status=Share.Status.ACCEPTED,
        )
        return user
    else:
        raise AssertionError(name)
    Assignment.objects.create(case=case, user=user)
    return user


@pytest.mark.parametrize(
    ("persona", "sees_special"),
    [
        ("caseworker", False),
        ("volunteer", False),
        ("lawyer", False),
        ("caseworker_special", True),
        ("volunteer_special", False),
        ("lawyer_special", True),
        ("coordinator", True),
        ("administrator", True),
    ],
)
def test_special_category_shown_only_with_the_capability(
    client, org, case, personas, persona, sees_special
):
    user = personas.get(persona) or _special_viewer(persona, org, case)
    client.force_login(user)

    page = client.get(reverse("casework:case_detail", args=[case.reference])).content
    # Hidden on the page for everyone: even permitted users reveal it with an explicit action.
    for marker in MARKERS:
        assert marker not in page
    reveal_url = reverse("casework:case_reveal", args=[case.reference]).encode()
    assert (reveal_url in page) == sees_special

    before = AccessEvent.objects.filter(action=AccessEvent.Action.REVEAL).count()
    response = client.post(reverse("casework:case_reveal", args=[case.reference]))
    revealed = AccessEvent.objects.filter(action=AccessEvent.Action.REVEAL).count() - before
    if sees_special:
        assert response.status_code == 200
        for marker in MARKERS:
            assert marker in response.content
        assert revealed == 1
    else:
        assert response.status_code == 403
        for marker in MARKERS:
            assert marker not in response.content
        assert revealed == 0


@pytest.mark.parametrize(
    ("persona", "sees_special"),
    [
        ("caseworker", False),
        ("volunteer", False),
        ("caseworker_special", True),
        ("volunteer_special", False),
        ("coordinator", True),
    ],
)
def test_special_category_fields_in_edit_form_only_with_the_capability(
    client, org, case, personas, persona, sees_special
):
    user = personas.get(persona) or _special_viewer(persona, org, case)
    client.force_login(user)

    response = client.get(reverse("casework:case_edit", args=[case.reference]))

    assert response.status_code == 200
    fields = response.context["client_form"].fields
    for name in Client.SPECIAL_CATEGORY_FIELDS:
        assert (name in fields) == sees_special
        assert (f'name="client-{name}"'.encode() in response.content) == sees_special
    for marker in MARKERS:
        assert (marker in response.content) == sees_special


@pytest.mark.parametrize("persona", ["caseworker", "volunteer"])
def test_editing_without_special_access_keeps_the_stored_special_fields(
    client, case, personas, persona
):
    client.force_login(personas[persona])
    data = edit_data(
        case,
        **{
            "client-languages": "Russian, Tatar",
            "client-orientation": "OVERWRITTEN",
            "client-criminal_case": "",
        },
    )

    response = client.post(reverse("casework:case_edit", args=[case.reference]), data)

    assert response.status_code == 302
    stored = Client.objects.get(pk=case.client_id)
    assert stored.languages == "Russian, Tatar"
    assert stored.orientation == "SPECIAL-ORIENTATION-MARKER"
    assert stored.criminal_case == "SPECIAL-CRIMINAL-MARKER"


def test_volunteer_cannot_be_granted_special_category():
    from casework.capabilities import SPECIAL_CATEGORY_GRANTABLE, Capability, capabilities_of

    assert "volunteer" not in SPECIAL_CATEGORY_GRANTABLE
    assert "auditor" not in SPECIAL_CATEGORY_GRANTABLE
    assert Capability.VIEW_SPECIAL_CATEGORY not in capabilities_of(
        "volunteer", special_category_access=True
    )


# --- documents: private storage, served only by the view --------------------------------------


def test_uploaded_document_downloads_as_attachment_identical_to_upload(
    client, case, personas, private_media
):
    content = PDF + b"% client passport scan\n"
    client.force_login(personas["caseworker"])

    response = client.post(
        reverse("casework:document_upload", args=[case.reference]),
        {"kind": "passport", "title": "Passport", "upload": pdf_upload("паспорт.pdf", content)},
    )

    assert response.status_code == 302
    document = Document.objects.get(case=case)
    assert document.content_type == "application/pdf"
    assert document.size == len(content)

    download = client.get(reverse("casework:document_download", args=[case.reference, document.pk]))

    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Content-Type"] == "application/pdf"
    assert body(download) == content
    assert CaseLogEntry.objects.filter(
        case=case, action=CaseLogEntry.Action.DOWNLOADED, actor=personas["caseworker"]
    ).exists()

    stored = Path(document.file.path).resolve()
    assert stored.is_relative_to(Path(django_settings.PRIVATE_MEDIA_ROOT).resolve())
    assert not stored.is_relative_to(Path(django_settings.STATIC_ROOT).resolve())
    assert stored.read_bytes() == content
    # The stored name reveals neither the client nor the original file name.
    assert "паспорт" not in document.file.name and ".pdf" not in document.file.name


def test_stored_document_is_served_by_no_other_url(client, world):
    client.force_login(world.personas["coordinator"])
    name = world.document.file.name

    storage_url = "/" + world.document.file.url.lstrip("/")
    for url in (storage_url, f"/media/{name}", f"/static/{name}", f"/private/{name}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert PDF not in body(response)


def test_configured_storage_keeps_documents_outside_the_web_roots():
    location = Path(django_settings.STORAGES["default"]["OPTIONS"]["location"]).resolve()
    static_root = Path(django_settings.STATIC_ROOT).resolve()
    assert location == Path(django_settings.PRIVATE_MEDIA_ROOT).resolve()
    assert django_settings.STORAGES["default"]["OPTIONS"]["base_url"] is None
    assert not location.is_relative_to(static_root)
    assert not static_root.is_relative_to(location)
    assert all(
        not Path(d).resolve().is_relative_to(location)
        and not location.is_relative_to(Path(d).resolve())
        for d in django_settings.STATICFILES_DIRS
    )


# --- headers --------------------------------------------------------------------------------


def _authenticated_requests(world):
    ref = world.case.reference
    return {
        "dashboard": ("get", reverse("casework:dashboard"), {}),
        "case_list": ("get", reverse("casework:case_list"), {}),
        "htmx": ("get", reverse("casework:case_list"), {"HTTP_HX_REQUEST": "true"}),
        "detail": ("get", reverse("casework:case_detail", args=[ref]), {}),
        "edit": ("get", reverse("casework:case_edit", args=[ref]), {}),
        "download": (
            "get",
            reverse("casework:document_download", args=[ref, world.document.pk]),
            {},
        ),
        "not_found": ("get", reverse("casework:case_detail", args=[MISSING_REFERENCE]), {}),
        "forbidden": ("get", reverse("casework:case_assign", args=[ref]), {}),
        "redirect": ("post", reverse("casework:note_add", args=[ref]), {}),
    }


PAGES = ["dashboard", "case_list", "detail", "edit"]
ALL_REQUESTS = [*PAGES, "htmx", "download", "not_found", "forbidden", "redirect"]


@pytest.mark.parametrize("request_name", ALL_REQUESTS)
def test_every_authenticated_response_is_no_store(client, world, request_name):
    client.force_login(world.personas["caseworker"])
    method, url, headers = _authenticated_requests(world)[request_name]
    data = {"body": "A note"} if method == "post" else {}

    response = getattr(client, method)(url, data, **headers)

    assert response.status_code in (200, 302, 403, 404)
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("request_name", PAGES)
def test_pages_carry_a_nonce_csp_without_unsafe_inline(client, world, request_name):
    client.force_login(world.personas["caseworker"])
    _method, url, headers = _authenticated_requests(world)[request_name]

    response = client.get(url, **headers)

    policy = response["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert any(v.startswith("'nonce-") for v in directives["script-src"])
    assert "'unsafe-inline'" not in policy
    nonce = next(v for v in directives["script-src"] if v.startswith("'nonce-"))[7:-1]
    assert f'nonce="{nonce}"'.encode() in response.content


def test_history_does_not_tell_a_volunteer_which_documents_or_sensitive_fields(
    client, case, caseworker, volunteer
):
    from casework.models import CaseLogEntry

    case.log(caseworker, CaseLogEntry.Action.DOCUMENT, "Court decision")
    case.log(caseworker, CaseLogEntry.Action.CLIENT_UPDATED, "Sexual orientation / gender identity")
    client.force_login(volunteer)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()
    assert "Court decision" not in page
    assert "Sexual orientation / gender identity" not in page
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_detail", args=[case.reference])).content.decode()
    assert "Court decision" in page
