"""The address policy: only http(s) to public addresses, checked on every resolved address,
unless the operator allows private ones; some addresses are refused even then."""

from __future__ import annotations

import ipaddress
import re

import pytest

from modelport.webhooks.addresses import UrlRefused, checked_addresses, parse_webhook_url, system_resolver


def resolver_of(*addresses: str):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"a literal address must not be resolved ({host})")


def check(url: str, *, allow_private: bool = False, resolver=system_resolver):  # type: ignore[no-untyped-def]
    return checked_addresses(parse_webhook_url(url), allow_private=allow_private, resolver=resolver)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://127.8.9.10/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 written as one number
        ("http://[::1]/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fd12:3456::1]/", "unique-local"),
        ("http://100.64.0.1/", "non-global"),
        ("http://192.0.2.10/", "private"),  # documentation range
        ("http://[::ffff:127.0.0.1]/", "loopback (as 127.0.0.1)"),
        ("http://[::ffff:10.0.0.1]/", "private (as 10.0.0.1)"),
        ("http://[2002:7f00:1::]/", "loopback (as 127.0.0.1)"),  # 6to4
        ("http://[64:ff9b::a00:1]/", "private (as 10.0.0.1)"),  # NAT64
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://255.255.255.255/", "broadcast"),
    ],
)
def test_non_public_addresses_are_refused_and_named(url: str, kind: str) -> None:
    with pytest.raises(UrlRefused, match=rf"a {kind.replace('(', '[(]').replace(')', '[)]')} address"):
        check(url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "http://localhost/", "http://10.1.2.3/", "http://[fd00::1]/", "http://[fe80::1]/"],
)
def test_the_operator_may_allow_private_addresses(url: str) -> None:
    assert check(url, allow_private=True)


@pytest.mark.parametrize("url", ["http://0.0.0.0/", "http://224.0.0.1/", "http://255.255.255.255/"])
def test_no_receiver_can_listen_on_some_addresses_so_they_stay_refused(url: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check(url, allow_private=True)
    assert "MODELPORT_WEBHOOKS_ALLOW_PRIVATE" not in str(refused.value)


def test_a_public_address_is_accepted_without_asking_dns() -> None:
    assert check("https://93.184.216.34/hooks?token=x", resolver=no_dns) == (ipaddress.ip_address("93.184.216.34"),)
    assert check("https://[2606:4700::1111]/", resolver=no_dns) == (ipaddress.ip_address("2606:4700::1111"),)


def test_a_name_is_refused_if_any_of_its_addresses_is_not_public() -> None:
    with pytest.raises(UrlRefused, match=re.escape("hooks.example.com resolves to 10.0.0.7, a private address")):
        check("https://hooks.example.com/", resolver=resolver_of("93.184.216.34", "10.0.0.7"))
    assert check("https://hooks.example.com/", resolver=resolver_of("93.184.216.34", "2606:4700::1111"))


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def fails(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(UrlRefused, match="does not resolve"):
        check("https://nowhere.example/", resolver=fails)


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("ftp://93.184.216.34/", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://93.184.216.34/", "http:// or https://"),
        ("93.184.216.34/hook", "http:// or https://"),
        ("https://user:pw@93.184.216.34/", "user name or password"),
        ("https://93.184.216.34/#frag", "fragment"),
        ("https://93.184.216.34/a b", "spaces or control characters"),
        ("https://93.184.216.34/\r\nX-Injected: 1", "spaces or control characters"),
        ("https:///path", "no host"),
        ("https://93.184.216.34/" + "a" * 2100, "longer than"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url: str, needle: str) -> None:
    with pytest.raises(UrlRefused, match=needle):
        parse_webhook_url(url)


def test_the_request_keeps_the_name_in_host_and_goes_to_the_checked_address() -> None:
    url = parse_webhook_url("https://Hooks.Example.com:8443/in?x=1")
    assert (url.host, url.port, url.host_header, url.origin) == (
        "hooks.example.com",
        8443,
        "hooks.example.com:8443",
        "https://hooks.example.com:8443",
    )
    assert str(url.at(ipaddress.ip_address("93.184.216.34"))) == "https://93.184.216.34:8443/in?x=1"
    assert str(url.at(ipaddress.ip_address("2606:4700::1111"))) == "https://[2606:4700::1111]:8443/in?x=1"
    assert parse_webhook_url("http://[::1]/").host_header == "[::1]"
