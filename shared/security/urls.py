"""Outbound URL policy for webhooks: public addresses on the usual ports only, unless the host is explicitly
allowed.

A URL passes when its scheme is http or https, it carries no user name or password, and, unless its host is
allow-listed (MINYI_WEBHOOK_ALLOW_HOSTS, which keeps any port), its port is 80, 443 or one of the extra ports
configured (MINYI_WEBHOOK_ALLOWED_PORTS) and every address its host resolves to is public.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

# IPv6 prefixes whose last 32 bits are an IPv4 address that a gateway (NAT64, SIIT) or the host would reach:
# the well-known NAT64 prefix, SIIT-translated, and the deprecated IPv4-compatible form.
_CARRY_IPV4 = tuple(ipaddress.IPv6Network(net) for net in ("64:ff9b::/96", "::ffff:0:0:0/96", "::/96"))
# Local-use NAT64 (RFC 8215) leads only into the operator's own network.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
# Deprecated IPv6 site-local addresses (RFC 3879): private in practice, yet Python counts them as global.
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
# Ports every URL may name; others only when configured (or for an allow-listed host).
STANDARD_PORTS = frozenset({80, 443})


class UrlRefused(ValueError):
    """The URL may not receive webhooks; ``str(exc)`` is a Chinese explanation."""


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _CARRY_IPV4):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64 or ip in _SITE_LOCAL:
            return False
        # Judged by the IPv4 address inside, where the packets would end up.
        ip = _carried_ipv4(ip) or ip
    return ip.is_global and not ip.is_multicast


# Lookups run on threads of their own: a resolver that hangs occupies one of these, never the event loop's
# default executor, and the caller stops waiting after its timeout.
_DNS_THREADS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="webhook-dns")


def parse_ports(value: str) -> frozenset[int]:
    """MINYI_WEBHOOK_ALLOWED_PORTS: comma-separated port numbers; anything that is not one is ignored."""
    ports = set()
    for item in value.split(","):
        item = item.strip()
        if item.isdigit() and 0 < int(item) < 65536:
            ports.add(int(item))
    return frozenset(ports)


def _ports_text(ports: Collection[int]) -> str:
    return "、".join(str(port) for port in sorted(STANDARD_PORTS | set(ports)))


def _shape(url: str, allow_hosts: frozenset[str]) -> tuple[SplitResult, bool]:
    """The URL's parts, checked for everything but its addresses; True when its host is allow-listed."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises ValueError for a port out of range or not a number)
    except ValueError as exc:
        raise UrlRefused("回调地址的端口无效") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("回调地址必须是 http 或 https 网址")
    if parts.username or parts.password:
        raise UrlRefused("回调地址不能包含用户名或密码")
    return parts, parts.hostname.lower() in allow_hosts


def _check_port(parts: SplitResult, ports: Collection[int]) -> None:
    if parts.port is not None and parts.port not in STANDARD_PORTS and parts.port not in ports:
        raise UrlRefused(f"回调地址的端口只能是 {_ports_text(ports)}")


def _checked(
    url: str,
    allow_hosts: frozenset[str],
    resolve: Callable[[str], list[str]] | None = None,
    *,
    ports: Collection[int] = (),
) -> tuple[SplitResult, list[str] | None]:
    """The URL's parts and the public addresses its host has; None for an allow-listed host."""
    parts, allowed = _shape(url, allow_hosts)
    if allowed:
        return parts, None
    host = (parts.hostname or "").lower()
    try:
        addresses = [host] if _is_ip(host) else (resolve or _resolve)(host)
    except OSError as exc:
        raise UrlRefused("无法解析回调地址的主机名") from exc
    if not addresses:
        raise UrlRefused("无法解析回调地址的主机名")
    for address in addresses:
        if not _is_public(address):
            raise UrlRefused("回调地址不能指向本机、内网或链路本地地址")
    _check_port(parts, ports)
    return parts, addresses


def check_webhook_url(url: str, allow_hosts: frozenset[str], *, ports: Collection[int] = ()) -> None:
    """Refuses anything but http(s) URLs on port 80, 443 or one of ``ports`` whose host resolves only to
    public addresses.

    ``allow_hosts`` (MINYI_WEBHOOK_ALLOW_HOSTS) names hosts or literal addresses exempt from the address and
    port checks; internal subscriptions and local demos use it.
    """
    _checked(url, allow_hosts, ports=ports)


@dataclass(frozen=True)
class PinnedTarget:
    """Where to send a webhook: the URL with the checked address in place of the host name, and the Host
    header and TLS server name that keep the request (and certificate check) about the original host."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


def pin_webhook_url(url: str, allow_hosts: frozenset[str], *, ports: Collection[int] = ()) -> PinnedTarget:
    """Checks the URL like ``check_webhook_url`` and aims it at the first address that passed, so a second
    DNS answer (rebinding) cannot send the request to a private address."""
    return pin_webhook_targets(url, allow_hosts, ports=ports)[0]


def pin_webhook_targets(
    url: str, allow_hosts: frozenset[str], *, ports: Collection[int] = ()
) -> list[PinnedTarget]:
    """``pin_webhook_url`` for each address the host has, to be tried in turn."""
    return _pinned_all(url, *_checked(url, allow_hosts, ports=ports))


async def pin_webhook_targets_async(
    url: str, allow_hosts: frozenset[str], *, dns_seconds: float, ports: Collection[int] = ()
) -> list[PinnedTarget]:
    """``pin_webhook_targets`` for the relay: the DNS lookup gives up after ``dns_seconds``."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or host in allow_hosts or _is_ip(host):
        return pin_webhook_targets(url, allow_hosts, ports=ports)
    _check_port(_shape(url, allow_hosts)[0], ports)  # a URL refused for its port costs no DNS lookup
    loop = asyncio.get_running_loop()
    try:
        # _resolve is looked up now, so tests that replace it are honoured.
        addresses = await asyncio.wait_for(loop.run_in_executor(_DNS_THREADS, _resolve, host), dns_seconds)
    except TimeoutError as exc:
        raise UrlRefused("解析回调地址的主机名超时") from exc
    except OSError as exc:
        raise UrlRefused("无法解析回调地址的主机名") from exc
    return _pinned_all(url, *_checked(url, allow_hosts, resolve=lambda _host: addresses, ports=ports))


def _pinned_all(url: str, parts: SplitResult, addresses: list[str] | None) -> list[PinnedTarget]:
    hostname = parts.hostname or ""
    if addresses is None or _is_ip(hostname):
        return [PinnedTarget(url)]
    return [_pinned(url, parts, address) for address in addresses]


def _pinned(url: str, parts: SplitResult, address: str) -> PinnedTarget:
    hostname = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port is not None else literal
    host_header = f"{hostname}:{parts.port}" if parts.port is not None else hostname
    return PinnedTarget(
        url=urlunsplit(parts._replace(netloc=netloc)),
        host_header=host_header,
        sni_hostname=hostname if parts.scheme == "https" else None,
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})
