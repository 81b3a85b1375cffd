"""How fast messages may go out: Telegram's limits as token buckets. A pure stage (no I/O).

Telegram allows about 30 messages per second overall, 1 per second in one private chat, and 20
per minute in one group or channel. :class:`Pacer` answers "how long until this chat may get
its next message?" and records sends; the pipeline uses it to send round-robin across chats,
so a busy chat does not starve the others and newsbot never provokes a 429 by its own pace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo

__all__ = ["Pacer", "Rates", "parse_clock", "quiet_until"]

GROUP_KINDS = frozenset({"group", "supergroup", "channel"})


@dataclass(frozen=True, slots=True)
class Rates:
    """Messages per second: overall, per private chat, per group or channel."""

    # Telegram's 30/s, 1/s and 20/min, with a margin: what counts is when a message reaches
    # Telegram, and two requests do not take the same time to get there.
    overall: float = 29.0
    private: float = 0.95
    group: float = 19 / 60

    def scaled(self, factor: float) -> Rates:
        return Rates(self.overall * factor, self.private * factor, self.group * factor)


@dataclass(slots=True)
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        if now > self.stamp:  # a clock that stands still (or steps back) adds nothing
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait(self, now: float) -> float:
        self.refill(now)
        # A token refilled to within rounding of whole counts as whole: after waiting exactly
        # the time asked, a refill can fall a hair short, and the wait would round to nothing.
        return 0.0 if self.tokens >= 1.0 - 1e-9 else (1.0 - self.tokens) / self.rate


@dataclass
class Pacer:
    """Token buckets for the whole bot and for each chat. Times are monotonic seconds."""

    rates: Rates = field(default_factory=Rates)
    _overall: _Bucket | None = None
    _chats: dict[int, _Bucket] = field(default_factory=dict)

    def _bucket(self, chat_id: int, kind: str, now: float) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            rate = self.rates.group if kind in GROUP_KINDS else self.rates.private
            # No burst per chat: Telegram's per-chat limits are about spacing, not averages.
            bucket = self._chats[chat_id] = _Bucket(rate, 1.0, 1.0, now)
        return bucket

    def _global(self, now: float) -> _Bucket:
        if self._overall is None:
            rate = self.rates.overall
            self._overall = _Bucket(rate, max(1.0, rate / 10), max(1.0, rate / 10), now)
        return self._overall

    def wait(self, chat_id: int, kind: str, now: float) -> float:
        """Seconds until ``chat_id`` may get a message (0 if it may now)."""
        return max(self._bucket(chat_id, kind, now).wait(now), self._global(now).wait(now))

    def record(self, chat_id: int, kind: str, now: float) -> None:
        """A message went to ``chat_id`` at ``now``."""
        for bucket in (self._bucket(chat_id, kind, now), self._global(now)):
            bucket.refill(now)
            bucket.tokens -= 1.0

    def forget(self, idle: float, now: float) -> None:
        """Drop the buckets of chats idle for ``idle`` seconds (they are full again anyway)."""
        for chat_id in [c for c, b in self._chats.items() if now - b.stamp > idle]:
            del self._chats[chat_id]


def quiet_until(now: datetime, tz: ZoneInfo, start: dt_time, end: dt_time) -> datetime | None:
    """When the quiet hours ``start``–``end`` (local times in ``tz``) that ``now`` falls in end,
    or None if ``now`` is not in them. A window may span midnight (22:00–07:00); equal start
    and end mean no quiet hours.

    Computed on the local calendar, then converted back, so a DST change inside the window
    moves its end with the wall clock, as a person would expect.
    """
    if start == end:
        return None
    local = now.astimezone(tz)
    for day in (local.date() - timedelta(days=1), local.date()):
        begins = datetime.combine(day, start, tzinfo=tz)
        end_day = day if end > start else day + timedelta(days=1)
        ends = datetime.combine(end_day, end, tzinfo=tz)
        if begins <= local < ends:
            return ends.astimezone(now.tzinfo)
    return None


def parse_clock(text: str) -> dt_time | None:
    """``"7:30"`` or ``"07:30"`` as a time of day; None if it is not one."""
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    return dt_time(int(m.group(1)), int(m.group(2))) if m else None
