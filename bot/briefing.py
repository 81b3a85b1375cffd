"""Digests as a briefing: the matches of a period grouped into stories and ranked. A pure stage.

A chat's digest is built from its matches since its last digest (:class:`DigestEntry`). Items of
one story (:mod:`bot.stories`) become one line, told by its most informative report, with every
source that reported it. Stories are ranked by

    relevance × (1 + ln sources) × ½ ^ (hours since the latest report / 24)

so a story many outlets carry, or a fresh one, goes before a single old mention. Each story is
listed once, under the topic it is most relevant to.

What the chat already saw: a story that reached the chat as an alert is left out unless reports
came after that alert, and then its line says what changed ("+2 reports since your alert: BBC,
NPR"). A story is *new* when its first report came after the previous digest; the headline
counts them ("14 stories, 3 new since 27 Nov 08:00").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.models import DigestEntry, Item
from bot.summarize import best_summary

__all__ = ["Briefing", "StoryLine", "build_briefing"]

HALF_LIFE_HOURS = 24.0


@dataclass(frozen=True, slots=True)
class StoryLine:
    """One story of a digest."""

    story: str
    topic_id: str
    item: Item
    """The report that tells the story: the most informative one, not the first or shortest."""
    summary: str
    sources: tuple[str, ...]
    reports: int
    first_seen: datetime
    latest: datetime
    rank: float
    new: bool
    """First reported after the previous digest (False for a digest with no previous one)."""
    changes: tuple[str, ...] = ()
    """Sources of the reports that came after the chat's alert of this story (if it had one)."""
    also: tuple[str, ...] = ()
    """Other topics of the chat the story matched."""


@dataclass(frozen=True, slots=True)
class Briefing:
    """A digest's content: per topic, its best stories (and how many more there are)."""

    since: datetime | None
    now: datetime
    sections: tuple[tuple[str, tuple[StoryLine, ...], int], ...] = field(default=())
    stories: int = 0
    """Stories in the period, shown or not."""
    new: int = 0
    """Of those, the stories first reported after the previous digest."""

    def __bool__(self) -> bool:
        return bool(self.sections)


def build_briefing(
    entries: Iterable[DigestEntry],
    *,
    since: datetime | None,
    now: datetime,
    alerted: Mapping[str, datetime] | None = None,
    per_topic: int = 5,
) -> Briefing:
    """Group ``entries`` into stories, rank them and keep the best ``per_topic`` per topic.

    :param alerted: story id -> when the chat last got an alert (or an alert update) for it.
    """
    alerted = alerted or {}
    by_story: dict[str, list[DigestEntry]] = {}
    for entry in entries:
        story = entry.item.story or f"item:{entry.item.key}"
        by_story.setdefault(story, []).append(entry)
    lines: list[StoryLine] = []
    for story, group in by_story.items():
        sent_at = alerted.get(story)
        later = [e for e in group if sent_at is None or e.matched_at > sent_at]
        if not later:
            continue  # the chat's alert already told all of it
        best_topic: dict[str, float] = {}
        for entry in group:
            best_topic[entry.topic_id] = max(best_topic.get(entry.topic_id, 0.0), entry.score)
        topics = sorted(best_topic, key=lambda t: (-best_topic[t], t))
        items = {e.item.key: e for e in group}
        reports = sorted(items.values(), key=lambda e: e.item.published)
        # The same rule as an edited alert: the report with the most to say tells the story.
        teller = reports[best_summary([(e.item.title, e.item.text) for e in reports])]
        sources = _sources(group)
        latest = max(e.item.published for e in group)
        first = min(e.item.published for e in group)
        age = max(0.0, (now - latest).total_seconds() / 3600)
        rank = best_topic[topics[0]] * (1 + math.log(len(sources))) * 0.5 ** (age / HALF_LIFE_HOURS)
        changes: tuple[str, ...] = ()
        if sent_at is not None:
            changes = _sources(later, story_wide=False)
        lines.append(
            StoryLine(
                story=story,
                topic_id=topics[0],
                item=teller.item,
                summary=_lead(teller.summary, teller.item.title),
                sources=sources,
                reports=len(items),
                first_seen=first,
                latest=latest,
                rank=rank,
                new=since is not None and min(e.matched_at for e in group) > since,
                changes=changes,
                also=tuple(topics[1:]),
            )
        )
    sections: dict[str, list[StoryLine]] = {}
    for line in sorted(lines, key=lambda s: (-s.rank, -s.latest.timestamp(), s.story)):
        sections.setdefault(line.topic_id, []).append(line)
    ordered = sorted(sections.items(), key=lambda kv: (-kv[1][0].rank, kv[0]))
    return Briefing(
        since,
        now,
        tuple(
            (topic, tuple(found[:per_topic]), max(0, len(found) - per_topic))
            for topic, found in ordered
        ),
        stories=len(lines),
        new=sum(1 for line in lines if line.new),
    )


def _sources(entries: Sequence[DigestEntry], *, story_wide: bool = True) -> tuple[str, ...]:
    """The sources, first reporter first: of the whole story (``entry.sources``, which include
    reports that did not match the chat's topics), or of these reports only."""
    names: list[str] = []
    for entry in sorted(entries, key=lambda e: e.item.published):
        own = (entry.item.source_name,)
        for name in (entry.sources or own) if story_wide else own:
            if name not in names:
                names.append(name)
    return tuple(names)


def _lead(summary: str, title: str, limit: int = 320) -> str:
    """The first one or two sentences of a summary, within ``limit`` characters; nothing if
    the summary only repeats the title (a feed item without a description)."""
    text = " ".join(summary.split())
    if text.rstrip(".…").casefold() == " ".join(title.split()).rstrip(".…").casefold():
        return ""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if end > limit // 3:
        return cut[: end + 1]
    return cut.rsplit(" ", 1)[0] + "…"
