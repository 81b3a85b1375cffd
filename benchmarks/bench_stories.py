"""Story clustering cost per item as the stream grows, against a naive all-pairs baseline.

usage: python benchmarks/bench_stories.py [--sizes 2000,5000,10000,20930] [--baseline 2000,5000]

Runs :class:`bot.stories.StoryIndex` over the first N items of the real Oct–Dec 2023 stream
(11 outlets, in published order) and prints the CPU microseconds per item (process time, best
of ``--repeat`` runs: the machine is shared, the code is not), the stories found and the items
held at the end (one window). The cost per item should stay flat as N grows: an item is
compared only with the candidates its rare words find in capped postings lists, never with
every item of the window.

In the same run, on the smaller sizes, a naive baseline compares every item with every item of
the window (same words, weights and threshold, no index). Its cost per item follows the number
of items in the window, and would follow N itself without a window. Needs ../shared/corpus.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter, deque
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from eval_stories import STREAM, load_items  # noqa: E402

from bot.models import Item  # noqa: E402
from bot.stories import (  # noqa: E402
    PRIOR_ITEMS,
    THRESHOLD,
    TIME_PENALTY,
    TITLE_BOOST,
    WINDOW,
    StoryIndex,
    _Features,  # the same words as the index: the baseline differs only in how it compares
    story_id_for,
)


class AllPairs:
    """For each item, the cosine with every item of the window; the best story above the
    threshold (with the same time penalty) wins."""

    def __init__(self) -> None:
        self.held: deque[tuple[datetime, _Features, str]] = deque()
        self.df: Counter[str] = Counter()
        self.comparisons = 0

    def _vector(self, f: _Features, total: int) -> tuple[dict[str, float], float]:
        v = {
            w: math.log(total / (self.df[w] + 1)) * (TITLE_BOOST if w in f.title_words else 1.0)
            for w in f.words
        }
        return v, math.sqrt(sum(x * x for x in v.values()))

    def assign(self, item: Item) -> str:
        while self.held and self.held[0][0] < item.published - WINDOW:
            _, old, _ = self.held.popleft()
            self.df.subtract(old.words)
        mine = _Features.of(item)
        total = len(self.held) + PRIOR_ITEMS
        a, na = self._vector(mine, total)
        best, best_score = story_id_for(item.key), 0.0
        for published, theirs, story in self.held:
            self.comparisons += 1
            b, nb = self._vector(theirs, total)
            if not na or not nb:
                continue
            cosine = sum(x * b[w] for w, x in a.items() if w in b) / (na * nb)
            gap = min(1.0, abs(item.published - published) / WINDOW)
            margin = cosine - (THRESHOLD + TIME_PENALTY * gap)
            if margin >= 0 and margin > best_score:
                best, best_score = story, margin
        self.held.append((item.published, mine, best))
        self.df.update(mine.words)
        return best


def run_index(items: list[Item]) -> tuple[float, int, int]:
    index = StoryIndex()
    started = time.process_time()
    stories = {index.assign(i).story_id for i in items}
    return (time.process_time() - started) / len(items), len(stories), len(index)


def run_baseline(items: list[Item]) -> tuple[float, int, float]:
    baseline = AllPairs()
    started = time.process_time()
    stories = {baseline.assign(i) for i in items}
    elapsed = time.process_time() - started
    return elapsed / len(items), len(stories), baseline.comparisons / len(items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,5000,10000,20930")
    parser.add_argument("--baseline", default="2000,5000", help="sizes to run the baseline on")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not STREAM.exists():
        print(f"skip: {STREAM} not found")
        return 0
    items = load_items()
    sizes = [min(int(s), len(items)) for s in args.sizes.split(",")]
    baseline_sizes = {int(s) for s in args.baseline.split(",") if s}
    print(f"{len(items):,} real items from {STREAM.name}, window {WINDOW}")
    print(
        f"{'items':>7} {'us/item':>8} {'stories':>8} {'held':>6}"
        f" {'all-pairs us/item':>18} {'compared/item':>14} {'stories':>8} {'speed-up':>9}"
    )
    for size in sizes:
        chunk = items[:size]
        runs = [run_index(chunk) for _ in range(max(1, args.repeat))]
        per_item, stories, held = min(runs)
        line = f"{size:>7,} {per_item * 1e6:>8,.0f} {stories:>8,} {held:>6,}"
        if size in baseline_sizes:
            theirs, their_stories, compared = run_baseline(chunk)
            line += (
                f" {theirs * 1e6:>18,.0f} {compared:>14,.0f} {their_stories:>8,}"
                f" {theirs / per_item:>8,.1f}x"
            )
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
