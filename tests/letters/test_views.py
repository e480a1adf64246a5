"""Every letters URL for every persona: letters are reached through their case's scope (404
outside it, or without the right to see letters at all), and a visible letter the user may not
act on is a 403 that changes nothing."""

from functools import cached_property

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from letters import services
from letters.models import Batch, DownloadLogEntry, Letter
from tests.factories import RUSSIAN_ORG_NAME
from tests.helpers import BODY_MARKER, PDF, approve, draft, store_stub_pdf

OK, FORBIDDEN, NOT_FOUND, DONE = 200, 403, 404, 302
PERSONAS = [
    "caseworker",
    "volunteer",
    "colleague",
    "lawyer",
    "lawyer_without_share",
    "lawyer_expired",
    "auditor",
    "outsider",
    "coordinator",
    "administrator",
]


class World:
    """The case, personas and one letter per stage, each made only when a test uses it."""

    def __init__(self, *, case, template, authority, personas, org):
        self.case, self.template, self.authority = case, template, authority
        self.personas, self.org = personas, org
        self.caseworker, self.coordinator = personas["caseworker"], personas["coordinator"]

    def _new(self) -> Letter:
        return draft(self.case, self.template, self.authority, self.caseworker)

    def _approved(self) -> Letter:
        return approve(self._new(), author=self.caseworker, approver=self.coordinator)

    def _issued(self) -> Letter:
        letter = self._approved()
        services.letter_issue(letter=letter, by=self.coordinator)  # rendering not run
        letter.refresh_from_db()
        return letter

    @cached_property
    def draft(self) -> Letter:
        return self._new()

    @cached_property
    def in_review(self) -> Letter:
        letter = self._new()
        services.letter_submit(letter=letter, by=self.caseworker)
        return letter

    @cached_property
    def approved(self) -> Letter:
        return self._approved()

    @cached_property
    def issued(self) -> Letter:
        return store_stub_pdf(self._issued())

    @cached_property
    def failed(self) -> Letter:
        letter = self._issued()
        Letter.objects.filter(pk=letter.pk).update(
            render_status=Letter.RenderStatus.FAILED, render_error="Rendering failed: OSError"
        )
        return letter

    @cached_property
    def batch(self) -> Batch:
        return Batch.objects.create(
            organisation=self.org,
            template=self.template,
            authority=self.authority,
            language="fr",
            case_ids=[self.case.pk],
            status=Batch.Status.FINISHED,
            created_by=self.coordinator,
        )


@pytest.fixture
def world(case, template_fr, ofpra, personas, org):
    return World(case=case, template=template_fr, authority=ofpra, personas=personas, org=org)


def status_of(letter) -> tuple:
    letter = Letter.objects.get(pk=letter.pk)
    return (letter.status, letter.render_status, letter.subject, letter.body, letter.number)


# name: (method, URL built from the world). EXPECTED below gives each persona's answer; the
# letter an action is about must change exactly when the answer is DONE (302 after a POST).
ROUTES = {
    "letter_new_get": ("get", lambda w: reverse("letters:letter_new", args=[w.case.reference])),
    "letter_new_post": ("post", lambda w: reverse("letters:letter_new", args=[w.case.reference])),
    "letter_detail": ("get", lambda w: reverse("letters:letter_detail", args=[w.draft.pk])),
    "letter_edit": ("post", lambda w: reverse("letters:letter_detail", args=[w.draft.pk])),
    "preview": ("get", lambda w: reverse("letters:letter_preview", args=[w.draft.pk])),
    "preview_pdf": ("get", lambda w: reverse("letters:letter_preview_pdf", args=[w.draft.pk])),
    "submit": ("post", lambda w: reverse("letters:letter_submit", args=[w.draft.pk])),
    "return": ("post", lambda w: reverse("letters:letter_return", args=[w.in_review.pk])),
    "approve": ("post", lambda w: reverse("letters:letter_approve", args=[w.in_review.pk])),
    "issue": ("post", lambda w: reverse("letters:letter_issue", args=[w.approved.pk])),
    "revoke": ("post", lambda w: reverse("letters:letter_revoke", args=[w.issued.pk])),
    "retry": ("post", lambda w: reverse("letters:letter_retry", args=[w.failed.pk])),
    "download": ("get", lambda w: reverse("letters:letter_download", args=[w.issued.pk])),
    "register": ("get", lambda w: reverse("letters:register")),
    "register_csv": ("get", lambda w: reverse("letters:register") + "?format=csv"),
    "batch_new": ("get", lambda w: reverse("letters:batch_new")),
    "batch_detail": ("get", lambda w: reverse("letters:batch_detail", args=[w.batch.pk])),
    "batch_zip": ("get", lambda w: reverse("letters:batch_zip", args=[w.batch.pk])),
    "batch_csv": ("get", lambda w: reverse("letters:batch_csv", args=[w.batch.pk])),
}

# What each persona gets. Letters follow the case scope; capabilities decide what can be done.
_OUT_OF_SCOPE = {  # no letter of `case` is visible; register/batches by capability
    "letter_new_get": NOT_FOUND,
    "letter_new_post": NOT_FOUND,
    **dict.fromkeys(
        ["letter_detail", "letter_edit", "preview", "preview_pdf", "submit", "return"],
        NOT_FOUND,
    ),
    **dict.fromkeys(["approve", "issue", "revoke", "retry", "download"], NOT_FOUND),
    "register": FORBIDDEN,
    "register_csv": FORBIDDEN,
    "batch_new": FORBIDDEN,
    **dict.fromkeys(["batch_detail", "batch_zip", "batch_csv"], NOT_FOUND),
}
_MANAGER = {
    "letter_new_get": OK,
    "letter_new_post": DONE,
    "letter_detail": OK,
    "letter_edit": DONE,
    "preview": OK,
    "preview_pdf": OK,
    "submit": DONE,
    "return": DONE,
    "approve": DONE,
    "issue": DONE,
    "revoke": DONE,
    "retry": DONE,
    "download": OK,
    "register": OK,
    "register_csv": OK,
    "batch_new": OK,
    "batch_detail": OK,
    "batch_zip": OK,
    "batch_csv": OK,
}
EXPECTED = {
    "caseworker": {
        **_MANAGER,
        **dict.fromkeys(["approve", "issue", "revoke", "retry", "batch_new"], FORBIDDEN),
        **dict.fromkeys(["batch_detail", "batch_zip", "batch_csv"], NOT_FOUND),
    },
    # Assigned to the case, but volunteers may not see letters at all.
    "volunteer": {
        **_OUT_OF_SCOPE,
        "letter_new_get": FORBIDDEN,
        "letter_new_post": FORBIDDEN,
    },
    "colleague": {**_OUT_OF_SCOPE, "register": OK, "register_csv": OK},
    # Read-only partner: sees and downloads, changes nothing.
    "lawyer": {
        **_OUT_OF_SCOPE,
        "letter_new_get": FORBIDDEN,
        "letter_new_post": FORBIDDEN,
        "letter_detail": OK,
        "letter_edit": FORBIDDEN,
        "preview": OK,
        "preview_pdf": OK,
        "download": OK,
        **dict.fromkeys(["submit", "return", "approve", "issue", "revoke", "retry"], FORBIDDEN),
    },
    "lawyer_without_share": _OUT_OF_SCOPE,
    "lawyer_expired": _OUT_OF_SCOPE,
    "auditor": _OUT_OF_SCOPE,
    # A coordinator of another organisation: their own register and batches, nothing of ours.
    "outsider": {**_OUT_OF_SCOPE, "register": OK, "register_csv": OK, "batch_new": OK},
    "coordinator": _MANAGER,
    "administrator": _MANAGER,
}

POST_DATA = {
    "letter_new_post": lambda w: {"template": w.template.pk, "authority": w.authority.pk},
    "letter_edit": lambda w: {"subject": "Objet modifié", "body": "Texte modifié."},
    "revoke": lambda w: {"reason": "Issued by mistake"},
    # The hash of the text the approver was shown (hidden field of the letter page).
    "approve": lambda w: {"text_hash": w.in_review.text_hash},
}

# After a successful POST (DONE), the letter it was about is in this state; otherwise unchanged.
ACTION_LETTER = {
    "letter_edit": ("draft", lambda letter: letter.body == "Texte modifié."),
    "submit": ("draft", lambda letter: letter.status == Letter.Status.IN_REVIEW),
    "return": ("in_review", lambda letter: letter.status == Letter.Status.DRAFT),
    "approve": ("in_review", lambda letter: letter.status == Letter.Status.APPROVED),
    "issue": ("approved", lambda letter: letter.status == Letter.Status.ISSUED and letter.number),
    "revoke": ("issued", lambda letter: letter.status == Letter.Status.REVOKED),
    "retry": ("failed", lambda letter: letter.render_status == Letter.RenderStatus.PENDING),
}


def test_expected_table_is_complete():
    assert set(EXPECTED) == set(PERSONAS)
    for persona, table in EXPECTED.items():
        assert set(table) == set(ROUTES), persona


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_persona_matrix(client, world, persona, route):
    method, url = ROUTES[route][0], ROUTES[route][1](world)
    expected = EXPECTED[persona][route]
    letter = None
    if route in ACTION_LETTER:
        letter = getattr(world, ACTION_LETTER[route][0])
    before = status_of(letter) if letter else None
    letters_before = Letter.objects.count()

    client.force_login(world.personas[persona])
    if method == "get":
        response = client.get(url)
    else:
        data = POST_DATA.get(route, lambda w: {})(world)
        response = client.post(url, data)

    assert response.status_code == expected, (persona, route, response.status_code)
    if expected == DONE:
        assert response["Location"].startswith("/letters/")
        if letter is not None:
            assert ACTION_LETTER[route][1](Letter.objects.get(pk=letter.pk)), (persona, route)
            messages = [m.level_tag for m in get_messages(response.wsgi_request)]
            assert messages == ["success"], messages
    elif letter is not None:
        assert status_of(letter) == before, (persona, route)
    if route == "letter_new_post":
        assert Letter.objects.count() == letters_before + (1 if expected == DONE else 0)
    if route == "download" and expected != OK:
        assert not DownloadLogEntry.objects.exists()


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_is_sent_to_login(client, world, route):
    method, url = ROUTES[route][0], ROUTES[route][1](world)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_missing_letter_is_404_like_an_invisible_one(client, coordinator, world):
    client.force_login(coordinator)
    for name in ("letter_detail", "letter_preview", "letter_download"):
        assert client.get(reverse(f"letters:{name}", args=[999999])).status_code == 404
    assert client.get(reverse("letters:letter_new", args=["2099-9999"])).status_code == 404


def test_lawyer_sees_letter_but_no_edit_form_or_buttons(client, world, lawyer):
    client.force_login(lawyer)
    response = client.get(reverse("letters:letter_detail", args=[world.draft.pk]))
    assert response.status_code == 200
    assert BODY_MARKER in response.text
    assert reverse("letters:letter_submit", args=[world.draft.pk]) not in response.text
    assert 'name="body"' not in response.text


# --- the review workflow ------------------------------------------------------------------------


@pytest.fixture
def own_letter(case, template_fr, ofpra, coordinator):
    """A letter written and submitted by the coordinator, who could otherwise approve it."""
    letter = draft(case, template_fr, ofpra, coordinator)
    services.letter_submit(letter=letter, by=coordinator)
    return letter


def test_author_cannot_approve_their_own_letter(client, own_letter, coordinator):
    client.force_login(coordinator)
    response = client.post(
        reverse("letters:letter_approve", args=[own_letter.pk]),
        {"text_hash": own_letter.text_hash},
        follow=True,
    )
    assert response.status_code == 200
    assert "The author of a letter cannot approve it" in response.text
    own_letter.refresh_from_db()
    assert own_letter.status == Letter.Status.IN_REVIEW
    assert own_letter.approved_by is None


def test_author_may_approve_when_the_two_person_rule_is_off(
    client, own_letter, coordinator, settings
):
    settings.LETTERS_TWO_PERSON_RULE = False
    client.force_login(coordinator)
    response = client.post(
        reverse("letters:letter_approve", args=[own_letter.pk]),
        {"text_hash": own_letter.text_hash},
    )
    assert response.status_code == 302
    own_letter.refresh_from_db()
    assert own_letter.status == Letter.Status.APPROVED
    assert own_letter.approved_by == coordinator


def test_another_coordinator_may_approve(client, own_letter, org):
    from tests.factories import make_user

    second = make_user(organisation=org, role="coordinator", username="second")
    client.force_login(second)
    client.post(
        reverse("letters:letter_approve", args=[own_letter.pk]), {"text_hash": own_letter.text_hash}
    )
    own_letter.refresh_from_db()
    assert own_letter.status == Letter.Status.APPROVED
    assert own_letter.approved_by == second


def test_editing_an_in_review_letter_sends_it_back_to_draft(client, in_review_letter, caseworker):
    client.force_login(caseworker)
    response = client.post(
        reverse("letters:letter_detail", args=[in_review_letter.pk]),
        {"subject": "Objet", "body": "Un texte corrigé."},
    )
    assert response.status_code == 302
    in_review_letter.refresh_from_db()
    assert in_review_letter.status == Letter.Status.DRAFT
    assert in_review_letter.body == "Un texte corrigé."


@pytest.mark.parametrize("stage", ["approved_letter", "issued_stub_letter"])
def test_approved_or_issued_letter_cannot_be_edited(client, request, stage, caseworker):
    letter = request.getfixturevalue(stage)
    before = status_of(letter)
    client.force_login(caseworker)
    response = client.post(
        reverse("letters:letter_detail", args=[letter.pk]),
        {"subject": "Objet", "body": "Falsifié."},
    )
    assert response.status_code == 403
    assert status_of(letter) == before
    with pytest.raises(Exception, match="no longer be edited"):
        services.letter_update_text(letter=letter, subject="x", body="y", by=caseworker)


def test_revoke_needs_a_reason(client, issued_stub_letter, coordinator):
    client.force_login(coordinator)
    response = client.post(
        reverse("letters:letter_revoke", args=[issued_stub_letter.pk]), {"reason": ""}, follow=True
    )
    assert "Give a reason" in response.text
    issued_stub_letter.refresh_from_db()
    assert issued_stub_letter.status == Letter.Status.ISSUED


def test_issue_through_the_view_takes_a_number(client, approved_letter, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("letters:letter_issue", args=[approved_letter.pk]), follow=True)
    approved_letter.refresh_from_db()
    assert approved_letter.status == Letter.Status.ISSUED
    assert approved_letter.number in response.text


# --- preview and download -----------------------------------------------------------------------


def test_html_preview_shows_the_text(client, draft_letter, caseworker):
    client.force_login(caseworker)
    response = client.get(reverse("letters:letter_preview", args=[draft_letter.pk]))
    assert response.status_code == 200
    assert BODY_MARKER in response.text
    assert RUSSIAN_ORG_NAME in response.text
    assert "PROJET" in response.text  # marked as a draft


def test_preview_escapes_markup_in_the_text(client, draft_letter, caseworker):
    services.letter_update_text(
        letter=draft_letter,
        subject="<b>Objet</b>",
        body='<script>alert("x")</script>\n\n<img src="file:///etc/passwd">',
        by=caseworker,
    )
    client.force_login(caseworker)
    page = client.get(reverse("letters:letter_preview", args=[draft_letter.pk])).text
    assert "<script>alert" not in page and '<img src="file:' not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;Objet" in page


def test_preview_pdf_is_a_pdf(client, draft_letter, caseworker):
    client.force_login(caseworker)
    response = client.get(reverse("letters:letter_preview_pdf", args=[draft_letter.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_no_draft_pdf_of_an_issued_letter(client, issued_stub_letter, caseworker):
    client.force_login(caseworker)
    response = client.get(reverse("letters:letter_preview_pdf", args=[issued_stub_letter.pk]))
    assert response.status_code == 404


def test_download_is_an_attachment_and_is_logged(client, issued_stub_letter, lawyer):
    client.force_login(lawyer)
    response = client.get(reverse("letters:letter_download", args=[issued_stub_letter.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert issued_stub_letter.number.replace("/", "-") in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF
    entry = DownloadLogEntry.objects.get()
    assert (entry.letter, entry.user) == (issued_stub_letter, lawyer)


def test_download_of_a_real_pdf(client, issued_letter, caseworker):
    client.force_login(caseworker)
    response = client.get(reverse("letters:letter_download", args=[issued_letter.pk]))
    with issued_letter.pdf.open("rb") as f:
        assert b"".join(response.streaming_content) == f.read()
    assert DownloadLogEntry.objects.filter(letter=issued_letter, user=caseworker).count() == 1


def test_download_before_rendering_is_404(client, approved_letter, coordinator):
    services.letter_issue(letter=approved_letter, by=coordinator)  # render not run
    client.force_login(coordinator)
    response = client.get(reverse("letters:letter_download", args=[approved_letter.pk]))
    assert response.status_code == 404
    assert not DownloadLogEntry.objects.exists()
