"""The user admin: who may see and change which accounts, and every change to what an account
may do (role, special-category access, superuser flag, permissions, password) as a SECURITY
entry in the access log."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from casework.models import AccessEvent, Membership
from tests.factories import make_org_administrator, make_user
from tests.helpers import admin_change_data

Action = AccessEvent.Action
Role = Membership.Role


@pytest.fixture
def org_admin(org):
    return make_org_administrator(organisation=org, username="orgadmin")


def _security(by) -> list[tuple[str, str]]:
    return list(
        AccessEvent.objects.filter(user=by, action=Action.SECURITY)
        .order_by("id")
        .values_list("object_type", "object_id")
    )


def _change_user(client, user, **changes):
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = {**admin_change_data(client.get(url)), **changes}
    return client.post(url, {k: v for k, v in data.items() if v is not None})


def test_role_change_in_the_admin_is_a_security_entry(client, org_admin, caseworker):
    client.force_login(org_admin)

    response = _change_user(client, caseworker, **{"membership-0-role": Role.COORDINATOR})

    assert response.status_code == 302
    caseworker.membership.refresh_from_db()
    assert caseworker.membership.role == Role.COORDINATOR
    assert _security(org_admin) == [("membership_role", str(caseworker.pk))]


def test_special_category_grant_and_permissions_are_security_entries(client, org_admin, caseworker):
    client.force_login(org_admin)
    group = Group.objects.create(name="Intake")

    response = _change_user(
        client,
        caseworker,
        **{"membership-0-special_category_access": "on", "groups": [str(group.pk)]},
    )

    assert response.status_code == 302
    assert _security(org_admin) == [
        ("user_groups", str(caseworker.pk)),
        ("membership_special_category_access", str(caseworker.pk)),
    ]


def test_superuser_flag_is_a_security_entry(client, superadmin, caseworker):
    client.force_login(superadmin)

    response = _change_user(client, caseworker, is_superuser="on")

    assert response.status_code == 302
    assert _security(superadmin) == [("user_is_superuser", str(caseworker.pk))]


def test_password_set_by_an_administrator_is_a_security_entry(client, org_admin, caseworker):
    client.force_login(org_admin)
    url = reverse("admin:auth_user_password_change", args=[caseworker.pk])
    new = "another-horse-battery-staple"

    response = client.post(url, {"password1": new, "password2": new, "usable_password": "true"})

    assert response.status_code == 302
    caseworker.refresh_from_db()
    assert caseworker.check_password(new)
    assert _security(org_admin) == [("user_password", str(caseworker.pk))]


def test_a_refused_password_is_no_security_entry(client, org_admin, caseworker):
    client.force_login(org_admin)
    url = reverse("admin:auth_user_password_change", args=[caseworker.pk])

    response = client.post(url, {"password1": "a", "password2": "b", "usable_password": "true"})

    assert response.status_code == 200
    assert _security(org_admin) == []


def test_adding_a_user_puts_them_in_the_administrators_organisation(client, org, org_admin):
    client.force_login(org_admin)
    url = reverse("admin:accounts_user_add")
    data = admin_change_data(client.get(url))
    password = "a-new-horse-battery-staple"
    data.update(
        {
            "username": "newcomer",
            "password1": password,
            "password2": password,
            "usable_password": "true",
            "membership-0-organisation": str(org.pk),
            "membership-0-role": Role.VOLUNTEER,
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302
    membership = Membership.objects.get(user__username="newcomer")
    assert (membership.organisation, membership.role) == (org, Role.VOLUNTEER)
    user_id = str(membership.user_id)
    assert _security(org_admin) == [("user_created", user_id), ("membership_created", user_id)]


def test_organisation_administrator_cannot_add_a_user_without_membership(client, org_admin):
    client.force_login(org_admin)
    url = reverse("admin:accounts_user_add")
    data = admin_change_data(client.get(url))
    password = "a-new-horse-battery-staple"
    data.update({"username": "loose", "password1": password, "password2": password})

    response = client.post(url, data)

    assert response.status_code == 200  # the form again, asking for the membership
    assert not Membership.objects.filter(user__username="loose").exists()
    assert _security(org_admin) == []


def test_users_without_membership_are_hidden_from_organisation_administrators(
    client, django_user_model, org_admin, superadmin, caseworker
):
    loose = django_user_model.objects.create_user(username="loose-account")
    changelist = reverse("admin:accounts_user_changelist")

    client.force_login(org_admin)
    assert b"loose-account" not in client.get(changelist).content
    assert b"caseworker" in client.get(changelist).content
    response = client.get(reverse("admin:accounts_user_change", args=[loose.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")

    client.force_login(superadmin)
    assert b"loose-account" in client.get(changelist).content


def test_users_of_another_organisation_are_hidden(client, org_admin, outsider):
    client.force_login(org_admin)
    assert b"outsider" not in client.get(reverse("admin:accounts_user_changelist")).content
    response = client.get(reverse("admin:accounts_user_change", args=[outsider.pk]))
    assert response.status_code == 302


def test_organisation_administrator_cannot_make_a_superuser(client, org_admin, caseworker):
    client.force_login(org_admin)

    response = _change_user(client, caseworker, is_superuser="on")

    assert response.status_code == 302
    caseworker.refresh_from_db()
    assert not caseworker.is_superuser
    assert _security(org_admin) == []


def test_organisation_administrator_cannot_change_a_superuser(client, org_admin, superadmin):
    client.force_login(org_admin)
    url = reverse("admin:auth_user_password_change", args=[superadmin.pk])
    new = "another-horse-battery-staple"

    response = client.post(url, {"password1": new, "password2": new, "usable_password": "true"})

    assert response.status_code == 403
    superadmin.refresh_from_db()
    assert not superadmin.check_password(new)


def test_groups_are_for_superusers(client, org_admin, superadmin):
    group = Group.objects.create(name="Intake")
    client.force_login(org_admin)
    assert client.get(reverse("admin:auth_group_add")).status_code == 403
    response = client.post(
        reverse("admin:auth_group_change", args=[group.pk]), {"name": "Everything"}
    )
    assert response.status_code == 403
    group.refresh_from_db()
    assert group.name == "Intake"

    client.force_login(superadmin)
    assert client.get(reverse("admin:auth_group_add")).status_code == 200


def test_deleting_a_user_is_a_security_entry(client, org_admin, org):
    leaving = make_user(organisation=org, role=Role.VOLUNTEER, username="leaving")
    client.force_login(org_admin)

    response = client.post(
        reverse("admin:accounts_user_delete", args=[leaving.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert _security(org_admin) == [("user_deleted", str(leaving.pk))]
