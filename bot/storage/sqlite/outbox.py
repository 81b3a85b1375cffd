"""The outbox of ready-made messages (digests, notices, replies) in SQLite."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from bot.models import OutgoingMessage, QueuedMessage
from bot.storage.base import CLAIM_TTL, Outbox
from bot.storage.sqlite.codecs import ts
from bot.storage.sqlite.connection import SQLiteBase

__all__ = ["SQLiteOutbox"]


class SQLiteOutbox(SQLiteBase, Outbox):
    """The Outbox role of :class:`~bot.storage.sqlite.SQLiteStore`."""

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
                stamp = ts(now + timedelta(microseconds=n))
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
                    "UPDATE chats SET last_digest_at = ? WHERE id = ?", (ts(digest_until), chat_id)
                )
        return ids

    def pending_messages(
        self, now: datetime, limit: int = 100, kinds: Collection[str] | None = None
    ) -> list[QueuedMessage]:
        kind_filter = ""
        args: list[object] = [ts(now), ts(now - CLAIM_TTL)]
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
                (owner, ts(now), message_ref, ts(now - CLAIM_TTL)),
            )
        return cur.rowcount > 0

    def message_sent(self, message_ref: int, message_id: int | None, now: datetime) -> None:
        with self._tx():
            self.db.execute(
                """UPDATE messages SET status = 'sent', sent_at = ?, message_id = ?,
                       attempts = attempts + 1, last_error = NULL, claimed_by = NULL
                   WHERE id = ?""",
                (ts(now), message_id, message_ref),
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
                    (error[:500], ts(retry_at), message_ref),
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
