"""Matcher and ingest throughput on real news items, with a regex-per-topic baseline.

usage: python benchmarks/bench_match.py [--items N] [--topics 10,100,1000]

Prints items per second for the matcher with the default topics plus N generated topics, and in
the same run for a baseline that loops one compiled regex per topic; then the cost of the whole
ingest (normalize, match, summarize, store in SQLite). Needs ../shared/corpus.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_topics  # noqa: E402
from bot.match import Matcher  # noqa: E402
from bot.models import RawEntry, Topic  # noqa: E402
from bot.normalize import normalize  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.storage.sqlite import SQLiteStore  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "rumca-js-RSS-Link-Database-2023"
STREAM = CORPUS / "world_outlets_2023-10_to_12.jsonl"


def load_items(n: int) -> list[RawEntry]:
    rows = []
    with STREAM.open(encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) >= n:
                break
    return [
        RawEntry(
            source=r["outlet"],
            guid=None,
            title=r["title"],
            link=r["link"],
            author=None,
            published=None,
            summary=r["description"],
            content="",
            source_name=r["outlet"],
        )
        for r in rows
    ]


def generated_topics(count: int, items: list[RawEntry], seed: int = 1) -> list[Topic]:
    """Topics like people write: 2-4 OR-ed phrases taken from real headlines."""
    rng = random.Random(seed)
    words = [w for it in items for w in re.findall(r"[A-Za-z]{4,}", it.title)]
    topics = []
    for n in range(count):
        phrases = []
        for _ in range(rng.randint(2, 4)):
            k = rng.randint(1, 2)
            start = rng.randrange(len(words) - k)
            phrases.append('"' + " ".join(words[start : start + k]) + '"')
        topics.append(Topic(f"gen-{n}", f"Generated {n}", " OR ".join(phrases)))
    return topics


def regex_baseline(topics: list[Topic]) -> list[tuple[str, re.Pattern[str]]]:
    compiled = []
    for t in topics:
        phrases = re.findall(r'"([^"]+)"', t.query) or re.findall(r"\w+", t.query)
        body = "|".join(re.escape(p).replace(r"\ ", r"\W+") for p in phrases)
        compiled.append((t.id, re.compile(rf"\b(?:{body})\b", re.IGNORECASE)))
    return compiled


def timed(fn, repeat: int = 1) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--topics", default="10,100,1000")
    args = parser.parse_args()
    if not STREAM.exists():
        print(f"skip: {STREAM} not found")
        return 0
    raws = load_items(args.items)
    items = [normalize(r) for r in raws]
    defaults = list(load_topics(ROOT / "config" / "topics.toml"))
    print(f"{len(items)} real items from {STREAM.name}")
    print(
        f"{'topics':>8} {'matcher items/s':>16} {'regex items/s':>14} {'ratio':>7} {'us/item':>8}"
    )
    for count in (int(c) for c in args.topics.split(",")):
        topics = defaults + generated_topics(count, raws)
        matcher = Matcher(topics)
        ours = timed(lambda m=matcher: [m.match(i) for i in items])
        baseline = regex_baseline(topics)
        texts = [f"{i.title}\n{i.text}" for i in items]
        theirs = timed(lambda b=baseline: [[tid for tid, rx in b if rx.search(t)] for t in texts])  # noqa: B023
        print(
            f"{len(topics):>8} {len(items) / ours:>16,.0f} {len(items) / theirs:>14,.0f} "
            f"{theirs / ours:>7.2f} {ours / len(items) * 1e6:>8.0f}"
        )
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.sqlite3")
        pipeline = Pipeline(
            store=store,
            topics=defaults,
            timezone=__import__("zoneinfo").ZoneInfo("UTC"),
            feed_source=None,
            folder_source=None,
            notifiers={},
        )
        elapsed = timed(lambda: pipeline.ingest(raws))
        again = timed(lambda: pipeline.ingest(raws))
        store.close()
    print(
        f"ingest (normalize, dedup, match, summarize, store): {len(raws) / elapsed:,.0f} items/s; "
        f"the same items again (all known): {len(raws) / again:,.0f} items/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
