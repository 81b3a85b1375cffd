"""One chat's costly /test against another chat's /help, through the real bot and the fake Bot API.

usage: python benchmarks/bench_costly_query.py [--items 1000] [--words 1500] [--vocabulary V]

The service runs as in production (python-telegram-bot against tests/fakebotapi.py on
127.0.0.1, SQLite in a temporary folder) with ``[watches] query_chars`` raised so that the
query is accepted. ``--items`` items of ``--words`` words are stored first, their words drawn
with the frequencies of a vocabulary: ``corpus`` (the words of ../shared/corpus's 2023 news
stream, with their counts; the default when it is there) or ``synthetic`` (three-letter words,
Zipf frequencies). Chat A then sends ``/test`` with the query that froze the bot: the 250 most
frequent words OR-ed, NOT NEAR/100 the next 249. Half a second later chat B sends ``/help``.
It prints, in the same run: B's wait for /help alone (the baseline), A's wall time from its
command to its answer and what the answer says, and B's wait while A's query runs. The times
are taken by threads that wait on the fake server, so they are right even when the bot's
event loop is blocked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.service import run_service  # noqa: E402
from bot.storage.base import NewItem  # noqa: E402
from bot.storage.sqlite import SQLiteStore  # noqa: E402
from tests.factories import costly_query, long_items, short_words, write_config  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

STREAM = "corpus/rumca-js-RSS-Link-Database-2023/world_outlets_2023-10_to_12.jsonl"
A, B = 101, 202


def vocabulary(kind: str, shared: Path) -> tuple[list[str], list[float]]:
    """Words and their weights, most frequent first."""
    path = shared / STREAM
    if kind == "corpus" and path.exists():
        counts: Counter[str] = Counter()
        with path.open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                counts.update(re.findall(r"[a-z]{2,}", f"{row['title']} {row['description']}"))
        common = counts.most_common(5000)
        return [w for w, _ in common], [float(c) for _, c in common]
    words = short_words(600)
    return words, [1.0 / (rank + 1) for rank in range(len(words))]


def reply_at(fake: FakeBotAPI, chat: int, count: int, timeout: float = 180.0) -> float:
    """When the ``count``-th message to ``chat`` arrived at the fake server (monotonic); NaN
    if it did not come within ``timeout``."""
    try:
        fake.wait_for_messages(chat, count, timeout)
    except AssertionError:
        return float("nan")
    return time.monotonic()


def drive(fake: FakeBotAPI, query: str) -> dict[str, float | str]:
    """Run in a thread of its own: the bot's event loop may be blocked, this thread is not."""
    sent = time.monotonic()
    fake.send_user_message(B, "/help")
    alone = reply_at(fake, B, 1) - sent
    a_sent = time.monotonic()
    fake.send_user_message(A, "/test " + query)
    a_done: list[float] = []
    waiter = threading.Thread(target=lambda: a_done.append(reply_at(fake, A, 1)))
    waiter.start()
    time.sleep(0.5)  # B writes while A's query runs
    b_sent = time.monotonic()
    fake.send_user_message(B, "/help")
    b_wait = reply_at(fake, B, 2) - b_sent
    waiter.join()
    answers = fake.messages_to(A)
    answer = answers[0]["plain_text"] if answers else "(no answer)"
    return {
        "alone": alone,
        "a_wall": a_done[0] - a_sent,
        "b_wait": b_wait,
        "answer": answer.splitlines()[0][-110:],
    }


async def run(items: int, words: int, kind: str, shared: Path) -> int:
    vocab, weights = vocabulary(kind, shared)
    query = costly_query(vocab)
    with tempfile.TemporaryDirectory() as tmp, FakeBotAPI() as fake:
        folder = Path(tmp)
        path = write_config(folder, extra="[watches]\nquery_chars = 20000")
        env = {"TELEGRAM_BOT_TOKEN": fake.token, "NEWSBOT_TELEGRAM_API_URL": fake.base_url}
        settings = load_settings(path, env)
        now = datetime.now(UTC)
        store = SQLiteStore(settings.database_path)
        made = long_items(vocab, weights, items, words, now=now)
        store.add_items([NewItem(item, "", ()) for item in made], now)
        store.close()
        print(
            f"{items:,} stored items of {words:,} words ({kind} vocabulary of {len(vocab):,});"
            f" the query is {len(query):,} characters"
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run_service(settings, stop))
        try:
            while not fake.calls_to("getUpdates"):
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
            figures = await asyncio.to_thread(drive, fake, query)
        finally:
            stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 60)
    print(f"B's /help alone:                 {figures['alone']:6.2f} s")
    print(f"A's /test, command to answer:    {figures['a_wall']:6.2f} s")
    print(f"B's /help while A's query runs:  {figures['b_wait']:6.2f} s")
    print(f"A's answer: …{figures['answer']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--words", type=int, default=1500, help="words per item")
    parser.add_argument("--vocabulary", choices=("corpus", "synthetic"), default="corpus")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.items, args.words, args.vocabulary, args.shared))


if __name__ == "__main__":
    raise SystemExit(main())
