"""core.expressions.InIds: the same rows as `__in`, on SQLite and PostgreSQL."""

import pytest

from casework.models import Organisation
from core.expressions import InIds

pytestmark = pytest.mark.django_db


def test_in_ids_keeps_the_rows_whose_column_is_listed():
    orgs = [Organisation.objects.create(name=f"NGO {i}") for i in range(5)]
    wanted = [orgs[1].pk, orgs[3].pk, 10**12]  # and an id that does not exist
    rows = Organisation.objects.filter(InIds("pk", wanted)).order_by("pk")
    assert list(rows) == [orgs[1], orgs[3]]
    assert list(rows) == list(Organisation.objects.filter(pk__in=wanted).order_by("pk"))


def test_in_ids_of_nothing_keeps_nothing():
    Organisation.objects.create(name="NGO")
    assert not Organisation.objects.filter(InIds("pk", [])).exists()


def test_in_ids_refuses_what_is_not_a_number():
    with pytest.raises(ValueError):
        InIds("pk", ["1; DROP TABLE casework_case"])
