"""The outgoing-letter register: issued and revoked letters with their facts, filterable, as a
page and a CSV, through the case scope and never with a client's name."""

import csv
import datetime
import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from letters import services
from letters.models import Batch, Letter, Register
from tests.helpers import approve, draft, store_stub_pdf

REGISTER = reverse("letters:register")
COLUMNS = ["number", "date", "case", "authority", "language", "signer", "status"]
YEAR = timezone.localdate().year


@pytest.fixture
def register_letters(
    org, case, other_case, template_fr, template_de, ofpra, bamf, caseworker, colleague,
    coordinator, monkeypatch,
):  # fmt: skip
    """Issued letters of `case` (OFPRA, BAMF) and of `other_case` (colleague's), one revoked,
    one from last year, plus a draft and an approved letter that are not in the register."""
    from letters.tasks import render_letters

    monkeypatch.setattr(render_letters, "delay", lambda *args, **kwargs: None)
    org.signers.update(name_latin="Maria Signer")

    def issued(case, template, authority, author):
        letter = draft(case, template, authority, author)
        approve(letter, author=author, approver=coordinator)
        services.letter_issue(letter=letter, by=coordinator)
        letter.refresh_from_db()
        return letter

    last_year = issued(case, template_fr, ofpra, caseworker)
    old_register = Register.objects.create(organisation=org, year=YEAR - 1, last_number=1)
    issued_at = timezone.make_aware(datetime.datetime(YEAR - 1, 6, 15, 10, 0))
    Letter.objects.filter(pk=last_year.pk).update(
        register=old_register, sequence=1, number=f"{YEAR - 1}/1", issued_at=issued_at
    )
    Register.objects.filter(organisation=org, year=YEAR).update(last_number=0)
    letters = {
        "last_year": Letter.objects.get(pk=last_year.pk),
        "ofpra": issued(case, template_fr, ofpra, caseworker),
        "bamf": issued(case, template_de, bamf, caseworker),
        "revoked": issued(case, template_fr, ofpra, caseworker),
        "other_case": issued(other_case, template_fr, ofpra, colleague),
        "draft": draft(case, template_fr, ofpra, caseworker),
        "approved": approve(
            draft(case, template_fr, ofpra, caseworker), author=caseworker, approver=coordinator
        ),
    }
    services.letter_revoke(letter=letters["revoked"], reason="mistake", by=coordinator)
    return {name: Letter.objects.get(pk=letter.pk) for name, letter in letters.items()}


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def names_in(case) -> list[str]:
    client = case.client
    values = [client.pseudonym]
    for name in client.names.all():
        values += [name.family_name, name.given_names]
    return values


def test_register_lists_issued_and_revoked_letters(client, coordinator, register_letters):
    client.force_login(coordinator)
    response = client.get(REGISTER)
    assert response.status_code == 200
    page = response.text
    for name in ("last_year", "ofpra", "bamf", "revoked", "other_case"):
        letter = register_letters[name]
        assert letter.number in page, name
        assert letter.case.reference in page
    assert f"{YEAR}/1" in page and f"{YEAR}/4" in page and f"{YEAR - 1}/1" in page
    for name in ("draft", "approved"):
        assert register_letters[name].number == ""
    assert page.count('class="font-monospace"><a href="/letters/') == 5
    assert "OFPRA" in page and "BAMF" in page
    assert "Maria Signer" in page
    assert "Revoked" in page and "Issued" in page
    assert ">fr<" in page and ">de<" in page


def test_register_csv_has_a_header_and_one_row_per_letter(client, coordinator, register_letters):
    client.force_login(coordinator)
    rows = csv_rows(client.get(REGISTER + "?format=csv"))
    assert rows[0] == COLUMNS
    by_number = {row[0]: row for row in rows[1:]}
    assert len(rows) - 1 == len(by_number) == 5
    bamf = register_letters["bamf"]
    assert by_number[bamf.number] == [
        bamf.number,
        timezone.localdate(bamf.issued_at).isoformat(),
        bamf.case.reference,
        "BAMF",
        "de",
        "Maria Signer",
        "issued",
    ]
    assert by_number[register_letters["revoked"].number][6] == "revoked"
    assert by_number[f"{YEAR - 1}/1"][1].startswith(str(YEAR - 1))


@pytest.mark.parametrize("fmt", ["", "?format=csv"])
def test_register_never_shows_client_names(client, coordinator, register_letters, fmt):
    client.force_login(coordinator)
    text = client.get(REGISTER + fmt).content.decode()
    for name in ("ofpra", "other_case"):
        for value in names_in(register_letters[name].case):
            assert value not in text, value
    for value in ("Zuganshin", "Зуганшин", "Kuznetsova", "Кузнецова", "Falcon"):
        assert value not in text


def test_filter_by_year(client, coordinator, register_letters):
    client.force_login(coordinator)
    rows = csv_rows(client.get(REGISTER + f"?year={YEAR - 1}&format=csv"))
    assert [row[0] for row in rows[1:]] == [f"{YEAR - 1}/1"]
    page = client.get(REGISTER + f"?year={YEAR}").text
    assert f"{YEAR - 1}/1" not in page
    assert register_letters["bamf"].number in page


def test_filter_by_authority(client, coordinator, register_letters, bamf, ofpra):
    client.force_login(coordinator)
    rows = csv_rows(client.get(REGISTER + f"?authority={bamf.pk}&format=csv"))
    assert [row[0] for row in rows[1:]] == [register_letters["bamf"].number]
    rows = csv_rows(client.get(REGISTER + f"?authority={ofpra.pk}&year={YEAR}&format=csv"))
    assert sorted(row[0] for row in rows[1:]) == sorted(
        register_letters[name].number for name in ("ofpra", "revoked", "other_case")
    )


def test_invalid_filter_is_not_an_error(client, coordinator, register_letters):
    client.force_login(coordinator)
    assert client.get(REGISTER + "?year=abc&authority=zzz").status_code == 200


def test_caseworker_sees_only_rows_of_their_cases(client, caseworker, colleague, register_letters):
    client.force_login(caseworker)
    rows = csv_rows(client.get(REGISTER + "?format=csv"))
    mine = {register_letters[name].number for name in ("last_year", "ofpra", "bamf", "revoked")}
    assert {row[0] for row in rows[1:]} == mine
    page = client.get(REGISTER).text
    assert register_letters["other_case"].case.reference not in page

    client.force_login(colleague)
    rows = csv_rows(client.get(REGISTER + "?format=csv"))
    assert [row[0] for row in rows[1:]] == [register_letters["other_case"].number]


def test_coordinator_of_another_organisation_sees_none(client, outsider, register_letters):
    client.force_login(outsider)
    assert csv_rows(client.get(REGISTER + "?format=csv")) == [COLUMNS]
    page = client.get(REGISTER).text
    assert register_letters["ofpra"].case.reference not in page


@pytest.mark.parametrize("persona", ["volunteer", "auditor", "lawyer"])
@pytest.mark.parametrize("fmt", ["", "?format=csv"])
def test_register_forbidden_without_the_capability(client, personas, persona, fmt):
    client.force_login(personas[persona])
    assert client.get(REGISTER + fmt).status_code == 403


def test_register_paginates(client, coordinator, case, template_fr, ofpra, caseworker, monkeypatch):
    from letters.tasks import render_letters

    monkeypatch.setattr(render_letters, "delay", lambda *args, **kwargs: None)
    letters = [draft(case, template_fr, ofpra, caseworker) for _ in range(51)]
    Letter.objects.filter(pk__in=[x.pk for x in letters]).update(
        status=Letter.Status.APPROVED,
        reviewed_hash=letters[0].text_hash,
        signer=case.organisation.signers.get(),
    )
    services.letters_issue(letters=letters, by=coordinator)
    client.force_login(coordinator)
    first = client.get(REGISTER).text
    second = client.get(REGISTER + "?page=2").text
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert len(csv_rows(client.get(REGISTER + "?format=csv"))) == 52


FORMULA = '=HYPERLINK("http://x","y")'


def test_a_formula_in_a_signer_name_is_neutralised_in_every_csv(
    client, org, case, template_fr, ofpra, caseworker, coordinator, auditor, monkeypatch
):
    """A spreadsheet opening the register, a batch's register (alone or in its ZIP) or the
    access log shows the signer's (or user's) `=HYPERLINK(…)` as text, not as a link."""
    from letters.tasks import render_letters

    monkeypatch.setattr(render_letters, "delay", lambda *args, **kwargs: None)
    org.signers.update(name_latin=FORMULA)
    coordinator.username = FORMULA  # what the access log writes of the user
    coordinator.save(update_fields=["username"])
    letter = approve(
        draft(case, template_fr, ofpra, caseworker), author=caseworker, approver=coordinator
    )
    services.letter_issue(letter=letter, by=coordinator)
    batch = Batch.objects.create(
        organisation=org,
        template=template_fr,
        authority=ofpra,
        language="fr",
        case_ids=[case.pk],
        status=Batch.Status.FINISHED,
        created_by=coordinator,
    )
    Letter.objects.filter(pk=letter.pk).update(batch=batch)
    store_stub_pdf(Letter.objects.get(pk=letter.pk))

    client.force_login(coordinator)
    register = csv_rows(client.get(REGISTER + "?format=csv"))
    batch_csv = csv_rows(client.get(reverse("letters:batch_csv", args=[batch.pk])))
    response = client.get(reverse("letters:batch_zip", args=[batch.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    zipped = list(csv.reader(io.StringIO(archive.read("register.csv").decode())))
    for rows in (register, batch_csv, zipped):
        assert rows[1][COLUMNS.index("signer")] == "'" + FORMULA

    client.force_login(auditor)
    response = client.get(reverse("casework:access_log_csv"))
    log = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    users = {row["user"] for row in log}
    assert "'" + FORMULA in users and FORMULA not in users


@pytest.mark.parametrize(
    "persona",
    ["caseworker", "colleague", "volunteer", "coordinator", "lawyer", "auditor", "outsider"],
)
def test_letters_visible_are_those_of_the_visible_cases(
    request, persona, register_letters, other_org, template_fr, ofpra
):
    """Letter.visible_to (a list of case ids for those who see their assigned cases) gives
    the letters of Case.visible_to, for every persona; an assignment left on a case of another
    organisation shows none of its letters."""
    from casework.models import Case
    from tests.factories import make_case

    user = request.getfixturevalue(persona)
    foreign = make_case(organisation=other_org, assignees=[user], pseudonym="Foreign")
    foreign_letter = draft(foreign, template_fr, ofpra, user)
    cases = Case.objects.visible_to(user)
    expected = set(Letter.objects.filter(case__in=cases).values_list("pk", flat=True))
    assert set(Letter.objects.visible_to(user).values_list("pk", flat=True)) == expected
    assert (foreign_letter.pk in expected) == (persona == "outsider")
