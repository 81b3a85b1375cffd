"""A hostile HTTP server on 127.0.0.1 for tests: bombs, endless bodies, drips, redirect loops.

Every route (``server.url(path)``):

``/ok.xml``             a good RSS feed (:data:`OK_TITLES`)
``/ok.gz``              the same feed, gzip-encoded (the control for the bomb)
``/bomb.gz``            ``Content-Encoding: gzip``, no length (ends with the connection): 10 GiB of
                        zeros once decoded, ~10.6 MB on the wire, generated as it is sent
                        (``?gib=N`` for another size), see :func:`gzip_zeros`
``/brotli-bomb``        ``Content-Encoding: br``, sent whether asked for or not, no length: 10 GiB
                        of zeros in 8,161 bytes (``?gib=N``), see :func:`brotli_zeros`
``/broken.gz``          ``Content-Encoding: gzip`` over bytes that are not gzip
``/endless``            200, chunked, a feed that never ends (64 KB chunks, as fast as it is read)
``/drip``               200, then one byte of a feed per second, forever
``/drip-headers``       the status line and headers themselves at one byte per second
``/loop``               302 to itself
``/loop-a``, ``/loop-b``  302 to each other
``/to-loopback``        302 to ``http://127.0.0.1:<port>/ok.xml``
``/to-localhost``       302 to ``http://localhost:<port>/ok.xml`` (a name that resolves to loopback)
``/wrong-type/<name>``  the good feed as ``text/html``, ``application/octet-stream``, ``text/plain``
                        or with no Content-Type (name ``html``, ``octet``, ``plain``, ``none``)
``/entity-bomb``        one 100 KB internal entity used 30,000 times (190 KB; 3 GB expanded)
``/attributes``         an item with 100,000 attributes (1.1 MB)
``/deep``               a million nested elements inside an item, never closed (3 MB)
``/long-title``         an item whose title is 5 MB (``?mb=N`` for another size)
``/latin1/<name>``      a feed in ISO-8859-1 (:data:`LATIN1_TITLES`): ``declared-utf8`` (its XML
                        declaration says UTF-8), ``undeclared`` (no declaration, no charset),
                        ``header`` (charset in the header only), ``text-xml`` (``text/xml`` without
                        a charset, which RFC 3023 reads as US-ASCII)

The streaming routes (bombs, endless, drips) stop within about 0.1 s when the client goes away or
the server stops, and :meth:`HostileServer.stop` joins every handler thread, so nothing outlives
the ``with`` block. ``server.active`` counts the streams still being sent.
"""

from __future__ import annotations

import contextlib
import itertools
import select
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.factories import rss

__all__ = [
    "LATIN1_TITLES",
    "OK_TITLES",
    "HostileServer",
    "brotli_zeros",
    "gzip_zeros",
    "hostile_feed",
]

GIB = 1 << 30
MIB = 1 << 20
OK_TITLES = ["Quiet day at the harbour", "Council approves the new bridge"]
OK_FEED = rss(
    [
        {"title": t, "link": f"https://ex.org/ok/{n}", "guid": f"ok-{n}"}
        for n, t in enumerate(OK_TITLES)
    ],
    title="Good feed",
)
LATIN1_TITLES = ["Café à São Paulo: élections", "Zürich grüßt Ærøskøbing"]
_ZEROS = bytes(MIB)
_ENDLESS_HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Endless</title>'
_ENDLESS_CHUNK = b"<item><title>again</title><description>and again</description></item>" * 900


def _latin1_feed(declaration: str | None) -> bytes:
    decl = f'<?xml version="1.0" encoding="{declaration}"?>\n' if declaration else ""
    items = "".join(
        f"<item><title>{t}</title><link>https://ex.org/l/{n}</link><guid>l-{n}</guid></item>"
        for n, t in enumerate(LATIN1_TITLES)
    )
    text = (
        f'{decl}<rss version="2.0"><channel><title>Nachrichten für Sie</title>'
        f"<link>https://ex.org/</link><description>é</description>{items}</channel></rss>"
    )
    return text.encode("iso-8859-1")


_LATIN1 = {  # name: (body, Content-Type)
    "declared-utf8": (_latin1_feed("UTF-8"), "application/rss+xml"),
    "undeclared": (_latin1_feed(None), "application/rss+xml"),
    "header": (_latin1_feed(None), "application/rss+xml; charset=ISO-8859-1"),
    "text-xml": (_latin1_feed(None), "text/xml"),
}
_WRONG_TYPES = {
    "html": "text/html; charset=utf-8",
    "octet": "application/octet-stream",
    "plain": "text/plain",
    "none": None,
}


_HOSTILE_HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Hostile</title>'
)


def hostile_feed(name: str, mb: float = 5.0) -> bytes:
    """The body of one of the hostile parsing routes (``entity-bomb``, ``attributes``, ``deep``,
    ``long-title``): each a feed built to cost a parser what no real feed costs."""
    item = b"<item><title>%s</title><link>https://ex.org/h/%s</link>%s</item>"
    if name == "entity-bomb":
        declared = b'<!DOCTYPE rss [\n<!ENTITY e "' + b"x" * 100_000 + b'">\n]>\n'
        head = _HOSTILE_HEAD.replace(b"?>\n", b"?>\n" + declared)
        body = b"<description>" + b"&e;" * 30_000 + b"</description>"
        return head + item % (b"Entity bomb", b"e", body) + b"</channel></rss>"
    if name == "attributes":
        attributes = b" ".join(b'a%d="x"' % n for n in range(100_000))
        return (
            _HOSTILE_HEAD
            + b"<item " + attributes + b">"
            + b"<title>Attributes</title></item></channel></rss>"
        )  # fmt: skip
    if name == "deep":
        return _HOSTILE_HEAD + item % (b"Deep", b"d", b"<a>" * 1_000_000)
    if name == "long-title":
        title = b"word " * int(mb * MIB / 5)
        return _HOSTILE_HEAD + item % (title, b"t", b"") + b"</channel></rss>"
    raise ValueError(f"no hostile feed {name!r}")


def gzip_zeros(total: int) -> Iterator[bytes]:
    """A valid gzip stream of ``total`` zero bytes (a multiple of 1 MiB), made as it is read.

    Each MiB is one deflate block ended by a full flush, so every block is the same 1,037 bytes
    and is compressed once; the CRC is computed as the blocks go out. 10 GiB is ~10.6 MB.
    """
    if total <= 0 or total % MIB:
        raise ValueError("total must be a positive multiple of 1 MiB")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip header: deflate, no name, no time
    crc = 0
    group = 64  # 64 MiB decoded per write of ~66 KB
    for start in range(0, total // MIB, group):
        n = min(group, total // MIB - start)
        for _ in range(n):
            crc = zlib.crc32(_ZEROS, crc)
        yield block * n
    # A final empty fixed-Huffman block, then CRC32 and size (mod 2**32).
    yield b"\x03\x00" + struct.pack("<II", crc, total & 0xFFFFFFFF)


class _Bits:
    """Bits packed least significant first, as brotli reads them."""

    def __init__(self) -> None:
        self.acc = 0
        self.n = 0

    def put(self, value: int, width: int) -> None:
        assert 0 <= value < 1 << width
        self.acc |= value << self.n
        self.n += width

    def take(self) -> bytes:
        whole = self.n // 8
        out = (self.acc & ((1 << (8 * whole)) - 1)).to_bytes(whole, "little")
        self.acc >>= 8 * whole
        self.n -= 8 * whole
        return out

    def pad(self) -> bytes:
        self.n += -self.n % 8
        return self.take()


def brotli_zeros(total: int) -> Iterator[bytes]:
    """A valid brotli stream (RFC 7932) of ``total`` zero bytes (a multiple of 16 MiB).

    Written by hand, so no brotli package is needed: one compressed meta-block per 16 MiB, each
    with one-symbol prefix codes and a single command (insert one 0x00, copy 16 MiB - 1 bytes from
    distance 1), 102 bits a meta-block: 10 GiB is 8,161 bytes.
    """
    size = 1 << 24
    if total <= 0 or total % size:
        raise ValueError("total must be a positive multiple of 16 MiB")
    bits = _Bits()
    bits.put(0, 1)  # WBITS = 16: a 64 KB window is all a run of zeros needs
    for _ in range(total // size):
        bits.put(0, 1)  # ISLAST = 0
        bits.put(2, 2)  # MNIBBLES = 6
        bits.put(size - 1, 24)  # MLEN - 1
        bits.put(0, 1)  # ISUNCOMPRESSED = 0
        bits.put(0, 3)  # NBLTYPESL, NBLTYPESI, NBLTYPESD = 1 (one bit each)
        bits.put(0, 2)  # NPOSTFIX = 0
        bits.put(0, 4)  # NDIRECT = 0
        bits.put(0, 2)  # context mode of the one literal block type
        bits.put(0, 2)  # NTREESL = NTREESD = 1
        # Simple prefix codes (HSKIP = 1) with one symbol each: 0 bits per symbol read.
        # Each: HSKIP = 1 (2 bits), NSYM - 1 = 0 (2 bits), the symbol (alphabet bits).
        for symbol, width in ((0x00, 8), (399, 10), (16, 6)):
            # literal 0x00; insert-and-copy 399 (insert code 1, copy code 23, explicit
            # distance); distance code 16 (distance 1 + one extra bit, NPOSTFIX = NDIRECT = 0)
            bits.put(1, 2)
            bits.put(0, 2)
            bits.put(symbol, width)
        bits.put(size - 1 - 2118, 24)  # copy length 16,777,215 (copy code 23: 2118 + 24 bits)
        bits.put(0, 1)  # distance extra bit: distance 1
        yield bits.take()
    bits.put(1, 1)  # ISLAST
    bits.put(1, 1)  # ISLASTEMPTY
    yield bits.pad()


class _Stopped(Exception):
    """The client went away or the server is stopping: end the handler."""


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # joined by server_close()
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is what these tests do


class HostileServer:
    """``with HostileServer() as server: server.url("/bomb.gz")``."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.stopping = threading.Event()
        self.active = 0
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.httpd = _Server(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def count(self, path: str) -> int:
        """Requests received for ``path`` (without its query)."""
        with self._lock:
            return sum(1 for p in self.requests if urlsplit(p).path == path)

    def wait_idle(self, timeout: float = 2.0) -> bool:
        """Wait until no stream is being sent; False if one still is after ``timeout``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if self.active == 0:
                    return True
            time.sleep(0.01)
        return False

    def start(self) -> HostileServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop streaming, close every connection and join every thread."""
        self.stopping.set()
        self.httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # wakes a handler waiting for a request
                conn.shutdown(socket.SHUT_RDWR)
        self.httpd.server_close()  # joins the handler threads
        self.thread.join(5)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            with server._lock:
                server._connections.add(self.connection)

        def finish(self) -> None:
            with server._lock:
                server._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        # ------------------------------------------------------------------ routing
        def do_GET(self) -> None:
            with server._lock:
                server.requests.append(self.path)
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            gib = float(query.get("gib", ["10"])[0])
            here = f"http://127.0.0.1:{server.port}"
            if path == "/ok.xml":
                self._answer(OK_FEED, "application/rss+xml; charset=utf-8")
            elif path == "/ok.gz":
                self._answer(_gzip(OK_FEED), "application/rss+xml", {"Content-Encoding": "gzip"})
            elif path == "/broken.gz":
                self._answer(
                    b"this is not gzip " * 100, "application/rss+xml", {"Content-Encoding": "gzip"}
                )
            elif path == "/bomb.gz":
                total = max(MIB, int(gib * GIB) // MIB * MIB)
                self._stream(gzip_zeros(total), {"Content-Encoding": "gzip"}, chunked=False)
            elif path == "/brotli-bomb":
                total = max(1 << 24, int(gib * GIB) >> 24 << 24)
                bomb = b"".join(brotli_zeros(total))  # one write: ~8 KB for 10 GiB
                self._stream([bomb], {"Content-Encoding": "br"}, chunked=False)
            elif path == "/endless":
                self._stream(_endless(), {})
            elif path == "/drip":
                self._stream(_drip(OK_FEED), {}, every=1.0)
            elif path == "/drip-headers":
                self._drip_headers()
            elif path == "/loop":
                self._redirect("/loop")
            elif path in ("/loop-a", "/loop-b"):
                self._redirect("/loop-b" if path == "/loop-a" else "/loop-a")
            elif path == "/to-loopback":
                self._redirect(f"{here}/ok.xml")
            elif path == "/to-localhost":
                self._redirect(f"http://localhost:{server.port}/ok.xml")
            elif path.startswith("/wrong-type/") and path[12:] in _WRONG_TYPES:
                self._answer(OK_FEED, _WRONG_TYPES[path[12:]])
            elif path in ("/entity-bomb", "/attributes", "/deep", "/long-title"):
                mb = float(query.get("mb", ["5"])[0])
                self._answer(hostile_feed(path[1:], mb), "application/rss+xml")
            elif path.startswith("/latin1/") and path[8:] in _LATIN1:
                body, content_type = _LATIN1[path[8:]]
                self._answer(body, content_type)
            else:
                self._answer(b"not found", "text/plain", status=404)

        # ------------------------------------------------------------------ answers
        def _answer(
            self,
            body: bytes,
            content_type: str | None,
            headers: dict[str, str] | None = None,
            status: int = 200,
        ) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _redirect(self, location: str) -> None:
            self._answer(b"", None, {"Location": location}, status=302)

        def _stream(
            self,
            chunks: Iterable[bytes],
            headers: dict[str, str],
            every: float = 0.0,
            chunked: bool = True,
        ) -> None:
            """200, ``chunks`` one after another (one per ``every`` seconds) until they end, the
            client goes away or the server stops; chunked, or else delimited by the close."""
            self.close_connection = True
            fields = {"Content-Type": "application/rss+xml", **headers, "Connection": "close"}
            body: Iterable[bytes] = chunks
            end = b""
            if chunked:
                fields["Transfer-Encoding"] = "chunked"
                body = (b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c)
                end = b"0\r\n\r\n"
            head = "HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
            self._streaming(itertools.chain([head.encode() + b"\r\n"], body), every, end)

        def _drip_headers(self) -> None:
            self.close_connection = True
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" + b"X-Slow: y\r\n" * 999
            )
            self._streaming((head[i : i + 1] for i in range(len(head))), 1.0, b"")

        def _streaming(self, pieces: Iterable[bytes], every: float, end: bytes) -> None:
            with server._lock:
                server.active += 1
            sock = self.connection
            sock.setblocking(False)
            try:
                for piece in pieces:
                    self._send(sock, piece)
                    if every:
                        self._wait(sock, every)
                self._send(sock, end)
            except _Stopped:
                pass
            finally:
                with server._lock:
                    server.active -= 1

        def _send(self, sock: socket.socket, data: bytes) -> None:
            view = memoryview(data)
            while view:
                if server.stopping.is_set():
                    raise _Stopped
                try:
                    _, writable, _ = select.select([], [sock], [], 0.05)
                    if writable:
                        view = view[sock.send(view) :]
                    elif self._client_gone(sock):
                        raise _Stopped
                except BlockingIOError:
                    continue
                except OSError:
                    raise _Stopped from None

        def _wait(self, sock: socket.socket, seconds: float) -> None:
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                if server.stopping.is_set():
                    raise _Stopped
                readable, _, _ = select.select([sock], [], [], min(left, 0.05))
                if readable and self._client_gone(sock):
                    raise _Stopped

        @staticmethod
        def _client_gone(sock: socket.socket) -> bool:
            try:
                return sock.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                return False
            except OSError:
                return True

    return Handler


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _endless() -> Iterator[bytes]:
    yield _ENDLESS_HEAD
    while True:
        yield _ENDLESS_CHUNK


def _drip(feed: bytes) -> Iterator[bytes]:
    """The feed one byte at a time, then spaces forever."""
    for i in range(len(feed)):
        yield feed[i : i + 1]
    while True:
        yield b" "
