"""Outbound URL policy for webhooks: public addresses only, unless the host is explicitly allowed."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UrlRefused(ValueError):
    """The URL may not receive webhooks; ``str(exc)`` is a Chinese explanation."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_webhook_url(url: str, allow_hosts: frozenset[str], *, resolve: bool = True) -> None:
    """Refuses anything but http(s) URLs whose host resolves only to public addresses.

    ``allow_hosts`` (MINYI_WEBHOOK_ALLOW_HOSTS) names hosts or literal addresses exempt from the address check;
    internal subscriptions and local demos use it.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("回调地址必须是 http 或 https 网址")
    if parts.username or parts.password:
        raise UrlRefused("回调地址不能包含用户名或密码")
    host = parts.hostname.lower()
    if host in allow_hosts:
        return
    try:
        addresses = [host] if _is_ip(host) else _resolve(host) if resolve else []
    except OSError as exc:
        raise UrlRefused("无法解析回调地址的主机名") from exc
    if not addresses and resolve:
        raise UrlRefused("无法解析回调地址的主机名")
    for address in addresses:
        if not _is_public(address):
            raise UrlRefused("回调地址不能指向本机、内网或链路本地地址")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})
