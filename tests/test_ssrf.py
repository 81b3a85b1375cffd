"""No feed added in a chat may reach a private address (feeds.py's request hook for literals,
netguard's resolver for names): not by DNS rebinding, not by an address written in one of the
forms that embed or abbreviate another, not on a redirect, not through page discovery. Feeds of
the config file still reach 127.0.0.1 in the same poll cycle, and the config can allow it all.

Only 127.0.0.1 is ever connected to: names are answered by injected resolvers (or a patched
getaddrinfo), and an attempt to connect elsewhere is recorded and refused by :func:`connects`
before any packet is sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.errors import FetchError
from bot.models import FeedConfig, FeedState
from bot.pipeline import Pipeline
from bot.sources.feeds import FeedTransport, HttpFeedSource, make_client
from bot.sources.netguard import PublicResolver, embedded_ipv4, is_public, literal_address
from bot.storage.sqlite import SQLiteStore
from tests.conftest import _real_getaddrinfo
from tests.factories import rss
from tests.feedserver import FeedServer, Route
from tests.test_pipeline import SHIPPED, TOPICS, Clock, Recorder

PUBLIC = "93.184.216.34"
"""A public address that is never reached: :class:`PublicFirstHop` carries requests for it to
the local server (as a hosts-file entry would), and :func:`connects` stops any other way."""
NAME = "feeds.example"
"""A name only the injected resolvers answer for (conftest fails any real lookup of it)."""
REFUSED = "is a loopback, private or link-local address"
FEED = rss([{"title": "Hello from loopback"}])


@pytest.fixture
def server() -> Iterator[FeedServer]:
    feeds = FeedServer()
    # A shorter poll than serve_forever's 0.5 s, which each shutdown would wait for.
    feeds.thread = threading.Thread(
        target=feeds.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    with feeds:
        feeds.routes["/feed.xml"] = Route(FEED)
        yield feeds


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Addresses something tried to connect to other than loopback: recorded and refused
    (ECONNREFUSED) before any packet leaves; loopback goes on to conftest's guard."""
    attempts: list[Any] = []
    guarded = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            attempts.append(address[:2])
            raise ConnectionRefusedError(111, "refused by the test")
        guarded(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


class Answers(AbstractResolver):
    """An inner resolver with scripted answers: the n-th lookup gets ``rounds[n]`` (the last
    one again after that); it counts its lookups."""

    def __init__(self, *rounds: list[str]) -> None:
        self.rounds = rounds
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        answer = self.rounds[min(len(self.lookups), len(self.rounds)) - 1]
        return [result(host, address, port) for address in answer]

    async def close(self) -> None:
        pass


def result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(hostname=host, host=address, port=port, family=family, proto=6, flags=0)


class PublicFirstHop(httpx.AsyncBaseTransport):
    """newsbot's transport (with ``resolver`` for public-only names), except that requests
    for :data:`PUBLIC` go to the local server: the request hook sees and checks the public
    address, the server's real redirect decides the next hop."""

    def __init__(self, port: int, resolver: AbstractResolver | None = None) -> None:
        self.port = port
        self.inner = FeedTransport(resolver=resolver)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == PUBLIC:
            request = httpx.Request(
                request.method,
                request.url.copy_with(host="127.0.0.1", port=self.port),
                headers=request.headers,
                stream=request.stream,
                extensions=request.extensions,
            )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def source(
    server: FeedServer, resolver: AbstractResolver | None = None, **kw: Any
) -> HttpFeedSource:
    transport = PublicFirstHop(server.httpd.server_address[1], resolver)
    return HttpFeedSource(make_client(5.0, "newsbot-test", transport), deadline=5.0, **kw)


async def fetch(src: HttpFeedSource, url: str, **feed: Any) -> Any:
    """The result of one fetch of ``url``, or the exception it raised; closes the client."""
    async with src.client:
        try:
            return await src.fetch(FeedConfig(url, **feed), FeedState(url))
        except Exception as exc:
            return exc


CHAT = {"added": True, "public_only": True}


def numeric_lookup(host: str) -> str:
    """What getaddrinfo makes of ``host`` without asking DNS (AI_NUMERICHOST), which is what
    it does with these forms anyway (conftest's guard would refuse the call by its name)."""
    infos = _real_getaddrinfo(host, 80, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    (address,) = {info[4][0] for info in infos}
    return str(address)


def port_of(server: FeedServer) -> int:
    return int(server.httpd.server_address[1])


# ---------------------------------------------------------------------- rebinding


async def test_a_rebinding_name_is_looked_up_once_and_connected_to_as_checked(
    server: FeedServer, connects: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DNS answers public first, 127.0.0.1 after (rebinding). Before, the request hook
    looked the name up (public: allowed) and the connection looked it up again (127.0.0.1:
    the server was reached). Now the one lookup is the connection's, and it connects to the
    address that was checked (refused here by :func:`connects`): the server sees nothing."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    lookups: list[str] = []

    async def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return await real(host, port, *args, **kwargs)
        lookups.append(host)
        address = PUBLIC if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    port = port_of(server)
    outcome = await fetch(source(server), f"http://{NAME}:{port}/feed.xml", **CHAT)
    assert isinstance(outcome, FetchError) and outcome.kind == "connect", outcome
    assert lookups == [NAME]
    assert connects == [(PUBLIC, port)]
    assert server.count("/feed.xml") == 0


async def test_the_guard_looks_up_once_and_refuses_a_loopback_answer(
    server: FeedServer, connects: list[Any]
) -> None:
    inner = Answers(["127.0.0.1"])
    port = port_of(server)
    outcome = await fetch(source(server, inner), f"http://{NAME}:{port}/feed.xml", **CHAT)
    assert isinstance(outcome, FetchError) and outcome.kind == "refused", outcome
    assert str(outcome) == (
        f"{NAME} is a loopback, private or link-local address (127.0.0.1); "
        "feeds added in chats must be public (the config can allow it)"
    )
    assert inner.lookups == [NAME]
    assert server.count("/feed.xml") == 0 and connects == []


async def test_the_guard_passes_a_public_answer_through_unchanged() -> None:
    for answer in ([PUBLIC], [PUBLIC, "2606:4700::1111"], ["64:ff9b::5db8:d822"]):
        inner = Answers(answer)
        got = await PublicResolver(inner).resolve(NAME, 443, socket.AF_UNSPEC)
        assert got == [result(NAME, a, 443) for a in answer]
        assert inner.lookups == [NAME]


@pytest.mark.parametrize(
    "answer",
    [
        [PUBLIC, "10.0.0.1"],
        ["127.0.0.1", PUBLIC],
        ["2606:4700::1111", "::ffff:127.0.0.1"],
        [PUBLIC, "fe80::1%eth0"],
    ],
)
async def test_a_name_with_one_private_address_among_public_ones_is_refused(
    server: FeedServer, connects: list[Any], answer: list[str]
) -> None:
    """Decision: refused whole (not trimmed to its public addresses): a name that mixes
    them is not a feed to trust, and the error says which address it was."""
    private = next(a for a in answer if not is_public(ipaddress.ip_address(a)))
    with pytest.raises(FetchError, match=REFUSED) as info:
        await PublicResolver(Answers(answer)).resolve(NAME, 80)
    assert f"({ipaddress.ip_address(private)}" in str(info.value)
    port = port_of(server)
    outcome = await fetch(source(server, Answers(answer)), f"http://{NAME}:{port}/feed.xml", **CHAT)
    assert isinstance(outcome, FetchError) and outcome.kind == "refused", outcome
    assert server.count("/feed.xml") == 0 and connects == []


async def test_a_name_is_refused_after_a_redirect_too(
    server: FeedServer, connects: list[Any]
) -> None:
    port = port_of(server)
    server.routes["/hop"] = Route(
        status=302, headers={"Location": f"http://{NAME}:{port}/feed.xml"}
    )
    inner = Answers(["127.0.0.1"])
    outcome = await fetch(source(server, inner), f"http://{PUBLIC}/hop", **CHAT)
    assert isinstance(outcome, FetchError) and outcome.kind == "refused", outcome
    assert f"{NAME} {REFUSED} (127.0.0.1)" in str(outcome)
    assert (server.count("/hop"), server.count("/feed.xml"), inner.lookups) == (1, 0, [NAME])
    assert connects == []


# ---------------------------------------------------------------------- literal forms

TEREDO = "2001:0:4136:e378:8000:63bf:80ff:fffe"
LITERALS = {  # host as written in the URL: the address it reaches (in the error)
    "127.0.0.1": "127.0.0.1",
    "10.1.2.3": "10.1.2.3",
    "169.254.169.254": "169.254.169.254",
    "100.64.0.1": "100.64.0.1",  # carrier-grade NAT
    "[::1]": "::1",
    "[fe80::1%25eth0]": "fe80::1%25eth0",
    "[fc00::1]": "fc00::1",
    "[::127.0.0.1]": "::7f00:1, i.e. 127.0.0.1",  # IPv4-compatible
    "[::ffff:127.0.0.1]": "::ffff:7f00:1, i.e. 127.0.0.1",  # IPv4-mapped
    "[::ffff:10.0.0.1]": "::ffff:a00:1, i.e. 10.0.0.1",
    "[64:ff9b::7f00:1]": "64:ff9b::7f00:1, i.e. 127.0.0.1",  # NAT64
    "[64:ff9b::a9fe:a9fe]": "64:ff9b::a9fe:a9fe, i.e. 169.254.169.254",
    "[64:ff9b:1::5db8:d822]": "64:ff9b:1::5db8:d822",  # local-use NAT64
    "[2002:7f00:1::]": "2002:7f00:1::, i.e. 127.0.0.1",  # 6to4
    "[2002:a00:1::1]": "2002:a00:1::1, i.e. 10.0.0.1",
    f"[{TEREDO}]": f"{TEREDO}, i.e. 127.0.0.1",  # Teredo (the client's address)
    "224.0.0.1": "224.0.0.1",  # multicast
    "239.255.255.250": "239.255.255.250",
    "[ff02::1]": "ff02::1",
    "[ff0e::1]": "ff0e::1",  # global-scope multicast, which ipaddress calls global
    "0.0.0.0": "0.0.0.0",  # unspecified
    "[::]": "::",
    "2130706433": "127.0.0.1",  # decimal
    "0x7f000001": "127.0.0.1",  # hexadecimal
    "0x7f.1": "127.0.0.1",
    "127.1": "127.0.0.1",  # short
    "127.0.0.1.": "127.0.0.1",  # trailing dot
    "0": "0.0.0.0",
}


@pytest.mark.parametrize("host", list(LITERALS))
async def test_every_private_literal_form_is_refused_before_anything_is_sent(
    server: FeedServer, connects: list[Any], host: str
) -> None:
    url = f"http://{host}:{port_of(server)}/feed.xml"
    outcome = await fetch(source(server), url, **CHAT)
    assert isinstance(outcome, FetchError) and outcome.kind == "refused", outcome
    assert f"{host.strip('[]')} {REFUSED} ({LITERALS[host]})" in str(outcome), outcome
    assert server.count("/feed.xml") == 0 and connects == []


@pytest.mark.parametrize("host", list(LITERALS))
async def test_every_private_literal_form_is_refused_after_a_redirect(
    server: FeedServer, connects: list[Any], host: str
) -> None:
    server.routes["/hop"] = Route(
        status=302, headers={"Location": f"http://{host}:{port_of(server)}/feed.xml"}
    )
    outcome = await fetch(source(server), f"http://{PUBLIC}/hop", **CHAT)
    assert isinstance(outcome, FetchError) and outcome.kind == "refused", outcome
    assert f"{REFUSED} ({LITERALS[host]})" in str(outcome), outcome
    assert (server.count("/hop"), server.count("/feed.xml"), connects) == (1, 0, [])


@pytest.mark.parametrize("host", ["0177.0.0.1", "010.0.0.1"])
async def test_octal_forms_are_not_urls_at_all(
    server: FeedServer, connects: list[Any], host: str
) -> None:
    """httpx rejects a dotted IPv4 address with a leading zero (which getaddrinfo would read
    as octal: 0177.0.0.1 is 127.0.0.1) as an invalid URL: as a feed, and in a redirect."""
    url = f"http://{host}:{port_of(server)}/feed.xml"
    outcome = await fetch(source(server), url, **CHAT)
    assert isinstance(outcome, httpx.InvalidURL), outcome
    server.routes["/hop"] = Route(status=302, headers={"Location": url})
    outcome = await fetch(source(server), f"http://{PUBLIC}/hop", **CHAT)
    assert isinstance(outcome, FetchError) and "Invalid URL in location" in str(outcome)
    assert (server.count("/hop"), server.count("/feed.xml"), connects) == (1, 0, [])
    # The guard reads it as getaddrinfo would, should it ever get that far.
    assert literal_address(host) == ipaddress.ip_address(numeric_lookup(host))


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "0x7f.1", "127.1", "0177.0.0.1"])
def test_short_and_numeric_forms_are_read_as_getaddrinfo_reads_them(host: str) -> None:
    """Without a lookup (AI_NUMERICHOST): what the connection would reach is what is checked."""
    assert numeric_lookup(host) == "127.0.0.1"
    assert literal_address(host) == ipaddress.ip_address("127.0.0.1")


def test_public_addresses_and_their_embedded_forms_stay_public() -> None:
    """The policy refuses by what an address reaches, not by its form: NAT64 (DNS64 networks
    answer it for every IPv4-only site), IPv4-mapped and 6to4 of a public address pass."""
    for text in (
        PUBLIC,
        "2606:4700::1111",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::1",
    ):
        address = ipaddress.ip_address(text)
        assert is_public(address), text
    assert embedded_ipv4(ipaddress.IPv6Address("64:ff9b::5db8:d822")) == ipaddress.IPv4Address(
        PUBLIC
    )
    # IPv4-compatible is deprecated: refused even around a public address.
    assert not is_public(ipaddress.ip_address("::93.184.216.34"))


# ---------------------------------------------------------------------- discovery


async def test_discovery_goes_through_the_same_guard(
    server: FeedServer, connects: list[Any]
) -> None:
    port = port_of(server)
    page = '<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
    server.routes["/page.html"] = Route(page.encode(), content_type="text/html")
    server.routes["/hop"] = Route(
        status=302, headers={"Location": f"http://127.1:{port}/page.html"}
    )
    for url, inner in [
        (f"http://{NAME}:{port}/page.html", Answers(["127.0.0.1"])),
        (f"http://[::ffff:127.0.0.1]:{port}/page.html", None),
        (f"http://{PUBLIC}/hop", None),
    ]:
        src = source(server, inner)
        async with src.client:
            with pytest.raises(FetchError, match=REFUSED):
                await src.discover(FeedConfig(url, **CHAT))
    assert (server.count("/page.html"), server.count("/hop"), connects) == (0, 1, [])
    # A public page is read, and the config's permission lets the private one through.
    src = source(server)
    async with src.client:
        found = await src.discover(FeedConfig(f"http://{PUBLIC}/page.html", **CHAT))
    assert found == [f"http://{PUBLIC}/feed.xml"]
    src = source(server, allow_private=True)
    async with src.client:
        found = await src.discover(FeedConfig(server.url("/page.html"), **CHAT))
    assert found == [server.url("/feed.xml")]


# ---------------------------------------------------------------------- one poll cycle


async def test_one_cycle_reads_the_config_feed_on_loopback_and_refuses_the_chat_ones(
    server: FeedServer, connects: list[Any], tmp_path: Path
) -> None:
    port = port_of(server)
    server.routes["/other.xml"] = Route(rss([{"title": "Hello again"}]))
    trusted = FeedConfig(server.url("/feed.xml"), name="Config feed")
    chat = [
        FeedConfig(f"http://{NAME}:{port}/other.xml", **CHAT),
        FeedConfig(f"http://[::ffff:127.0.0.1]:{port}/other.xml", **CHAT),
        FeedConfig(f"http://localhost:{port}/other.xml", **CHAT),  # the real resolver
        FeedConfig(f"http://{PUBLIC}/hop", **CHAT),
    ]
    server.routes["/hop"] = Route(status=302, headers={"Location": server.url("/third.xml")})
    server.routes["/third.xml"] = Route(rss([{"title": "Hello a third time"}]))

    async def cycle(src: HttpFeedSource, feeds: list[FeedConfig], db: str) -> dict[str, Any]:
        pipeline = Pipeline(
            store=SQLiteStore(tmp_path / db),
            topics=TOPICS,
            aliases=SHIPPED.aliases,
            timezone=ZoneInfo("UTC"),
            feed_source=src,
            folder_source=None,
            notifiers={"telegram": Recorder(), "console": Recorder()},
            clock=Clock(),
        )
        async with src.client:
            report = await pipeline.poll_all(feeds)
        states = {f.url: pipeline.store.feed_state(f.url) for f in feeds}
        return {r.url: (r, states[r.url]) for r in report.feeds}

    by_url = await cycle(source(server, Answers(["127.0.0.1"])), [trusted, *chat], "a.db")
    good, _ = by_url[trusted.url]
    assert (good.ok, good.new_items, good.error) == (True, 1, None)
    for feed in chat:
        report, state = by_url[feed.url]
        assert not report.ok and REFUSED in (report.error or ""), report
        assert state.error_kind == "refused", feed.url
    counts = {path: server.count(path) for path in ("/feed.xml", "/other.xml", "/third.xml")}
    assert counts == {"/feed.xml": 1, "/other.xml": 0, "/third.xml": 0}
    assert server.count("/hop") == 1
    # With [polling] allow_private_feeds, the chat's feeds on loopback are read too.
    allowed = [f for f in chat if NAME not in f.url and "::ffff" not in f.url]
    by_url = await cycle(source(server, allow_private=True), allowed, "b.db")
    assert all(r.ok and r.new_items == 1 for r, _ in by_url.values()), by_url
    assert (server.count("/other.xml"), server.count("/third.xml")) == (1, 1)
    assert connects == []
