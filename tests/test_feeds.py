"""Feed source: conditional GET, size cap, redirects, errors; parsing bytes with feedparser."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.errors import FetchError, ParseError
from bot.models import FeedConfig, FeedState
from bot.sources.feeds import HttpFeedSource, make_client
from bot.sources.parse import ParsedFeed, parse_feed
from tests.conftest import shared_path
from tests.factories import rss
from tests.feedserver import FeedServer, Route

FEED = rss([{"title": "ISIS claims attack", "link": "https://ex.org/a", "guid": "g1"}])


def source_with(handler, **kw) -> HttpFeedSource:  # type: ignore[no-untyped-def]
    client = make_client(5.0, "newsbot-test", transport=httpx.MockTransport(handler))
    return HttpFeedSource(client, **kw)


async def test_first_poll_parses_and_remembers_validators() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "if-none-match" not in request.headers
        return httpx.Response(
            200,
            content=FEED,
            headers={"ETag": '"v1"', "Last-Modified": "Tue, 17 Sep 2024 08:00:00 GMT"},
        )

    result = await source_with(handler).fetch(
        FeedConfig("http://127.0.0.1/f"), FeedState("http://127.0.0.1/f")
    )
    assert [e.title for e in result.entries] == ["ISIS claims attack"]
    assert result.state.etag == '"v1"'
    assert result.state.last_modified == "Tue, 17 Sep 2024 08:00:00 GMT"
    assert result.state.body_hash


async def test_conditional_get_sends_validators_and_304_means_nothing_to_parse() -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(304)

    state = FeedState(
        "http://127.0.0.1/f", etag='"v1"', last_modified="Tue, 17 Sep 2024 08:00:00 GMT"
    )
    result = await source_with(handler).fetch(FeedConfig(state.url), state)
    assert seen[0]["if-none-match"] == '"v1"'
    assert seen[0]["if-modified-since"] == "Tue, 17 Sep 2024 08:00:00 GMT"
    assert result.not_modified and result.entries == []


async def test_same_body_without_validators_is_not_parsed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=FEED)

    src = source_with(handler)
    first = await src.fetch(FeedConfig("http://127.0.0.1/f"), FeedState("http://127.0.0.1/f"))
    calls: list[bytes] = []
    real = src.parser.parse

    async def recording(body: bytes, **kw: Any) -> ParsedFeed:
        calls.append(body)
        return await real(body, **kw)

    monkeypatch.setattr(src.parser, "parse", recording)
    second = await src.fetch(FeedConfig("http://127.0.0.1/f"), first.state)
    assert second.not_modified
    assert calls == []


async def test_redirects_are_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "http://127.0.0.1/new"})
        return httpx.Response(200, content=FEED)

    result = await source_with(handler).fetch(
        FeedConfig("http://127.0.0.1/old"), FeedState("http://127.0.0.1/old")
    )
    assert len(result.entries) == 1


async def test_redirect_loop_ends_with_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": str(request.url)})

    with pytest.raises(FetchError, match="too many redirects"):
        await source_with(handler).fetch(
            FeedConfig("http://127.0.0.1/loop"), FeedState("http://127.0.0.1/loop")
        )


@pytest.mark.parametrize("declared", [True, False])
async def test_size_cap_holds_with_or_without_content_length(declared: bool) -> None:
    big = b"<rss>" + b"x" * 50_000 + b"</rss>"

    def handler(request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(200, content=big)
        return httpx.Response(200, stream=httpx.ByteStream(big))  # no length header

    with pytest.raises(FetchError, match="cap"):
        await source_with(handler, max_bytes=10_000).fetch(
            FeedConfig("http://127.0.0.1/big"), FeedState("http://127.0.0.1/big")
        )


async def test_size_cap_applies_after_decompression() -> None:
    bomb = gzip.compress(b" " * 2_000_000)  # ~2 KB on the wire, 2 MB decoded

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(FetchError, match="cap"):
        await source_with(handler, max_bytes=100_000).fetch(
            FeedConfig("http://127.0.0.1/z"), FeedState("http://127.0.0.1/z")
        )


@pytest.mark.parametrize("status", [404, 500, 503])
async def test_http_errors_are_fetch_errors_with_the_status(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"Retry-After": "120"})

    with pytest.raises(FetchError, match=f"HTTP {status}"):
        await source_with(handler).fetch(
            FeedConfig("http://127.0.0.1/e"), FeedState("http://127.0.0.1/e")
        )


async def test_connection_refused_is_a_fetch_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(FetchError, match="cannot connect"):
        await source_with(handler).fetch(
            FeedConfig("http://127.0.0.1/x"), FeedState("http://127.0.0.1/x")
        )


async def test_not_a_feed_is_a_parse_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html><body>Hello</body></html>")

    with pytest.raises(ParseError):
        await source_with(handler).fetch(
            FeedConfig("http://127.0.0.1/p"), FeedState("http://127.0.0.1/p")
        )


async def test_real_http_server_conditional_get_round_trip() -> None:
    with FeedServer() as server:
        server.routes["/feed.xml"] = Route(FEED)
        async with make_client(5.0, "newsbot-test") as client:
            src = HttpFeedSource(client)
            feed = FeedConfig(server.url("/feed.xml"))
            first = await src.fetch(feed, FeedState(feed.url))
            second = await src.fetch(feed, first.state)
        assert len(first.entries) == 1 and second.not_modified
        assert server.requests[1][1]["if-none-match"] == first.state.etag


def test_parse_feed_reads_atom_and_rss1() -> None:
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
    <entry><id>urn:1</id><title>Atom entry</title><link href="https://ex.org/1"/>
    <updated>2024-09-17T08:00:00Z</updated><summary>Body</summary></entry></feed>"""
    rdf = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>R</title></channel>
    <item rdf:about="https://ex.org/2"><title>RDF item</title><link>https://ex.org/2</link></item></rdf:RDF>"""
    a = parse_feed(atom, url="http://127.0.0.1/a").entries[0]
    r = parse_feed(rdf, url="http://127.0.0.1/r").entries[0]
    assert (a.title, a.link, a.guid) == ("Atom entry", "https://ex.org/1", "urn:1")
    assert a.published is not None and a.published.isoformat() == "2024-09-17T08:00:00+00:00"
    assert (r.title, r.link) == ("RDF item", "https://ex.org/2")


def _news_feeds() -> list[Path]:
    folder = shared_path("corpus", "kagisearch-fastfeedparser", "benchmark_data")
    return sorted(folder.glob("*.xml"))


def test_every_real_feed_parses_or_is_reported() -> None:
    files = _news_feeds()
    parsed = failed = 0
    for path in files:
        try:
            entries = parse_feed(path.read_bytes(), url=path.as_uri()).entries
        except ParseError:
            failed += 1
            continue
        parsed += 1
        assert all(e.title or e.summary for e in entries), path.name
    assert parsed >= len(files) - 3 and parsed + failed == len(files)


@pytest.mark.parametrize(
    ("url", "redirect_to"),
    [
        ("http://10.1.2.3/feed.xml", None),  # private
        ("http://169.254.169.254/latest/meta-data", None),  # link-local (cloud metadata)
        # A name that resolves to loopback is refused by the connection's resolver, which a
        # MockTransport has not: see tests/test_ssrf.py and tests/test_hostile.py.
        ("http://[::1]/feed.xml", None),
        ("http://93.184.216.34/feed.xml", "http://127.0.0.1:8080/admin"),  # on a redirect
    ],
)
async def test_feeds_added_in_chats_may_not_reach_private_addresses(
    url: str, redirect_to: str | None
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if redirect_to:
            return httpx.Response(301, headers={"Location": redirect_to})
        return httpx.Response(200, content=rss([{"title": "x"}]))

    async with make_client(5.0, "t", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(FetchError, match="loopback, private or link-local"):
            await HttpFeedSource(client).fetch(
                FeedConfig(url, added=True, public_only=True), FeedState(url)
            )
        # Refused before a request reached the private address.
        assert seen == ([url] if redirect_to else [])
        if redirect_to is None:
            # In the config file, or with the config's permission, the address is allowed.
            for source, feed in [
                (HttpFeedSource(client), FeedConfig(url)),
                (
                    HttpFeedSource(client, allow_private=True),
                    FeedConfig(url, added=True, public_only=True),
                ),
            ]:
                result = await source.fetch(feed, FeedState(url))
                assert [e.title for e in result.entries] == ["x"]


async def test_through_the_real_transport_a_closed_port_is_a_connect_error_not_a_timeout() -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"
    async with make_client(5.0, "t") as client:
        with pytest.raises(FetchError) as info:
            await HttpFeedSource(client).fetch(FeedConfig(url), FeedState(url))
    assert info.value.kind == "connect" and "cannot connect" in str(info.value)
