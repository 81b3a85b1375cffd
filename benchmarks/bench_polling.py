"""Polling 1,000 feeds served on 127.0.0.1: newsbot's real fetch path, cycle cost, memory, loop lag.

usage: python benchmarks/bench_polling.py [--feeds 1000] [--hosts 100] [--concurrency 20]
       [--transports newsbot] [--also auto] [--clients auto] [--fetch-concurrency 100]
       [--repeat 2] [--gzip]

The server is aiohttp.web in a process of its own (its CPU is not newsbot's), listening on one
port of ``--hosts`` loopback addresses (127.0.0.1, 127.0.0.2 ...): the pipeline polls at most 2
feeds per host, so 1,000 feeds on one address would be polled two at a time, which no real feed
list is. Feed ``n`` is the ``n % 24``-th of the 24 real news feeds that bench_parse.py reads
(../shared/corpus/kagisearch-fastfeedparser), with the host of every item link, GUID and Atom id
prefixed by ``f<n>.``: each feed's items are its own (no dedup across feeds), so the first cycle
ingests every item (40,372 for 1,000 feeds; the 300-item feed is cut at max_items_per_feed=200).
Headlines are unchanged, so story clustering sees each headline once per copy (~42 times).
Each body has an ETag and a Last-Modified; a matching If-None-Match gets a 304.

1. **Cycles.** In a fresh process per transport, newsbot is built as the service builds it
   (``bot.service.open_runtime``: SQLite in a temp dir, ``make_client``, ``HttpFeedSource``, the
   default topics of config/topics.toml, console mode with the console chat following every
   topic, so matches queue deliveries), then ``Pipeline.poll_all`` runs twice: the first cycle
   fetches, parses and ingests everything, the second is conditional (all 304). For each: wall
   and CPU time of the process (all threads), items stored, and how late a task that sleeps
   10 ms in a loop wakes up (the event loop's lag: how long a command would wait for an answer).
   The first cycle's CPU is split into parsing (the worker processes' CPU), Pipeline.ingest
   (on the loop) and the rest of this process's (fetching, feed state). Then one more
   conditional cycle per ``--also`` transport, the feed source's client swapped for one that
   ``make_client`` builds with it.
   Targets: the second cycle costs at most a tenth of the first's CPU (``--cycle-target``); the
   process's peak memory (VmHWM, its own) stays under ``--rss-target`` (200 MB); the loop never
   lags ``--lag-target`` (100 ms, this benchmark's bar for "keeps answering").
2. **Fetch CPU per request.** GET + read the body of the same 1,000 URLs, nothing else, with
   ``--fetch-concurrency`` requests in flight, each client in a fresh process, all httpx ones
   built by ``make_client`` with another transport: newsbot's as shipped, httpx's own pool
   (with sniffio importable, and with a keep-alive pool of 100), the httpx-aiohttp transport,
   and a plain aiohttp ClientSession as the baseline. A cold pass (new connections) then a warm
   one; best of ``--repeat`` rounds (the clients alternate). Target: newsbot's fetch path costs
   at most ``--fetch-target`` times aiohttp's CPU per request (this benchmark's bar).

Parse throughput against plain feedparser is bench_parse.py's. Needs aiohttp (the server and
the baseline: a benchmark-only dependency) and, for its rows, httpx-aiohttp; what is missing is
skipped. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import gzip
import hashlib
import io
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

CORPUS = ROOT.parent / "shared" / "corpus" / "kagisearch-fastfeedparser"
USER_AGENT = "newsbot-bench/0.1"
LAST_MODIFIED = "Wed, 18 Feb 2026 06:00:00 GMT"

# The host of every URL that can become an item's dedup key: <link>, <guid> and <id> text
# (also in CDATA), Atom <link href>, RSS 1.0 rdf:about. The feed's own <link> too (harmless).
_KEY_URL = re.compile(
    rb"<(?:link|guid|id)\b[^>]*>\s*(?:<!\[CDATA\[\s*)?https?://"
    rb"|<(?:link|item|entry)\b[^>]*?\b(?:href|rdf:about)=[\"']https?://"
)

# ----------------------------------------------------------------------------- the feeds


def unique_body(body: bytes, n: int) -> bytes:
    """``body`` with ``f<n>.`` before the host of every item URL, so its items are feed n's."""
    prefix = b"f%d." % n
    return _KEY_URL.sub(lambda m: m.group(0) + prefix, body)


def content_type(body: bytes) -> str:
    head = body[:2048]
    if b"<feed" in head:
        return "application/atom+xml"
    if b"<rdf:RDF" in head:
        return "application/rdf+xml"
    return "application/rss+xml"


def base_feeds() -> list[bytes]:
    """The 24 real news feeds, as bench_parse.py selects them."""
    from bench_parse import news_feeds

    return [body for _, _, body in news_feeds()]


def feed_urls(port: int, feeds: int, hosts: int) -> list[str]:
    """Feed n on loopback address 127.0.0.(1 + n % hosts)."""
    return [f"http://127.0.0.{1 + n % hosts}:{port}/feed/{n}.xml" for n in range(feeds)]


# ----------------------------------------------------------------------------- the server


def serve(feeds: int, hosts: int, compress: bool, lifetime: float) -> int:
    """Serve the feeds until stdin closes (or ``lifetime`` s). Prints the port once listening;
    answers "stats" on stdin with a JSON line (requests, 200s, 304s, CPU seconds)."""
    from aiohttp import web

    bases = base_feeds()
    bodies = [unique_body(bases[n % len(bases)], n) for n in range(feeds)]
    tags = ['"' + hashlib.sha1(b).hexdigest() + '"' for b in bodies]
    types = [content_type(b) for b in bodies]
    zipped = [gzip.compress(b, 6) for b in bodies] if compress else []
    counts = {"requests": 0, "200": 0, "304": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        counts["requests"] += 1
        try:
            n = int(request.match_info["n"])
            body, tag = bodies[n], tags[n]
        except (ValueError, IndexError):
            raise web.HTTPNotFound() from None
        headers = {"ETag": tag, "Last-Modified": LAST_MODIFIED, "Cache-Control": "max-age=60"}
        if request.headers.get("If-None-Match") == tag:
            counts["304"] += 1
            return web.Response(status=304, headers=headers)
        counts["200"] += 1
        headers["Content-Type"] = types[n]
        if compress and "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
            return web.Response(body=zipped[n], headers=headers)
        return web.Response(body=body, headers=headers)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sockets = []
        first = socket.create_server(("127.0.0.1", 0), backlog=1024)
        port = first.getsockname()[1]
        sockets.append(first)
        for k in range(2, hosts + 1):
            sockets.append(socket.create_server((f"127.0.0.{k}", port), backlog=1024))
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        print(port, flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        deadline = loop.time() + lifetime
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), max(0.1, deadline - loop.time()))
            except TimeoutError:
                break
            if not line:  # stdin closed: the benchmark is done
                break
            if line.strip() == b"stats":
                stats = {**counts, "cpu": time.process_time()}
                sys.stdout.write(json.dumps(stats) + "\n")
                sys.stdout.flush()
        await runner.cleanup()

    asyncio.run(main())
    return 0


class Server:
    """The server process, started by the benchmark and ended by closing its stdin."""

    def __init__(self, feeds: int, hosts: int, compress: bool) -> None:
        command = [sys.executable, __file__, "--serve", "--feeds", str(feeds)]
        command += ["--hosts", str(hosts), *(["--gzip"] if compress else [])]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError("the feed server did not start")
        self.port = int(line)

    def stats(self) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        data: dict[str, float] = json.loads(self.proc.stdout.readline())
        return data

    def close(self) -> None:
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ----------------------------------------------------------------------------- measuring


def peak_mb() -> float:
    """Peak resident memory of this process (VmHWM: getrusage's survives fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class LagMonitor:
    """Sleeps ``period`` in a loop and records how late each wake-up was; and how long each
    of the garbage collector's full (generation 2) passes took meanwhile."""

    def __init__(self, period: float = 0.010) -> None:
        self.period = period
        self.lags: list[float] = []
        self.full_gcs: list[float] = []
        self._gc_started = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.period)
            self.lags.append(time.perf_counter() - started - self.period)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.full_gcs.append(time.perf_counter() - self._gc_started)

    def __enter__(self) -> LagMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run())
        gc.callbacks.append(self._gc)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        gc.callbacks.remove(self._gc)

    def summary(self) -> dict[str, float]:
        stalls = [x for x in self.lags if x > 0.1]
        return {
            "lag_max_ms": max(self.lags, default=0.0) * 1000,
            "stalls": len(stalls),  # wake-ups more than 100 ms late
            "stalled_s": sum(stalls),
            "full_gcs": len(self.full_gcs),
            "full_gc_max_ms": max(self.full_gcs, default=0.0) * 1000,
        }


def run_child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run this script in ``mode`` in a fresh process; its last stdout line is JSON."""
    out = subprocess.run(
        [sys.executable, __file__, mode, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} {spec.get('variant')} failed:\n{out.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


# ----------------------------------------------------------------------------- transports


def have(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def provide_sniffio() -> None:
    """Make ``import sniffio`` succeed in this process, as if it were installed.

    httpcore 1.0.x imports sniffio inside ``current_async_library()``, which runs for every
    lock, semaphore and event it makes (several per request); anyio >= 4.11 no longer depends
    on sniffio, so where nothing else installs it every one of those imports fails, after a
    search of sys.path (encode/httpcore discussion #1102, pull request #1103). With sniffio
    importable the import is a sys.modules hit. The stub answers what sniffio answers here.
    """
    if "sniffio" in sys.modules or have("sniffio"):
        return
    import types

    stub = types.ModuleType("sniffio")
    stub.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
    sys.modules["sniffio"] = stub


def make_transport(variant: str) -> Any:
    """The transport ``make_client`` is given for a variant (None: newsbot's own choice)."""
    import httpx

    if variant.endswith("+sniffio"):
        provide_sniffio()
        variant = variant.removesuffix("+sniffio")
    if variant == "newsbot":
        return None
    if variant == "httpx-pool":  # httpx's own pool, default limits (100, keep-alive 20)
        return httpx.AsyncHTTPTransport()
    if variant == "httpx-pool-ka100":  # a keep-alive pool as big as the connection pool
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        return httpx.AsyncHTTPTransport(limits=limits)
    if variant == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return AiohttpTransport()
    raise ValueError(f"unknown transport {variant!r}")


def shipped_transport() -> str:
    """The class of the transport ``make_client`` uses when given none."""
    from bot.sources.feeds import make_client

    client = make_client(1.0, USER_AGENT)
    kind = type(client._transport)
    asyncio.run(client.aclose())
    return f"{kind.__module__}.{kind.__qualname__}"


HTTPX_POOL = "httpx.AsyncHTTPTransport"
VARIANTS = {
    "newsbot": "newsbot's make_client",
    "httpx-pool": "httpx pool",
    "httpx-pool+sniffio": "httpx pool + sniffio",
    "httpx-pool-ka100": "httpx pool, keep-alive 100",
    "httpx-pool-ka100+sniffio": "httpx pool, ka100, sniffio",
    "httpx-aiohttp": "httpx-aiohttp transport",
    "aiohttp": "aiohttp (baseline)",
}


# ----------------------------------------------------------------------------- the cycles


def descendants_cpu() -> float:
    """CPU seconds (user + system) of this process's live descendants: the parsing workers
    and their fork server (children of the fork server, not of this process)."""
    me = os.getpid()
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid in cpu:
        up = parents.get(pid)
        while up and up != me:
            up = parents.get(up)
        if up == me:
            total += cpu[pid]
    return total


def descendants_hwm_mb() -> float:
    """The largest peak resident memory (VmHWM) among this process's descendants, MB."""
    me, best = os.getpid(), 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0")) in (me, *_children(me)):
            best = max(best, int(fields.get("VmHWM", "0 kB").split()[0]) / 1024)
    return best


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class StageTimes:
    """Where a cycle's CPU goes: parsing (in the worker processes: their CPU time, read from
    /proc) and ``Pipeline.ingest`` (on the event loop: normalize, dedup, stories, match,
    store). Measurement only: both are wrapped, neither is changed."""

    def __init__(self) -> None:
        self.entries = 0
        self.parse_started = descendants_cpu()
        self.ingest: list[tuple[float, float, int]] = []  # (wall s, -, items stored)
        self.step_cpu = self.step_taken = 0.0  # CPU of ingest's steps, all feeds together

    def install(self, pipeline: Any) -> None:
        # The pool's and the ingest processor's bound methods (each shadowed per instance).
        # Ingest's CPU is that of its synchronous steps (stories and matching per item,
        # storing per feed): between them it gives the loop turns that other feeds' work uses.
        pool, ingester = pipeline.feed_source.parser, pipeline.ingester
        parse, ingest = pool.parse, ingester.ingest_async
        steps = {name: getattr(ingester, name) for name in ("_enrich", "_store")}

        async def counted_parse(*args: Any, **kwargs: Any) -> Any:
            parsed = await parse(*args, **kwargs)
            self.entries += len(parsed.entries)
            return parsed

        async def timed_ingest(*args: Any, **kwargs: Any) -> tuple[int, int]:
            started = time.perf_counter()
            stored, alerts = await ingest(*args, **kwargs)
            self.ingest.append((time.perf_counter() - started, 0.0, stored))
            return stored, alerts

        def timed(step: Any) -> Any:
            def run(*args: Any, **kwargs: Any) -> Any:
                cpu = time.thread_time()
                try:
                    return step(*args, **kwargs)
                finally:
                    self.step_cpu += time.thread_time() - cpu

            return run

        vars(pool)["parse"] = counted_parse
        vars(ingester)["ingest_async"] = timed_ingest
        for name, step in steps.items():
            vars(ingester)[name] = timed(step)

    def take(self) -> dict[str, float]:
        entries, ingest = self.entries, self.ingest
        self.entries, self.ingest = 0, []
        now = descendants_cpu()
        parse_cpu, self.parse_started = now - self.parse_started, now
        step_taken, self.step_taken = self.step_taken, self.step_cpu
        longest = max(ingest, default=(0.0, 0.0, 0))
        return {
            "parse_cpu": parse_cpu,
            "parse_entries": entries,
            "ingest_cpu": self.step_cpu - step_taken,
            "ingest_max_ms": longest[0] * 1000,
            "ingest_max_items": longest[2],
            "worker_rss_mb": descendants_hwm_mb(),
        }


def bench_settings(folder: Path, feeds: Sequence[Any], **extra: Any) -> Any:
    """newsbot's settings for a benchmark: the shipped topics, SQLite in ``folder``, no
    documents, these feeds (``extra``: other Settings fields)."""
    from zoneinfo import ZoneInfo

    from bot.config import Settings, load_topic_file

    topics_path = ROOT / "config" / "topics.toml"
    shipped = load_topic_file(topics_path)
    return Settings(
        config_path=folder / "config.toml",
        timezone=ZoneInfo("UTC"),
        topics_path=topics_path,
        topics=shipped.topics,
        aliases=shipped.aliases,
        data_dir=folder,
        documents_dir=None,
        feeds=tuple(feeds),
        **extra,
    )


async def poll_cycles(spec: dict[str, Any]) -> dict[str, Any]:
    """In this (fresh) process: build newsbot as the service does; poll every feed twice."""
    import logging

    from bot.models import FeedConfig
    from bot.service import open_runtime
    from bot.sources.feeds import make_client

    logging.basicConfig(level=logging.WARNING)
    urls: list[str] = spec["urls"]
    feeds = tuple(FeedConfig(url, f"feed {n}", 300) for n, url in enumerate(urls))
    result: dict[str, Any] = {"variant": spec["variant"], "rss_start_mb": rss_mb()}
    stages = StageTimes()
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(
            Path(tmp), feeds, user_agent=USER_AGENT, poll_concurrency=spec["concurrency"]
        )
        transport = make_transport(spec["variant"])
        async with open_runtime(settings, transport=transport, console=io.StringIO()) as rt:
            stages.install(rt.pipeline)

            async def cycle() -> dict[str, Any]:
                cpu, wall = time.process_time(), time.perf_counter()
                with LagMonitor() as lag:
                    report = await rt.pipeline.poll_all(rt.pipeline.all_feeds())
                wall = time.perf_counter() - wall
                cpu = time.process_time() - cpu
                errors = [f.error for f in report.feeds if not f.ok]
                return {
                    "wall": wall,
                    "cpu": cpu,
                    "items": sum(f.new_items for f in report.feeds),
                    "ok": sum(1 for f in report.feeds if f.ok and not f.not_modified),
                    "not_modified": sum(1 for f in report.feeds if f.not_modified),
                    "errors": len(errors),
                    "first_error": errors[0] if errors else None,
                    "rss_mb": rss_mb(),
                    **lag.summary(),
                    **stages.take(),
                }

            result["first"] = await cycle()
            result["second"] = await cycle()
            result["story_items"] = len(rt.pipeline.stories)
            # More conditional cycles, each with the feed source's client swapped for one
            # built by make_client with another transport (the first cycle is the same ingest).
            source: Any = rt.pipeline.feed_source
            shipped_client = source.client
            result["also"] = {}
            for variant in spec["also"]:
                source.client = make_client(
                    settings.fetch_timeout, settings.user_agent, make_transport(variant)
                )
                try:
                    result["also"][variant] = await cycle()
                finally:
                    await source.client.aclose()
                    source.client = shipped_client
    result["peak_mb"] = peak_mb()
    return result


# ----------------------------------------------------------------------------- fetch only


async def fetch_passes(spec: dict[str, Any]) -> dict[str, Any]:
    """In this (fresh) process: GET and read every URL, twice (cold, then warm)."""
    urls: list[str] = spec["urls"]
    limit = asyncio.Semaphore(spec["concurrency"])
    variant: str = spec["variant"]
    get: Callable[[str], Any]
    if variant == "aiohttp":
        import aiohttp

        from bot.sources.feeds import _ACCEPT

        session = aiohttp.ClientSession(
            headers={"User-Agent": USER_AGENT, "Accept": _ACCEPT},
            timeout=aiohttp.ClientTimeout(total=60),
        )

        async def get_aiohttp(url: str) -> int:
            async with session.get(url) as response:
                return len(await response.read())

        get, close = get_aiohttp, session.close
    else:
        from bot.sources.feeds import make_client

        client = make_client(20.0, USER_AGENT, make_transport(variant))

        async def get_httpx(url: str) -> int:
            response = await client.get(url)
            return len(response.content)

        get, close = get_httpx, client.aclose

    async def one(url: str) -> int:
        async with limit:
            return int(await get(url))

    result: dict[str, Any] = {"variant": variant, "concurrency": spec["concurrency"]}
    for label in ("cold", "warm"):
        cpu, wall = time.process_time(), time.perf_counter()
        sizes = await asyncio.gather(*(one(url) for url in urls))
        result[label] = {
            "cpu": time.process_time() - cpu,
            "wall": time.perf_counter() - wall,
            "bytes": sum(sizes),
        }
    await close()
    result["peak_mb"] = peak_mb()
    return result


# ----------------------------------------------------------------------------- report


def expected_items(feeds: int) -> int:
    """Items the first cycle should store: each feed's distinct keys, cut at 200 entries."""
    from bot.normalize import normalize
    from bot.sources.parse import parse_feed

    bases = base_feeds()
    per_base = []
    for n, body in enumerate(bases):
        parsed = parse_feed(unique_body(body, n), url=f"http://bench/{n}", limit=200)
        per_base.append(len({normalize(e).key for e in parsed.entries}))
    return sum(per_base[n % len(bases)] for n in range(feeds))


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def cycle_table(results: Sequence[dict[str, Any]], names: dict[str, str]) -> None:
    print(
        f"{'transport':<36} {'cycle':<6} {'wall s':>7} {'CPU s':>6} {'CPU ms/feed':>11}"
        f" {'items':>6} {'200/304/err':>12} {'lag max ms':>10} {'stalled s':>9} {'RSS MB':>7}"
    )

    def row(name: str, label: str, c: dict[str, Any]) -> None:
        feeds = c["ok"] + c["not_modified"] + c["errors"]
        codes = f"{c['ok']}/{c['not_modified']}/{c['errors']}"
        print(
            f"{name:<36} {label:<6} {c['wall']:>7.2f} {c['cpu']:>6.2f}"
            f" {c['cpu'] / max(1, feeds) * 1000:>11.2f} {c['items']:>6} {codes:>12}"
            f" {c['lag_max_ms']:>10.0f} {c['stalled_s']:>9.1f} {c['rss_mb']:>7.0f}"
        )

    for r in results:
        first = r["first"]
        row(names[r["variant"]], "first", first)
        row("", "second", r["second"])
        for variant, c in r["also"].items():
            row(f"  via {names[variant]}", "second", c)
        rest = first["cpu"] - first["ingest_cpu"]
        print(
            f"{'':<4} first cycle's CPU: parsing {first['parse_cpu']:.1f} s in worker processes"
            f" (peak RSS of one {first['worker_rss_mb']:.0f} MB)"
            f" ({first['parse_entries'] / max(1e-9, first['parse_cpu']):,.0f} entries/s);"
            f" Pipeline.ingest {first['ingest_cpu']:.1f} s on the event loop"
            f" ({first['items'] / max(1e-9, first['ingest_cpu']):,.0f} items/s; the longest, with"
            f" the turns it gave the loop,"
            f" {first['ingest_max_ms']:.0f} ms for {first['ingest_max_items']} items);"
            f" the rest (fetch, feed state, scheduling) {rest:.1f} s; full GC passes:"
            f" {first['full_gcs']}, the longest {first['full_gc_max_ms']:.0f} ms"
        )
        ratios = [f"{first['cpu'] / max(1e-9, r['second']['cpu']):.1f}x"]
        ratios += [f"{first['cpu'] / max(1e-9, c['cpu']):.1f}x ({v})" for v, c in r["also"].items()]
        print(
            f"{'':<4} conditional cycle cheaper in CPU: {', '.join(ratios)}; peak RSS"
            f" {r['peak_mb']:.0f} MB (after imports {r['rss_start_mb']:.0f} MB; the story index"
            f" holds {r['story_items']:,} items); server CPU {r['server_ms']:.2f} ms per request"
        )
        if first["first_error"]:
            print(f"{'':<4} first error: {first['first_error']}")


def fetch_table(
    best: dict[tuple[str, int], dict[str, float]],
    clients: Sequence[str],
    concurrencies: Sequence[int],
    names: dict[str, str],
) -> None:
    print(
        f"{'client':<36} {'in flight':>9} {'cold CPU ms/req':>15} {'warm CPU ms/req':>15}"
        f" {'warm req/s':>10} {'warm vs aiohttp':>15} {'peak MB':>8}"
    )
    for conc in concurrencies:
        base = best.get(("aiohttp", conc))
        for variant in clients:
            b = best[variant, conc]
            versus = f"{b['warm'] / base['warm']:.1f}x" if base else "-"
            print(
                f"{names[variant]:<36} {conc:>9} {b['cold']:>15.2f} {b['warm']:>15.2f}"
                f" {b['rate']:>10,.0f} {versus:>15} {b['peak']:>8.0f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses (max 254)")
    parser.add_argument("--concurrency", type=int, default=20, help="the pipeline's polls")
    parser.add_argument(
        "--transports",
        default="newsbot",
        help="the cycles, each in a fresh process ('' for none), of: "
        + ", ".join(v for v in VARIANTS if v != "aiohttp"),
    )
    parser.add_argument(
        "--also",
        default="auto",
        help="one more conditional cycle with each of these ('' for none; auto: httpx-aiohttp or"
        " httpx-pool, whichever newsbot does not ship, and httpx-pool+sniffio)",
    )
    parser.add_argument(
        "--clients",
        default="auto",
        help="for the fetch-only part ('' for none; auto: all but httpx-pool when newsbot ships"
        " it, and ka100 with sniffio)",
    )
    parser.add_argument("--fetch-concurrency", default="100", help="for the fetch-only part")
    parser.add_argument("--repeat", type=int, default=2, help="fetch-only rounds; best counts")
    parser.add_argument("--gzip", action="store_true", help="serve gzip to who accepts it")
    parser.add_argument("--cycle-target", type=float, default=10.0)
    parser.add_argument("--rss-target", type=float, default=200.0, help="MB")
    parser.add_argument("--lag-target", type=float, default=100.0, help="max loop lag, ms")
    parser.add_argument("--fetch-target", type=float, default=4.0, help="x aiohttp's CPU/req")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-seconds", type=float, default=1800.0, help=argparse.SUPPRESS)
    parser.add_argument("--poll-child", help=argparse.SUPPRESS)
    parser.add_argument("--fetch-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.feeds, args.hosts, args.gzip, args.serve_seconds)
    if args.poll_child:
        print(json.dumps(asyncio.run(poll_cycles(json.loads(args.poll_child)))))
        return 0
    if args.fetch_child:
        print(json.dumps(asyncio.run(fetch_passes(json.loads(args.fetch_child)))))
        return 0
    if not (CORPUS / "INDEX.tsv").exists():
        print(f"skip: {CORPUS} not found")
        return 0
    if not have("aiohttp"):
        print("skip: the feed server needs aiohttp (pip install 'aiohttp>=3.10,<4')")
        return 0
    if not 1 <= args.hosts <= 254:
        parser.error("--hosts is 1 to 254")

    shipped = shipped_transport()
    on_pool = shipped == HTTPX_POOL
    names = dict(VARIANTS, newsbot=f"newsbot: {shipped.rsplit('.', 1)[-1]}")
    transports = [t for t in args.transports.split(",") if t]
    also = [a for a in args.also.split(",") if a]
    if also == ["auto"]:
        also = ["httpx-aiohttp" if on_pool else "httpx-pool", "httpx-pool+sniffio"]
    # sniffio, once importable, stays so in the process: those cycles go last.
    also.sort(key=lambda v: v.endswith("+sniffio"))
    clients = [c for c in args.clients.split(",") if c]
    if clients == ["auto"]:
        clients = ["newsbot", "httpx-pool", "httpx-pool+sniffio", "httpx-pool-ka100"]
        clients += ["httpx-aiohttp", "aiohttp"]
        if on_pool:  # the same client twice
            clients.remove("httpx-pool")
    unknown = [v for v in transports + also + clients if v not in VARIANTS]
    if unknown or "aiohttp" in transports + also:
        parser.error(f"unknown transport or client: {', '.join(unknown) or 'aiohttp'}")
    if not have("httpx_aiohttp"):
        print("httpx-aiohttp is not installed: its rows are skipped (pip install httpx-aiohttp)")
        transports = [t for t in transports if t != "httpx-aiohttp"]
        also = [a for a in also if a != "httpx-aiohttp"]
        clients = [c for c in clients if c != "httpx-aiohttp"]
    concurrencies = [int(c) for c in args.fetch_concurrency.split(",") if c]

    bases = base_feeds()
    size = sum(len(unique_body(bases[n % len(bases)], n)) for n in range(args.feeds))
    expected = expected_items(args.feeds)
    sniffio = "installed" if have("sniffio") else "not installed"
    cycles: list[dict[str, Any]] = []
    best: dict[tuple[str, int], dict[str, float]] = {}
    server = Server(args.feeds, args.hosts, args.gzip)
    try:
        urls = feed_urls(server.port, args.feeds, args.hosts)
        print(
            f"{args.feeds:,} feeds on {args.hosts} loopback addresses, bodies from the"
            f" {len(bases)} real news feeds with per-feed links and GUIDs: {size / 1e6:.0f} MB"
            f"{' (served gzipped)' if args.gzip else ''}, {expected:,} distinct items; the server"
            f" is aiohttp.web in its own process. newsbot's transport: {shipped}; sniffio"
            f" {sniffio}"
        )
        print(
            f"\ncycles: Pipeline.poll_all as the service builds it (SQLite, default topics,"
            f" {args.concurrency} polls at once, 2 per host), each transport in a fresh process"
        )
        for variant in transports:
            before = server.stats()
            spec = {
                "variant": variant,
                "also": [a for a in also if a != variant],
                "urls": urls,
                "concurrency": args.concurrency,
            }
            result = run_child("--poll-child", spec)
            after = server.stats()
            served = max(1.0, after["requests"] - before["requests"])
            result["server_ms"] = (after["cpu"] - before["cpu"]) / served * 1000
            cycles.append(result)
        cycle_table(cycles, names)

        runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for _ in range(args.repeat):
            for conc in concurrencies:
                for variant in clients:
                    spec = {"variant": variant, "urls": urls, "concurrency": conc}
                    runs.setdefault((variant, conc), []).append(run_child("--fetch-child", spec))
        short = {k[0] for k, tries in runs.items() for t in tries if t["warm"]["bytes"] != size}
        if short:
            print(f"warning: {', '.join(sorted(short))} did not read all {size:,} bytes")
        for key, tries in runs.items():
            best[key] = {
                "cold": min(t["cold"]["cpu"] for t in tries) / len(urls) * 1000,
                "warm": min(t["warm"]["cpu"] for t in tries) / len(urls) * 1000,
                "rate": len(urls) / min(t["warm"]["wall"] for t in tries),
                "peak": max(t["peak_mb"] for t in tries),
            }
        if best:
            print(
                f"\nfetch only: GET + read the body of the {len(urls):,} URLs, no parsing; each"
                f" client in a fresh process; best of {args.repeat} rounds"
            )
            fetch_table(best, clients, concurrencies, names)
    finally:
        server.close()

    print("\ntargets:")
    ok = True
    for r in cycles:
        first, second = r["first"], r["second"]
        ratio = first["cpu"] / max(1e-9, second["cpu"])
        checks = [
            (
                f"first cycle stored {first['items']:,} of {expected:,} items, "
                f"{first['errors']} feeds failed",
                first["items"] == expected and first["errors"] == 0,
            ),
            (
                f"second cycle: {second['not_modified']:,} of {len(urls):,} feeds answered 304",
                second["not_modified"] == len(urls),
            ),
            (
                f"second cycle {ratio:.1f}x cheaper in CPU (target {args.cycle_target:g}x)",
                ratio >= args.cycle_target,
            ),
            (
                f"peak RSS {r['peak_mb']:.0f} MB (target < {args.rss_target:g} MB)",
                r["peak_mb"] < args.rss_target,
            ),
            (
                f"event loop lag in the first cycle: max {first['lag_max_ms']:.0f} ms,"
                f" {first['stalls']} stalls over 100 ms for {first['stalled_s']:.1f} s of"
                f" {first['wall']:.0f} s; longest full GC pass {first['full_gc_max_ms']:.0f} ms"
                f" (target max < {args.lag_target:g} ms)",
                first["lag_max_ms"] < args.lag_target,
            ),
        ]
        for text, good in checks:
            print(f"  [{r['variant']}] {text}: {verdict(good)}")
            ok = ok and good
    for conc in concurrencies:
        base, ours = best.get(("aiohttp", conc)), best.get(("newsbot", conc))
        if base is None or ours is None:
            continue
        ratio = ours["warm"] / base["warm"]
        others = "".join(
            f"; {v} {best[v, conc]['warm'] / base['warm']:.1f}x"
            for v in clients
            if v not in ("aiohttp", "newsbot")
        )
        good = ratio <= args.fetch_target
        print(
            f"  [newsbot] fetch CPU per warm request at {conc} in flight: {ours['warm']:.2f} ms,"
            f" {ratio:.1f}x aiohttp's {base['warm']:.2f} ms (target <= {args.fetch_target:g}x"
            f"{others}): {verdict(good)}"
        )
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
