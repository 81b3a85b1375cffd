"""Feed states, feeds added at run time and document fingerprints in SQLite."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.models import DocumentFingerprint, FeedConfig, FeedState
from bot.storage.base import FeedStates
from bot.storage.sqlite.codecs import decode_feed_state, ts
from bot.storage.sqlite.connection import SQLiteBase

__all__ = ["SQLiteFeedStates"]


class SQLiteFeedStates(SQLiteBase, FeedStates):
    """The FeedStates role of :class:`~bot.storage.sqlite.SQLiteStore`."""

    def feed_state(self, url: str) -> FeedState:
        row = self.db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return FeedState(url=url) if row is None else decode_feed_state(row)

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
                    ts(state.last_success_at) if state.last_success_at else None,
                    ts(state.last_checked_at) if state.last_checked_at else None,
                    ts(state.next_poll_at) if state.next_poll_at else None,
                    state.error_kind,
                    state.down_notified,
                    state.retired,
                    state.moved_to,
                    state.interval,
                ),
            )

    def feed_states(self) -> list[FeedState]:
        return [decode_feed_state(r) for r in self.db.execute("SELECT * FROM feeds ORDER BY url")]

    def add_feed(self, feed: FeedConfig, added_by: int, now: datetime) -> bool:
        with self._tx():
            cur = self.db.execute(
                """INSERT INTO added_feeds (url, name, interval, added_by, added_at)
                   VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING""",
                (feed.url, feed.name, feed.interval, added_by, ts(now)),
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
