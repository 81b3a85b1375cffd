"""Chats, their settings, subscriptions, watches, mutes and tunings in SQLite."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from bot.models import Chat, Watch
from bot.routing import Tuning
from bot.storage.base import Chats
from bot.storage.sqlite.codecs import decode_tuning, dt, ts
from bot.storage.sqlite.connection import SQLiteBase

__all__ = ["SQLiteChats"]


class SQLiteChats(SQLiteBase, Chats):
    """The Chats role of :class:`~bot.storage.sqlite.SQLiteStore`."""

    def upsert_chat(self, chat_id: int, kind: str, title: str, now: datetime) -> Chat:
        with self._tx():
            self.db.execute(
                """INSERT INTO chats (id, kind, title, created_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
                       active = 1, inactive_reason = NULL""",
                (chat_id, kind, title, ts(now)),
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
            last_digest_at=dt(row["last_digest_at"]),
            created_at=dt(row["created_at"]),
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

    def set_last_digest(self, chat_id: int, at: datetime) -> None:
        with self._tx():
            self.db.execute("UPDATE chats SET last_digest_at = ? WHERE id = ?", (ts(at), chat_id))

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
                (new_id, ts(now), old_id),
            )
            for table in (
                "subscriptions",
                "watches",
                "deliveries",
                "messages",
                "feedback",
                "tunings",
            ):
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
                (chat_id, topic_id, ts(now)),
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

    def add_watch(self, watch: Watch, now: datetime) -> None:
        with self._tx():
            self.db.execute(
                """INSERT INTO watches (chat_id, name, query, created_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (chat_id, name) DO UPDATE SET query = excluded.query""",
                (watch.chat_id, watch.name, watch.query, ts(now)),
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

    def mute(self, chat_id: int, topic_id: str, until: datetime) -> None:
        with self._tx():
            self.db.execute(
                """INSERT INTO mutes (chat_id, topic_id, until) VALUES (?, ?, ?)
                   ON CONFLICT (chat_id, topic_id) DO UPDATE SET until = excluded.until""",
                (chat_id, topic_id, ts(until)),
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
                (chat_id, ts(now)),
            )
        }

    def set_tuning(self, chat_id: int, topic_id: str, tuning: Tuning) -> None:
        with self._tx():
            if tuning.empty:
                self.db.execute(
                    "DELETE FROM tunings WHERE chat_id = ? AND topic_id = ?", (chat_id, topic_id)
                )
                return
            self.db.execute(
                """INSERT INTO tunings (chat_id, topic_id, threshold, stopped, allowed)
                   SELECT id, ?, ?, ?, ? FROM chats WHERE id = ?
                   ON CONFLICT (chat_id, topic_id) DO UPDATE SET threshold = excluded.threshold,
                       stopped = excluded.stopped, allowed = excluded.allowed""",
                (
                    topic_id,
                    tuning.threshold,
                    json.dumps(sorted(tuning.stopped), ensure_ascii=False),
                    json.dumps(dict(sorted(tuning.allowed.items())), ensure_ascii=False),
                    chat_id,
                ),
            )

    def tunings(self, chat_id: int) -> dict[str, Tuning]:
        return {
            r[0]: decode_tuning(r[1], r[2], r[3])
            for r in self.db.execute(
                "SELECT topic_id, threshold, stopped, allowed FROM tunings WHERE chat_id = ? "
                "ORDER BY topic_id",
                (chat_id,),
            )
        }
