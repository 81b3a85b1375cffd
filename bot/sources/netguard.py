"""Which addresses a feed added in a chat may reach, and the resolver that holds it to them.

A public-only request is checked twice, at the two places an address can come from, and the
address checked is the address connected to:

- an IP literal in the URL (aiohttp never resolves those) by :func:`literal_address` and
  :func:`refusal` in the client's request hook, before anything is sent;
- a name, by :class:`PublicResolver`, the resolver of the connection pool that public-only
  requests go through: it answers the connector with the addresses it checked, and only
  those, so there is no second lookup for a DNS server to answer differently (rebinding).
"""

from __future__ import annotations

import ipaddress
import re
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from bot.errors import FetchError

__all__ = ["PublicResolver", "embedded_ipv4", "is_public", "literal_address", "refusal"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_COMPATIBLE = ipaddress.IPv6Network("::/96")
"""IPv4-compatible (::a.b.c.d), deprecated by RFC 4291: refused whatever it embeds."""
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix (RFC 6052): public only if the IPv4 address in it is."""
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
"""Local-use NAT64 (RFC 8215): not globally reachable; where the IPv4 address sits in it
depends on the operator's prefix length, so it is refused outright."""
_NUMERIC = re.compile(r"[0-9][0-9a-fA-FxX.]*")
"""What inet_aton might read as an IPv4 address: 2130706433, 0177.0.0.1, 127.1, 0x7f.1."""


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, in the forms that reach it: IPv4-mapped
    (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4
    (2002:aabb:ccdd::) and Teredo (the client's address, 2001::/32); None for any other."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):  # not :: nor ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Whether a feed added in a chat may connect to ``address``: globally reachable as
    :mod:`ipaddress` says, not multicast nor unspecified, and an IPv6 address that embeds an
    IPv4 address only if that one is public too (IPv4-compatible and local-use NAT64 never)."""
    if address.is_multicast or address.is_unspecified:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False  # an interface's scope: link-local by definition
        if address in _NAT64_LOCAL:
            return False
        inner = embedded_ipv4(address)
        if inner is not None:
            if address in _COMPATIBLE:
                return False
            # Python's own view of IPv4-mapped and NAT64 addresses changed between versions:
            # the embedded address is the one reached, so it decides (and the prefix too).
            return is_public(inner) and (
                address in _NAT64 or address.ipv4_mapped is not None or address.is_global
            )
    return address.is_global


def literal_address(host: str) -> Address | None:
    """The address a URL's host names without a lookup: an IPv4 or IPv6 literal, or a form
    that getaddrinfo reads as IPv4 without asking DNS (2130706433, 0177.0.0.1, 127.1,
    0x7f.1, a trailing dot); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    bare = host[:-1] if host.endswith(".") else host
    if _NUMERIC.fullmatch(bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def refusal(host: str, address: Address) -> FetchError:
    """The error for a public-only request that would reach ``address``."""
    inner = embedded_ipv4(address)
    shown = f"{address}, i.e. {inner}" if inner is not None else str(address)
    return FetchError(
        f"{host} is a loopback, private or link-local address ({shown}); "
        "feeds added in chats must be public (the config can allow it)",
        kind="refused",
    )


class PublicResolver(AbstractResolver):
    """aiohttp's resolver for the connection pool of public-only requests: ``inner``'s answer
    (aiohttp's threaded resolver, i.e. getaddrinfo, by default) is what the connector
    connects to, so it is checked here, all of it: a name with any non-public address among
    its addresses is refused (a name that mixes public and private answers is not a feed
    to trust), with the :func:`refusal` error, which reaches the caller unchanged."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self.inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self.inner.resolve(host, port, family)
        for answer in answers:
            try:
                address = ipaddress.ip_address(answer["host"])
            except ValueError:
                raise FetchError(
                    f"{host} resolved to {answer['host']!r}, which is not an IP address; "
                    "feeds added in chats must be public",
                    kind="refused",
                ) from None
            if not is_public(address):
                raise refusal(host, address)
        return answers

    async def close(self) -> None:
        await self.inner.close()
