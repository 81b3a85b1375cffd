"""Storing and routing new items, then reading what is due, on every store.

usage: python benchmarks/bench_store.py [--chats 1000] [--items 500] [--rounds 3]

``--chats`` chats each follow 3 of 10 topics (one in digest mode, every tenth chat with an urgent
topic and a muted one); ``--items`` items each match 2 topics, half of them in stories, a
third of those without news (story edits). Prints per store the best of ``--rounds`` runs of
``add_items`` (one batch) and of ``pending(limit=1000)``, and the deliveries created (the same
on every store, or the run stops).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.models import Evidence, Item, Match  # noqa: E402
from bot.storage.base import NewItem, Store  # noqa: E402
from bot.storage.memory import MemoryStore  # noqa: E402
from bot.storage.sqlite import SQLiteStore  # noqa: E402

T0 = datetime(2024, 9, 17, 8, 0, tzinfo=UTC)
TOPICS = [f"topic-{n}" for n in range(10)]


def _fill(store: Store, chats: int) -> None:
    for chat in range(1, chats + 1):
        store.upsert_chat(chat, "private", "", T0)
        mine = [TOPICS[(chat + k) % 10] for k in range(3)]
        for topic in mine:
            store.subscribe(chat, topic, T0)
        store.set_mode(chat, mine[2], "digest")
        if chat % 10 == 0:
            store.set_urgent(chat, mine[0], True)
            store.mute(chat, mine[1], T0 + timedelta(days=1))


def _batch(items: int, tag: str) -> list[NewItem]:
    out = []
    for n in range(items):
        story = f"story-{n // 3}" if n % 2 else ""
        item = Item(
            key=f"{tag}:{n}",
            id=str(n),
            source="http://127.0.0.1/feed.xml",
            source_name=f"Outlet {n % 7}",
            title=f"Report {tag} {n}",
            link=None,
            author=None,
            published=T0 + timedelta(seconds=n),
            text="words " * 50,
            story=story,
        )
        matches = tuple(
            Match(TOPICS[(n + k) % 10], 2.0, (Evidence("report", "title", 1, "report"),))
            for k in range(2)
        )
        out.append(NewItem(item, "summary", matches, material=not (story and n % 3 == 0)))
    return out


def run(name: str, make: Callable[[Path], Store], chats: int, items: int, rounds: int) -> int:
    add_best = pending_best = float("inf")
    created = 0
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            store = make(Path(tmp))
            _fill(store, chats)
            store.add_items([replace(e) for e in _batch(items, "warm")], T0)
            batch = _batch(items, f"r{r}")
            start = time.perf_counter()
            _, created = store.add_items(batch, T0)
            add_best = min(add_best, time.perf_counter() - start)
            start = time.perf_counter()
            store.pending(T0, limit=1000)
            pending_best = min(pending_best, time.perf_counter() - start)
            store.close()
    print(
        f"{name:8} add_items({items} items, {chats} chats): {add_best * 1000:8.1f} ms, "
        f"{created} deliveries; pending(1000): {pending_best * 1000:7.1f} ms"
    )
    return created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stores: dict[str, Callable[[Path], Store]] = {
        "memory": lambda tmp: MemoryStore(),
        "sqlite": lambda tmp: SQLiteStore(tmp / "db.sqlite3"),
    }
    created = {n: run(n, make, args.chats, args.items, args.rounds) for n, make in stores.items()}
    if len(set(created.values())) != 1:
        sys.exit(f"the stores disagree on the deliveries: {created}")


if __name__ == "__main__":
    main()
