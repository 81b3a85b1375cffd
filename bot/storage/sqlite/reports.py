"""Counts for the operator, from SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.storage.base import CONSOLE_CHAT_ID, Reports, Stats
from bot.storage.sqlite.codecs import dt, ts
from bot.storage.sqlite.connection import SQLiteBase

__all__ = ["SQLiteReports"]


class SQLiteReports(SQLiteBase, Reports):
    """The Reports role of :class:`~bot.storage.sqlite.SQLiteStore`."""

    def stats(self, now: datetime) -> Stats:
        day = ts(now - timedelta(days=1))
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
            oldest_pending=dt(pending[1]),
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

    def feedback_counts(self) -> tuple[int, int]:
        row = self.db.execute(
            "SELECT COALESCE(SUM(value = 1), 0), COALESCE(SUM(value = -1), 0) FROM feedback"
        ).fetchone()
        return int(row[0]), int(row[1])
