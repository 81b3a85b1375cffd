"""The dispatcher shapes each message to its channel's declared capabilities: a channel
without buttons gets none, one that shows Markdown gets it, one that cannot edit gets no edit
(a story update is merged), one with a short limit gets parts."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from bot.models import OutgoingMessage
from bot.notify.base import Capabilities, Notifier
from bot.storage.base import NewItem
from bot.storage.memory import MemoryStore
from tests.factories import T0, item, match, outbox_pipeline


class Recorder(Notifier):
    """A channel that shows Markdown, has no buttons, cannot edit, takes 300 characters."""

    capabilities: ClassVar[Capabilities] = Capabilities(format="markdown", max_length=300)

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    async def send(self, chat_id: int, message: OutgoingMessage) -> int | None:
        assert len(message.plain) <= self.capabilities.max_length, "over the channel's length"
        self.sent.append(message)
        return len(self.sent)

    async def edit(self, chat_id: int, message_id: int | None, message: OutgoingMessage) -> bool:
        raise AssertionError("a channel that cannot edit was asked to")


async def test_alerts_are_shaped_to_a_channel_without_buttons_or_edits() -> None:
    store = MemoryStore()
    recorder = Recorder()
    pipeline = outbox_pipeline(store, {"telegram": recorder}, clock=lambda: T0)
    store.upsert_chat(5, "private", "", T0)
    store.subscribe(5, "isis", T0)
    head = replace(item("ISIS claims attack", "word " * 200), story="s1")
    update = replace(item("ISIS attack: another source", "more"), story="s1")
    store.add_items([NewItem(head, "Fighters attacked. " * 30, (match("isis"),))], T0)
    report = await pipeline.deliver_pending()
    assert report.sent == 1 and len(recorder.sent) > 1  # in parts of at most 300
    assert all(m.buttons == () for m in recorder.sent)
    assert all(m.markdown for m in recorder.sent) and "**" in recorder.sent[0].markdown
    assert len({m.markdown for m in recorder.sent}) == len(recorder.sent)  # each its part's
    store.add_items([NewItem(update, "", (match("isis"),), material=False)], T0)
    sent_before = len(recorder.sent)
    report = await pipeline.deliver_pending()
    assert (report.edited, report.merged) == (0, 1) and len(recorder.sent) == sent_before
