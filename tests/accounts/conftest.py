"""The people of the login tests: `user` (alice, a caseworker) and `admin_user` (boss, an
administrator with Django's model permissions), on top of the personas of tests/conftest.py."""

import pytest
from django.core.cache import cache

from casework.models import Membership
from tests.factories import make_user


@pytest.fixture(autouse=True)
def _empty_cache():
    """The emergency page counts requests in the cache (local memory, shared by the tests of
    one process)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(org):
    return make_user(organisation=org, role=Membership.Role.CASEWORKER, username="alice")


@pytest.fixture
def admin_user(org):
    """Replaces pytest-django's `admin_user` in tests/accounts."""
    return make_user(
        organisation=org,
        role=Membership.Role.ADMINISTRATOR,
        username="boss",
        is_staff=True,
        is_superuser=True,
    )
