"""When to poll a feed next, and how long to back off: a pure stage (no I/O, no clock).

A feed is polled again after an interval that follows how often it publishes, within the
feed's own interval (the floor: never more often than configured) and ``max_interval``:

* with at least :data:`MIN_DATED` dated entries, half the median gap between its recent
  entries (an item every 2 hours: a poll every hour); a feed silent for a week waits the most;
* the server's own word lengthens it: Cache-Control max-age, Expires, the RSS ``<ttl>``, and
  ``Retry-After`` (which may go beyond ``max_interval``: the server asked);
* a random ±10 % keeps feeds that started together from firing together forever.

After a failure the wait doubles per consecutive failure, up to :data:`MAX_BACKOFF`, and the
feed is never given up (except a 410 Gone).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from statistics import median

__all__ = ["MAX_BACKOFF", "backoff", "jitter", "next_interval"]

MIN_DATED = 5
RECENT = 20
STALE = timedelta(days=7)
MAX_BACKOFF = timedelta(hours=24)


def next_interval(
    base: float,
    published: Iterable[datetime | None],
    now: datetime,
    *,
    max_interval: float,
    hint: float | None = None,
) -> float:
    """Seconds until the next poll of a feed that was just read successfully.

    :param base: the feed's configured interval, the floor.
    :param published: the publication dates of the entries the feed carries now.
    :param hint: seconds the server says the feed will not change.
    """
    ceiling = max(base, max_interval)
    dates = sorted(d for d in published if d is not None and d <= now)[-RECENT:]
    interval = base
    if dates and now - dates[-1] > STALE:
        interval = ceiling
    elif len(dates) >= MIN_DATED:
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(dates)]
        positive = [g for g in gaps if g > 0]
        if positive:
            interval = median(positive) / 2
    interval = min(max(interval, base), ceiling)
    if hint is not None and hint > interval:
        interval = min(hint, ceiling)
    return interval


def backoff(base: timedelta, failures: int, cap: timedelta = MAX_BACKOFF) -> timedelta:
    """``base`` doubled per consecutive failure after the first, at most ``cap``."""
    grown: timedelta = base * (2 ** max(0, min(failures - 1, 20)))
    return min(cap, grown)


def jitter(seconds: float, rng: random.Random | None = None) -> float:
    """``seconds`` ± 10 %, so that feeds do not stay in step."""
    return seconds * (rng or random).uniform(0.9, 1.1)
