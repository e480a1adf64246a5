"""Private by default: an anonymous request to every URL in the URLconf is refused (sent to the
login page), except the public views listed in one place, config.urls.PUBLIC_URL_NAMES."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from config.urls import PUBLIC_URL_NAMES

pytestmark = pytest.mark.django_db

SAMPLE_ARGS = {"reference": "2026-0001", "token": "x" * 22}


def walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            nested = f"{ns}:" if entry.namespace else ""
            yield from (
                (route, f"{nested}{name}" if name and entry.namespace else name, callback)
                for route, name, callback in walk(
                    entry.url_patterns, prefix + str(entry.pattern), ns
                )
            )
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name, entry.callback


def sample_path(route: str) -> str:
    path = re.sub(r"<int:\w+>", "1", route)
    path = re.sub(r"<(?:str:|slug:|path:)?(\w+)>", lambda m: SAMPLE_ARGS.get(m[1], "x"), path)
    # admin patterns are regular expressions
    path = path.replace("^", "").replace("$", "").replace("\\Z", "")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", "1", path)
    return "/" + path


def is_public(callback) -> bool:
    return getattr(callback, "login_required", True) is False


def all_views():
    return list(walk(get_resolver().url_patterns))


def test_every_public_view_is_listed_in_one_place():
    public = {name for _route, name, callback in all_views() if is_public(callback)}
    assert public == PUBLIC_URL_NAMES


def private_routes():
    # A pattern shadowed by an earlier public one (admin/logout/) is not reachable as itself.
    return [
        (route, name)
        for route, name, callback in all_views()
        if not is_public(callback) and not is_public(resolve(sample_path(route)).func)
    ]


@pytest.mark.parametrize(("route", "name"), private_routes())
def test_anonymous_requests_are_sent_to_the_login_page(client, route, name):
    path = sample_path(route)
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 302, (path, response.status_code)
        assert (
            response["Location"].startswith(reverse("login"))
            or "/admin/login/" in (response["Location"])
        ), (path, response["Location"])
