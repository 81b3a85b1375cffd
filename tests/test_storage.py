"""What only the SQLite store has: its schema and migrations, WAL, its transactions.

The behaviour every store shares is the contract suite, ``tests/contract/test_store.py``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage.base import NewItem, Store
from bot.storage.sqlite import _MIGRATIONS as MIGRATIONS
from bot.storage.sqlite import SCHEMA_VERSION, SQLiteStore
from tests.factories import T0, item, match


def _subscribed(store: Store, chat_id: int, *topics: str) -> None:
    store.upsert_chat(chat_id, "private", f"chat {chat_id}", T0)
    for topic in topics:
        store.subscribe(chat_id, topic, T0)


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


def test_an_older_database_gets_the_date_only_column(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = SQLiteStore(path)
    _subscribed(store, 1, "isis")
    old = item("ISIS before the upgrade")
    store.add_items([NewItem(old, "", (match("isis"),))], T0)
    store.close()
    db = sqlite3.connect(path)  # back to the schema before the column
    version = next(n for n, m in enumerate(MIGRATIONS) if "date_only" in m)
    db.execute("ALTER TABLE items DROP COLUMN date_only")
    db.execute("DROP TABLE tunings")  # and what later versions added
    db.execute("DROP INDEX feedback_item")
    db.execute(f"PRAGMA user_version = {version}")
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
