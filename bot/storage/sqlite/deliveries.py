"""The alerts waiting for their chats, in SQLite: due, claimed, sent, edited, failed, held."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

from bot.models import DeliveryTask, Match
from bot.storage.base import CLAIM_TTL, Deliveries
from bot.storage.sqlite.codecs import ITEM_COLUMNS, decode_item, decode_match, ts
from bot.storage.sqlite.connection import SQLiteBase
from bot.storage.sqlite.items import story_sources

__all__ = ["SQLiteDeliveries"]


class SQLiteDeliveries(SQLiteBase, Deliveries):
    """The Deliveries role of :class:`~bot.storage.sqlite.SQLiteStore`."""

    def pending(
        self, now: datetime, limit: int = 100, kinds: Collection[str] | None = None
    ) -> list[DeliveryTask]:
        kind_filter = ""
        args: list[object] = [ts(now), ts(now - CLAIM_TTL)]
        if kinds is not None:
            kind_filter = f"AND c.kind IN ({','.join('?' * len(kinds))})"
            args.extend(sorted(kinds))
        rows = self.db.execute(
            f"""SELECT d.item_id, d.chat_id, d.topics, d.attempts, d.urgent, i.summary, c.kind,
                    c.timezone AS chat_timezone, c.previews, c.quiet_start, c.quiet_end,
                    d.created_at AS queued_at, d.edit_of, h.message_id AS head_message,
                    h.status AS head_status,
                    {ITEM_COLUMNS}
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
                found[(r["item_id"], r["topic_id"])] = decode_match(
                    r["topic_id"], r["score"], r["evidence"]
                )
        sources = story_sources(self.db, {row["story_id"] for row in rows})
        tasks: list[DeliveryTask] = []
        for row in rows:
            topics = json.loads(row["topics"])
            quiet = (row["quiet_start"], row["quiet_end"]) if row["quiet_start"] else None
            tasks.append(
                DeliveryTask(
                    item=decode_item(row),
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
                (ts(now), message_id, item_key, chat_id),
            )

    def mark_edited(
        self, chat_id: int, head_ref: int, message_id: int | None, now: datetime
    ) -> int:
        with self._tx():
            cur = self.db.execute(
                """UPDATE deliveries SET status = 'sent', sent_at = ?, message_id = ?,
                       attempts = attempts + 1, last_error = NULL, claimed_by = NULL
                   WHERE chat_id = ? AND edit_of = ? AND status = 'pending'""",
                (ts(now), message_id, chat_id, head_ref),
            )
        return cur.rowcount

    def mark_failed(self, item_key: str, chat_id: int, error: str, retry_at: datetime) -> None:
        with self._tx():
            self.db.execute(
                f"""UPDATE deliveries SET attempts = attempts + 1, last_error = ?,
                        next_attempt_at = ?, claimed_by = NULL
                    WHERE {self._delivery_where()} AND status = 'pending'""",
                (error[:500], ts(retry_at), item_key, chat_id),
            )

    def defer_chat(self, chat_id: int, until: datetime, *, urgent: bool = True) -> None:
        which = "" if urgent else "AND urgent = 0"
        with self._tx():
            self.db.execute(
                f"""UPDATE deliveries SET next_attempt_at = MAX(next_attempt_at, ?),
                        claimed_by = NULL
                    WHERE chat_id = ? AND status = 'pending' {which}""",
                (ts(until), chat_id),
            )
            if urgent:  # ready-made messages are never held by quiet hours, only by the channel
                self.db.execute(
                    """UPDATE messages SET next_attempt_at = MAX(next_attempt_at, ?),
                           claimed_by = NULL
                       WHERE chat_id = ? AND status = 'pending'""",
                    (ts(until), chat_id),
                )

    def release_chat(self, chat_id: int, now: datetime) -> int:
        with self._tx():
            cur = self.db.execute(
                """UPDATE deliveries SET next_attempt_at = ?
                   WHERE chat_id = ? AND status = 'pending' AND next_attempt_at > ?
                     AND attempts = 0""",
                (ts(now), chat_id, ts(now)),
            )
        return cur.rowcount

    def claim(self, item_ref: int, chat_id: int, owner: str, now: datetime) -> bool:
        with self._tx():
            cur = self.db.execute(
                """UPDATE deliveries SET claimed_by = ?, claimed_at = ?
                   WHERE item_id = ? AND chat_id = ? AND status = 'pending'
                     AND (claimed_by IS NULL OR claimed_at < ?)""",
                (owner, ts(now), item_ref, chat_id, ts(now - CLAIM_TTL)),
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

    def recent_sends(self, since: datetime) -> list[tuple[int, str, datetime]]:
        stamp = ts(since)
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

    def alert_for_message(self, chat_id: int, message_id: int) -> DeliveryTask | None:
        row = self.db.execute(
            f"""SELECT d.item_id, d.chat_id, d.topics, d.attempts, i.summary, {ITEM_COLUMNS}
                FROM deliveries d JOIN items i ON i.id = d.item_id
                WHERE d.chat_id = ? AND d.message_id = ? AND d.edit_of IS NULL""",
            (chat_id, message_id),
        ).fetchone()
        if row is None:
            return None
        topics = json.loads(row["topics"])
        found = {
            r["topic_id"]: decode_match(r["topic_id"], r["score"], r["evidence"])
            for r in self.db.execute(
                "SELECT topic_id, score, evidence FROM matches WHERE item_id = ?",
                (row["item_id"],),
            )
        }
        return DeliveryTask(
            item=decode_item(row),
            chat_id=chat_id,
            matches=tuple(found[t] for t in topics if t in found),
            summary=row["summary"],
            attempts=row["attempts"],
        )
