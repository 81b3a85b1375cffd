"""SQLite storage: one file, WAL mode, schema created and upgraded on open.

Times are stored as ISO 8601 strings in UTC with microseconds
(``2024-09-17T08:00:00.000000+00:00``): one fixed width, so they sort correctly as text.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import StorageError
from bot.models import (
    BROADCAST_SOURCE,
    Chat,
    DeliveryTask,
    DigestEntry,
    DocumentFingerprint,
    Evidence,
    FeedConfig,
    FeedState,
    Item,
    Match,
    ModelScore,
    OutgoingMessage,
    QueuedMessage,
    Watch,
)
from bot.storage.base import CLAIM_TTL, CONSOLE_CHAT_ID, NewItem, Stats, Store

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

# Each entry upgrades the schema by one version; never edit a released entry, append a new one.
_MIGRATIONS: tuple[str, ...] = (
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
)
SCHEMA_VERSION = len(_MIGRATIONS)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    # Written by us always with an offset; a row edited by hand may lack one: it is UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _evidence_json(match: Match) -> str:
    rows: list[dict[str, object]] = [
        {"term": e.term, "field": e.field, "count": e.count, "snippet": e.snippet}
        for e in match.evidence
    ]
    if match.model is not None:  # a learned layer's match: its score comes last
        model = match.model
        rows.append(
            {
                "model": {
                    "score": model.score,
                    "threshold": model.threshold,
                    "terms": [list(t) for t in model.terms],
                }
            }
        )
    return json.dumps(rows, ensure_ascii=False)


def _match(topic_id: str, score: float, evidence: str) -> Match:
    rows = json.loads(evidence)
    model = None
    if rows and "model" in rows[-1]:
        raw = rows.pop()["model"]
        model = ModelScore(
            float(raw["score"]),
            float(raw["threshold"]),
            tuple((str(t), float(w)) for t, w in raw.get("terms", ())),
        )
    return Match(topic_id, score, tuple(Evidence(**e) for e in rows), model)


_ITEM_COLUMNS = (
    "i.key, i.ext_id, i.source, i.source_name, i.title, i.link, i.author, i.published, "
    "i.text, i.description, i.story_id, i.date_only"
)


def _item(row: sqlite3.Row) -> Item:
    return Item(
        key=row["key"],
        id=row["ext_id"],
        source=row["source"],
        source_name=row["source_name"],
        title=row["title"],
        link=row["link"],
        author=row["author"],
        published=datetime.fromisoformat(row["published"]),
        text=row["text"],
        description=row["description"],
        story=row["story_id"],
        date_only=bool(row["date_only"]),
    )


def _feed_state(row: sqlite3.Row) -> FeedState:
    return FeedState(
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        error_count=row["error_count"],
        last_success_at=_dt(row["last_success_at"]),
        last_checked_at=_dt(row["last_checked_at"]),
        next_poll_at=_dt(row["next_poll_at"]),
        error_kind=row["error_kind"],
        down_notified=bool(row["down_notified"]),
        retired=bool(row["retired"]),
        moved_to=row["moved_to"],
        interval=row["interval"],
    )


class SQLiteStore(Store):
    """The default store. ``path`` may be ``":memory:"`` for throwaway runs (``--dry-run``)."""

    def __init__(self, path: Path | str) -> None:
        """Open (creating) the database, check it (``PRAGMA quick_check``) and bring its
        schema up to date.

        :raises StorageError: the file cannot be opened or written, or is damaged.
        """
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA busy_timeout = 10000")
            if self.path != ":memory:":
                _quick_check(self.db)
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except OSError as exc:
            raise StorageError(f"{self.path}: {exc.strerror or exc} ({_fixes['write']})") from None
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc) from None

    @classmethod
    def copy_of(cls, path: Path) -> SQLiteStore:
        """An in-memory copy of the database at ``path`` (empty if there is none), checked and
        upgraded in memory: the file is only read, never written (for dry runs).

        :raises StorageError: the file cannot be read or is damaged.
        """
        memory = cls(":memory:")
        if not path.exists():
            return memory
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                _quick_check(source)
                source.backup(memory.db)
            finally:
                source.close()
            memory._migrate()  # the copy has the file's schema, maybe an older one
        except sqlite3.Error as exc:
            raise storage_error(str(path), exc) from None
        return memory

    # ------------------------------------------------------------------ plumbing
    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} has schema version {version}, newer than this newsbot "
                f"({SCHEMA_VERSION}): upgrade newsbot"
            )
        for number in range(version, SCHEMA_VERSION):
            with self._tx():
                for statement in _MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ feeds and documents
    def feed_state(self, url: str) -> FeedState:
        row = self.db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return FeedState(url=url) if row is None else _feed_state(row)

    def forget_feed(self, url: str) -> None:
        with self._tx():
            self.db.execute("DELETE FROM feeds WHERE url = ?", (url,))

    def save_feed_state(self, state: FeedState) -> None:
        with self._tx():
            self.db.execute(
                """INSERT INTO feeds (url, etag, last_modified, body_hash, last_status, last_error,
                       error_count, last_success_at, last_checked_at, next_poll_at, error_kind,
                       down_notified, retired, moved_to, interval)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
                       last_modified = excluded.last_modified, body_hash = excluded.body_hash,
                       last_status = excluded.last_status, last_error = excluded.last_error,
                       error_count = excluded.error_count,
                       last_success_at = excluded.last_success_at,
                       last_checked_at = excluded.last_checked_at,
                       next_poll_at = excluded.next_poll_at, error_kind = excluded.error_kind,
                       down_notified = excluded.down_notified, retired = excluded.retired,
                       moved_to = excluded.moved_to, interval = excluded.interval""",
                (
                    state.url,
                    state.etag,
                    state.last_modified,
                    state.body_hash,
                    state.last_status,
                    state.last_error,
                    state.error_count,
                    _ts(state.last_success_at) if state.last_success_at else None,
                    _ts(state.last_checked_at) if state.last_checked_at else None,
                    _ts(state.next_poll_at) if state.next_poll_at else None,
                    state.error_kind,
                    state.down_notified,
                    state.retired,
                    state.moved_to,
                    state.interval,
                ),
            )

    def feed_states(self) -> list[FeedState]:
        return [_feed_state(r) for r in self.db.execute("SELECT * FROM feeds ORDER BY url")]

    def add_feed(self, feed: FeedConfig, added_by: int, now: datetime) -> bool:
        with self._tx():
            cur = self.db.execute(
                """INSERT INTO added_feeds (url, name, interval, added_by, added_at)
                   VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING""",
                (feed.url, feed.name, feed.interval, added_by, _ts(now)),
            )
        return cur.rowcount > 0

    def remove_feed(self, url: str) -> bool:
        with self._tx():
            cur = self.db.execute("DELETE FROM added_feeds WHERE url = ?", (url,))
            if cur.rowcount:  # its health and validators go too: added again, it starts afresh
                self.db.execute("DELETE FROM feeds WHERE url = ?", (url,))
        return cur.rowcount > 0

    def added_feeds(self) -> list[FeedConfig]:
        return [
            FeedConfig(
                r["url"], r["name"], r["interval"], added=True, public_only=r["added_by"] != 0
            )
            for r in self.db.execute("SELECT * FROM added_feeds ORDER BY added_at, url")
        ]

    def add_broadcast(self, item: Item, now: datetime) -> int:
        stamp = _ts(now)
        with self._tx():
            cur = self.db.execute(
                """INSERT INTO items (key, ext_id, source, source_name, title, link, author,
                       published, text, description, summary, created_at)
                   VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, '', '', ?)""",
                (
                    item.key,
                    item.id,
                    item.source,
                    item.source_name,
                    item.title,
                    item.author,
                    _ts(item.published),
                    item.text,
                    stamp,
                ),
            )
            cur = self.db.execute(
                """INSERT INTO deliveries (item_id, chat_id, topics, next_attempt_at, created_at)
                   SELECT ?, id, '[]', ?, ? FROM chats WHERE active = 1 AND id != ?""",
                (cur.lastrowid, stamp, stamp, CONSOLE_CHAT_ID),
            )
        return cur.rowcount

    def document_fingerprints(self) -> dict[str, DocumentFingerprint]:
        return {
            r["path"]: DocumentFingerprint(r["path"], r["size"], r["mtime_ns"], r["sha256"])
            for r in self.db.execute("SELECT * FROM documents")
        }

    def save_fingerprints(self, fingerprints: Iterable[DocumentFingerprint]) -> None:
        with self._tx():
            self.db.executemany(
                """INSERT INTO documents (path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?)
                   ON CONFLICT (path) DO UPDATE SET size = excluded.size,
                       mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256""",
                [(f.path, f.size, f.mtime_ns, f.sha256) for f in fingerprints],
            )

    # ------------------------------------------------------------------ items and deliveries
    def known_keys(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.db.execute(f"SELECT key FROM items WHERE key IN ({marks})", chunk)
            )
        return found

    def add_items(self, new: Sequence[NewItem], now: datetime) -> tuple[int, int]:
        stored = deliveries = 0
        stamp = _ts(now)
        with self._tx():
            for entry in new:
                item = entry.item
                cur = self.db.execute(
                    """INSERT INTO items (key, ext_id, source, source_name, title, link, author,
                           published, text, description, summary, created_at, story_id,
                           date_only)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (key) DO NOTHING""",
                    (
                        item.key,
                        item.id,
                        item.source,
                        item.source_name,
                        item.title,
                        item.link,
                        item.author,
                        _ts(item.published),
                        item.text,
                        item.description,
                        entry.summary,
                        stamp,
                        item.story,
                        int(item.date_only),
                    ),
                )
                if cur.rowcount == 0:
                    continue
                stored += 1
                item_id = cur.lastrowid
                if not entry.matches:
                    continue
                self.db.executemany(
                    "INSERT INTO matches (item_id, topic_id, score, evidence, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        (item_id, m.topic_id, m.score, _evidence_json(m), stamp)
                        for m in entry.matches
                    ],
                )
                topic_ids = [m.topic_id for m in entry.matches]
                marks = ",".join("?" * len(topic_ids))
                per_chat: dict[int, list[str]] = {}
                urgent: set[int] = set()
                for row in self.db.execute(
                    f"""SELECT s.chat_id, s.topic_id, s.urgent FROM subscriptions s
                        JOIN chats c ON c.id = s.chat_id
                        LEFT JOIN mutes m ON m.chat_id = s.chat_id AND m.topic_id = s.topic_id
                        WHERE c.active = 1 AND s.topic_id IN ({marks})
                          AND s.mode IN ('instant', 'both')
                          AND (m.until IS NULL OR m.until <= ?)""",
                    (*topic_ids, stamp),
                ):
                    per_chat.setdefault(row[0], []).append(row[1])
                    if row[2]:
                        urgent.add(row[0])
                heads, muted = self._story_state(item.story, entry.material, stamp)
                for chat_id, topics in per_chat.items():
                    if chat_id in muted:
                        continue
                    ordered = [t for t in topic_ids if t in topics]
                    self.db.execute(
                        """INSERT INTO deliveries (item_id, chat_id, topics, next_attempt_at,
                               created_at, urgent, edit_of) VALUES (?, ?, ?, ?, ?, ?, ?)
                           ON CONFLICT (item_id, chat_id) DO NOTHING""",
                        (
                            item_id,
                            chat_id,
                            json.dumps(ordered),
                            stamp,
                            stamp,
                            chat_id in urgent,
                            heads.get(chat_id),
                        ),
                    )
                    deliveries += 1
        return stored, deliveries

    def _story_state(
        self, story: str, material: bool, stamp: str
    ) -> tuple[dict[int, int], set[int]]:
        """For a new item of ``story``: per chat, the alert to edit instead of sending one
        (none if the item is news for the story), and the chats that muted the story."""
        if not story:
            return {}, set()
        heads: dict[int, int] = {}
        if not material:
            heads = {
                r[0]: r[1]
                for r in self.db.execute(
                    """SELECT d.chat_id, MAX(d.item_id) FROM deliveries d
                       JOIN items i ON i.id = d.item_id
                       WHERE i.story_id = ? AND d.edit_of IS NULL AND d.status != 'dropped'
                       GROUP BY d.chat_id""",
                    (story,),
                )
            }
        muted = {
            r[0]
            for r in self.db.execute(
                "SELECT chat_id FROM mutes WHERE topic_id = ? AND until > ?",
                (f"story:{story}", stamp),
            )
        }
        return heads, muted

    def story_items(self, story: str, limit: int = 50) -> list[Item]:
        rows = self.db.execute(
            f"""SELECT {_ITEM_COLUMNS} FROM items i WHERE i.story_id = ?
                ORDER BY i.published, i.id LIMIT ?""",
            (story, limit),
        )
        return [_item(r) for r in rows] if story else []

    def story_sources(self, stories: Collection[str]) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        wanted = sorted(s for s in stories if s)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for story, name in self.db.execute(
                f"""SELECT story_id, source_name FROM items
                    WHERE story_id IN ({",".join("?" * len(chunk))}) ORDER BY published, id""",
                chunk,
            ):
                names = out.setdefault(story, [])
                if name not in names:
                    names.append(name)
        return {story: tuple(names) for story, names in out.items()}

    def pending(
        self, now: datetime, limit: int = 100, kinds: Collection[str] | None = None
    ) -> list[DeliveryTask]:
        kind_filter = ""
        args: list[object] = [_ts(now), _ts(now - CLAIM_TTL)]
        if kinds is not None:
            kind_filter = f"AND c.kind IN ({','.join('?' * len(kinds))})"
            args.extend(sorted(kinds))
        rows = self.db.execute(
            f"""SELECT d.item_id, d.chat_id, d.topics, d.attempts, d.urgent, i.summary, c.kind,
                    c.timezone AS chat_timezone, c.previews, c.quiet_start, c.quiet_end,
                    d.created_at AS queued_at, d.edit_of, h.message_id AS head_message,
                    h.status AS head_status,
                    {_ITEM_COLUMNS}
                FROM deliveries d JOIN items i ON i.id = d.item_id
                JOIN chats c ON c.id = d.chat_id
                LEFT JOIN deliveries h ON h.item_id = d.edit_of AND h.chat_id = d.chat_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND c.active = 1
                  AND (d.claimed_by IS NULL OR d.claimed_at < ?)
                {kind_filter}
                ORDER BY d.urgent DESC, d.created_at, d.item_id LIMIT ?""",
            (*args, limit),
        ).fetchall()
        # The matches of all these items in one query, not one per delivery.
        item_ids = sorted({row["item_id"] for row in rows})
        found: dict[tuple[int, str], Match] = {}
        for start in range(0, len(item_ids), 500):
            chunk = item_ids[start : start + 500]
            for r in self.db.execute(
                f"SELECT item_id, topic_id, score, evidence FROM matches "
                f"WHERE item_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                found[(r["item_id"], r["topic_id"])] = _match(
                    r["topic_id"], r["score"], r["evidence"]
                )
        sources = self.story_sources({row["story_id"] for row in rows})
        tasks: list[DeliveryTask] = []
        for row in rows:
            topics = json.loads(row["topics"])
            quiet = (row["quiet_start"], row["quiet_end"]) if row["quiet_start"] else None
            tasks.append(
                DeliveryTask(
                    item=_item(row),
                    chat_id=row["chat_id"],
                    matches=tuple(
                        found[(row["item_id"], t)] for t in topics if (row["item_id"], t) in found
                    ),
                    summary=row["summary"],
                    attempts=row["attempts"],
                    chat_kind=row["kind"],
                    created_at=datetime.fromisoformat(row["queued_at"]),
                    item_ref=row["item_id"],
                    chat_timezone=row["chat_timezone"],
                    previews=bool(row["previews"]),
                    urgent=bool(row["urgent"]),
                    quiet=quiet,
                    sources=sources.get(row["story_id"], ()),
                    edit_of=row["edit_of"],
                    edit_message_id=row["head_message"],
                    head_sent=row["head_status"] == "sent",
                )
            )
        return tasks

    def _delivery_where(self) -> str:
        return "item_id = (SELECT id FROM items WHERE key = ?) AND chat_id = ?"

    def mark_sent(self, item_key: str, chat_id: int, message_id: int | None, now: datetime) -> None:
        with self._tx():
            self.db.execute(
                f"""UPDATE deliveries SET status = 'sent', sent_at = ?, message_id = ?,
                        attempts = attempts + 1, last_error = NULL, claimed_by = NULL
                    WHERE {self._delivery_where()}""",
                (_ts(now), message_id, item_key, chat_id),
            )

    def mark_edited(
        self, chat_id: int, head_ref: int, message_id: int | None, now: datetime
    ) -> int:
        with self._tx():
            cur = self.db.execute(
                """UPDATE deliveries SET status = 'sent', sent_at = ?, message_id = ?,
                       attempts = attempts + 1, last_error = NULL, claimed_by = NULL
                   WHERE chat_id = ? AND edit_of = ? AND status = 'pending'""",
                (_ts(now), message_id, chat_id, head_ref),
            )
        return cur.rowcount

    def mark_failed(self, item_key: str, chat_id: int, error: str, retry_at: datetime) -> None:
        with self._tx():
            self.db.execute(
                f"""UPDATE deliveries SET attempts = attempts + 1, last_error = ?,
                        next_attempt_at = ?, claimed_by = NULL
                    WHERE {self._delivery_where()} AND status = 'pending'""",
                (error[:500], _ts(retry_at), item_key, chat_id),
            )

    def defer_chat(self, chat_id: int, until: datetime, *, urgent: bool = True) -> None:
        which = "" if urgent else "AND urgent = 0"
        with self._tx():
            self.db.execute(
                f"""UPDATE deliveries SET next_attempt_at = MAX(next_attempt_at, ?),
                        claimed_by = NULL
                    WHERE chat_id = ? AND status = 'pending' {which}""",
                (_ts(until), chat_id),
            )
            if urgent:  # ready-made messages are never held by quiet hours, only by the channel
                self.db.execute(
                    """UPDATE messages SET next_attempt_at = MAX(next_attempt_at, ?),
                           claimed_by = NULL
                       WHERE chat_id = ? AND status = 'pending'""",
                    (_ts(until), chat_id),
                )

    def release_chat(self, chat_id: int, now: datetime) -> int:
        with self._tx():
            cur = self.db.execute(
                """UPDATE deliveries SET next_attempt_at = ?
                   WHERE chat_id = ? AND status = 'pending' AND next_attempt_at > ?
                     AND attempts = 0""",
                (_ts(now), chat_id, _ts(now)),
            )
        return cur.rowcount

    # ------------------------------------------------------------------ claims and messages
    def claim(self, item_ref: int, chat_id: int, owner: str, now: datetime) -> bool:
        with self._tx():
            cur = self.db.execute(
                """UPDATE deliveries SET claimed_by = ?, claimed_at = ?
                   WHERE item_id = ? AND chat_id = ? AND status = 'pending'
                     AND (claimed_by IS NULL OR claimed_at < ?)""",
                (owner, _ts(now), item_ref, chat_id, _ts(now - CLAIM_TTL)),
            )
        return cur.rowcount > 0

    def release_claims(self, keep: str) -> int:
        released = 0
        with self._tx():
            for table in ("deliveries", "messages"):
                cur = self.db.execute(
                    f"""UPDATE {table} SET claimed_by = NULL
                        WHERE claimed_by IS NOT NULL AND claimed_by != ?""",
                    (keep,),
                )
                released += cur.rowcount
        return released

    def queue_messages(
        self,
        chat_id: int,
        chat_kind: str,
        kind: str,
        messages: Sequence[OutgoingMessage],
        now: datetime,
        *,
        digest_until: datetime | None = None,
    ) -> list[int]:
        ids: list[int] = []
        # Microseconds apart, so the parts of one digest keep their order.
        with self._tx():
            for n, message in enumerate(messages):
                stamp = _ts(now + timedelta(microseconds=n))
                cur = self.db.execute(
                    """INSERT INTO messages (chat_id, chat_kind, kind, html, plain, buttons,
                           previews, next_attempt_at, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        chat_id,
                        chat_kind,
                        kind,
                        message.html,
                        message.plain,
                        json.dumps(message.buttons, ensure_ascii=False),
                        message.previews,
                        stamp,
                        stamp,
                    ),
                )
                assert cur.lastrowid is not None
                ids.append(cur.lastrowid)
            if digest_until is not None:
                self.db.execute(
                    "UPDATE chats SET last_digest_at = ? WHERE id = ?", (_ts(digest_until), chat_id)
                )
        return ids

    def pending_messages(
        self, now: datetime, limit: int = 100, kinds: Collection[str] | None = None
    ) -> list[QueuedMessage]:
        kind_filter = ""
        args: list[object] = [_ts(now), _ts(now - CLAIM_TTL)]
        if kinds is not None:
            kind_filter = f"AND m.chat_kind IN ({','.join('?' * len(kinds))})"
            args.extend(sorted(kinds))
        rows = self.db.execute(
            f"""SELECT m.* FROM messages m LEFT JOIN chats c ON c.id = m.chat_id
                WHERE m.status = 'pending' AND m.next_attempt_at <= ?
                  AND (m.claimed_by IS NULL OR m.claimed_at < ?)
                  AND COALESCE(c.active, 1) = 1 {kind_filter}
                ORDER BY m.created_at, m.id LIMIT ?""",
            (*args, limit),
        )
        return [
            QueuedMessage(
                id=r["id"],
                chat_id=r["chat_id"],
                kind=r["kind"],
                message=OutgoingMessage(
                    r["html"],
                    r["plain"],
                    tuple(
                        tuple((str(label), str(data)) for label, data in row)
                        for row in json.loads(r["buttons"])
                    ),
                    bool(r["previews"]),
                ),
                chat_kind=r["chat_kind"],
                attempts=r["attempts"],
                created_at=datetime.fromisoformat(r["created_at"]),
            )
            for r in rows
        ]

    def claim_message(self, message_ref: int, owner: str, now: datetime) -> bool:
        with self._tx():
            cur = self.db.execute(
                """UPDATE messages SET claimed_by = ?, claimed_at = ?
                   WHERE id = ? AND status = 'pending'
                     AND (claimed_by IS NULL OR claimed_at < ?)""",
                (owner, _ts(now), message_ref, _ts(now - CLAIM_TTL)),
            )
        return cur.rowcount > 0

    def message_sent(self, message_ref: int, message_id: int | None, now: datetime) -> None:
        with self._tx():
            self.db.execute(
                """UPDATE messages SET status = 'sent', sent_at = ?, message_id = ?,
                       attempts = attempts + 1, last_error = NULL, claimed_by = NULL
                   WHERE id = ?""",
                (_ts(now), message_id, message_ref),
            )

    def message_failed(self, message_ref: int, error: str, retry_at: datetime | None) -> None:
        with self._tx():
            if retry_at is None:
                self.db.execute(
                    """UPDATE messages SET status = 'dropped', attempts = attempts + 1,
                           last_error = ?, claimed_by = NULL WHERE id = ?""",
                    (error[:500], message_ref),
                )
            else:
                self.db.execute(
                    """UPDATE messages SET attempts = attempts + 1, last_error = ?,
                           next_attempt_at = ?, claimed_by = NULL
                       WHERE id = ? AND status = 'pending'""",
                    (error[:500], _ts(retry_at), message_ref),
                )

    def message_status(self, refs: Collection[int]) -> dict[int, str]:
        wanted = sorted(refs)
        out: dict[int, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            out.update(
                (r[0], r[1])
                for r in self.db.execute(
                    f"SELECT id, status FROM messages WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return out

    def recent_sends(self, since: datetime) -> list[tuple[int, str, datetime]]:
        stamp = _ts(since)
        rows = self.db.execute(
            """SELECT d.chat_id, c.kind, d.sent_at FROM deliveries d
                   JOIN chats c ON c.id = d.chat_id WHERE d.sent_at >= ?
               UNION ALL
               SELECT d.chat_id, c.kind, d.claimed_at FROM deliveries d
                   JOIN chats c ON c.id = d.chat_id
                   WHERE d.status = 'pending' AND d.claimed_at >= ?
               UNION ALL
               SELECT chat_id, chat_kind, sent_at FROM messages WHERE sent_at >= ?
               UNION ALL
               SELECT chat_id, chat_kind, claimed_at FROM messages
                   WHERE status = 'pending' AND claimed_at >= ?""",
            (stamp, stamp, stamp, stamp),
        )
        sends = [(r[0], r[1], datetime.fromisoformat(r[2])) for r in rows]
        return sorted(sends, key=lambda s: s[2])

    # ------------------------------------------------------------------ chats and subscriptions
    def upsert_chat(self, chat_id: int, kind: str, title: str, now: datetime) -> Chat:
        with self._tx():
            self.db.execute(
                """INSERT INTO chats (id, kind, title, created_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
                       active = 1, inactive_reason = NULL""",
                (chat_id, kind, title, _ts(now)),
            )
        chat = self.chat(chat_id)
        assert chat is not None
        return chat

    def chat(self, chat_id: int) -> Chat | None:
        row = self.db.execute("SELECT * FROM chats WHERE id = ?", (chat_id,)).fetchone()
        if row is None:
            return None
        return Chat(
            id=row["id"],
            kind=row["kind"],
            title=row["title"],
            active=bool(row["active"]),
            last_digest_at=_dt(row["last_digest_at"]),
            created_at=_dt(row["created_at"]),
            timezone=row["timezone"],
            digest_time=row["digest_time"],
            previews=bool(row["previews"]),
            quiet_start=row["quiet_start"],
            quiet_end=row["quiet_end"],
        )

    def update_chat(self, chat_id: int, changes: Mapping[str, str | bool | None]) -> None:
        unknown = set(changes) - {"timezone", "digest_time", "previews", "quiet_start", "quiet_end"}
        if unknown:
            raise KeyError(f"unknown chat settings: {sorted(unknown)}")
        if not changes:
            return
        sets = ", ".join(f"{k} = ?" for k in changes)
        with self._tx():
            self.db.execute(f"UPDATE chats SET {sets} WHERE id = ?", (*changes.values(), chat_id))

    def set_mode(self, chat_id: int, topic_id: str, mode: str) -> bool:
        with self._tx():
            cur = self.db.execute(
                "UPDATE subscriptions SET mode = ? WHERE chat_id = ? AND topic_id = ?",
                (mode, chat_id, topic_id),
            )
        return cur.rowcount > 0

    def set_urgent(self, chat_id: int, topic_id: str, urgent: bool) -> bool:
        with self._tx():
            cur = self.db.execute(
                "UPDATE subscriptions SET urgent = ? WHERE chat_id = ? AND topic_id = ?",
                (urgent, chat_id, topic_id),
            )
        return cur.rowcount > 0

    def urgent_topics(self, chat_id: int) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT topic_id FROM subscriptions WHERE chat_id = ? AND urgent = 1", (chat_id,)
            )
        }

    def modes(self, chat_id: int) -> dict[str, str]:
        return {
            r[0]: r[1]
            for r in self.db.execute(
                "SELECT topic_id, mode FROM subscriptions WHERE chat_id = ?", (chat_id,)
            )
        }

    def deactivate_chat(self, chat_id: int, reason: str) -> None:
        with self._tx():
            self.db.execute(
                "UPDATE chats SET active = 0, inactive_reason = ? WHERE id = ?", (reason, chat_id)
            )
            for table in ("deliveries", "messages"):
                self.db.execute(
                    f"""UPDATE {table} SET status = 'dropped', last_error = ?
                        WHERE chat_id = ? AND status = 'pending'""",
                    (reason, chat_id),
                )

    def move_chat(self, old_id: int, new_id: int, now: datetime) -> None:
        with self._tx():
            self.db.execute(
                """INSERT INTO chats (id, kind, title, created_at, last_digest_at)
                   SELECT ?, 'supergroup', title, ?, last_digest_at FROM chats WHERE id = ?
                   ON CONFLICT (id) DO UPDATE SET active = 1""",
                (new_id, _ts(now), old_id),
            )
            for table in ("subscriptions", "watches", "deliveries", "messages"):
                self.db.execute(
                    f"UPDATE OR IGNORE {table} SET chat_id = ? WHERE chat_id = ?", (new_id, old_id)
                )
            self.db.execute(
                "UPDATE chats SET active = 0, inactive_reason = ? WHERE id = ?",
                (f"moved to {new_id}", old_id),
            )
            for table in ("deliveries", "messages"):  # to be sent to the new id, by anyone
                self.db.execute(
                    f"""UPDATE {table} SET claimed_by = NULL
                        WHERE chat_id = ? AND status = 'pending'""",
                    (new_id,),
                )

    def active_chats(self) -> list[Chat]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM chats WHERE active = 1 ORDER BY id")]
        return [c for c in (self.chat(i) for i in ids) if c is not None]

    def subscribe(self, chat_id: int, topic_id: str, now: datetime) -> bool:
        with self._tx():
            cur = self.db.execute(
                "INSERT INTO subscriptions (chat_id, topic_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (chat_id, topic_id, _ts(now)),
            )
        return cur.rowcount > 0

    def unsubscribe(self, chat_id: int, topic_id: str) -> bool:
        with self._tx():
            cur = self.db.execute(
                "DELETE FROM subscriptions WHERE chat_id = ? AND topic_id = ?", (chat_id, topic_id)
            )
        return cur.rowcount > 0

    def subscriptions(self, chat_id: int) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT topic_id FROM subscriptions WHERE chat_id = ?", (chat_id,)
            )
        }

    # ------------------------------------------------------------------ reading matches
    def _entries(self, sql: str, args: Sequence[object]) -> list[DigestEntry]:
        out: list[DigestEntry] = []
        for row in self.db.execute(sql, args):
            out.append(
                DigestEntry(
                    topic_id=row["topic_id"],
                    item=_item(row),
                    summary=row["summary"],
                    score=row["score"],
                    matched_at=datetime.fromisoformat(row["created_at"]),
                )
            )
        return out

    def recent_matches(self, topic_ids: Iterable[str], limit: int = 5) -> list[DigestEntry]:
        ids = list(topic_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._entries(
            f"""SELECT m.topic_id, m.score, m.created_at, i.summary, {_ITEM_COLUMNS}
                FROM matches m JOIN items i ON i.id = m.item_id
                WHERE m.topic_id IN ({marks})
                ORDER BY i.published DESC, m.created_at DESC LIMIT ?""",
            (*ids, limit),
        )

    def digest_entries(self, chat_id: int, until: datetime) -> list[DigestEntry]:
        entries = self._entries(
            f"""SELECT m.topic_id, m.score, m.created_at, i.summary, {_ITEM_COLUMNS}
                FROM subscriptions s
                JOIN chats c ON c.id = s.chat_id
                JOIN matches m ON m.topic_id = s.topic_id
                JOIN items i ON i.id = m.item_id
                WHERE s.chat_id = ? AND s.mode IN ('digest', 'both')
                  AND m.created_at >= s.created_at
                  AND m.created_at > COALESCE(c.last_digest_at, '')
                  AND m.created_at <= ?
                ORDER BY m.topic_id, m.score DESC, i.published DESC""",
            (chat_id, _ts(until)),
        )
        sources = self.story_sources({e.item.story for e in entries})
        return [replace(e, sources=sources.get(e.item.story, ())) for e in entries]

    def alerted_stories(self, chat_id: int, stories: Collection[str]) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        wanted = sorted(s for s in stories if s)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for story, sent in self.db.execute(
                f"""SELECT i.story_id, MAX(d.sent_at) FROM deliveries d
                    JOIN items i ON i.id = d.item_id
                    WHERE d.chat_id = ? AND d.status = 'sent' AND d.edit_of IS NULL
                      AND i.story_id IN ({",".join("?" * len(chunk))})
                    GROUP BY i.story_id""",
                (chat_id, *chunk),
            ):
                if sent:
                    out[story] = datetime.fromisoformat(sent)
        return out

    def set_last_digest(self, chat_id: int, at: datetime) -> None:
        with self._tx():
            self.db.execute("UPDATE chats SET last_digest_at = ? WHERE id = ?", (_ts(at), chat_id))

    # ------------------------------------------------------------------ watches and lookups
    def add_watch(self, watch: Watch, now: datetime) -> None:
        with self._tx():
            self.db.execute(
                """INSERT INTO watches (chat_id, name, query, created_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (chat_id, name) DO UPDATE SET query = excluded.query""",
                (watch.chat_id, watch.name, watch.query, _ts(now)),
            )

    def remove_watch(self, chat_id: int, name: str) -> bool:
        with self._tx():
            cur = self.db.execute(
                "DELETE FROM watches WHERE chat_id = ? AND name = ?", (chat_id, name)
            )
        return cur.rowcount > 0

    def watches(self, chat_id: int | None = None) -> list[Watch]:
        if chat_id is None:
            rows = self.db.execute(
                """SELECT w.chat_id, w.name, w.query FROM watches w JOIN chats c ON c.id = w.chat_id
                   WHERE c.active = 1 ORDER BY w.chat_id, w.name"""
            )
        else:
            rows = self.db.execute(
                "SELECT chat_id, name, query FROM watches WHERE chat_id = ? ORDER BY name",
                (chat_id,),
            )
        return [Watch(r[0], r[1], r[2]) for r in rows]

    def set_feedback(self, chat_id: int, item_ref: int, value: int, now: datetime) -> bool:
        with self._tx():
            cur = self.db.execute(
                """INSERT INTO feedback (chat_id, item_id, value, created_at)
                   SELECT ?, id, ?, ? FROM items WHERE id = ?
                   ON CONFLICT (chat_id, item_id) DO UPDATE SET value = excluded.value""",
                (chat_id, value, _ts(now), item_ref),
            )
        return cur.rowcount > 0

    def feedback_counts(self) -> tuple[int, int]:
        row = self.db.execute(
            "SELECT COALESCE(SUM(value = 1), 0), COALESCE(SUM(value = -1), 0) FROM feedback"
        ).fetchone()
        return int(row[0]), int(row[1])

    def mute(self, chat_id: int, topic_id: str, until: datetime) -> None:
        with self._tx():
            self.db.execute(
                """INSERT INTO mutes (chat_id, topic_id, until) VALUES (?, ?, ?)
                   ON CONFLICT (chat_id, topic_id) DO UPDATE SET until = excluded.until""",
                (chat_id, topic_id, _ts(until)),
            )

    def unmute(self, chat_id: int, topic_id: str) -> bool:
        with self._tx():
            cur = self.db.execute(
                "DELETE FROM mutes WHERE chat_id = ? AND topic_id = ?", (chat_id, topic_id)
            )
        return cur.rowcount > 0

    def mutes(self, chat_id: int, now: datetime) -> dict[str, datetime]:
        return {
            r[0]: datetime.fromisoformat(r[1])
            for r in self.db.execute(
                "SELECT topic_id, until FROM mutes WHERE chat_id = ? AND until > ? ORDER BY until",
                (chat_id, _ts(now)),
            )
        }

    def item_story(self, item_ref: int) -> tuple[str, str] | None:
        row = self.db.execute(
            "SELECT story_id, title FROM items WHERE id = ?", (item_ref,)
        ).fetchone()
        return (row[0], row[1]) if row and row[0] else None

    def items_since(
        self, since: datetime, limit: int = 20000, *, published: bool = False
    ) -> list[Item]:
        if published:  # the newest, returned in the order they were stored (and assigned)
            rows = self.db.execute(
                f"""SELECT * FROM (
                        SELECT i.id AS row_id, {_ITEM_COLUMNS} FROM items i
                        WHERE i.published >= ? AND i.source != ? ORDER BY i.id DESC LIMIT ?
                    ) ORDER BY row_id""",
                (_ts(since), BROADCAST_SOURCE, limit),
            )
        else:
            rows = self.db.execute(
                f"""SELECT {_ITEM_COLUMNS} FROM items i WHERE i.created_at >= ? AND i.source != ?
                    ORDER BY i.created_at DESC LIMIT ?""",
                (_ts(since), BROADCAST_SOURCE, limit),
            )
        return [_item(r) for r in rows]

    def alert_for_message(self, chat_id: int, message_id: int) -> DeliveryTask | None:
        row = self.db.execute(
            f"""SELECT d.item_id, d.chat_id, d.topics, d.attempts, i.summary, {_ITEM_COLUMNS}
                FROM deliveries d JOIN items i ON i.id = d.item_id
                WHERE d.chat_id = ? AND d.message_id = ? AND d.edit_of IS NULL""",
            (chat_id, message_id),
        ).fetchone()
        if row is None:
            return None
        topics = json.loads(row["topics"])
        found = {
            r["topic_id"]: _match(r["topic_id"], r["score"], r["evidence"])
            for r in self.db.execute(
                "SELECT topic_id, score, evidence FROM matches WHERE item_id = ?",
                (row["item_id"],),
            )
        }
        return DeliveryTask(
            item=_item(row),
            chat_id=chat_id,
            matches=tuple(found[t] for t in topics if t in found),
            summary=row["summary"],
            attempts=row["attempts"],
        )

    def stats(self, now: datetime) -> Stats:
        day = _ts(now - timedelta(days=1))
        one = self.db.execute
        pending = one(
            "SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE status = 'pending'"
        ).fetchone()
        return Stats(
            items=one("SELECT COUNT(*) FROM items").fetchone()[0],
            items_today=one("SELECT COUNT(*) FROM items WHERE created_at > ?", (day,)).fetchone()[
                0
            ],
            matches=one("SELECT COUNT(*) FROM matches").fetchone()[0],
            chats_active=one(
                "SELECT COUNT(*) FROM chats WHERE active = 1 AND id != ?", (CONSOLE_CHAT_ID,)
            ).fetchone()[0],
            sent=one("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'").fetchone()[0],
            pending=pending[0],
            oldest_pending=_dt(pending[1]),
            feeds_ok=one(
                "SELECT COUNT(*) FROM feeds WHERE error_count = 0 AND retired = 0"
            ).fetchone()[0],
            feeds_failing=one(
                "SELECT COUNT(*) FROM feeds WHERE error_count > 0 AND retired = 0"
            ).fetchone()[0],
            feeds_retired=one("SELECT COUNT(*) FROM feeds WHERE retired = 1").fetchone()[0],
            feeds_down=one(
                "SELECT COUNT(*) FROM feeds WHERE down_notified = 1 AND retired = 0"
            ).fetchone()[0],
        )


class _Transaction:
    """``with store._tx():`` BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        # After some errors (a full disk) SQLite has rolled back already.
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")


_fixes = {
    "full": "free space on the data directory's disk; nothing was lost: what was being "
    "stored is stored on the next try",
    "write": "newsbot must be able to write this file and its folder: check the owner, the "
    "permissions and the mount",
    "damaged": "the database is damaged: move it away and newsbot starts a new one, or "
    "restore a backup (sqlite3 FILE .recover may save its data)",
    "busy": "another process holds the database; one newsbot per data directory",
}


def _quick_check(db: sqlite3.Connection) -> None:
    """:raises sqlite3.DatabaseError: SQLite's quick check found damaged pages."""
    problems = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError(
            "database disk image is malformed: " + "; ".join(problems)[:300]
        )


def storage_error(path: str, exc: sqlite3.Error) -> StorageError:
    """A SQLite error as one line: the file, what SQLite said, and what to do."""
    text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    low = text.lower()
    if "full" in low:
        fix = _fixes["full"]
    elif any(w in low for w in ("readonly", "read-only", "unable to open", "permission", "i/o")):
        fix = _fixes["write"]
    elif any(w in low for w in ("malformed", "not a database", "corrupt")):
        fix = _fixes["damaged"]
    elif "locked" in low or "busy" in low:
        fix = _fixes["busy"]
    else:
        fix = "see the SQLite message; the file may need a look"
    return StorageError(f"{path}: {text} ({fix})")


_F = TypeVar("_F", bound=Callable[..., Any])


def _translated(method: _F) -> _F:
    @functools.wraps(method)
    def call(self: SQLiteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # newsbot's own mistake, not the file's: a bug to see whole
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc) from None

    return call  # type: ignore[return-value]


# Every method of the Store interface raises StorageError when the file is at fault (full,
# unwritable, damaged, locked), never sqlite3's own errors.
for _name in sorted(Store.__abstractmethods__ | {"close"}):
    setattr(SQLiteStore, _name, _translated(getattr(SQLiteStore, _name)))
