"""The interface language follows the user's profile, then the browser."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_browser_language_without_a_profile_choice(client, caseworker):
    client.force_login(caseworker)
    page = client.get(reverse("casework:dashboard"), HTTP_ACCEPT_LANGUAGE="ru")
    assert page.headers["Content-Language"] == "ru"


def test_the_switch_saves_the_choice_in_the_profile_which_then_wins(client, caseworker):
    client.force_login(caseworker)
    client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    caseworker.refresh_from_db()
    assert caseworker.language == "ru"
    client.cookies.clear()
    client.force_login(caseworker)  # another device, an English browser
    page = client.get(reverse("casework:dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.headers["Content-Language"] == "ru"
