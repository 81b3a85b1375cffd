"""Story updates: when a story the chat was alerted of gains sources, its alert is edited to
list them (and to show the story's fullest report) instead of a new alert being sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.models import DeliveryTask
from bot.notify.base import Notifier
from bot.render import render_alert
from bot.services.chats import Zones
from bot.services.topics import TopicRegistry
from bot.storage.base import Store
from bot.summarize import best_summary, summarize

__all__ = ["StoryUpdates"]

log = logging.getLogger(__name__)


class StoryUpdates:
    """``await updates.apply(notifier, task)`` for a delivery that is an update of a story
    (``task.edit_of`` is set). Within one delivery run one edit covers every update waiting
    for the same alert."""

    def __init__(
        self,
        store: Store,
        registry: TopicRegistry,
        zones: Zones,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.registry = registry
        self.zones = zones
        self.clock = clock
        self._edited: dict[tuple[int, int], datetime] = {}

    def new_run(self) -> None:
        """A delivery run starts: the edits of the last one are forgotten."""
        self._edited = {}

    async def apply(self, notifier: Notifier, task: DeliveryTask) -> tuple[int, int]:
        """Edit the chat's alert of the story to list every source. :returns: (edits made,
        updates merged without an edit: the alert has not gone out yet, and will list the
        sources when it does, or has no message to edit). (0, 0): an edit of this run
        already showed it.

        :raises DeliveryError: the edit failed (the caller decides what that means).
        """
        assert task.edit_of is not None
        key = (task.chat_id, task.edit_of)
        done = self._edited.get(key)
        if done is not None and task.created_at <= done:
            return 0, 0
        # What the edit shows is read now; it covers the updates stored until now, and only
        # those: one stored while the edit is on its way gets its own.
        now = self.clock()
        head = None
        if task.head_sent and task.edit_message_id is not None:
            head = self.store.alert_for_message(task.chat_id, task.edit_message_id)
        if head is None or not notifier.capabilities.edits:  # nothing it could edit
            return 0, self.store.mark_edited(task.chat_id, task.edit_of, None, now)
        sources = self.store.story_sources({head.item.story}).get(head.item.story, task.sources)
        head = replace(head, sources=sources, item_ref=task.edit_of, summary=self.summary(head))
        message = render_alert(head, self.registry.topics, self.zones.of(task.chat_timezone))
        if task.previews:
            message = replace(message, previews=True)
        if not await notifier.edit(task.chat_id, task.edit_message_id, message):
            log.info("chat %s: alert %s can no longer be edited", task.chat_id, task.edit_of)
        self._edited[key] = now
        self.store.mark_edited(task.chat_id, task.edit_of, task.edit_message_id, now)
        return 1, 0

    def summary(self, head: DeliveryTask) -> str:
        """The summary of the story's most informative report (a full article rather than a
        teaser), which need not be the report the alert first showed."""
        reports = self.store.story_items(head.item.story)
        if len(reports) < 2:
            return head.summary
        best = reports[best_summary([(r.title, r.text) for r in reports])]
        if best.key == head.item.key:
            return head.summary
        summary = summarize(best.title, best.text)
        return f"{summary} ({best.source_name})" if summary else head.summary
