"""Items, their matches and stories in SQLite; storing new items routes their alerts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.models import BROADCAST_SOURCE, Chat, DigestEntry, FeedbackEntry, Item, Match
from bot.routing import (
    Audience,
    Routable,
    Subscription,
    broadcast_recipients,
    route,
    story_mute,
)
from bot.storage.base import Items, NewItem
from bot.storage.sqlite.codecs import (
    ITEM_COLUMNS,
    decode_item,
    decode_match,
    decode_tuning,
    evidence_json,
    ts,
)
from bot.storage.sqlite.connection import SQLiteBase

__all__ = ["SQLiteItems", "story_sources"]


class SQLiteItems(SQLiteBase, Items):
    """The Items role of :class:`~bot.storage.sqlite.SQLiteStore`."""

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
        stamp = ts(now)
        with self._tx():
            routable: list[Routable] = []
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
                        ts(item.published),
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
                assert cur.lastrowid is not None
                routable.append(
                    Routable(
                        cur.lastrowid,
                        tuple(m.topic_id for m in entry.matches),
                        item.story,
                        entry.material,
                        entry.matches,
                    )
                )
                self.db.executemany(
                    "INSERT INTO matches (item_id, topic_id, score, evidence, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        (cur.lastrowid, m.topic_id, m.score, evidence_json(m), stamp)
                        for m in entry.matches
                    ],
                )
            deliveries = route(routable, self._audience(routable, stamp), now)
            self.db.executemany(
                """INSERT INTO deliveries (item_id, chat_id, topics, next_attempt_at,
                       created_at, urgent, edit_of) VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (item_id, chat_id) DO NOTHING""",
                [
                    (d.item_ref, d.chat_id, json.dumps(d.topics), stamp, stamp, d.urgent, d.edit_of)
                    for d in deliveries
                ],
            )
        return len(routable), len(deliveries)

    def _audience(self, items: Sequence[Routable], stamp: str) -> Audience:
        """What routing needs to know of the chats to route ``items``."""
        topics = sorted({t for r in items for t in r.topics})
        subscriptions = [
            Subscription(r[0], r[1], r[2], bool(r[3]), True)
            for r in self._rows_in(
                """SELECT s.chat_id, s.topic_id, s.mode, s.urgent FROM subscriptions s
                   JOIN chats c ON c.id = s.chat_id
                   WHERE c.active = 1 AND s.topic_id IN ({})""",
                topics,
            )
        ]
        if not subscriptions:
            return Audience()
        stories = sorted({r.story for r in items if r.story})
        keys = topics + [story_mute(s) for s in stories]
        mutes = {
            (r[0], r[1]): datetime.fromisoformat(r[2])
            for r in self._rows_in(
                "SELECT chat_id, topic_id, until FROM mutes WHERE until > ? AND topic_id IN ({})",
                keys,
                stamp,
            )
        }
        edited = sorted({r.story for r in items if r.story and not r.material})
        heads = {
            (r[0], r[1]): r[2]
            for r in self._rows_in(
                """SELECT i.story_id, d.chat_id, MAX(d.item_id) FROM deliveries d
                   JOIN items i ON i.id = d.item_id
                   WHERE d.edit_of IS NULL AND d.status != 'dropped' AND i.story_id IN ({})
                   GROUP BY i.story_id, d.chat_id""",
                edited,
            )
        }
        pairs = {(s.chat_id, s.topic_id) for s in subscriptions}
        tunings = {
            (r[0], r[1]): decode_tuning(r[2], r[3], r[4])
            for r in self._rows_in(
                "SELECT chat_id, topic_id, threshold, stopped, allowed FROM tunings "
                "WHERE topic_id IN ({})",
                topics,
            )
            if (r[0], r[1]) in pairs
        }
        return Audience(subscriptions, mutes, heads, tunings)

    def add_broadcast(self, item: Item, now: datetime) -> int:
        stamp = ts(now)
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
                    ts(item.published),
                    item.text,
                    stamp,
                ),
            )
            active = self.db.execute("SELECT id, kind FROM chats WHERE active = 1 ORDER BY id")
            chats = broadcast_recipients(Chat(r[0], r[1]) for r in active)
            self.db.executemany(
                """INSERT INTO deliveries (item_id, chat_id, topics, next_attempt_at, created_at)
                   VALUES (?, ?, '[]', ?, ?)""",
                [(cur.lastrowid, chat_id, stamp, stamp) for chat_id in chats],
            )
        return len(chats)

    def story_items(self, story: str, limit: int = 50) -> list[Item]:
        rows = self.db.execute(
            f"""SELECT {ITEM_COLUMNS} FROM items i WHERE i.story_id = ?
                ORDER BY i.published, i.id LIMIT ?""",
            (story, limit),
        )
        return [decode_item(r) for r in rows] if story else []

    def story_sources(self, stories: Collection[str]) -> dict[str, tuple[str, ...]]:
        return story_sources(self.db, stories)

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
                        SELECT i.id AS row_id, {ITEM_COLUMNS} FROM items i
                        WHERE i.published >= ? AND i.source != ? ORDER BY i.id DESC LIMIT ?
                    ) ORDER BY row_id""",
                (ts(since), BROADCAST_SOURCE, limit),
            )
        else:
            rows = self.db.execute(
                f"""SELECT {ITEM_COLUMNS} FROM items i WHERE i.created_at >= ? AND i.source != ?
                    ORDER BY i.created_at DESC LIMIT ?""",
                (ts(since), BROADCAST_SOURCE, limit),
            )
        return [decode_item(r) for r in rows]

    def _entries(self, sql: str, args: Sequence[object]) -> list[DigestEntry]:
        out: list[DigestEntry] = []
        for row in self.db.execute(sql, args):
            out.append(
                DigestEntry(
                    topic_id=row["topic_id"],
                    item=decode_item(row),
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
            f"""SELECT m.topic_id, m.score, m.created_at, i.summary, {ITEM_COLUMNS}
                FROM matches m JOIN items i ON i.id = m.item_id
                WHERE m.topic_id IN ({marks})
                ORDER BY i.published DESC, m.created_at DESC LIMIT ?""",
            (*ids, limit),
        )

    def digest_entries(self, chat_id: int, until: datetime) -> list[DigestEntry]:
        entries = self._entries(
            f"""SELECT m.topic_id, m.score, m.created_at, i.summary, {ITEM_COLUMNS}
                FROM subscriptions s
                JOIN chats c ON c.id = s.chat_id
                JOIN matches m ON m.topic_id = s.topic_id
                JOIN items i ON i.id = m.item_id
                WHERE s.chat_id = ? AND s.mode IN ('digest', 'both')
                  AND m.created_at >= s.created_at
                  AND m.created_at > COALESCE(c.last_digest_at, '')
                  AND m.created_at <= ?
                ORDER BY m.topic_id, m.score DESC, i.published DESC""",
            (chat_id, ts(until)),
        )
        sources = story_sources(self.db, {e.item.story for e in entries})
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

    def set_feedback(self, chat_id: int, item_ref: int, value: int, now: datetime) -> bool:
        with self._tx():
            cur = self.db.execute(
                """INSERT INTO feedback (chat_id, item_id, value, created_at)
                   SELECT ?, id, ?, ? FROM items WHERE id = ?
                   ON CONFLICT (chat_id, item_id) DO UPDATE SET value = excluded.value""",
                (chat_id, value, ts(now), item_ref),
            )
        return cur.rowcount > 0

    def feedback(
        self, *, chat_id: int | None = None, topic_id: str | None = None
    ) -> list[FeedbackEntry]:
        where: list[str] = []
        args: list[object] = []
        if chat_id is not None:
            where.append("f.chat_id = ?")
            args.append(chat_id)
        if topic_id is not None:
            where.append("(f.item_id IN (SELECT item_id FROM matches WHERE topic_id = ?))")
            args.append(topic_id)
        rows = self.db.execute(
            f"""SELECT f.chat_id, f.item_id, f.value, f.created_at, d.topics AS listed,
                       {ITEM_COLUMNS}
                FROM feedback f JOIN items i ON i.id = f.item_id
                LEFT JOIN deliveries d ON d.item_id = f.item_id AND d.chat_id = f.chat_id
                {"WHERE " + " AND ".join(where) if where else ""}
                ORDER BY f.created_at, f.item_id, f.chat_id""",
            args,
        ).fetchall()
        refs = sorted({r[1] for r in rows})
        matches: dict[int, list[Match]] = {}
        for ref, topic, score, evidence in self._rows_in(
            "SELECT item_id, topic_id, score, evidence FROM matches WHERE item_id IN ({})",
            refs,
        ):
            matches.setdefault(ref, []).append(decode_match(topic, score, evidence))
        out = []
        for row in rows:
            listed = json.loads(row[4]) if row[4] else None
            found = matches.get(row[1], [])
            if listed is not None:
                order = {t: n for n, t in enumerate(listed)}
                found = sorted(
                    (m for m in found if m.topic_id in order), key=lambda m: order[m.topic_id]
                )
            if topic_id is not None and all(m.topic_id != topic_id for m in found):
                continue
            out.append(
                FeedbackEntry(
                    row[0],
                    row[1],
                    row[2],
                    datetime.fromisoformat(row[3]),
                    decode_item(row),
                    tuple(found),
                )
            )
        return out


def story_sources(db: sqlite3.Connection, stories: Collection[str]) -> dict[str, tuple[str, ...]]:
    """Per story, the distinct names of the sources that reported it, first first."""
    out: dict[str, list[str]] = {}
    wanted = sorted(s for s in stories if s)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for story, name in db.execute(
            f"""SELECT story_id, source_name FROM items
                WHERE story_id IN ({",".join("?" * len(chunk))}) ORDER BY published, id""",
            chunk,
        ):
            names = out.setdefault(story, [])
            if name not in names:
                names.append(name)
    return {story: tuple(names) for story, names in out.items()}
