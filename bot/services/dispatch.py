"""The dispatcher: the outbox to the chats. Alerts and ready-made messages (digests, notices,
replies) are sent round-robin over the chats at the pace each channel allows, claimed before
they go out, marked sent only once accepted, retried with backoff; quiet hours hold alerts, an
outage's backlog arrives as one digest, and a story that gains sources edits its alert."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeGuard

from bot.errors import ChatMoved, ChatUnavailable, DeliveryError, MessageTooLong, RetryLater
from bot.intervals import backoff
from bot.markdown import to_markdown
from bot.models import (
    BROADCAST_SOURCE,
    DeliveryTask,
    DigestEntry,
    OutgoingMessage,
    QueuedMessage,
)
from bot.notify.base import Capabilities, Notifier, Notifiers
from bot.pacing import Pacer, Rates, parse_clock, quiet_until
from bot.render import (
    MAX_MESSAGE,
    render_alert,
    render_announcement,
    render_digest,
    split_message,
    visible_length,
)
from bot.services.chats import Zones
from bot.services.topics import TopicRegistry
from bot.services.updates import StoryUpdates
from bot.storage.base import Store

__all__ = ["DeliveryReport", "Dispatcher", "Outgoing", "process_owner", "send_message"]

log = logging.getLogger(__name__)

MAX_DELIVERY_BACKOFF = timedelta(hours=1)
REFRESH_SECONDS = 1.0
PACE_MEMORY = timedelta(seconds=90)
"""How far back the pacer is restored from the database's record of sends at start-up."""

Outgoing = DeliveryTask | QueuedMessage
"""What the dispatcher sends: an alert of an item, or a ready-made message (digest, notice)."""


def process_owner() -> str:
    """This process's name in delivery claims: host, pid and a random part (pids repeat)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def fit(message: OutgoingMessage, capabilities: Capabilities) -> OutgoingMessage:
    """``message`` as the channel can show it: no buttons where it has none, its Markdown
    written where it shows Markdown."""
    if message.buttons and not capabilities.buttons:
        message = replace(message, buttons=())
    if capabilities.format == "markdown" and not message.markdown:
        message = replace(message, markdown=to_markdown(message.html))
    return message


async def send_message(notifier: Notifier, chat_id: int, message: OutgoingMessage) -> int | None:
    """Send ``message`` as the channel can show it (:func:`fit`); longer than the channel
    takes (or refused as too long), in parts, cut between paragraphs or sentences (see
    :func:`bot.render.split_message`). :returns: the id of the first part."""
    capabilities = notifier.capabilities
    limit = min(MAX_MESSAGE, capabilities.max_length)
    if visible_length(message.html) <= limit:
        try:
            return await notifier.send(chat_id, fit(message, capabilities))
        except MessageTooLong:
            log.error("chat %s: a message was refused as too long; sending it in parts", chat_id)
    first: int | None = None
    for part in split_message(message, limit):
        try:
            message_id = await notifier.send(chat_id, fit(part, capabilities))
        except MessageTooLong:  # the channel counts differently: cut smaller
            message_id = None
            for piece in split_message(part, limit // 2):
                piece_id = await notifier.send(chat_id, fit(piece, capabilities))
                message_id = message_id if message_id is not None else piece_id
        first = first if first is not None else message_id
    return first


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    deferred_chats: int = 0
    chats_gone: int = 0
    held_chats: int = 0
    edited: int = 0
    merged: int = 0


class Dispatcher:
    """``await dispatcher.deliver_pending()`` sends what is due; ``kick()`` starts that in the
    background. ``notifiers``: the registry of channels (:class:`~bot.notify.base.Notifiers`,
    or a mapping by channel name: ``"telegram"`` and/or ``"console"``)."""

    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, Notifier],
        registry: TopicRegistry,
        zones: Zones,
        *,
        rates: Rates | None = None,
        in_flight: int = 1,
        catch_up_after: int = 10,
        catch_up_age: timedelta = timedelta(minutes=30),
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.sleep = sleep
        """How the dispatcher waits for the pace to allow the next message (with
        ``monotonic``, a test's virtual time)."""
        self.notifiers = notifiers if isinstance(notifiers, Notifiers) else Notifiers(notifiers)
        self.registry = registry
        self.zones = zones
        self.pacer = Pacer(rates or Rates())
        self.in_flight = max(1, in_flight)
        self.catch_up_after = catch_up_after
        self.catch_up_age = catch_up_age
        self.clock = clock
        self.monotonic = monotonic
        self.owner = owner or process_owner()
        """This process's name on the deliveries it claims before sending them."""
        self._pacer_restored = False
        self._last_served: dict[int, float] = {}
        self._kicked: asyncio.Future[DeliveryReport] | None = None
        self.updates = StoryUpdates(store, registry, zones, clock)
        self._deliver_lock = asyncio.Lock()

    def kick(self) -> None:
        """Start sending what is due, in the background (one run at a time)."""
        if self._kicked is None or self._kicked.done():
            self._kicked = asyncio.ensure_future(self.deliver_pending())

    async def settle(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a delivery started in the background."""
        if self._kicked is not None and not self._kicked.done():
            await asyncio.wait({self._kicked}, timeout=timeout)

    def notifier_for(self, chat_id: int) -> Notifier | None:
        return self.notifiers.for_chat(chat_id)

    def _paced(self, chat_id: int) -> bool:
        """Whether the chat's channel has per-chat limits (Telegram's), as its notifier says."""
        notifier = self.notifier_for(chat_id)
        return notifier is not None and notifier.capabilities.paced

    def _kinds(self) -> set[str] | None:
        if "telegram" in self.notifiers and "console" in self.notifiers:
            return None
        if "console" in self.notifiers:
            return {"console"}
        return {"private", "group", "supergroup", "channel"}

    async def deliver_pending(self, *, max_rounds: int = 300) -> DeliveryReport:
        """Send what is due from the outbox. Only one delivery run at a time.

        Chats are served round-robin, each at the pace Telegram allows it (see
        :mod:`bot.pacing`); within a chat, alerts keep their order: a failed one holds the
        ones after it.
        """
        report = DeliveryReport()
        async with self._deliver_lock:
            self.updates.new_run()
            if not self._pacer_restored:
                self._restore_pacer()
            now = self.monotonic()
            self.pacer.forget(idle=120.0, now=now)
            for chat in [c for c, t in self._last_served.items() if now - t > 3600]:
                del self._last_served[chat]
            for _ in range(max_rounds):
                kinds = self._kinds()
                tasks: list[Outgoing] = [
                    *self.store.pending(self.clock(), limit=1000, kinds=kinds),
                    *self.store.pending_messages(self.clock(), limit=1000, kinds=kinds),
                ]
                if not tasks:
                    break
                # Urgent first, then oldest first (a stable sort keeps the outbox's order).
                tasks.sort(key=lambda t: (not t.urgent, t.created_at))
                by_chat: dict[int, deque[Outgoing]] = {}
                for task in self._hold_quiet(tasks, report):
                    # Urgent first, then oldest first: each chat's queue keeps its order.
                    by_chat.setdefault(task.chat_id, deque()).append(task)
                if not by_chat:
                    continue
                await self._catch_up(by_chat, report)
                # Chats with an urgent alert first; then least recently served, so that a chat
                # with one new alert is not queued behind the chats of a burst, and every chat
                # gets its turn.
                served = self._last_served
                order = sorted(
                    by_chat,
                    key=lambda chat: (
                        not by_chat[chat][0].urgent,
                        served.get(chat, float("-inf")),
                    ),
                )
                queues = {chat: by_chat[chat] for chat in order}
                if not await self._drain(queues, report):
                    break
        return report

    def _restore_pacer(self) -> None:
        """Start the pacer from the sends the database remembers (the last minute or so),
        so that a restart does not send to a chat that just got a message and provoke a 429.
        A delivery claimed but never marked counts as sent: it may have reached Telegram."""
        self._pacer_restored = True
        now, mono = self.clock(), self.monotonic()
        seen: set[tuple[int, datetime]] = set()
        for chat_id, kind, at in self.store.recent_sends(now - PACE_MEMORY):
            if kind == "console" or (chat_id, at) in seen:
                continue  # (one catch-up digest marks many alerts at one instant)
            seen.add((chat_id, at))
            self.pacer.record(chat_id, kind, mono - max(0.0, (now - at).total_seconds()))

    def _hold_quiet(self, tasks: Sequence[Outgoing], report: DeliveryReport) -> list[Outgoing]:
        """Hold the alerts of chats in their quiet hours until the hours end, except urgent
        ones. Held alerts stay in the outbox; if many piled up, they arrive as one "while you
        were away" digest."""
        now = self.clock()
        ends: dict[int, datetime | None] = {}
        due: list[Outgoing] = []
        for task in tasks:
            if isinstance(task, QueuedMessage) or task.quiet is None or task.urgent:
                due.append(task)
                continue
            if task.chat_id not in ends:
                start, end = (parse_clock(x) for x in task.quiet)
                until = None
                if start is not None and end is not None:
                    until = quiet_until(now, self.zones.of(task.chat_timezone), start, end)
                ends[task.chat_id] = until
                if until is not None:
                    self.store.defer_chat(task.chat_id, until, urgent=False)
                    report.held_chats += 1
            if ends[task.chat_id] is None:
                due.append(task)
        return due

    async def _drain(self, queues: dict[int, deque[Outgoing]], report: DeliveryReport) -> bool:
        """Send from every chat's queue in turn, waiting only when no chat may be sent to.

        Up to ``in_flight`` chats are sent to at once (one message per chat at a time, so each
        chat keeps its order). More than one helps when a round trip to Telegram takes longer
        than the 1/30 s between messages the overall limit allows; but a crash can repeat each
        message that was in flight (Telegram accepted it, the outbox did not record it yet), so
        the default is one: at most one duplicate per crash. Returns after about a second of
        sending, so the caller reads the outbox again and alerts that arrived meanwhile get
        their turn.
        """
        progress = False
        started = self.monotonic()
        in_flight: dict[asyncio.Task[bool], int] = {}
        busy: set[int] = set()
        while queues or in_flight:
            refresh = progress and self.monotonic() - started >= REFRESH_SECONDS
            soonest: float | None = None
            for chat_id in list(queues) if not refresh else []:
                if len(in_flight) >= self.in_flight:
                    break
                if chat_id in busy:
                    continue
                task = queues[chat_id][0]
                if self._paced(chat_id):
                    wait = self.pacer.wait(chat_id, task.chat_kind, self.monotonic())
                    if wait > 0:
                        soonest = wait if soonest is None else min(soonest, wait)
                        continue
                    self.pacer.record(chat_id, task.chat_kind, self.monotonic())
                busy.add(chat_id)
                in_flight[asyncio.ensure_future(self._send_one(task, report))] = chat_id
            if not in_flight:
                if refresh or soonest is None:
                    break
                await self.sleep(soonest)
                continue
            done, _ = await asyncio.wait(
                in_flight, timeout=soonest, return_when=asyncio.FIRST_COMPLETED
            )
            for future in done:
                chat_id = in_flight.pop(future)
                busy.discard(chat_id)
                queue = queues.get(chat_id)
                if future.result() and queue is not None:
                    self._last_served[chat_id] = self.monotonic()
                    queue.popleft()
                    progress = True
                    if queue:
                        continue
                # Sent its last one, or held (retry later, chat gone): done for now.
                queues.pop(chat_id, None)
            if refresh and not in_flight:
                break
        return progress

    async def _catch_up(self, by_chat: dict[int, deque[Outgoing]], report: DeliveryReport) -> None:
        """A chat with many alerts waiting since long ago (an outage) gets one "while you were
        away" digest of them instead of a flood. The alerts count as delivered once every part
        of the digest was accepted; until then they stay pending."""
        if self.catch_up_after <= 0:
            return
        now = self.clock()
        for chat_id in list(by_chat):
            # Announcements and ready-made messages are not alerts: they go out as themselves.
            tasks = [t for t in by_chat[chat_id] if _is_alert(t)]
            if not tasks:
                continue
            oldest = min(t.created_at for t in tasks)
            if len(tasks) < self.catch_up_after or now - oldest < self.catch_up_age:
                continue
            notifier = self.notifier_for(chat_id)
            if notifier is None:
                continue
            # Claimed first: an alert another process is sending is not in this digest.
            tasks = [t for t in tasks if self.store.claim(t.item_ref, chat_id, self.owner, now)]
            if not tasks:
                continue
            entries = [
                DigestEntry(m.topic_id, t.item, t.summary, m.score, t.created_at, t.sources)
                for t in tasks
                for m in t.matches
            ]
            messages = render_digest(
                entries,
                self.registry.topics,
                self.zones.of(tasks[0].chat_timezone),
                since=None,
                now=now,
                per_topic=10,
                title="⏳ While you were away",
            )
            rest = deque(t for t in by_chat[chat_id] if not _is_alert(t))
            if rest:
                by_chat[chat_id] = rest
            else:
                del by_chat[chat_id]
            try:
                first: int | None = None
                for n, message in enumerate(messages):
                    if n:  # one chat, several parts: keep to the chat's pace
                        await self.sleep(1 / self.pacer.rates.private)
                    message_id = await send_message(notifier, chat_id, message)
                    first = first if first is not None else message_id
            except DeliveryError as exc:
                log.warning("chat %s: catch-up digest not sent (%s); retrying later", chat_id, exc)
                self.store.defer_chat(chat_id, now + timedelta(seconds=30))
                report.failed += 1
                continue
            self.pacer.record(chat_id, tasks[0].chat_kind, self.monotonic())
            for task in tasks:
                # No message id: the digest is not the alert of any one story, so a story
                # update must not edit it.
                self.store.mark_sent(task.item.key, chat_id, None, self.clock())
            report.sent += len(tasks)
            log.info("chat %s: %d waiting alerts sent as one digest", chat_id, len(tasks))

    async def _send_one(self, task: Outgoing, report: DeliveryReport) -> bool:
        """Send one alert (or queued message) and record the outcome. :returns: True if it
        was delivered, or is no longer this process's to send."""
        notifier = self.notifier_for(task.chat_id)
        if notifier is None:
            return False
        if isinstance(task, QueuedMessage):
            return await self._send_queued(notifier, task, report)
        # Claimed in the database before it goes out: no other process can send it too.
        if not self.store.claim(task.item_ref, task.chat_id, self.owner, self.clock()):
            log.info("chat %s: an alert was sent or taken by another process", task.chat_id)
            return True
        if task.edit_of is not None:
            try:
                edited, merged = await self.updates.apply(notifier, task)
                report.edited += edited
                report.merged += merged
                return True
            except RetryLater as exc:
                self.store.defer_chat(
                    task.chat_id, self.clock() + timedelta(seconds=exc.retry_after)
                )
                report.deferred_chats += 1
                return False
            except DeliveryError as exc:
                # An edit is a nicety: after a failure the alert stays as it was.
                log.warning("chat %s: story update not applied (%s)", task.chat_id, exc)
                self.store.mark_edited(task.chat_id, task.edit_of, None, self.clock())
                return True
        if task.item.source == BROADCAST_SOURCE:
            message = render_announcement(task.item)
        else:
            message = render_alert(task, self.registry.topics, self.zones.of(task.chat_timezone))
        if task.previews:
            message = replace(message, previews=True)
        now = self.clock()
        try:
            message_id = await send_message(notifier, task.chat_id, message)
        except RetryLater as exc:
            until = now + timedelta(seconds=max(1.0, exc.retry_after))
            log.warning("chat %s: %s; holding it %.0f s", task.chat_id, exc, exc.retry_after)
            self.store.defer_chat(task.chat_id, until)  # the outbox holds it, no one waits
            report.deferred_chats += 1
            return False
        except ChatMoved as exc:
            log.info("chat %s became %s; its subscriptions follow", task.chat_id, exc.new_chat_id)
            self.store.move_chat(task.chat_id, exc.new_chat_id, now)
            return False
        except ChatUnavailable as exc:
            log.warning("chat %s is unavailable (%s); deactivated", task.chat_id, exc)
            self.store.deactivate_chat(task.chat_id, str(exc))
            report.chats_gone += 1
            return False
        except DeliveryError as exc:
            wait = backoff(timedelta(seconds=30), task.attempts + 1, MAX_DELIVERY_BACKOFF)
            log.warning("chat %s: alert not sent (%s); retry in %s", task.chat_id, exc, wait)
            self.store.mark_failed(task.item.key, task.chat_id, str(exc), now + wait)
            # The alerts after it wait too, so the chat gets them in order.
            self.store.defer_chat(task.chat_id, now + wait)
            report.failed += 1
            return False
        self.store.mark_sent(task.item.key, task.chat_id, message_id, self.clock())
        report.sent += 1
        return True

    async def _send_queued(
        self, notifier: Notifier, task: QueuedMessage, report: DeliveryReport
    ) -> bool:
        """Send a ready-made message (digest part, notice, reply) as the outbox sends alerts."""
        now = self.clock()
        if not self.store.claim_message(task.id, self.owner, now):
            return True
        try:
            message_id = await send_message(notifier, task.chat_id, task.message)
        except RetryLater as exc:
            log.warning("chat %s: %s; holding it %.0f s", task.chat_id, exc, exc.retry_after)
            self.store.defer_chat(task.chat_id, now + timedelta(seconds=max(1.0, exc.retry_after)))
            report.deferred_chats += 1
            return False
        except ChatMoved as exc:
            self.store.move_chat(task.chat_id, exc.new_chat_id, now)
            return False
        except ChatUnavailable as exc:
            log.warning("chat %s is unavailable (%s): %s dropped", task.chat_id, exc, task.kind)
            if self.store.chat(task.chat_id) is not None:
                self.store.deactivate_chat(task.chat_id, str(exc))
            self.store.message_failed(task.id, str(exc), None)
            report.chats_gone += 1
            return False
        except DeliveryError as exc:
            wait = backoff(timedelta(seconds=30), task.attempts + 1, MAX_DELIVERY_BACKOFF)
            log.warning(
                "chat %s: %s not sent (%s); retry in %s", task.chat_id, task.kind, exc, wait
            )
            self.store.message_failed(task.id, str(exc), now + wait)
            self.store.defer_chat(task.chat_id, now + wait)
            report.failed += 1
            return False
        self.store.message_sent(task.id, message_id, self.clock())
        report.sent += 1
        return True


def _is_alert(task: Outgoing) -> TypeGuard[DeliveryTask]:
    """An alert of a news item (not an announcement, digest, notice or reply)."""
    return isinstance(task, DeliveryTask) and task.item.source != BROADCAST_SOURCE
