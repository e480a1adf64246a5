"""The client's address (core.net.client_ip): X-Forwarded-For only from PRISTAN_TRUSTED_PROXIES,
its rightmost untrusted address; used by the access log and django-axes alike."""

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from casework.models import AccessEvent
from core.net import client_ip, parse_networks

PROXY = "10.0.0.2"


def ip(remote: str, forwarded: str | None = None) -> str | None:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_headers(settings):
    settings.PRISTAN_TRUSTED_PROXIES = []

    assert ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    # Loopback is no longer trusted by itself, nor X-Real-IP from it.
    assert ip("127.0.0.1", "198.51.100.1") == "127.0.0.1"
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="198.51.100.1")
    assert client_ip(request) == "127.0.0.1"


def test_behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client(settings):
    settings.PRISTAN_TRUSTED_PROXIES = [PROXY]

    assert ip(PROXY, "198.51.100.1") == "198.51.100.1"
    # What the client wrote itself stands left of what the proxy appended: never taken.
    assert ip(PROXY, "192.0.2.66, 198.51.100.1") == "198.51.100.1"
    assert ip(PROXY, "unknown, 198.51.100.1") == "198.51.100.1"
    # A request from elsewhere cannot claim an address.
    assert ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    # The proxy's own requests (no header) are the proxy's.
    assert ip(PROXY) == PROXY


def test_a_chain_of_trusted_proxies_given_as_ranges(settings):
    settings.PRISTAN_TRUSTED_PROXIES = ["172.16.0.0/12", "2001:db8:1::/48"]

    assert ip("172.18.0.3", "198.51.100.1, 172.18.0.9") == "198.51.100.1"
    assert ip("2001:db8:1::5", "[2001:db8:2::7]:4711") == "2001:db8:2::7"
    assert ip("172.18.0.3", "198.51.100.1:51234") == "198.51.100.1"
    assert ip("::ffff:172.18.0.3", "::ffff:198.51.100.1") == "198.51.100.1"
    # Every hop trusted: the farthest one is as close to the client as can be told.
    assert ip("172.18.0.3", "172.20.0.1") == "172.20.0.1"


def test_no_usable_address_is_none(settings):
    settings.PRISTAN_TRUSTED_PROXIES = []

    assert client_ip(None) is None
    assert ip("") is None
    assert ip("not-an-address") is None


def test_a_setting_that_is_not_an_address_is_refused():
    assert parse_networks(["10.0.0.2", " 172.16.0.0/12"])
    with pytest.raises(ValueError, match="proxy.example.org"):
        parse_networks(["proxy.example.org"])


@pytest.mark.django_db
def test_the_access_log_and_axes_record_the_client_behind_the_proxy(client, settings):
    from tests.factories import make_organisation, make_user

    settings.PRISTAN_TRUSTED_PROXIES = [PROXY]
    make_user(organisation=make_organisation(), role="caseworker", username="alice")

    client.post(
        reverse("login"),
        {"username": "alice", "password": "wrong-password-123"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="192.0.2.66, 198.51.100.1",
    )

    failure = AccessEvent.objects.get(action=AccessEvent.Action.LOGIN_FAILED)
    assert failure.ip == "198.51.100.1"
    assert AccessAttempt.objects.get().ip_address == "198.51.100.1"
