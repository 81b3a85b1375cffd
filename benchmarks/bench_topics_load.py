"""Loading a topics file as it grows: reading and checking it, then building the matcher.

usage: python benchmarks/bench_topics_load.py [--topics 1000,10000,100000] [--seed 7]

Each count gets a topics file written the way people write them (an id, a name, a query of one
to three quoted phrases OR-ed, some ANDed with a second concept or excluding one; the phrases
are word pairs drawn from a fixed vocabulary). For each: the file's size, ``tomllib.loads`` of it
(the floor: what reading TOML costs at all), ``load_topic_file`` (read, validate every entry,
compile every query, find each entry's line for error messages) and ``Matcher(topics)`` (the
index every item is matched against), each in seconds and per topic. Targets (exit 1 if
missed): 10,000 topics load in under 3 s and 100,000 in under 30 s (load_topic_file + Matcher).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_topic_file  # noqa: E402
from bot.match import Matcher  # noqa: E402

WORDS = [
    "grain",
    "deal",
    "border",
    "talks",
    "ceasefire",
    "strike",
    "harbour",
    "bridge",
    "council",
    "vote",
    "election",
    "court",
    "ruling",
    "drone",
    "attack",
    "pipeline",
    "summit",
    "sanctions",
    "minister",
    "resign",
    "protest",
    "march",
    "flood",
    "relief",
    "aid",
    "convoy",
    "hostage",
    "release",
    "tariff",
    "trade",
    "budget",
    "vote",
    "rail",
    "strike",
    "nurses",
    "pay",
    "climate",
    "pledge",
    "coal",
    "plant",
    "wind",
    "farm",
    "chip",
    "export",
    "mine",
    "collapse",
    "wildfire",
    "season",
    "heat",
    "wave",
    "port",
    "closure",
]
TARGETS = {10_000: 3.0, 100_000: 30.0}


def phrase(rng: random.Random) -> str:
    return f'"{rng.choice(WORDS)} {rng.choice(WORDS)}"'


def topics_file(count: int, seed: int) -> str:
    rng = random.Random(seed)
    parts = []
    for n in range(count):
        query = " OR ".join(phrase(rng) for _ in range(rng.randint(1, 3)))
        shape = rng.random()
        if shape < 0.2:
            query = f"({query}) AND {rng.choice(WORDS)}"
        elif shape < 0.3:
            query = f"({query}) NOT {rng.choice(WORDS)}"
        # A TOML literal string: '...' holds the query's double quotes as they are.
        parts.append(f'[[topics]]\nid = "t{n}"\nname = "Topic {n}"\nquery = \'{query}\'\n')
    return "\n".join(parts)


def measure(count: int, seed: int, folder: Path) -> dict[str, float]:
    path = folder / f"topics-{count}.toml"
    path.write_text(topics_file(count, seed), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    started = time.perf_counter()
    tomllib.loads(text)
    toml_s = time.perf_counter() - started
    started = time.perf_counter()
    loaded = load_topic_file(path)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    Matcher(loaded.topics, loaded.aliases)
    matcher_s = time.perf_counter() - started
    assert len(loaded.topics) == count
    return {
        "bytes": len(text.encode()),
        "toml": toml_s,
        "load": load_s,
        "matcher": matcher_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", default="1000,10000,100000")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    counts = [int(c) for c in args.topics.split(",")]
    print(
        f"{'topics':>8} {'file MB':>8} {'tomllib s':>10} {'load s':>8} {'matcher s':>10}"
        f" {'total s':>8} {'µs/topic':>9}"
    )
    missed = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            r = measure(count, args.seed, Path(tmp))
            total = r["load"] + r["matcher"]
            print(
                f"{count:>8,} {r['bytes'] / 1e6:>8.2f} {r['toml']:>10.2f} {r['load']:>8.2f}"
                f" {r['matcher']:>10.2f} {total:>8.2f} {total / count * 1e6:>9.0f}",
                flush=True,
            )
            target = TARGETS.get(count)
            if target is not None and total > target:
                missed.append(f"{count:,} topics in {total:.1f} s (target {target:g} s)")
    print("targets: " + ("missed: " + "; ".join(missed) if missed else "met"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
