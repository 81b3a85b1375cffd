"""Story clustering on the real Oct–Dec 2023 stream: how many stories, how big, and a sample.

usage: python benchmarks/eval_stories.py [--sample 50] [--seed 2023] [--items N]

Assigns the 20,930 items of ``world_outlets_2023-10_to_12.jsonl`` (11 outlets, in published
order) to stories with :class:`bot.stories.StoryIndex`, prints the number of stories, their
size distribution, how many have items from more than one outlet, how often a joining item
changes its story materially, and then ``--sample`` random multi-source stories (fixed seed)
with every item's outlet, time and title, to be checked by hand: is each one event?
Needs ../shared/corpus.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.models import Item  # noqa: E402
from bot.normalize import normalize  # noqa: E402
from bot.stories import StoryAssignment, StoryIndex  # noqa: E402
from tests.factories import stream_entry  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "rumca-js-RSS-Link-Database-2023"
STREAM = CORPUS / "world_outlets_2023-10_to_12.jsonl"
BINS = (("1", 1, 1), ("2", 2, 2), ("3-5", 3, 5), ("6-10", 6, 10), (">10", 11, 10**9))


def load_items(path: Path = STREAM, limit: int | None = None) -> list[Item]:
    """The stream's rows as normalized items, sorted by published (then by file order)."""
    items = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            items.append(normalize(stream_entry(row)))
    items.sort(key=lambda i: i.published)  # stable: equal times keep the file's order
    return items[:limit] if limit else items


def cluster(items: list[Item]) -> list[StoryAssignment]:
    index = StoryIndex()
    return [index.assign(item) for item in items]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--items", type=int)
    args = parser.parse_args()
    if not STREAM.exists():
        print(f"skip: {STREAM} not found")
        return 0
    items = load_items(limit=args.items)
    started = time.perf_counter()
    assigned = cluster(items)
    elapsed = time.perf_counter() - started
    stories: dict[str, list[Item]] = defaultdict(list)
    for item, a in zip(items, assigned, strict=True):
        stories[a.story_id].append(item)
    sizes = Counter(len(members) for members in stories.values())
    multi = {
        sid: members for sid, members in stories.items() if len({m.source for m in members}) > 1
    }
    joined = [a for a in assigned if not a.new]
    print(
        f"{len(items):,} items, {len(stories):,} stories "
        f"({elapsed / len(items) * 1e6:.0f} µs/item); "
        f"{len(multi):,} stories from more than one outlet, "
        f"holding {sum(len(m) for m in multi.values()):,} items"
    )
    print("story size  stories    items")
    for label, lo, hi in BINS:
        n = sum(c for s, c in sizes.items() if lo <= s <= hi)
        k = sum(s * c for s, c in sizes.items() if lo <= s <= hi)
        print(f"{label:>10} {n:>8,} {k:>8,}")
    print(f"largest story: {max(sizes)} items")
    material = sum(a.material for a in joined)
    print(
        f"joining items that change their story materially: {material:,} of {len(joined):,}"
        f" ({material / max(1, len(joined)):.0%})"
    )
    rng = random.Random(args.seed)
    chosen = rng.sample(sorted(multi), min(args.sample, len(multi)))
    for n, sid in enumerate(chosen, 1):
        members = multi[sid]
        print(f"\n#{n} {sid} ({len(members)} items, {len({m.source for m in members})} outlets)")
        for m in members:
            print(f"   {m.published:%m-%d %H:%M} {m.source_name[:18]:<18} {m.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
