"""The storage contract, run against every backend (SQLite on disk and in memory)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import FeedState
from bot.storage.base import CONSOLE_CHAT_ID, NewItem, Store
from bot.storage.sqlite import SCHEMA_VERSION, SQLiteStore
from tests.factories import T0, item, match


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "data" / "newsbot.sqlite3" if request.param == "file" else ":memory:"
    s = SQLiteStore(path)
    yield s
    s.close()


def _subscribed(store: Store, chat_id: int, *topics: str) -> None:
    store.upsert_chat(chat_id, "private", f"chat {chat_id}", T0)
    for topic in topics:
        store.subscribe(chat_id, topic, T0)


def test_add_items_creates_one_delivery_per_subscribed_chat(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, 2, "isis", "troop-withdrawal")
    _subscribed(store, 3, "other")
    news = NewItem(item("ISIS attack"), "s", (match("isis"), match("troop-withdrawal")))
    stored, deliveries = store.add_items([news], T0)
    assert (stored, deliveries) == (1, 2)
    pending = store.pending(T0)
    assert sorted(t.chat_id for t in pending) == [1, 2]
    by_chat = {t.chat_id: [m.topic_id for m in t.matches] for t in pending}
    assert by_chat == {1: ["isis"], 2: ["isis", "troop-withdrawal"]}


def test_an_item_is_stored_once_and_never_delivered_twice(store: Store) -> None:
    _subscribed(store, 1, "isis")
    news = NewItem(item("ISIS attack"), "s", (match("isis"),))
    assert store.add_items([news], T0) == (1, 1)
    assert store.add_items([news], T0 + timedelta(hours=1)) == (0, 0)
    [task] = store.pending(T0 + timedelta(hours=1))
    store.mark_sent(task.item.key, 1, 77, T0)
    assert store.pending(T0 + timedelta(days=1)) == []
    assert store.known_keys([news.item.key, "other"]) == {news.item.key}


def test_items_without_matches_are_remembered_but_not_delivered(store: Store) -> None:
    _subscribed(store, 1, "isis")
    quiet = NewItem(item("Football results"), "s", ())
    assert store.add_items([quiet], T0) == (1, 0)
    assert store.known_keys([quiet.item.key]) == {quiet.item.key}
    assert store.pending(T0) == []


def test_failed_delivery_waits_until_retry_time(store: Store) -> None:
    _subscribed(store, 1, "isis")
    news = NewItem(item("ISIS attack"), "s", (match("isis"),))
    store.add_items([news], T0)
    store.mark_failed(news.item.key, 1, "boom", T0 + timedelta(minutes=5))
    assert store.pending(T0 + timedelta(minutes=4)) == []
    [task] = store.pending(T0 + timedelta(minutes=5))
    assert task.attempts == 1


def test_defer_chat_holds_only_that_chat(store: Store) -> None:
    _subscribed(store, 1, "isis")
    _subscribed(store, 2, "isis")
    store.add_items([NewItem(item("ISIS attack"), "s", (match("isis"),))], T0)
    store.defer_chat(1, T0 + timedelta(seconds=30))
    assert [t.chat_id for t in store.pending(T0)] == [2]
    assert sorted(t.chat_id for t in store.pending(T0 + timedelta(seconds=30))) == [1, 2]


def test_deactivated_chat_gets_nothing_and_its_pending_alerts_are_dropped(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([NewItem(item("ISIS one"), "s", (match("isis"),))], T0)
    store.deactivate_chat(1, "blocked")
    store.add_items([NewItem(item("ISIS two"), "s", (match("isis"),))], T0)
    assert store.pending(T0 + timedelta(days=1)) == []
    chat = store.chat(1)
    assert chat is not None and not chat.active
    # /start again re-activates, and only new items go out.
    store.upsert_chat(1, "private", "back", T0)
    store.add_items([NewItem(item("ISIS three"), "s", (match("isis"),))], T0)
    assert [t.item.title for t in store.pending(T0)] == ["ISIS three"]


def test_pending_filters_by_chat_kind(store: Store) -> None:
    store.upsert_chat(CONSOLE_CHAT_ID, "console", "console", T0)
    store.subscribe(CONSOLE_CHAT_ID, "isis", T0)
    _subscribed(store, 5, "isis")
    store.add_items([NewItem(item("ISIS attack"), "s", (match("isis"),))], T0)
    assert [t.chat_id for t in store.pending(T0, kinds={"console"})] == [CONSOLE_CHAT_ID]
    assert [t.chat_id for t in store.pending(T0, kinds={"private"})] == [5]


def test_subscriptions_toggle(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    assert store.subscribe(1, "isis", T0) is True
    assert store.subscribe(1, "isis", T0) is False
    assert store.subscriptions(1) == {"isis"}
    assert store.unsubscribe(1, "isis") is True
    assert store.unsubscribe(1, "isis") is False
    assert store.subscriptions(1) == set()


def test_digest_entries_cover_the_time_since_the_last_digest(store: Store) -> None:
    _subscribed(store, 1, "isis")
    store.add_items([NewItem(item("ISIS early"), "s", (match("isis"),))], T0 + timedelta(hours=1))
    store.set_last_digest(1, T0 + timedelta(hours=2))
    store.add_items([NewItem(item("ISIS late"), "s", (match("isis"),))], T0 + timedelta(hours=3))
    store.add_items([NewItem(item("Other"), "s", (match("other"),))], T0 + timedelta(hours=3))
    entries = store.digest_entries(1, T0 + timedelta(hours=4))
    assert [e.item.title for e in entries] == ["ISIS late"]


def test_digest_does_not_include_matches_from_before_the_subscription(store: Store) -> None:
    store.upsert_chat(1, "private", "", T0)
    store.add_items([NewItem(item("ISIS before"), "s", (match("isis"),))], T0)
    store.subscribe(1, "isis", T0 + timedelta(hours=1))
    assert store.digest_entries(1, T0 + timedelta(hours=2)) == []


def test_recent_matches_newest_first(store: Store) -> None:
    for n in range(3):
        news = NewItem(item(f"ISIS {n}", published=T0 + timedelta(hours=n)), "s", (match("isis"),))
        store.add_items([news], T0)
    assert [e.item.title for e in store.recent_matches(["isis"], limit=2)] == ["ISIS 2", "ISIS 1"]


def test_feed_state_round_trip(store: Store) -> None:
    url = "http://127.0.0.1/feed.xml"
    assert store.feed_state(url) == FeedState(url=url)
    state = FeedState(
        url=url,
        etag='"abc"',
        last_modified="Tue, 17 Sep 2024 08:00:00 GMT",
        body_hash="h",
        last_status=200,
        error_count=2,
        last_error="x",
        last_success_at=T0,
        last_checked_at=T0,
        next_poll_at=T0,
    )
    store.save_feed_state(state)
    assert store.feed_state(url) == state
    assert [s.url for s in store.feed_states()] == [url]


def test_item_round_trips_with_its_fields(store: Store) -> None:
    _subscribed(store, 1, "isis")
    original = item("ISIS <b>attack</b>", "Body text here", link="https://ex.org/a?utm_source=x")
    store.add_items([NewItem(original, "summary", (match("isis"),))], T0)
    [task] = store.pending(T0)
    assert task.item == original
    assert task.summary == "summary"


def test_stats_count_pending_and_sent(store: Store) -> None:
    _subscribed(store, 1, "isis")
    a, b = item("ISIS a"), item("ISIS b")
    store.add_items([NewItem(a, "", (match("isis"),)), NewItem(b, "", (match("isis"),))], T0)
    store.mark_sent(a.key, 1, 1, T0)
    stats = store.stats(T0)
    assert (stats.items, stats.sent, stats.pending, stats.chats_active) == (2, 1, 1, 1)


def test_sqlite_file_uses_wal_and_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="newer"):
        SQLiteStore(path)


def test_a_failed_transaction_stores_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    _subscribed(store, 1, "isis")
    good = NewItem(item("ISIS good"), "", (match("isis"),))
    bad = NewItem(item("ISIS bad"), "", (match("isis"), match("isis")))  # duplicate match row
    with pytest.raises(sqlite3.IntegrityError):
        store.add_items([good, bad], T0)
    assert store.known_keys([good.item.key, bad.item.key]) == set()
    assert store.pending(T0) == []
    store.close()


def test_a_date_only_item_round_trips(store: Store) -> None:
    from dataclasses import replace

    _subscribed(store, 1, "isis")
    original = replace(item("ISIS dated"), date_only=True)
    store.add_items([NewItem(original, "", (match("isis"),))], T0)
    [task] = store.pending(T0)
    assert task.item.date_only is True and task.item == original


def test_an_older_database_gets_the_date_only_column(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = SQLiteStore(path)
    _subscribed(store, 1, "isis")
    old = item("ISIS before the upgrade")
    store.add_items([NewItem(old, "", (match("isis"),))], T0)
    store.close()
    db = sqlite3.connect(path)  # back to the schema before the column
    db.execute("ALTER TABLE items DROP COLUMN date_only")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    db.commit()
    db.close()
    store = SQLiteStore(path)
    [task] = store.pending(T0)
    assert task.item == old and task.item.date_only is False
    store.close()


def test_a_dry_run_copy_is_upgraded_in_memory_and_the_file_is_never_written(
    tmp_path: Path,
) -> None:
    from bot.storage.sqlite import _MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    for number, migration in enumerate(_MIGRATIONS[:-2]):  # a database of two releases ago
        old.executescript(migration)
        old.execute(f"PRAGMA user_version = {number + 1}")
    old.commit()
    old.close()
    before = path.read_bytes()
    copy = SQLiteStore.copy_of(path)
    assert copy.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert copy.pending_messages(datetime.now(UTC)) == []  # the newest tables exist
    copy.close()
    assert path.read_bytes() == before
