"""Which URLs may receive webhooks: http or https to a public address, checked when an endpoint
is added and again before every attempt (DNS can change in between), and the attempt then
connects to the very address that was checked.

An address is refused when it is loopback, link-local, private, unique-local, shared (CGNAT) or
otherwise not global, or when it embeds such an IPv4 address (IPv4-mapped or -compatible IPv6,
6to4, NAT64). MODELPORT_WEBHOOKS_ALLOW_PRIVATE=1 lifts that rule, for receivers on the operator's
own network; unspecified, multicast and broadcast addresses stay refused, since no receiver can
listen there. A host that resolves to several addresses is refused if any one of them is.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

MAX_URL_CHARS = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (as text); raises OSError when it does not resolve.
Resolver = Callable[[str, int], Sequence[str]]

_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_ALLOW_HINT = "; webhooks go only to public addresses unless the operator sets MODELPORT_WEBHOOKS_ALLOW_PRIVATE=1"


class UrlRefused(ValueError):
    """A webhook URL that may not be used; the message is a sentence for the person who gave it."""


@dataclass(frozen=True)
class WebhookUrl:
    text: str
    scheme: str
    host: str  # ASCII (IDNA) form, without brackets
    port: int
    literal: IPAddress | None  # the host, when it is an address rather than a name

    @property
    def host_header(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return shown if self.port == default else f"{shown}:{self.port}"

    def at(self, address: IPAddress) -> httpx.URL:
        """The same URL, aimed at `address` instead of the host name."""
        return httpx.URL(self.text).copy_with(host=str(address))

    @property
    def origin(self) -> str:
        """scheme://host:port, for logs: the path and query may carry the receiver's tokens."""
        return f"{self.scheme}://{self.host_header}"


def parse_webhook_url(raw: str) -> WebhookUrl:
    if len(raw) > MAX_URL_CHARS:
        raise UrlRefused(f"The webhook URL is longer than {MAX_URL_CHARS} characters.")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in raw):
        raise UrlRefused("The webhook URL contains spaces or control characters.")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError) as error:
        raise UrlRefused(f"The webhook URL is not a valid URL ({error}).") from None
    if url.scheme not in ("http", "https"):
        raise UrlRefused("The webhook URL must start with http:// or https://.")
    if not url.raw_host:
        raise UrlRefused("The webhook URL has no host.")
    if url.userinfo:
        raise UrlRefused("The webhook URL may not carry a user name or password; put credentials in the path.")
    if url.fragment:
        raise UrlRefused("The webhook URL may not have a #fragment (it is never sent to the receiver).")
    host = url.raw_host.decode("ascii").lower()
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    port = url.port or (443 if url.scheme == "https" else 80)
    return WebhookUrl(text=str(url), scheme=url.scheme, host=host, port=port, literal=literal)


def refused_kind(address: IPAddress, *, allow_private: bool) -> str | None:
    """What kind of address `address` is when webhooks may not go there, else None."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address == _BROADCAST:
        return "broadcast"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        kind = refused_kind(embedded, allow_private=allow_private)
        return None if kind is None else f"{kind} (as {embedded})"
    if allow_private:
        return None
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL:
        return "unique-local"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-global"
    return None


def checked_addresses(url: WebhookUrl, *, allow_private: bool, resolver: Resolver) -> tuple[IPAddress, ...]:
    """The addresses `url` may be delivered to, in the resolver's order; UrlRefused otherwise."""
    if url.literal is not None:
        addresses: tuple[IPAddress, ...] = (url.literal,)
    else:
        try:
            resolved = resolver(url.host, url.port)
        except (OSError, UnicodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise UrlRefused(f"The webhook URL's host {url.host} does not resolve ({reason}).") from None
        addresses = tuple(dict.fromkeys(ipaddress.ip_address(text.split("%", 1)[0]) for text in resolved))
        if not addresses:
            raise UrlRefused(f"The webhook URL's host {url.host} resolves to no address.")
    for address in addresses:
        kind = refused_kind(address, allow_private=allow_private)
        if kind is not None:
            where = f"{address} is" if url.literal is not None else f"{url.host} resolves to {address},"
            hint = "" if refused_kind(address, allow_private=True) else _ALLOW_HINT
            raise UrlRefused(f"The webhook URL's host {where} a {kind} address{hint}.")
    return addresses


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, where connecting to one reaches the other."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if (address in _IPV4_COMPATIBLE and not address.is_loopback) or any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None
