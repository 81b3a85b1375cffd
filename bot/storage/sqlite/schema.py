"""The SQLite schema: its migrations, one per version, and how a database is brought up to date."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

# Each entry upgrades the schema by one version; never edit a released entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        etag TEXT, last_modified TEXT, body_hash TEXT,
        last_status INTEGER, last_error TEXT, error_count INTEGER NOT NULL DEFAULT 0,
        last_success_at TEXT, last_checked_at TEXT, next_poll_at TEXT
    );
    CREATE TABLE documents (
        path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        ext_id TEXT NOT NULL,
        source TEXT NOT NULL, source_name TEXT NOT NULL,
        title TEXT NOT NULL, link TEXT, author TEXT,
        published TEXT NOT NULL,
        text TEXT NOT NULL, description TEXT NOT NULL, summary TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX items_created ON items (created_at);
    CREATE TABLE matches (
        item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        topic_id TEXT NOT NULL,
        score REAL NOT NULL,
        evidence TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (item_id, topic_id)
    );
    CREATE INDEX matches_topic ON matches (topic_id, created_at);
    CREATE TABLE chats (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1, inactive_reason TEXT,
        created_at TEXT NOT NULL, last_digest_at TEXT
    );
    CREATE TABLE subscriptions (
        chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        topic_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (chat_id, topic_id)
    );
    CREATE INDEX subscriptions_topic ON subscriptions (topic_id);
    CREATE TABLE deliveries (
        item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        topics TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dropped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id INTEGER,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        PRIMARY KEY (item_id, chat_id)
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
    """,
    """
    CREATE TABLE watches (
        chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        query TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (chat_id, name)
    );
    CREATE INDEX deliveries_message ON deliveries (chat_id, message_id);
    CREATE INDEX items_published ON items (published);
    """,
    """
    CREATE TABLE feedback (
        chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        value INTEGER NOT NULL CHECK (value IN (-1, 1)),
        created_at TEXT NOT NULL,
        PRIMARY KEY (chat_id, item_id)
    );
    CREATE TABLE mutes (
        chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        topic_id TEXT NOT NULL,
        until TEXT NOT NULL,
        PRIMARY KEY (chat_id, topic_id)
    );
    """,
    """
    ALTER TABLE chats ADD COLUMN timezone TEXT;
    ALTER TABLE chats ADD COLUMN digest_time TEXT;
    ALTER TABLE chats ADD COLUMN previews INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscriptions ADD COLUMN mode TEXT NOT NULL DEFAULT 'both';
    """,
    """
    ALTER TABLE chats ADD COLUMN quiet_start TEXT;
    ALTER TABLE chats ADD COLUMN quiet_end TEXT;
    ALTER TABLE subscriptions ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE deliveries ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX deliveries_chat ON deliveries (chat_id, status);
    """,
    """
    CREATE TABLE added_feeds (
        url TEXT PRIMARY KEY,
        name TEXT,
        interval INTEGER NOT NULL,
        added_by INTEGER NOT NULL,
        added_at TEXT NOT NULL
    );
    """,
    """
    ALTER TABLE items ADD COLUMN story_id TEXT NOT NULL DEFAULT '';
    CREATE INDEX items_story ON items (story_id);
    ALTER TABLE deliveries ADD COLUMN edit_of INTEGER;
    """,
    """
    ALTER TABLE feeds ADD COLUMN error_kind TEXT;
    ALTER TABLE feeds ADD COLUMN down_notified INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN retired INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN moved_to TEXT;
    ALTER TABLE feeds ADD COLUMN interval INTEGER;
    """,
    """
    CREATE INDEX mutes_topic ON mutes (topic_id, until);
    """,
    """
    ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
    ALTER TABLE deliveries ADD COLUMN claimed_at TEXT;
    CREATE INDEX deliveries_sent ON deliveries (sent_at);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        chat_kind TEXT NOT NULL,
        kind TEXT NOT NULL,
        html TEXT NOT NULL,
        plain TEXT NOT NULL,
        buttons TEXT NOT NULL DEFAULT '[]',
        previews INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dropped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id INTEGER,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        claimed_by TEXT,
        claimed_at TEXT
    );
    CREATE INDEX messages_due ON messages (status, next_attempt_at);
    CREATE INDEX messages_sent ON messages (sent_at);
    """,
    """
    ALTER TABLE items ADD COLUMN date_only INTEGER NOT NULL DEFAULT 0;
    """,
    """
    CREATE TABLE tunings (
        chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        topic_id TEXT NOT NULL,
        threshold REAL,
        stopped TEXT NOT NULL DEFAULT '[]',
        allowed TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (chat_id, topic_id)
    );
    CREATE INDEX tunings_topic ON tunings (topic_id);
    CREATE INDEX feedback_item ON feedback (item_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(
    db: sqlite3.Connection, path: str, transaction: Callable[[], AbstractContextManager[None]]
) -> None:
    """Apply the migrations ``db`` lacks, each in its own ``transaction``.

    :raises RuntimeError: the database is of a newer schema than this newsbot knows.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"{path} has schema version {version}, newer than this newsbot "
            f"({SCHEMA_VERSION}): upgrade newsbot"
        )
    for number in range(version, SCHEMA_VERSION):
        with transaction():
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number + 1}")
