"""Emergency locks: a user locks their own account from a public page; an administrator locks
the whole organisation to administrators."""

import io

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import OrganisationLockdown
from casework.models import AccessEvent, Membership
from tests.accounts.helpers import log_in, normalised, password_step, signed_in
from tests.factories import make_user

Action = AccessEvent.Action
pytestmark = pytest.mark.django_db


def lock(client, username):
    return client.post(reverse("accounts:emergency_lock"), {"username": username, "confirm": "on"})


# --- A user's emergency lock --------------------------------------------------------------------


def test_the_emergency_page_is_public_and_linked_from_login(client):
    response = client.get(reverse("accounts:emergency_lock"))

    assert response.status_code == 200
    assert reverse("accounts:emergency_lock") in client.get(reverse("login")).content.decode()


def test_the_answer_is_the_same_whether_the_username_exists_or_not(client, user):
    existing = lock(client, "alice")
    unknown = lock(client, "nobody")

    assert existing.status_code == unknown.status_code == 200
    assert normalised(existing) == normalised(unknown)
    user.refresh_from_db()
    assert user.locked_at is not None
    entries = AccessEvent.objects.filter(action=Action.LOCKDOWN)
    assert [(e.user, e.object_type, e.object_id) for e in entries] == [(user, "user", str(user.pk))]


def test_locking_ends_every_session_without_a_code(user):
    stolen_laptop, borrowed_phone = Client(), Client()
    stolen_laptop.force_login(user)
    assert signed_in(stolen_laptop)

    lock(borrowed_phone, "alice")

    assert not signed_in(stolen_laptop)


def test_a_locked_user_cannot_log_in_and_gets_the_generic_answer(client, user):
    wrong_password = password_step(client, "alice", password="wrong-password-123")
    lock(client, "alice")

    right_password = password_step(client, "alice")

    assert right_password.status_code == wrong_password.status_code == 200
    assert normalised(right_password) == normalised(wrong_password)
    assert "accounts_pending" not in client.session


def test_a_lock_during_the_code_step_stops_the_login(client, user):
    from tests.accounts.helpers import code_step
    from tests.factories import make_totp_device, totp_code

    device = make_totp_device(user=user)
    password_step(client, "alice")
    lock(Client(), "alice")

    response = code_step(client, totp_code(device))

    assert response["Location"] == reverse("login")
    assert not signed_in(client)


def test_an_administrator_unlocks_in_the_admin(client, user, admin_user):
    lock(Client(), "alice")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock", "_selected_action": [user.pk]},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.locked_at is None
    assert AccessEvent.objects.filter(
        action=Action.SECURITY, user=admin_user, object_type="account_unlock"
    ).exists()
    log_in(Client(), user)


def test_the_confirmation_is_required(client, user):
    response = client.post(reverse("accounts:emergency_lock"), {"username": "alice"})

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.locked_at is None


def test_the_emergency_page_is_rate_limited(client, user):
    for n in range(10):
        assert lock(client, f"someone{n}").status_code == 200

    response = lock(client, "alice")

    assert response.status_code == 429
    user.refresh_from_db()
    assert user.locked_at is None


# --- Organisation lockdown ----------------------------------------------------------------------


def test_organisation_lockdown_shuts_out_everyone_but_administrators(
    user, admin_user, coordinator, other_org
):
    outsider = make_user(organisation=other_org, role=Membership.Role.CASEWORKER)
    admin, caseworker, coord, elsewhere = Client(), Client(), Client(), Client()
    for client, who in [(admin, admin_user), (caseworker, user), (coord, coordinator),
                        (elsewhere, outsider)]:  # fmt: skip
        client.force_login(who)

    response = admin.post(reverse("accounts:organisation_lockdown"), {"action": "lock"})

    assert response.status_code == 302
    assert OrganisationLockdown.objects.filter(organisation=user.membership.organisation).exists()
    refused = caseworker.get(reverse("casework:case_list"))
    assert refused.status_code == 403
    assert "locked down" in refused.content.decode()
    assert not signed_in(caseworker)  # logged out, not only refused
    assert not signed_in(coord)
    assert signed_in(admin)
    assert signed_in(elsewhere)
    entry = AccessEvent.objects.get(action=Action.LOCKDOWN)
    assert entry.user == admin_user and entry.object_type == "organisation"


def test_during_a_lockdown_members_cannot_log_in_but_administrators_can(client, user, admin_user):
    from tests.accounts.helpers import code_step
    from tests.factories import make_totp_device, totp_code

    OrganisationLockdown.objects.create(organisation=user.membership.organisation)
    device = make_totp_device(user=user)

    password_step(client, "alice")
    response = code_step(client, totp_code(device))

    assert response.status_code == 403
    assert "locked down" in response.content.decode()
    assert not signed_in(client)
    log_in(Client(), admin_user)


def test_a_member_without_authenticator_cannot_enrol_during_a_lockdown(client, user):
    OrganisationLockdown.objects.create(organisation=user.membership.organisation)

    password_step(client, "alice")
    response = client.get(reverse("accounts:enrol"))

    assert response.status_code == 403
    assert not signed_in(client)


def test_lifting_the_lockdown_lets_members_in_again(user, admin_user):
    admin, caseworker = Client(), Client()
    admin.force_login(admin_user)
    admin.post(reverse("accounts:organisation_lockdown"), {"action": "lock"})
    assert admin.get(reverse("accounts:organisation_lockdown")).status_code == 200

    admin.post(reverse("accounts:organisation_lockdown"), {"action": "lift"})

    assert not OrganisationLockdown.objects.exists()
    caseworker.force_login(user)
    assert signed_in(caseworker)


@pytest.mark.parametrize("persona", ["coordinator", "caseworker", "auditor"])
def test_only_administrators_reach_the_lockdown_page(client, personas, persona):
    client.force_login(personas[persona])

    assert client.get(reverse("accounts:organisation_lockdown")).status_code == 403
    assert (
        client.post(reverse("accounts:organisation_lockdown"), {"action": "lock"}).status_code
        == 403
    )
    assert not OrganisationLockdown.objects.exists()


# --- The lock cannot be turned against the organisation ------------------------------------------


def test_the_public_lock_is_refused_for_the_last_administrator(admin_user):
    """Locking the only administrator would leave nobody to unlock anyone: the public page ends
    their sessions (harmless, and what a stolen laptop needs) but they can log in again."""
    stolen_laptop, anyone = Client(), Client()
    stolen_laptop.force_login(admin_user)

    answer = lock(anyone, "boss")

    assert answer.status_code == 200
    assert normalised(answer) == normalised(lock(Client(), "nobody"))
    admin_user.refresh_from_db()
    assert admin_user.locked_at is None
    assert not signed_in(stolen_laptop)
    log_in(Client(), admin_user)
    entry = AccessEvent.objects.get(action=Action.LOCKDOWN)
    assert (entry.user, entry.object_type) == (admin_user, "sessions")


def test_an_administrator_with_an_active_colleague_is_locked(admin_user, org):
    colleague = make_user(organisation=org, role=Membership.Role.ADMINISTRATOR, username="deputy")

    lock(Client(), "boss")
    lock(Client(), "deputy")  # now the last one who can log in

    admin_user.refresh_from_db()
    colleague.refresh_from_db()
    assert admin_user.locked_at is not None
    assert colleague.locked_at is None


def test_a_deactivated_administrator_does_not_count(admin_user, org):
    make_user(organisation=org, role=Membership.Role.ADMINISTRATOR, is_active=False)

    lock(Client(), "boss")

    admin_user.refresh_from_db()
    assert admin_user.locked_at is None


def test_the_administrators_are_told_by_email(
    user, admin_user, org, other_org, mailoutbox, django_capture_on_commit_callbacks
):
    make_user(organisation=other_org, role=Membership.Role.ADMINISTRATOR, username="elsewhere")
    without_email = make_user(organisation=org, role=Membership.Role.ADMINISTRATOR)
    without_email.email = ""
    without_email.save()

    with django_capture_on_commit_callbacks(execute=True):
        lock(Client(), "alice")
    with django_capture_on_commit_callbacks(execute=True):
        lock(Client(), "alice")  # already locked: no second e-mail
        lock(Client(), "nobody")

    (mail,) = mailoutbox
    assert mail.to == [admin_user.email]
    assert "alice" in mail.subject and "locked" in mail.subject
    assert "Unlock" in mail.body
    assert f"/admin/accounts/user/{user.pk}/change/" in mail.body


def test_the_last_administrator_is_told_their_sessions_ended(
    admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    admin_user.language = "ru"
    admin_user.save()

    with django_capture_on_commit_callbacks(execute=True):
        lock(Client(), "boss")

    (mail,) = mailoutbox
    assert mail.to == [admin_user.email]
    assert "boss" in mail.subject
    assert "сеанс" in mail.subject  # in the administrator's language


def test_the_admin_lock_spares_the_last_administrator_too(client, user, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "lock", "_selected_action": [user.pk, admin_user.pk]},
        follow=True,
    )

    user.refresh_from_db()
    admin_user.refresh_from_db()
    assert user.locked_at is not None
    assert admin_user.locked_at is None
    assert "1 user is locked." in response.content.decode()


def test_unlock_account_command_unlocks_and_is_logged(user):
    from django.core.management import call_command

    lock(Client(), "alice")
    for _ in range(5):  # and a lockout after wrong passwords
        password_step(Client(), "alice", password="wrong-password-123")

    call_command("unlock_account", "alice", stdout=io.StringIO())

    user.refresh_from_db()
    assert user.locked_at is None
    entry = AccessEvent.objects.get(action=Action.SECURITY, object_type="account_unlock")
    assert (entry.user, entry.object_id, entry.ip) == (None, str(user.pk), None)
    log_in(Client(), user)


def test_unlock_account_command_names_an_unknown_username(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="nobody"):
        call_command("unlock_account", "nobody")


def test_the_emergency_limit_is_per_client_behind_the_proxy(user, settings):
    settings.PRISTAN_TRUSTED_PROXIES = ["10.0.0.2"]
    proxy = Client(REMOTE_ADDR="10.0.0.2")

    def lock_from(address, username):
        return proxy.post(
            reverse("accounts:emergency_lock"),
            {"username": username, "confirm": "on"},
            HTTP_X_FORWARDED_FOR=address,
        )

    for n in range(10):
        assert lock_from("198.51.100.1", f"someone{n}").status_code == 200
    assert lock_from("198.51.100.1", "alice").status_code == 429

    assert lock_from("198.51.100.2", "alice").status_code == 200
    user.refresh_from_db()
    assert user.locked_at is not None
