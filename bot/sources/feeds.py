"""Feeds over HTTP: conditional GET with one shared httpx client; the bytes are parsed by
:mod:`bot.sources.parse` (a fast lxml reader that agrees with feedparser, feedparser itself
as the fallback, JSON Feed) in a worker process with a deadline (:mod:`bot.sources.sandbox`)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver
from httpx_aiohttp import AiohttpTransport

from bot.errors import FetchError
from bot.models import FeedConfig, FeedState
from bot.sources.base import FeedFetchResult, FeedSource
from bot.sources.netguard import PublicResolver, is_public, literal_address, refusal
from bot.sources.sandbox import ParserPool, shared_pool

__all__ = ["HttpFeedSource", "make_client", "server_hint"]

log = logging.getLogger(__name__)
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


_PUBLIC_ONLY = "newsbot_public_only"
"""Request extension: this request (and every redirect after it) must reach a public address."""


async def _check_public(request: httpx.Request) -> None:
    """Refuse a request marked public-only whose URL names a loopback, private, link-local or
    otherwise non-public address as a literal (2130706433 and 127.1 included). Runs for every
    hop of a redirect chain. A name is not resolved here: :class:`FeedTransport` sends
    public-only requests through a pool whose resolver checks the addresses it connects to
    (:class:`bot.sources.netguard.PublicResolver`), which a second lookup could not undo.
    """
    if not request.extensions.get(_PUBLIC_ONLY):
        return
    if request.url.scheme not in ("http", "https"):
        raise FetchError(f"{request.url.scheme}: is not http(s)", kind="refused")
    host = request.url.host
    address = literal_address(host)
    if address is None and ":" in host:  # aiohttp would not resolve it: not a name either
        raise FetchError(f"{host} is not an address a feed can be at", kind="refused")
    if address is not None and not is_public(address):
        raise refusal(host, address)


def _httpx_error(exc: BaseException, request: httpx.Request) -> BaseException:
    """The httpx error an aiohttp error means. httpx-aiohttp 0.2 maps every aiohttp connection
    error to ConnectTimeout (a refused connection or an unknown host would read as a timeout)
    and lets a malformed response's ClientResponseError through: map those as httpx would."""
    cause = exc.__cause__ if isinstance(exc, httpx.ConnectTimeout) else exc
    if isinstance(cause, TimeoutError):  # aiohttp's own timeouts are TimeoutErrors too
        return exc
    if isinstance(cause, aiohttp.ClientConnectorError):
        # aiohttp says "Cannot connect to host h:p ssl:default [reason]": keep the reason
        # (what _connect_kind reads), all of it for TLS errors.
        tls = isinstance(cause, aiohttp.ClientSSLError)
        return httpx.ConnectError(str(cause if tls else cause.os_error), request=request)
    if isinstance(cause, aiohttp.ClientError):  # disconnected, malformed status or headers
        message = getattr(cause, "message", None) or str(cause) or type(cause).__name__
        return httpx.RemoteProtocolError(str(message), request=request)
    return exc


class _MappedStream(httpx.AsyncByteStream):
    """The response body, with the same error mapping while it is read."""

    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self.inner = inner
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.inner:
                yield chunk
        except (httpx.ConnectTimeout, aiohttp.ClientError) as exc:
            mapped = _httpx_error(exc, self.request)
            if mapped is exc:
                raise
            raise mapped from exc.__cause__ or exc

    async def aclose(self) -> None:
        await self.inner.aclose()


class FeedTransport(AiohttpTransport):
    """httpx's API over aiohttp's connection pool: about a fifth of the CPU per request of
    httpx's own pool (benchmarks/bench_polling.py). Two fixes to httpx-aiohttp 0.2: aiohttp's
    errors are mapped to the httpx errors they mean, and followed redirects send no body.
    Unlike httpx's own transport it does not read HTTP(S)_PROXY from the environment.

    Requests marked public-only (feeds added in chats) go through a pool of their own, whose
    names are looked up by ``resolver`` (aiohttp's threaded resolver by default) through
    :class:`~bot.sources.netguard.PublicResolver`: they connect only to addresses it found
    public, and no connection of theirs is shared with the trusted feeds'."""

    def __init__(self, *, resolver: AbstractResolver | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._resolver = resolver
        self._public = AiohttpTransport(client=self._public_session)

    def _public_session(self) -> aiohttp.ClientSession:
        """The public-only pool: the default one's settings, the guarded resolver."""
        limit = self.limits.max_connections
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            limit=limit if limit is not None else 0,
            resolver=PublicResolver(self._resolver),
        )
        return aiohttp.ClientSession(connector=connector)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # A request httpx made to follow a redirect has its body as a stream, which
        # httpx-aiohttp 0.2 sends chunked: an empty chunk after the GET, which a server that
        # ignores GET bodies reads as the next request. Read first, the (empty) body is sent
        # as no body at all.
        await request.aread()
        public_only = request.extensions.get(_PUBLIC_ONLY)
        send = self._public.handle_async_request if public_only else super().handle_async_request
        try:
            response = await send(request)
        except (httpx.ConnectTimeout, aiohttp.ClientError) as exc:
            mapped = _httpx_error(exc, request)
            if mapped is exc:
                raise
            raise mapped from exc.__cause__ or exc
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _MappedStream(response.stream, request)
        return response

    async def aclose(self) -> None:
        await self._public.aclose()
        await super().aclose()


def make_client(
    timeout: float, user_agent: str, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one HTTP client all feeds share (connection pooling, redirects, timeouts).

    Without ``transport``, a :class:`FeedTransport`: public-only requests get its guarded
    pool. A transport given here (tests: httpx.MockTransport) has no such pool unless it
    sends through a FeedTransport, so only the literals in its URLs are checked."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=True,
        max_redirects=5,
        # Only what _Inflater decodes: httpx would add br or zstd when their packages happen to
        # be installed, and decode them whole.
        headers={"User-Agent": user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"},
        transport=transport or FeedTransport(),
        event_hooks={"request": [_check_public]},
    )


_TTL = re.compile(rb"<ttl>\s*(\d{1,6})\s*</ttl>")


def _ttl_minutes(body: bytes) -> int | None:
    """The RSS <ttl> (minutes the feed may be cached), read from the first 64 KB."""
    m = _TTL.search(body, 0, 65536)
    return int(m.group(1)) if m else None


def _retry_after(value: str | None, now: datetime) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class HttpFeedSource(FeedSource):
    """Polls feeds through a shared :class:`httpx.AsyncClient`.

    ``max_bytes`` caps the body as it streams in (after decompression, since httpx decodes),
    and ``deadline`` caps the whole request, so a server that drips bytes cannot hold a poll.
    ``parser`` parses the bodies in worker processes (default: one pool shared by every
    source with the default limits, :func:`~bot.sources.sandbox.shared_pool`).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_bytes: int = 10_000_000,
        deadline: float = 60.0,
        max_entries: int | None = 200,
        allow_private: bool = False,
        parser: ParserPool | None = None,
    ) -> None:
        self.client = client
        self.parser = parser or shared_pool()
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.max_entries = max_entries

    async def fetch(self, feed: FeedConfig, state: FeedState) -> FeedFetchResult:
        now = datetime.now(UTC)
        new = replace(state)
        new.last_checked_at = now
        headers: dict[str, str] = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        started = time.monotonic()
        url = state.moved_to or feed.url  # a permanent redirect seen before: go there directly
        try:
            async with asyncio.timeout(self.deadline):
                public_only = feed.public_only and not self.allow_private
                got = await self._get(url, headers, public_only)
        except TimeoutError:
            raise FetchError(
                f"no complete answer within {self.deadline:.0f} s", kind="timeout"
            ) from None
        except httpx.TimeoutException:
            raise FetchError("timed out", kind="timeout") from None
        except httpx.TooManyRedirects:
            raise FetchError("too many redirects", kind="redirects") from None
        except httpx.ConnectError as exc:
            raise FetchError(f"cannot connect: {_reason(exc)}", kind=_connect_kind(exc)) from None
        except httpx.DecodingError as exc:  # the body's fault, not the network's
            raise FetchError(f"broken body encoding: {_reason(exc)}", kind="parse") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {_reason(exc)}", kind="connect") from None
        status, body, response_headers = got.status, got.body, got.headers
        new.last_status = status
        if got.moved_to and got.moved_to != url:
            new.moved_to = got.moved_to if got.moved_to != feed.url else None
        log.debug("fetched %s: %s in %.2fs", url, status, time.monotonic() - started)
        hint = server_hint(response_headers, now)
        if status == 304:
            return FeedFetchResult(new, not_modified=True, hint=hint)
        if status != 200:
            retry = _retry_after(response_headers.get("retry-after"), now)
            if status == 410:
                raise FetchError("HTTP 410 Gone: the feed was removed", kind="gone", status=410)
            kind = "http5xx" if status >= 500 else "http4xx"
            raise FetchError(f"HTTP {status}", kind=kind, status=status, retry_at=retry)
        new.etag = response_headers.get("etag") or None
        new.last_modified = response_headers.get("last-modified") or None
        digest = hashlib.sha256(body).hexdigest()
        if digest == state.body_hash:
            # The server ignored our conditional headers but sent the same bytes: nothing to parse.
            return FeedFetchResult(new, not_modified=True, hint=hint)
        # Parsing is CPU work on bytes a stranger chose: in a worker process, with a deadline
        # and a memory limit, so the bot keeps answering and a bad feed costs only its poll.
        parsed = await self.parser.parse(
            body,
            url=feed.url,
            content_type=response_headers.get("content-type"),
            source_name=feed.name,
            limit=self.max_entries,
        )
        if parsed.fallback:
            log.debug("feed %s read by feedparser: %s", feed.url, parsed.fallback)
        new.body_hash = digest
        ttl = _ttl_minutes(body)
        if ttl:
            hint = max(hint or 0.0, ttl * 60.0)
        return FeedFetchResult(
            new, parsed.entries, title=parsed.title, warning=parsed.warning, hint=hint
        )

    async def discover(self, feed: FeedConfig) -> list[str]:
        try:
            async with asyncio.timeout(self.deadline):
                got = await self._get(feed.url, {}, feed.public_only and not self.allow_private)
        except (TimeoutError, httpx.HTTPError) as exc:
            raise FetchError(f"cannot read the page: {type(exc).__name__}") from None
        if got.status != 200:
            raise FetchError(f"HTTP {got.status}", status=got.status)
        finder = _AlternateLinks()
        try:
            finder.feed(got.body[:1_000_000].decode("utf-8", errors="replace"))
        except Exception:  # html.parser is lenient; whatever it raises, there is no link
            return []
        base = got.moved_to or feed.url
        return [urljoin(base, href) for href in finder.found]

    async def _get(self, url: str, headers: dict[str, str], public_only: bool) -> _Response:
        extensions = {_PUBLIC_ONLY: True} if public_only else None
        async with self.client.stream(
            "GET", url, headers=headers, extensions=extensions
        ) as response:
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            moved_to = _permanent_target(response)
            if response.status_code != 200:
                return _Response(response.status_code, b"", response_headers, moved_to)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(
                    f"feed is {int(declared):,} bytes, over the {self.max_bytes:,} cap",
                    kind="too-big",
                )
            chunks: list[bytes] = []
            size = 0

            def keep(chunk: bytes) -> None:
                nonlocal size
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(
                        f"feed is over the {self.max_bytes:,} byte cap", kind="too-big"
                    )
                chunks.append(chunk)

            # Raw bytes, decoded here at most 64 KB at a time: the cap holds after gzip or
            # deflate, and a small compressed bomb is stopped once it has grown past the cap,
            # without ever holding more than the cap and one piece.
            if response.is_stream_consumed:
                # Read and decoded already: a response made in memory (httpx.MockTransport).
                keep(response.content)
            else:
                inflater = _Inflater(response.headers.get("content-encoding"))
                async for raw in response.aiter_raw():
                    for chunk in inflater.decode(raw):
                        keep(chunk)
                keep(inflater.flush())
            return _Response(response.status_code, b"".join(chunks), response_headers, moved_to)


_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_PIECE = 65536


class _Inflater:
    """Content-Encoding, decoded a bounded piece at a time. httpx decodes each network read
    whole before anyone can count it: one 64 KB read of a gzip bomb is 64 MB, of a brotli bomb
    gigabytes. Only gzip and deflate (what the client asks for); anything else is refused.
    """

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in _WBITS):
            raise FetchError(
                f"the server sent the feed as {', '.join(codings)}, which newsbot does not "
                "decode (it asks for gzip or deflate)",
                kind="parse",
            )
        self.coding = codings[0] if codings else None
        self._z = zlib.decompressobj(_WBITS[self.coding]) if self.coding else None
        self._first = True

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of ``data``, in pieces of at most 64 KB."""
        if self._z is None:
            if data:
                yield data
            return
        while data and not self._z.eof:
            try:
                out = self._z.decompress(data, _PIECE)
            except zlib.error as exc:
                if self._first and self.coding == "deflate":  # raw deflate, no zlib header
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                raise FetchError(
                    f"the body is not valid {self.coding}: {exc}", kind="parse"
                ) from None
            self._first = False
            data = self._z.unconsumed_tail
            if out:
                yield out

    def flush(self) -> bytes:
        """What is left once the body has ended: at most one match of a few hundred bytes."""
        if self._z is None:
            return b""
        try:
            return self._z.flush()
        except zlib.error as exc:
            raise FetchError(f"the body is not valid {self.coding}: {exc}", kind="parse") from None


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: bytes
    headers: dict[str, str]
    moved_to: str | None


_FEED_TYPES = {
    "application/rss+xml": 0,
    "application/atom+xml": 0,
    "application/feed+json": 1,
    "application/json": 2,
    "application/rdf+xml": 1,
    "text/xml": 2,
    "application/xml": 2,
}


class _AlternateLinks(HTMLParser):
    """Collects ``<link rel="alternate" type="…feed type…" href>`` of a page, best first."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._links: list[tuple[int, int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        rel = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        href = values.get("href", "").strip()
        if "alternate" in rel and kind in _FEED_TYPES and href:
            self._links.append((_FEED_TYPES[kind], len(self._links), href))

    @property
    def found(self) -> list[str]:
        seen: list[str] = []
        for _, _, href in sorted(self._links):
            if href not in seen:
                seen.append(href)
        return seen


def _permanent_target(response: httpx.Response) -> str | None:
    """Where the feed now lives if every redirect on the way was permanent (301, 308)."""
    if not response.history:
        return None
    if all(r.status_code in (301, 308) for r in response.history):
        return str(response.url)
    return None


def _connect_kind(exc: httpx.ConnectError) -> str:
    text = str(exc).lower()
    if any(
        s in text
        for s in (
            "name or service not known",
            "nodename nor servname",
            "name resolution",
            "getaddrinfo",
        )
    ):
        return "dns"
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "tls"
    return "connect"


def server_hint(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds until the server says the feed is worth fetching again, from Cache-Control
    max-age or Expires (a hint, never an order to poll sooner); None if it says nothing."""
    control = headers.get("cache-control", "").lower()
    if "no-store" not in control and "no-cache" not in control:
        for part in control.split(","):
            name, _, value = part.strip().partition("=")
            if name in ("max-age", "s-maxage") and value.strip().isdigit():
                return float(value.strip())
    expires = headers.get("expires")
    if expires:
        try:
            when = parsedate_to_datetime(expires)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
        return seconds if seconds > 0 else None
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
