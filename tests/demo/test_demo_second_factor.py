"""seed_demo gives every demo user an authenticator and recovery codes and prints them;
demo_totp prints a demo user's current code, with DEBUG only."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.models import RecoveryCode, TOTPDevice
from casework.models import Membership
from demo.data import STAFF
from tests.accounts.helpers import code_step, password_step, signed_in
from tests.factories import make_user
from tests.helpers import seed

# Demo documents go to a temporary folder, not to var/private.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]
PASSWORD = "demo-pass-2026"


def keys() -> dict[str, str]:
    return {d.user.username: d.key for d in TOTPDevice.objects.select_related("user")}


def test_every_demo_user_gets_an_authenticator_and_recovery_codes(settings):
    out = seed("--password", PASSWORD)

    for spec in STAFF:
        device = TOTPDevice.objects.get(user__username=spec.username)
        assert device.confirmed
        assert RecoveryCode.objects.filter(device__user__username=spec.username).count() == 10
        assert device.config_url in out
    assert out.count("otpauth://totp/Pristan%3A") == len(STAFF)

    # A newcomer logs in with what the command printed.
    printed = re.search(r"  caseworker\n    \S+\n    recovery codes: (\S+)", out).group(1)
    client = Client()
    password_step(client, "caseworker", password=PASSWORD)
    assert code_step(client, printed).status_code == 302
    assert signed_in(client)

    # Running it again keeps the authenticators; --password makes new ones.
    first = keys()
    again = seed()
    assert keys() == first
    assert "were kept" in again
    seed("--password", PASSWORD)
    renewed = keys()
    assert set(renewed) == set(first)
    assert all(renewed[name] != first[name] for name in first)


def test_demo_totp_prints_the_code_with_debug_only(settings):
    seed("--password", PASSWORD)
    settings.DEBUG = True
    out = StringIO()
    call_command("demo_totp", "volunteer", stdout=out)
    code = out.getvalue().strip()
    assert re.fullmatch(r"\d{6}", code)

    client = Client()
    password_step(client, "volunteer", password=PASSWORD)
    assert code_step(client, code).status_code == 302

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("demo_totp", "volunteer", stdout=StringIO())


def test_demo_totp_refuses_users_outside_the_demo(settings, org):
    make_user(organisation=org, role=Membership.Role.CASEWORKER, username="real")
    settings.DEBUG = True

    with pytest.raises(CommandError, match="demo organisation"):
        call_command("demo_totp", "real", stdout=StringIO())
