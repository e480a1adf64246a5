"""Hypothesis drives every form with hostile input: never a 500, never a partial save.

Each example posts random values (huge, empty, control characters, NUL bytes, markup, other
scripts, dates that are not dates) for every field a form has. The answer must be a normal
page (re-rendered form, redirect, or refusal), and either everything the form saves was saved
or nothing was.
"""

import os

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.models import Consent
from tests.factories import make_case

pytestmark = pytest.mark.django_db

HOSTILE = st.one_of(
    st.text(max_size=60),
    # Over-long values: cheap to generate (one character repeated), far past every limit.
    st.builds(lambda ch, n: ch * n, st.characters(codec="utf-8"), st.integers(300, 60000)),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "abc\x00def",
            "<script>alert(1)</script>",
            "{{ settings.SECRET_KEY }}",
            "{% include '/etc/passwd' %}",
            "' OR 1=1 --",
            "2999-99-99",
            "-1",
            "99999999999999999999",
            "Зуганшин Рустам",
            "\u202eevil",
            "../../etc/passwd",
            "file:///etc/passwd",
            "1900-01-01",
        ]
    ),
)

# Every form: its URL (given a case and a letter), and the field names it posts.
FORMS = {
    "intake": (
        lambda c, letter: reverse("casework:case_create"),
        [
            "client-pseudonym",
            "client-birth_date",
            "client-birth_place",
            "client-languages",
            "client-current_city",
            "client-orientation",
            "names-0-family_name",
            "names-0-given_names",
            "names-0-kind",
            "names-0-script",
            "case-kind",
            "case-risk",
            "case-opened_at",
            "case-summary",
            "case-destination_country",
        ],
    ),
    "edit": (
        lambda c, letter: reverse("casework:case_edit", args=[c.reference]),
        ["client-pseudonym", "client-birth_date", "case-kind", "case-summary", "case-risk"],
    ),
    "note": (lambda c, letter: reverse("casework:note_add", args=[c.reference]), ["body"]),
    "event": (
        lambda c, letter: reverse("casework:event_add", args=[c.reference]),
        ["kind", "title", "date", "time", "location"],
    ),
    "relative": (
        lambda c, letter: reverse("casework:relative_add", args=[c.reference]),
        ["relation", "full_name", "birth_date", "location", "notes"],
    ),
    "status": (lambda c, letter: reverse("casework:case_status", args=[c.reference]), ["status"]),
    "assign": (lambda c, letter: reverse("casework:case_assign", args=[c.reference]), ["users"]),
    "share": (
        lambda c, letter: reverse("casework:referral_create", args=[c.reference]),
        ["lawyer", "message", "expires_on"],
    ),
    "case_list": (lambda c, letter: reverse("casework:case_list"), ["q", "status", "deadline"]),
    "letter_new": (
        lambda c, letter: reverse("letters:letter_new", args=[c.reference]),
        ["template", "authority"],
    ),
    "letter_text": (
        lambda c, letter: reverse("letters:letter_detail", args=[letter.pk]),
        ["subject", "body"],
    ),
    "register": (lambda c, letter: reverse("letters:register"), ["year", "authority"]),
    "batch": (lambda c, letter: reverse("letters:batch_new"), ["q", "batch-template", "start"]),
}
FORMS["intake"][1].extend(["names-TOTAL_FORMS", "names-INITIAL_FORMS"])  # management forms too

WATCHED = [
    "casework.Client",
    "casework.ClientName",
    "casework.Case",
    "casework.Note",
    "casework.Event",
    "casework.Relative",
    "casework.Document",
    "casework.Assignment",
    "casework.Share",
    "letters.Letter",
    "letters.Batch",
]


def counts():
    return {label: apps.get_model(label).objects.count() for label in WATCHED}


@pytest.fixture
def world(org, coordinator, caseworker):
    from letters import services
    from letters.models import LetterTemplate

    case = make_case(organisation=org, assignees=[caseworker])
    Consent.objects.get_or_create(case=case, purpose=Consent.Purpose.LETTERS)
    template = LetterTemplate.objects.create(
        name="Fuzz", kind="support", language="en", body="Dear {{ authority.name }},"
    )
    letter = services.letter_draft(
        case=case, template=template, authority=case.authority, by=caseworker
    )
    return case, letter


@pytest.mark.parametrize("form", list(FORMS))
def test_hostile_input_never_500_never_half_saved(client, coordinator, world, form):
    case, letter = world
    client.force_login(coordinator)
    url_of, fields = FORMS[form]
    url = url_of(case, letter)
    answers = []

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(values=st.fixed_dictionaries({name: HOSTILE for name in fields}))
    def run(values):
        before = counts()
        response = client.post(url, values)
        assert response.status_code in (200, 302, 400, 403, 404), response.status_code
        answers.append((response.status_code, response.get("Location", "")))
        after = counts()
        changed = {k for k in before if before[k] != after[k]}
        if response.status_code != 302:
            assert not changed, (form, changed)

    run()
    # The form itself was reached: no answer was a bounce to the login or two-factor pages.
    assert not [a for a in answers if "/accounts/" in a[1]], answers[:3]
    assert any(status == 200 for status, _location in answers) or form == "status"


def test_hostile_upload_never_500(client, coordinator, world):
    case, _letter = world
    client.force_login(coordinator)
    url = reverse("casework:document_upload", args=[case.reference])

    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(
        content=st.binary(max_size=5000),
        # Names a browser could send: SimpleUploadedFile itself refuses "/" or "..", as
        # Django's multipart parser never hands them to a view.
        name=st.text(min_size=1, max_size=300).filter(
            lambda n: "\x00" not in n and os.path.basename(n[:200]) not in {"", ".", ".."}
        ),
        title=HOSTILE,
    )
    def run(content, name, title):
        before = counts()
        upload = SimpleUploadedFile(name[:200] or "x", content)
        response = client.post(url, {"kind": "other", "title": title, "upload": upload})
        assert response.status_code in (200, 302, 400)
        if response.status_code != 302:
            assert counts() == before

    run()
