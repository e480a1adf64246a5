"""The client's address, decided in one place for the access log, every rate limit and
django-axes.

Behind a reverse proxy REMOTE_ADDR is the proxy, and the client is in X-Forwarded-For, which
anyone can also send. So the header counts only when the request came from an address in
PRISTAN_TRUSTED_PROXIES, and then the client is the rightmost address in it that is not a
trusted proxy: each proxy appends the address it saw (or overwrites the header), so whatever the
client wrote stands to the left of that and is never taken. With no trusted proxies (the
default) the header is ignored and REMOTE_ADDR is the client; loopback is trusted only when
listed, like any other address."""

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and CIDR ranges ("10.0.0.5", "172.16.0.0/12", "::1"); ValueError names the
    first that is neither."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value)


@lru_cache(maxsize=4)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def _address(text: str) -> Address | None:
    """One address as a header or the server gives it: "203.0.113.7", "2001:db8::1",
    "[2001:db8::1]:443", "203.0.113.7:51234"; None for anything else ("unknown", empty)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_ip(request: HttpRequest | None) -> str | None:
    """The address of the client that sent `request`, or None if it cannot be told."""
    if request is None:
        return None
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    trusted = _trusted(tuple(settings.PRISTAN_TRUSTED_PROXIES))
    client = peer
    if not any(client in network for network in trusted):
        return str(client)
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage from a hop we cannot judge: keep the nearest known one
        client = address
        if not any(client in network for network in trusted):
            break
    return str(client)
