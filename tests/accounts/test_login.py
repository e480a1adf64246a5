"""Two-step login: password (django-axes), then a TOTP or recovery code (django-otp)."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts import services
from accounts.models import RecoveryCode, TOTPDevice
from accounts.signals import username_hash
from casework.models import AccessEvent, Membership
from tests.accounts.helpers import (
    code_step,
    log_in,
    normalised,
    password_step,
    signed_in,
)
from tests.factories import PASSWORD, make_totp_device, make_user, totp_code

Action = AccessEvent.Action
pytestmark = pytest.mark.django_db


def test_password_alone_gives_no_access(client, user):
    make_totp_device(user=user)

    response = password_step(client, "alice")

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:verify")
    assert SESSION_KEY not in client.session
    response = client.get(reverse("casework:case_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_password_and_totp_code_log_in(client, user):
    response = log_in(client, user)

    assert response["Location"] == reverse("casework:dashboard")
    assert signed_in(client)
    assert AccessEvent.objects.filter(action=Action.LOGIN, user=user).count() == 1


def test_a_totp_code_is_accepted_only_once(client, user):
    device = make_totp_device(user=user)
    code = totp_code(device)
    password_step(client, "alice")
    assert code_step(client, code).status_code == 302
    client.post(reverse("logout"))

    password_step(client, "alice")
    response = code_step(client, code)

    assert response.status_code == 200
    assert "already been used" in response.content.decode()
    assert not signed_in(client)


def test_wrong_code_is_refused_and_logged(client, user):
    device = make_totp_device(user=user)
    password_step(client, "alice")

    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    response = code_step(client, wrong)

    assert response.status_code == 200
    assert not signed_in(client)
    entry = AccessEvent.objects.get(action=Action.LOGIN_FAILED)
    assert entry.user == user and entry.object_type == "second_factor"


def test_totp_tries_are_throttled(client, user):
    device = make_totp_device(user=user)
    password_step(client, "alice")
    code_step(client, "000000" if totp_code(device) != "000000" else "111111")

    # Right after a wrong code even the right one must wait (django-otp's throttling).
    response = code_step(client, totp_code(device))

    assert response.status_code == 200
    assert "wait a minute" in response.content.decode()
    assert not signed_in(client)


def test_a_recovery_code_works_once(client, user):
    make_totp_device(user=user)
    code = services.recovery_codes_create(user=user)[0]
    typed = services.format_recovery_code(code).upper()

    password_step(client, "alice")
    response = code_step(client, typed)
    assert response.status_code == 302
    assert signed_in(client)
    client.post(reverse("logout"))

    password_step(client, "alice")
    response = code_step(client, typed)

    assert response.status_code == 200
    assert not signed_in(client)
    assert RecoveryCode.objects.filter(device__user=user).count() == 9


def test_a_user_without_authenticator_enrols_after_the_password(client, user):
    response = password_step(client, "alice")
    assert response["Location"] == reverse("accounts:enrol")
    assert not signed_in(client)

    page = client.get(reverse("accounts:enrol"))
    assert page.status_code == 200
    assert page["Cache-Control"].count("no-store") == 1
    content = page.content.decode()
    assert 'src="data:image/svg+xml' in content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    secret = re.search(r'translate="no">([A-Z2-7 ]+)<', content).group(1).replace(" ", "")
    assert secret and secret in device.config_url
    # The same secret however often the page is shown.
    client.get(reverse("accounts:enrol"))
    assert TOTPDevice.objects.filter(user=user).count() == 1

    response = client.post(reverse("accounts:enrol"), {"code": totp_code(device)})

    assert response.status_code == 200
    codes = re.findall(r"user-select-all\">([a-z2-9]{5}-[a-z2-9]{5})<", response.content.decode())
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert signed_in(client)
    assert AccessEvent.objects.filter(
        action=Action.SECURITY, user=user, object_type="totp_device"
    ).exists()
    assert AccessEvent.objects.filter(action=Action.LOGIN, user=user).exists()

    # The codes shown are the recovery codes.
    client.post(reverse("logout"))
    password_step(client, "alice")
    assert code_step(client, codes[3]).status_code == 302


def test_enrolment_needs_one_right_code(client, user):
    password_step(client, "alice")
    client.get(reverse("accounts:enrol"))

    response = client.post(reverse("accounts:enrol"), {"code": "12345"})

    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert not signed_in(client)


def test_the_code_steps_need_the_password_step_first(client, user):
    make_totp_device(user=user)
    for name in ("accounts:verify", "accounts:enrol"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"] == reverse("login")


def test_the_password_step_expires(client, user, monkeypatch):
    from django.utils import timezone

    device = make_totp_device(user=user)
    password_step(client, "alice")
    later = timezone.now() + timezone.timedelta(minutes=6)
    monkeypatch.setattr(timezone, "now", lambda: later)

    response = code_step(client, totp_code(device))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert not signed_in(client)


def test_a_user_with_an_authenticator_cannot_enrol_another(client, user):
    make_totp_device(user=user)
    password_step(client, "alice")

    response = client.get(reverse("accounts:enrol"))

    assert response["Location"] == reverse("accounts:verify")
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_next_is_followed_after_the_code_but_only_on_this_site(client, user):
    response = client.get(reverse("casework:case_list"))
    assert response["Location"] == f"{reverse('login')}?next={reverse('casework:case_list')}"

    response = log_in(client, user, next_url=reverse("casework:case_list"))
    assert response["Location"] == reverse("casework:case_list")

    client.post(reverse("logout"))
    response = log_in(client, user, steps=1, next_url="https://evil.example.org/")
    assert response["Location"] == reverse("casework:dashboard")


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_a_failed_password_is_logged_without_the_username(client, user, username):
    response = password_step(client, username, password="wrong-password-123")

    assert response.status_code == 200
    entry = AccessEvent.objects.get(action=Action.LOGIN_FAILED)
    assert entry.user is None
    assert entry.object_type == "username_hash"
    assert entry.object_id == username_hash(username)
    assert username not in {entry.object_id, entry.path_name, entry.object_type}


def test_five_failures_lock_out_existing_and_unknown_usernames_alike(client, user):
    make_totp_device(user=user)
    answers = {}
    for username in ("alice", "nobody"):
        answers[username] = [
            password_step(client, username, password=f"wrong-{n}-password") for n in range(6)
        ]

    for n in range(6):
        alice, nobody = answers["alice"][n], answers["nobody"][n]
        assert alice.status_code == nobody.status_code == (200 if n < 4 else 429)
        assert normalised(alice, ("alice", "USERNAME")) == normalised(
            nobody, ("nobody", "USERNAME")
        )
    assert "Too many failed attempts" in answers["alice"][5].content.decode()

    # Locked out: the right password does not help for 30 minutes.
    response = password_step(client, "alice")
    assert response.status_code == 429
    assert "accounts_pending" not in client.session


def test_wrong_codes_count_towards_the_lockout(client, user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # only axes counts here
    device = make_totp_device(user=user)
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    password_step(client, "alice")
    for _ in range(4):
        assert code_step(client, wrong).status_code == 200

    response = code_step(client, wrong)

    assert response.status_code == 429
    assert code_step(client, totp_code(device))["Location"] == reverse("login")
    assert password_step(client, "alice").status_code == 429
    assert not signed_in(client)


def test_an_inactive_user_gets_the_generic_answer(client, user):
    make_totp_device(user=user)
    wrong = password_step(client, "alice", password="wrong-password-123")
    user.is_active = False
    user.save()

    inactive = password_step(client, "alice")

    assert inactive.status_code == wrong.status_code == 200
    assert normalised(inactive) == normalised(wrong)


def test_logging_out_ends_the_session_and_is_logged(client, user):
    log_in(client, user)

    response = client.post(reverse("logout"))

    assert response["Location"] == reverse("login")
    assert not signed_in(client)
    assert AccessEvent.objects.filter(action=Action.LOGOUT, user=user).exists()


def test_the_admin_needs_the_second_factor(client, org):
    admin = make_user(
        organisation=org,
        role=Membership.Role.ADMINISTRATOR,
        username="boss",
        is_staff=True,
        is_superuser=True,
    )
    make_totp_device(user=admin)

    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == f"{reverse('login')}?next=%2Fadmin%2F"

    # The password alone opens nothing in the admin either.
    password_step(client, "boss", next_url="/admin/")
    response = client.get("/admin/")
    assert response.status_code == 302

    response = code_step(client, totp_code(make_totp_device(user=admin)))
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_session_without_second_factor_is_ended(client, user):
    client.force_login(user)  # verified by the test helper…
    assert signed_in(client)
    TOTPDevice.objects.filter(user=user).delete()  # …by a device that no longer exists

    response = client.get(reverse("casework:case_list"))

    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_login_page_links_the_emergency_lock(client):
    response = client.get(reverse("login"))

    assert reverse("accounts:emergency_lock") in response.content.decode()


def test_test_client_login_is_verified_too(client, user):
    assert client.login(username="alice", password=PASSWORD)
    assert signed_in(client)


def test_lockout_records_hold_no_typed_username(client, user):
    from axes.models import AccessAttempt

    password_step(client, "alice", password="wrong-password-123")
    password_step(client, "typed-password-by-mistake", password="wrong-password-123")

    rows = list(AccessAttempt.objects.values("username", "post_data", "get_data"))
    assert len(rows) == 2
    for row in rows:
        assert "alice" not in str(row) and "typed-password" not in str(row)


def test_a_successful_login_clears_earlier_failures(client, user):
    for _ in range(4):
        password_step(client, "alice", password="wrong-password-123")
    log_in(client, user)
    client.post(reverse("logout"))

    for _ in range(4):
        assert password_step(client, "alice", password="wrong-password-123").status_code == 200


def test_an_unlock_also_lifts_a_lockout(client, user, org):
    from django.test import Client

    admin = make_user(
        organisation=org,
        role=Membership.Role.ADMINISTRATOR,
        username="boss",
        is_staff=True,
        is_superuser=True,
    )
    for _ in range(5):
        password_step(client, "alice", password="wrong-password-123")
    assert password_step(client, "alice").status_code == 429
    staff = Client()
    staff.force_login(admin)

    staff.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock", "_selected_action": [user.pk]},
    )

    log_in(client, user)
