"""Rows and models: how newsbot's values are written to SQLite and read back.

Times are stored as ISO 8601 strings in UTC with microseconds
(``2024-09-17T08:00:00.000000+00:00``): one fixed width, so they sort correctly as text.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from bot.models import Evidence, FeedState, Item, Match, ModelScore
from bot.routing import Tuning

__all__ = [
    "ITEM_COLUMNS",
    "decode_feed_state",
    "decode_item",
    "decode_match",
    "decode_tuning",
    "dt",
    "evidence_json",
    "ts",
]


def ts(value: datetime) -> str:
    """A time as stored: ISO 8601 in UTC with microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt(value: str | None) -> datetime | None:
    """A stored time back (None for none)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    # Written by us always with an offset; a row edited by hand may lack one: it is UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def evidence_json(match: Match) -> str:
    """A match's evidence as stored (JSON); a learned layer's score comes last."""
    rows: list[dict[str, object]] = [
        {"term": e.term, "field": e.field, "count": e.count, "snippet": e.snippet}
        for e in match.evidence
    ]
    if match.model is not None:
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


def decode_match(topic_id: str, score: float, evidence: str) -> Match:
    """A stored match back."""
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


def decode_tuning(threshold: float | None, stopped: str, allowed: str) -> Tuning:
    """A stored tuning back."""
    return Tuning(
        None if threshold is None else float(threshold),
        frozenset(json.loads(stopped)),
        {str(k): int(v) for k, v in json.loads(allowed).items()},
    )


ITEM_COLUMNS = (
    "i.key, i.ext_id, i.source, i.source_name, i.title, i.link, i.author, i.published, "
    "i.text, i.description, i.story_id, i.date_only"
)


def decode_item(row: sqlite3.Row) -> Item:
    """An item from a row of :data:`ITEM_COLUMNS`."""
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


def decode_feed_state(row: sqlite3.Row) -> FeedState:
    """A feed state from a row of ``feeds``."""
    return FeedState(
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        error_count=row["error_count"],
        last_success_at=dt(row["last_success_at"]),
        last_checked_at=dt(row["last_checked_at"]),
        next_poll_at=dt(row["next_poll_at"]),
        error_kind=row["error_kind"],
        down_notified=bool(row["down_notified"]),
        retired=bool(row["retired"]),
        moved_to=row["moved_to"],
        interval=row["interval"],
    )
