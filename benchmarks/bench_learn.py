"""The learned layer's cost: training, and matching with and without it, in the same run.

usage: python benchmarks/bench_learn.py [--items N] [--topics 10000]

1. Training the default topics' models from their shipped examples (no cache), then reading
   them back from the cache as a restart does. Goal: training under 10 s.
2. Matching real news items (one core) with the default topics: query only (the baseline),
   then query + learned layer, on the same items. Prints items per second, microseconds per
   item, how many items passed a model's prefilter (and were scored), how many the models
   matched, and how many a model would have matched without the prefilter (what the prefilter
   costs in recall). Goal: at least 2,000 items per second with the models.
3. The same with ``--topics`` generated topics beside the defaults (models only on the
   topics with examples: the defaults). The matcher's cost should stay flat in topics.
Needs ../shared/corpus (or NEWSBOT_SHARED=DIR; the items are used for speed only).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_match import generated_topics, phrase_pool, raw_entry, read  # noqa: E402
from bot import learn  # noqa: E402
from bot.config import load_topic_file  # noqa: E402
from bot.match import Matcher, train_models  # noqa: E402
from bot.models import Item, Topic  # noqa: E402
from bot.normalize import normalize  # noqa: E402

SHARED = Path(os.environ.get("NEWSBOT_SHARED", ROOT.parent / "shared"))
STREAM = SHARED / "corpus" / "rumca-js-RSS-Link-Database-2023" / "world_outlets_2023-10_to_12.jsonl"


def timed_match(matcher: Matcher, items: list[Item]) -> tuple[float, int, int]:
    """(seconds, query matches, model matches) for matching every item once."""
    queries = models = 0
    start = time.perf_counter()
    for item in items:
        for m in matcher.match(item):
            if m.model is None:
                queries += 1
            else:
                models += 1
    return time.perf_counter() - start, queries, models


def prefilter_figures(matcher: Matcher, items: list[Item]) -> tuple[int, int, int]:
    """(items scored by some model, items a model matched, items a model would have matched
    had every item been scored) — not timed."""
    scored = matched = unfiltered = 0
    for item in items:
        doc = matcher.index(item)
        candidates = matcher.model_candidates(doc)
        scored += bool(candidates)
        title, text = doc["title"].words, doc["text"].words
        for topic_id, model in matcher.models.items():
            hit = model.score(title, text) >= model.threshold
            if hit and topic_id in candidates:
                matched += 1
            if hit:
                unfiltered += 1
    return scored, matched, unfiltered


def line(label: str, seconds: float, count: int) -> str:
    return f"  {label:<28} {count / seconds:9,.0f} items/s  {seconds / count * 1e6:7.1f} µs/item"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--topics", type=int, default=10_000)
    args = parser.parse_args()
    if not STREAM.exists():
        print(f"needs {STREAM}", file=sys.stderr)
        return 2
    shipped = load_topic_file(ROOT / "config" / "topics.toml")
    topics = list(shipped.topics)
    with_examples = [t for t in topics if t.examples]

    print(f"1. training the default topics ({len(with_examples)} with examples)")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "models"
        learn._MEMORY.clear()
        matcher = Matcher(topics, shipped.aliases)
        start = time.perf_counter()
        notes = train_models(matcher, topics, cache)
        trained = time.perf_counter() - start
        for note in notes:
            print(f"  {note}")
        print(f"  trained in {trained:.2f} s (goal < 10 s; includes importing scikit-learn)")
        learn._MEMORY.clear()
        again = Matcher(topics, shipped.aliases)
        start = time.perf_counter()
        train_models(again, topics, cache)
        print(f"  read back from the cache in {(time.perf_counter() - start) * 1000:.0f} ms")

    rows = read(STREAM, args.items)
    items = [normalize(raw_entry(r)) for r in rows]
    print(f"\n2. matching {len(items):,} items, default topics ({len(topics)}), one core")
    plain = Matcher(topics, shipped.aliases)
    timed_match(plain, items[:500])  # warm up
    timed_match(matcher, items[:500])
    base, base_q, _ = timed_match(plain, items)
    full, full_q, full_m = timed_match(matcher, items)
    print(line("query only (baseline)", base, len(items)) + f"  {base_q:,} matches")
    print(
        line("query + learned layer", full, len(items))
        + f"  {full_q:,} query + {full_m:,} model matches"
    )
    print(f"  the learned layer costs {(full - base) / len(items) * 1e6:.1f} µs/item more")
    scored, matched, unfiltered = prefilter_figures(matcher, items)
    print(
        f"  prefilter: {scored:,} of {len(items):,} items ({scored / len(items):.1%}) reach a "
        f"model; the models match {matched:,} items (counting query-matched ones), and would "
        f"match {unfiltered:,} if every item were scored"
    )

    print(f"\n3. {args.topics:,} generated topics beside the defaults, models on the defaults")
    generated = generated_topics(args.topics, phrase_pool(rows))
    many: list[Topic] = [*topics, *generated]
    big_plain = Matcher(many, shipped.aliases)
    big = Matcher(many, shipped.aliases)
    for topic_id, model in matcher.models.items():
        big.set_model(topic_id, model)
    sample = items[: min(len(items), 5_000)]
    timed_match(big_plain, sample[:300])
    timed_match(big, sample[:300])
    base, _, _ = timed_match(big_plain, sample)
    full, _, full_m = timed_match(big, sample)
    print(line("query only (baseline)", base, len(sample)))
    print(line("query + learned layer", full, len(sample)) + f"  {full_m:,} model matches")
    print(f"  the learned layer costs {(full - base) / len(sample) * 1e6:.1f} µs/item more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
