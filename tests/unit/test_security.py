"""Keys, personal-data masking and encryption, webhook signing and the outbound URL policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.security.keys import (
    api_key_prefix,
    derived_webhook_secret,
    hash_matches,
    new_api_key,
    new_webhook_secret,
)
from shared.security.pii import decrypt, encrypt, mask_name, mask_phone
from shared.security.urls import UrlRefused, check_webhook_url, parse_ports
from shared.webhooks import encode_body, signed_headers, verify


def test_api_key_is_stored_only_as_a_hash_and_found_by_prefix() -> None:
    key = new_api_key()
    assert key.secret.startswith(f"mk_{key.prefix}_")
    assert key.secret not in key.key_hash
    assert api_key_prefix(key.secret) == key.prefix
    assert hash_matches(key.secret, key.key_hash)
    assert not hash_matches(key.secret + "x", key.key_hash)
    assert api_key_prefix("Bearer nonsense") is None


def test_phone_and_name_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") is None
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"


@given(st.from_regex(r"[0-9]{7,15}", fullmatch=True))
def test_a_masked_phone_hides_at_least_four_digits(phone: str) -> None:
    # 7- and 8-digit local numbers are accepted; 3 + 4 visible digits would give them away.
    masked = mask_phone(phone)
    assert masked is not None and masked.endswith(phone[-2:])
    assert sum(ch != "*" for ch in masked) <= len(phone) - 4


def test_short_phone_numbers_keep_only_their_last_two_digits() -> None:
    assert mask_phone("6512345") == "*****45"
    assert mask_phone("65123456") == "******56"


@given(st.text(min_size=1, max_size=40))
def test_encryption_round_trips(value: str) -> None:
    assert decrypt(encrypt(value)) == value


def test_encryption_hides_the_phone_and_fails_closed_on_a_foreign_token() -> None:
    token = encrypt("13812345678")
    assert token is not None and b"13812345678" not in token and b"5678" not in token
    assert decrypt(b"not-a-fernet-token") is None
    assert decrypt(encrypt("13812345678", purpose="other")) is None


def test_signature_verifies_with_the_reference_library_and_detects_tampering() -> None:
    secret = new_webhook_secret()
    body = encode_body({"type": "case.received", "data": {"case_id": 1}})
    headers = signed_headers(secret, "msg_1", body, datetime.now(UTC))
    assert Webhook(secret).verify(body, headers)["type"] == "case.received"
    assert verify(secret, body, headers)["data"] == {"case_id": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"1", b"2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)


def test_internal_secrets_differ_per_service_and_master_key() -> None:
    assert derived_webhook_secret("a" * 32, "routing") != derived_webhook_secret("a" * 32, "supervision")
    assert derived_webhook_secret("a" * 32, "routing") != derived_webhook_secret("b" * 32, "routing")
    assert derived_webhook_secret("a" * 32, "routing") == derived_webhook_secret("a" * 32, "routing")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.1/hook",
        "http://172.16.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
        "http://user:pass@8.8.8.8/hook",
        "not a url",
    ],
)
def test_private_loopback_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_webhook_url(url, frozenset())


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 of 169.254.169.254
        "http://[64:ff9b:1::808:808]/hook",  # local-use NAT64: the operator's own network
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[2002:c0a8:101::1]/hook",  # 6to4 of 192.168.1.1
        "http://[::127.0.0.1]/hook",  # IPv4-compatible
        "http://[::ffff:0:7f00:1]/hook",  # SIIT-translated
    ],
)
def test_ipv6_forms_carrying_a_private_ipv4_address_are_refused(url: str) -> None:
    # A NAT64 or 6to4 gateway would carry the request on to the IPv4 address inside.
    with pytest.raises(UrlRefused):
        check_webhook_url(url, frozenset())


def test_public_addresses_and_allow_listed_hosts_pass() -> None:
    check_webhook_url("https://8.8.8.8/hook", frozenset())
    check_webhook_url("https://[2606:4700:4700::1111]/hook", frozenset())
    check_webhook_url("https://[64:ff9b::808:808]/hook", frozenset())
    check_webhook_url("http://127.0.0.1:9000/hook", frozenset({"127.0.0.1"}))
    check_webhook_url("http://localhost/hook", frozenset({"localhost"}))


def test_pinning_aims_at_the_checked_address_and_keeps_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.security import urls

    monkeypatch.setattr(urls, "_resolve", lambda host: ["93.184.216.34"] if host == "hooks.example" else [])
    pinned = urls.pin_webhook_url("https://hooks.example:8443/minyi?x=1", frozenset(), ports={8443})
    assert pinned == urls.PinnedTarget(
        url="https://93.184.216.34:8443/minyi?x=1",
        host_header="hooks.example:8443",
        sni_hostname="hooks.example",
    )
    plain = urls.pin_webhook_url("http://hooks.example/minyi", frozenset())
    assert (plain.url, plain.host_header, plain.sni_hostname) == (
        "http://93.184.216.34/minyi",
        "hooks.example",
        None,
    )
    # Allow-listed hosts and literal addresses go as they are.
    assert (
        urls.pin_webhook_url("http://127.0.0.1:9/x", frozenset({"127.0.0.1"})).url == "http://127.0.0.1:9/x"
    )
    assert urls.pin_webhook_url("http://8.8.8.8/x", frozenset()) == urls.PinnedTarget("http://8.8.8.8/x")
    with pytest.raises(urls.UrlRefused):
        urls.pin_webhook_url("http://hooks.example:99999/x", frozenset())


def test_only_ports_80_and_443_and_the_configured_ones_pass_unless_the_host_is_allow_listed() -> None:
    check_webhook_url("http://8.8.8.8:80/hook", frozenset())
    check_webhook_url("https://8.8.8.8:443/hook", frozenset())
    for url in ("https://8.8.8.8:8443/hook", "http://8.8.8.8:22/hook", "http://8.8.8.8:6379/"):
        with pytest.raises(UrlRefused) as refused:
            check_webhook_url(url, frozenset())
        assert str(refused.value) == "回调地址的端口只能是 80、443"
    check_webhook_url("https://8.8.8.8:8443/hook", frozenset(), ports=parse_ports("8443, 9443"))
    with pytest.raises(UrlRefused) as refused:
        check_webhook_url("https://8.8.8.8:22/hook", frozenset(), ports=parse_ports("9443,8443"))
    assert str(refused.value) == "回调地址的端口只能是 80、443、8443、9443"
    # Allow-listed hosts (our own services, local tests) keep any port.
    check_webhook_url("http://127.0.0.1:9000/hook", frozenset({"127.0.0.1"}))
    check_webhook_url("http://hooks.test:6379/hook", frozenset({"hooks.test"}))


def test_allowed_ports_setting_ignores_what_is_not_a_port() -> None:
    assert parse_ports("") == frozenset()
    assert parse_ports(" 8443 ,x, 0, 70000, -1, 9000") == frozenset({8443, 9000})


async def test_the_relay_refuses_a_port_before_looking_the_host_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.security import urls

    def no_lookup(host: str) -> list[str]:
        raise AssertionError("looked up")

    monkeypatch.setattr(urls, "_resolve", no_lookup)
    with pytest.raises(UrlRefused) as refused:
        await urls.pin_webhook_targets_async("https://hooks.example:8080/x", frozenset(), dns_seconds=1)
    assert str(refused.value) == "回调地址的端口只能是 80、443"
    monkeypatch.setattr(urls, "_resolve", lambda host: ["93.184.216.34"])
    (target,) = await urls.pin_webhook_targets_async(
        "https://hooks.example:8080/x", frozenset(), dns_seconds=1, ports={8080}
    )
    assert target.url == "https://93.184.216.34:8080/x"


@pytest.mark.parametrize("address", ["fec0::1", "fec0:1234::5", "feff:ffff::1"])
def test_ipv6_site_local_addresses_are_refused(address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Deprecated (RFC 3879) but still routed inside some networks; Python calls them global.
    with pytest.raises(UrlRefused) as refused:
        check_webhook_url(f"http://[{address}]/hook", frozenset())
    assert str(refused.value) == "回调地址不能指向本机、内网或链路本地地址"
    from shared.security import urls

    monkeypatch.setattr(urls, "_resolve", lambda host: ["2606:4700:4700::1111", address])
    with pytest.raises(UrlRefused):
        check_webhook_url("https://hooks.example/hook", frozenset())
