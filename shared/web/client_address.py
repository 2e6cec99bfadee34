"""The client's address for abuse limits: the peer's, or, only when the peer is a configured trusted proxy,
the nearest untrusted address in X-Forwarded-For. Anyone can send the header; believing it from any peer
would let a client pick a fresh address for every request."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.requests import HTTPConnection

from shared.settings import get_settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache
def trusted_networks(spec: str) -> tuple[IPNetwork, ...]:
    """MINYI_TRUSTED_PROXIES: comma-separated addresses or networks (``10.0.0.0/8, 127.0.0.1``)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def client_address(connection: HTTPConnection, trusted: tuple[IPNetwork, ...]) -> str:
    peer = connection.client.host if connection.client is not None else ""
    peer_ip = _ip(peer)
    if peer_ip is None or not _trusted(peer_ip, trusted):
        return peer or "unknown"
    forwarded = ",".join(connection.headers.getlist("x-forwarded-for"))
    # Read from the right: each trusted proxy appended the address it heard from; the first one not ours is
    # the client (what lies left of it the client may have written itself).
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        hop_ip = _ip(hop)
        if hop_ip is None:
            break
        if not _trusted(hop_ip, trusted):
            return str(hop_ip)
    return str(peer_ip)


def request_address(connection: HTTPConnection) -> str:
    """The client address of a request under the configured MINYI_TRUSTED_PROXIES."""
    return client_address(connection, trusted_networks(get_settings().trusted_proxies))
