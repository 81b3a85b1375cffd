"""The operators' commands: /poll, /stats, /feeds, /addfeed, /removefeed, /exportfeeds and
OPML files sent in, /broadcast, /channel; and the error handler that tells them."""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import InputFile, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.errors import ParseError
from bot.models import OutgoingMessage
from bot.pipeline import CycleReport
from bot.render import esc, feed_health, split_blocks
from bot.sources.opml import read_opml, write_opml
from bot.telegram.handlers.base import Handlers

__all__ = ["MAX_OPML_BYTES", "AdminHandlers"]

log = logging.getLogger(__name__)

MAX_OPML_BYTES = 2_000_000


class AdminHandlers(Handlers):
    """Commands for the bot's admins (and /channel, for a channel's)."""

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error with its traceback, then tell the admins (rate-limited per kind).

        The admins get only the kind of error: library messages may carry the bot token.
        """
        error = context.error
        log.error("error while handling an update: %s", error, exc_info=error)
        kind = type(error).__name__ if error else "error"
        await self.pipeline.report(f"error:{kind}", f"{kind} while handling a command; see the log")

    async def poll(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/poll: poll every feed and the documents now (admins only)."""
        self._register_chat(update)
        user = update.effective_user
        if user is None or user.id not in self.admins:
            await self._reply(update, "⛔ /poll is for the bot's admins.")
            return
        await self._reply(update, "Polling…")
        report: CycleReport = await self.pipeline.poll_all(self.pipeline.all_feeds())
        delivered = await self.pipeline.deliver_pending()
        failed = [f for f in report.feeds if not f.ok]
        lines = [report.line() + f", {delivered.sent} sent."]
        lines += [f"⚠️ {f.url}: {f.error or ''}" for f in failed[:10]]
        chat = update.effective_chat
        if chat is not None:  # the report matters: through the outbox, retried on a 429
            plain = "\n".join(lines)
            self.pipeline.queue_reply(chat.id, OutgoingMessage(esc(plain), plain))

    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats: feeds ok and failing, items, alerts sent and pending (admins only)."""
        if not await self._admin(update):
            return
        st, watches, (liked, disliked) = self.pipeline.reports.stats()
        lines = [
            "<b>newsbot</b>",
            f"Feeds: {st.feeds_ok} ok, {st.feeds_failing} failing ({st.feeds_down} down), "
            f"{st.feeds_retired} retired (of {len(self.pipeline.all_feeds())}); /feeds",
            f"Items: {st.items} stored, {st.items_today} in the last 24 h; {st.matches} matches",
            f"Alerts: {st.sent} sent, {st.pending} pending"
            + (f", oldest from {self._when(st.oldest_pending)}" if st.oldest_pending else ""),
            f"Chats: {st.chats_active} active; topics: {len(self.pipeline.config_topics)}, "
            f"watches: {watches}",
            f"Feedback on alerts: {liked} 👍, {disliked} 👎",
            f"This chat's id: {update.effective_chat.id if update.effective_chat else '?'}",
        ]
        await self._reply(update, "\n".join(esc(x) if n else x for n, x in enumerate(lines)))

    async def feeds_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/feeds: each feed's state (admins only)."""
        if not await self._admin(update):
            return
        now = self.clock()
        lines = []
        for feed in self.pipeline.all_feeds():
            text = feed_health(
                feed, self.pipeline.reports.feed_state(feed), now, self.pipeline.timezone
            )
            head, _, rest = text.partition("\n")
            lines.append((f"<b>{esc(head)}</b>\n{esc(rest)}", text))
        await self._reply_messages(
            update,
            split_blocks(lines)
            or [OutgoingMessage("No feeds configured.", "No feeds configured.")],
        )

    async def add_feed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/addfeed URL: poll it once, and keep polling it if it is a feed (admins only)."""
        if not await self._admin(update):
            return
        user = update.effective_user
        args = context.args or []
        if len(args) != 1 or user is None:
            await self._reply(update, "Send /addfeed <code>https://example.org/rss.xml</code>")
            return
        try:
            feed, report = await self.pipeline.add_feed(args[0], user.id)
        except ValueError as exc:
            await self._reply(update, f"❌ {esc(str(exc))}")
            return
        await self._reply(
            update,
            f"✅ Added <b>{esc(feed.name or feed.url)}</b>: {report.new_items} items read, "
            f"{report.alerts} alerts queued; polled every {feed.interval // 60} min from now.",
        )
        if report.alerts:
            self.pipeline.kick_delivery()  # in the background: the bot keeps answering

    async def remove_feed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/removefeed URL: stop polling a feed added in a chat (admins only)."""
        if not await self._admin(update):
            return
        args = context.args or []
        if len(args) != 1:
            await self._reply(update, "Send /removefeed <code>URL</code> (see /feeds)")
            return
        if self.pipeline.remove_feed(args[0]):
            await self._reply(update, "🗑 Removed; it is no longer polled.")
        elif any(f.url == args[0].strip() for f in self.pipeline.config_feeds):
            await self._reply(update, "That feed is in the config file: remove it there.")
        else:
            await self._reply(update, "No feed with that address was added; see /feeds.")

    async def export_feeds(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/exportfeeds: every feed as an OPML file (admins only)."""
        if not await self._admin(update):
            return
        chat = update.effective_chat
        if chat is None:
            return
        feeds = self.pipeline.all_feeds()
        await context.bot.send_document(
            chat.id,
            document=InputFile(write_opml(feeds).encode("utf-8"), filename="newsbot-feeds.opml"),
            caption=f"{len(feeds)} feeds. Send an OPML file back to me to add feeds.",
        )

    async def import_feeds(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An OPML file sent to the bot: its feeds are added (admins only)."""
        message = update.effective_message
        document = message.document if message else None
        user = update.effective_user
        if document is None or user is None:
            return
        if not await self._admin(update):
            return
        if (document.file_size or 0) > MAX_OPML_BYTES:
            await self._reply(update, f"❌ That file is over {MAX_OPML_BYTES // 1_000_000} MB.")
            return
        data = bytes(await (await document.get_file()).download_as_bytearray())
        try:
            listed = read_opml(data, interval=self.pipeline.added_feed_interval)
        except ParseError as exc:
            await self._reply(update, f"❌ {esc(str(exc))}")
            return
        # Feeds added in a chat may only reach public addresses, like /addfeed.
        public = [replace(f, public_only=True) for f in listed.feeds]
        added, known = self.pipeline.import_feeds(public, added_by=user.id)
        lines = [
            f"📥 {added} feeds added, {known} already polled; they are polled as they come due."
        ]
        lines += [f"skipped {esc(reason)}" for reason in listed.skipped[:20]]
        await self._reply(update, "\n".join(lines))

    async def broadcast(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/broadcast TEXT: an announcement to every chat, paced and kept until delivered."""
        if not await self._admin(update):
            return
        user = update.effective_user
        text = self._rest(update, 0).strip()
        if not text or user is None:
            await self._reply(update, "Send /broadcast <code>the text</code>")
            return
        chats = self.pipeline.broadcast(text, user.id)
        await self._reply(update, f"📣 Queued for {chats} chats.")
        self.pipeline.kick_delivery()  # in the background: the bot keeps answering

    async def channel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/channel @name TOPIC…: alerts of these topics go to a channel (or ``off``).

        The user must be an admin of the channel and the bot must be allowed to post there.
        """
        self._register_chat(update)
        user = update.effective_user
        args = context.args or []
        if not args or not args[0].startswith("@") or user is None:
            await self._reply(
                update,
                "Send /channel <code>@channel</code> <code>topic</code>… (or <code>off</code>); "
                "add the bot to the channel as an admin first.",
            )
            return
        try:
            target = await context.bot.get_chat(args[0])
            me = await context.bot.get_chat_member(target.id, context.bot.id)
            member = await context.bot.get_chat_member(target.id, user.id)
        except TelegramError:
            await self._reply(
                update, f"❌ I cannot see {esc(args[0])}: add me to it as an admin first."
            )
            return
        if target.type != "channel":
            await self._reply(update, f"❌ {esc(args[0])} is not a channel.")
            return
        if member.status not in ("creator", "administrator"):
            await self._reply(update, "⛔ Only the channel's admins can route topics to it.")
            return
        if me.status != "administrator" or not getattr(me, "can_post_messages", False):
            await self._reply(update, "❌ Make me an admin of the channel who may post messages.")
            return
        self.chats.register(target.id, "channel", target.title or args[0])
        wanted = args[1:]
        if wanted == ["off"]:
            self.chats.unsubscribe_all(target.id)
            await self._reply(update, f"📣 {esc(args[0])} gets no more alerts.")
            return
        topics = [self._find_topic(word) for word in wanted]
        unknown = [w for w, t in zip(wanted, topics, strict=True) if t is None]
        if unknown:
            await self._reply(
                update, f"Unknown topic {esc(unknown[0])}. Topics:\n{self._topic_list()}"
            )
            return
        for topic in topics:
            assert topic is not None
            self.chats.subscribe(target.id, topic.id)
        routed = self.chats.subscriptions(target.id)
        names = ", ".join(esc(t.name) for t in self.topics.values() if t.id in routed)
        await self._reply(update, f"📣 {esc(args[0])} gets alerts of: {names or 'nothing'}.")
