"""The real login steps (password, then a code), which the tests here go through instead of
force_login()."""

import re

from django.urls import reverse

from tests.factories import PASSWORD, make_totp_device, totp_code


def password_step(client, username, password=PASSWORD, next_url=""):
    return client.post(
        reverse("login"), {"username": username, "password": password, "next": next_url}
    )


def code_step(client, code):
    return client.post(reverse("accounts:verify"), {"code": code})


def log_in(client, user, *, steps=0, next_url=""):
    """Both steps with the user's authenticator (created if missing); returns the last answer.
    `steps=1` gives the next code, for a second login of the same user within 30 s."""
    device = make_totp_device(user=user)
    response = password_step(client, user.username, next_url=next_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:verify")
    response = code_step(client, totp_code(device, steps=steps))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def signed_in(client) -> bool:
    """Whether the client gets a page only signed-in users get."""
    response = client.get(reverse("casework:case_list"))
    return response.status_code == 200


_VOLATILE = [
    re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"'),
    re.compile(rb'"X-CSRFToken": "[^"]+"'),
    re.compile(rb'nonce="[^"]+"'),
]


def normalised(response, *replace: tuple[str, str]) -> bytes:
    """The page without what differs on every request (CSRF token, CSP nonce)."""
    content = response.content
    for pattern in _VOLATILE:
        content = pattern.sub(b"", content)
    for old, new in replace:
        content = content.replace(old.encode(), new.encode())
    return content
