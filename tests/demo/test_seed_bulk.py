"""`manage.py seed_bulk`: many fictional cases, consistent with what the app itself writes."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from casework.filters import CaseFilter
from casework.models import AccessEvent, Assignment, Case, ClientName, Organisation
from demo import bulk
from letters.models import Letter, Register

pytestmark = pytest.mark.django_db
User = get_user_model()
N = 200


@pytest.fixture
def seeded(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "core.storage.EncryptedFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": None},
        },
    }
    log_before = AccessEvent.objects.count()
    out = StringIO()
    call_command(
        "seed_bulk",
        "--allow-production",
        "--cases", str(N),
        "--caseworkers", "4",
        "--volunteers", "2",
        "--pdfs", "0",
        "--seed", "7",
        stdout=out,
    )  # fmt: skip
    return out.getvalue(), log_before


def test_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("seed_bulk", "--cases", "1", stdout=StringIO())


def test_adds_the_cases_and_prints_the_logins(seeded):
    out, _ = seeded
    org = Organisation.objects.get()
    assert org.cases.count() == N
    assert "bulk-coordinator" in out and "bulk-caseworker-004" in out
    assert "Password of the 7 new bulk users" in out


def test_names_are_searchable_in_both_scripts(seeded):
    coordinator = User.objects.get(username=bulk.COORDINATOR)
    scope = Case.objects.visible_to(coordinator)
    for case in Case.objects.order_by("pk")[:5]:
        names = {n.script: n for n in ClientName.objects.filter(client=case.client)}
        assert {"cyrl", "latn"} <= set(names)
        for script in ("cyrl", "latn"):
            query = f"{names[script].family_name} {names[script].given_names}"
            found = CaseFilter({"q": query}, queryset=scope).qs
            assert case in found, (script, query)


def test_encrypted_fields_read_back(seeded):
    case = Case.objects.select_related("client").first()
    assert case.summary and case.client.birth_date is not None
    assert case.client.birth_place
    assert not ClientName.objects.filter(family_name__startswith="З").exists()  # ciphertext


def test_register_numbers_are_gapless(seeded):
    registers = Register.objects.all()
    assert registers
    for register in registers:
        sequences = list(
            Letter.objects.filter(register=register)
            .order_by("sequence")
            .values_list("sequence", flat=True)
        )
        assert sequences == list(range(1, register.last_number + 1))
        issued = list(
            Letter.objects.filter(register=register)
            .order_by("sequence")
            .values_list("issued_at", flat=True)
        )
        assert issued == sorted(issued)  # numbers follow the issuing order
    assert not Letter.objects.filter(status=Letter.Status.ISSUED, number="").exists()
    assert not Letter.objects.filter(status=Letter.Status.DRAFT).exclude(number="").exists()


def test_access_scope(seeded):
    staff = bulk.bulk_staff(
        organisation=Organisation.objects.get(), caseworkers=4, volunteers=2, password="x"
    )
    assert not staff.created  # fetched again, not duplicated
    assert Case.objects.visible_to(staff.coordinator).count() == N
    seen = set()
    for user in staff.caseworkers + staff.volunteers:
        visible = set(Case.objects.visible_to(user).values_list("pk", flat=True))
        assert visible == set(Assignment.objects.filter(user=user).values_list("case", flat=True))
        assert 0 < len(visible) < N
        seen |= visible
    assert len(seen) == N
    # Every case has exactly one caseworker.
    per_case = (
        Assignment.objects.filter(user__in=staff.caseworkers)
        .values("case")
        .annotate(n=Count("pk"))
        .values_list("n", flat=True)
    )
    assert set(per_case) == {1}


def test_access_log_untouched(seeded):
    _, before = seeded
    assert AccessEvent.objects.count() == before


def test_runs_again_additively(seeded):
    call_command(
        "seed_bulk", "--allow-production", "--cases", "20", "--caseworkers", "4",
        "--volunteers", "2", "--pdfs", "0", stdout=StringIO(),
    )  # fmt: skip
    assert Case.objects.count() == N + 20
    for register in Register.objects.all():
        sequences = sorted(
            Letter.objects.filter(register=register).values_list("sequence", flat=True)
        )
        assert sequences == list(range(1, register.last_number + 1))
