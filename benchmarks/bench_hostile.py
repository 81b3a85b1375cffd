"""Hostile feed bodies beside a good feed: what one poll cycle costs newsbot, against what the same
bytes cost a plain parser.

usage: python benchmarks/bench_hostile.py [--raw-seconds 20] [--raw-memory-mb 2048] [--no-raw]

The bodies are tests/hostileserver.py's, served by it in a process of its own on 127.0.0.1:
``/entity-bomb`` (190 KB declaring one 100 KB entity used 30,000 times), ``/attributes`` (one
element with 100,000 attributes, 1.1 MB), ``/deep`` (a million nested elements, 3 MB),
``/long-title`` (a 5 MB title), and ``/ok.xml``, the good feed.

1. **Baseline** (same run): newsbot built as the service builds it (``open_runtime``: SQLite in
   a temp dir, the shipped limits, the default topics) polls the good feed alone.
2. **Hostile cycle**: a fresh process polls the four hostile feeds and the good one in one
   ``Pipeline.poll_all``. For each cycle: wall time, this process's peak RSS (VmHWM) and the
   parsing workers' (the largest), the longest event-loop stall (a task that sleeps 10 ms in
   a loop: how late it wakes), and how each feed ended.
3. **Raw** (``--no-raw`` skips it): each hostile body given to plain ``feedparser.parse`` in a
   child process limited to ``--raw-seconds`` and ``--raw-memory-mb``, as newsbot parsed them
   before its bounds: seconds, peak RSS, and how it ended (a result, MemoryError, killed).

Targets (exit 1 if one is missed): the hostile cycle ends within 60 s (``--wall-target``), no
process of newsbot's peaks over 400 MB (``--rss-target``), the loop never stalls over 100 ms
(``--lag-target``), and the good feed's items are stored.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_polling import LagMonitor, bench_settings, descendants_hwm_mb, peak_mb  # noqa: E402

HOSTILE = ["/entity-bomb", "/attributes", "/deep", "/long-title"]
GOOD = "/ok.xml"


# ----------------------------------------------------------------------------- the server


def serve() -> int:
    """Serve tests/hostileserver.py until stdin closes; print the port once listening."""
    from tests.hostileserver import HostileServer

    with HostileServer() as server:
        print(server.port, flush=True)
        sys.stdin.read()
    return 0


# ----------------------------------------------------------------------------- the cycles


async def cycle(port: int, paths: list[str]) -> dict[str, Any]:
    """In this (fresh) process: newsbot as the service builds it polls ``paths`` once."""
    import logging

    from bot.models import FeedConfig
    from bot.service import open_runtime

    logging.basicConfig(level=logging.ERROR)
    feeds = [FeedConfig(f"http://127.0.0.1:{port}{p}", p.strip("/"), 300) for p in paths]
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp), feeds)
        async with open_runtime(settings, console=io.StringIO()) as rt:
            started = time.perf_counter()
            with LagMonitor() as lag:
                report = await rt.pipeline.poll_all(rt.pipeline.all_feeds())
            wall = time.perf_counter() - started
            workers = descendants_hwm_mb()
            items = rt.store.stats(rt.pipeline.clock()).items
    return {
        "wall": wall,
        "rss_mb": peak_mb(),
        "worker_rss_mb": workers,
        "items": items,
        "feeds": {
            f.url.rsplit("/", 1)[1]: ("ok" if f.ok else f.error or "failed")
            + (f", {f.new_items} items" if f.ok else "")
            for f in report.feeds
        },
        **lag.summary(),
    }


def run_child(args: list[str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ----------------------------------------------------------------------------- raw feedparser


def raw_parse(body_name: str, memory_mb: int) -> None:
    """In this child: the body given to plain feedparser, under a memory limit."""
    import feedparser

    from tests.hostileserver import hostile_feed

    body = hostile_feed(body_name)
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    started = time.perf_counter()
    try:
        parsed = feedparser.parse(body)
        entries = parsed.get("entries") or []
        longest = max((len(str(e.get("summary", ""))) for e in entries), default=0)
        outcome = f"{len(entries)} entries, longest summary {longest:,} characters"
    except MemoryError:
        outcome = f"MemoryError at the {memory_mb} MB limit"
    print(
        json.dumps(
            {"seconds": time.perf_counter() - started, "rss_mb": peak_mb(), "outcome": outcome}
        )
    )


def raw(name: str, seconds: float, memory_mb: int) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        return run_child(["--raw-child", name, "--raw-memory-mb", str(memory_mb)], seconds)
    except subprocess.TimeoutExpired:
        return {
            "seconds": time.perf_counter() - started,
            "rss_mb": float("nan"),
            "outcome": f"still parsing at {seconds:g} s: killed",
        }


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-seconds", type=float, default=20.0)
    parser.add_argument("--raw-memory-mb", type=int, default=2048)
    parser.add_argument("--no-raw", action="store_true")
    parser.add_argument("--wall-target", type=float, default=60.0)
    parser.add_argument("--rss-target", type=float, default=400.0, help="MB")
    parser.add_argument("--lag-target", type=float, default=100.0, help="ms")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cycle-child", help=argparse.SUPPRESS)
    parser.add_argument("--raw-child", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    if args.raw_child:
        raw_parse(args.raw_child, args.raw_memory_mb)
        return 0
    if args.cycle_child:
        paths = args.cycle_child.split(",")
        print(json.dumps(asyncio.run(cycle(args.port, paths))))
        return 0

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert server.stdout is not None and server.stdin is not None
    port = int(server.stdout.readline())
    try:
        base = run_child(["--cycle-child", GOOD, "--port", str(port)], 300)
        hostile = run_child(["--cycle-child", ",".join([*HOSTILE, GOOD]), "--port", str(port)], 300)
    finally:
        server.stdin.close()
        server.wait(10)
    print(f"{os.cpu_count()} CPUs; one poll cycle, newsbot as the service builds it\n")
    print(
        f"{'cycle':<22} {'wall s':>7} {'RSS MB':>7} {'worker MB':>9} {'lag max ms':>10}"
        f" {'stalls>100ms':>12} {'items':>6}"
    )
    for name, r in (("good feed alone", base), ("hostile + good feed", hostile)):
        print(
            f"{name:<22} {r['wall']:>7.2f} {r['rss_mb']:>7.0f} {r['worker_rss_mb']:>9.0f}"
            f" {r['lag_max_ms']:>10.0f} {r['stalls']:>12} {r['items']:>6}"
        )
    print("\nhow each feed ended in the hostile cycle:")
    for feed, outcome in hostile["feeds"].items():
        print(f"  {feed:<12} {outcome}")
    if not args.no_raw:
        print(
            f"\nthe same bodies given to plain feedparser.parse (a child process each, at most"
            f" {args.raw_seconds:g} s and {args.raw_memory_mb} MB):"
        )
        for path in HOSTILE:
            r = raw(path.strip("/"), args.raw_seconds, args.raw_memory_mb)
            print(
                f"  {path.strip('/'):<12} {r['seconds']:>6.1f} s  peak RSS {r['rss_mb']:>6.0f} MB"
                f"  {r['outcome']}"
            )
    peak = max(hostile["rss_mb"], hostile["worker_rss_mb"])
    good_ok = hostile["feeds"].get("ok.xml", "").startswith("ok")
    missed = []
    if hostile["wall"] > args.wall_target:
        missed.append(f"wall {hostile['wall']:.1f} s > {args.wall_target:g} s")
    if peak > args.rss_target:
        missed.append(f"peak RSS {peak:.0f} MB > {args.rss_target:g} MB")
    if hostile["lag_max_ms"] > args.lag_target:
        missed.append(f"loop stall {hostile['lag_max_ms']:.0f} ms > {args.lag_target:g} ms")
    if not good_ok:
        missed.append("the good feed was not read")
    verdict = "missed: " + "; ".join(missed) if missed else "met"
    print(
        f"\ntargets: wall < {args.wall_target:g} s, RSS < {args.rss_target:g} MB, stall <"
        f" {args.lag_target:g} ms, good feed read: {verdict}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
