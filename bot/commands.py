"""Telegram commands and buttons (python-telegram-bot handlers). Top layer: nothing imports it.

Handlers only translate between Telegram and the pipeline/store; the work happens below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.errors import ParseError, QueryError, QueryTooCostly
from bot.feedback import STOP_AFTER, kind_label
from bot.models import MODES, Item, Match, OutgoingMessage, Topic
from bot.pacing import parse_clock
from bot.pipeline import CycleReport, Pipeline
from bot.render import esc, feed_health, render_latest, render_why, split_blocks, web_link
from bot.sources.opml import read_opml, write_opml

__all__ = ["COMMANDS", "BotCommands", "bot_commands", "register"]

log = logging.getLogger(__name__)

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Start and see the topics"),
    ("topics", "Choose topics with buttons"),
    ("subscribe", "Subscribe to a topic: /subscribe isis"),
    ("unsubscribe", "Unsubscribe: /unsubscribe isis"),
    ("mytopics", "Your topics"),
    ("latest", "Recent matches: /latest [topic]"),
    ("digest", "Your digest now"),
    ("watch", "Your own topic: /watch NAME QUERY"),
    ("unwatch", "Remove a watch: /unwatch NAME"),
    ("watches", "Your watches"),
    ("test", "Try a query on the last 7 days: /test QUERY"),
    ("why", "Reply to an alert: why did it match?"),
    ("poll", "Poll the feeds now (admins)"),
    ("stats", "Feeds, items and alerts (admins)"),
    ("feeds", "Each feed's health (admins)"),
    ("addfeed", "Poll a new feed: /addfeed URL (admins)"),
    ("removefeed", "Stop polling a feed: /removefeed URL (admins)"),
    ("broadcast", "A message to every chat: /broadcast TEXT (admins)"),
    ("exportfeeds", "The feeds as an OPML file; send one back to add feeds (admins)"),
    ("channel", "Send topics to a channel: /channel @name isis"),
    ("settings", "Your settings: timezone, digest time, previews, modes"),
    ("timezone", "Your timezone: /timezone Europe/Berlin"),
    ("digesttime", "Your digest time: /digesttime 08:00"),
    ("mode", "Alert, digest or both: /mode isis digest"),
    ("previews", "Link previews: /previews on|off"),
    ("quiet", "Quiet hours: /quiet 22:00-07:00 or /quiet off"),
    ("urgent", "Alerts of a topic even in quiet hours, first: /urgent isis"),
    ("mute", "Mute a topic (/mute isis 8) or, replying to an alert, its story"),
    ("unmute", "Unmute a topic: /unmute isis"),
    ("help", "How this bot works"),
)
_TOGGLE = "t:"
DEFAULT_QUIET = ("22:00", "07:00")
MAX_OPML_BYTES = 2_000_000
_Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


class BotCommands:
    """The command handlers, bound to one pipeline and configuration."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        admins: frozenset[int],
        default_digest: str = "08:00",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store
        self.admins = admins
        self.default_digest = default_digest
        self.clock = clock
        self._trying: set[int] = set()  # chats whose query is being tried on the recent items

    # ------------------------------------------------------------------ helpers
    @property
    def topics(self) -> dict[str, Topic]:
        return self.pipeline.topics

    def _register_chat(self, update: Update) -> int | None:
        chat = update.effective_chat
        if chat is None:
            return None
        title = chat.title or chat.username or chat.full_name or ""
        self.store.upsert_chat(chat.id, chat.type, title, self.clock())
        return chat.id

    def _find_topic(self, word: str) -> Topic | None:
        key = word.strip().lower().lstrip("#")
        for topic in self.topics.values():
            if key in (topic.id, topic.name.lower(), topic.id.replace("-", " ")):
                return topic
        return None

    def _topic_list(self) -> str:
        return "\n".join(
            f"• <code>{esc(t.id)}</code> — {esc(t.name)}"
            + (f": {esc(t.description)}" if t.description else "")
            for t in self.topics.values()
        )

    def _keyboard(self, chat_id: int) -> InlineKeyboardMarkup:
        mine = self.store.subscriptions(chat_id)
        rows = [
            [
                InlineKeyboardButton(
                    f"{'✅' if t.id in mine else '➕'} {t.name}", callback_data=_TOGGLE + t.id
                )
            ]
            for t in self.topics.values()
        ]
        return InlineKeyboardMarkup(rows)

    @staticmethod
    async def _may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """In a group only its admins change what the group receives; anyone in a private chat."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return False
        if chat.type == "private":
            return True
        member = await context.bot.get_chat_member(chat.id, user.id)
        return member.status in ("creator", "administrator")

    async def _refuse(self, update: Update) -> None:
        query = update.callback_query
        if query is not None:
            await query.answer("Only the group's admins can change its topics.")
        else:
            await self._reply(update, "⛔ Only the group's admins can change its topics.")

    async def _pressed(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, *, changes: bool
    ) -> tuple[CallbackQuery, int, str] | None:
        """The pressed button's query, chat and data; None (answered) if it may not be used.

        ``changes``: the button changes what the chat receives, so in a group only admins may.
        """
        query = update.callback_query
        chat_id = self._register_chat(update)
        if query is None or chat_id is None or not query.data:
            return None
        if changes and not await self._may_change(update, context):
            await self._refuse(update)
            return None
        return query, chat_id, query.data

    @staticmethod
    async def _reply(update: Update, text: str, **kwargs: object) -> None:
        message = update.effective_message
        if message is not None:
            await message.reply_html(text, do_quote=False, **kwargs)  # type: ignore[arg-type]

    async def _reply_messages(self, update: Update, messages: Sequence[OutgoingMessage]) -> None:
        for message in messages:
            await self._reply(update, message.html)

    # ------------------------------------------------------------------ commands
    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: register the chat and show the topics."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        await self._reply(
            update,
            "👋 I watch news feeds and documents and alert you when your topics come up.\n\n"
            f"Topics:\n{self._topic_list()}\n\n"
            "Tap to subscribe, or send /subscribe <code>topic</code>. /help lists everything.",
            reply_markup=self._keyboard(chat_id),
        )

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help: the commands."""
        self._register_chat(update)
        lines = [f"/{name} — {esc(text)}" for name, text in COMMANDS]
        await self._reply(
            update,
            "<b>newsbot</b> sends an alert when a new item matches a topic you follow, "
            "and a daily digest.\n\n" + "\n".join(lines),
        )

    async def topics_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/topics: an inline keyboard that toggles subscriptions."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        await self._reply(
            update, "Tap a topic to subscribe or unsubscribe:", reply_markup=self._keyboard(chat_id)
        )

    async def toggle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A topic button was pressed."""
        pressed = await self._pressed(update, context, changes=True)
        if pressed is None:
            return
        query, chat_id, data = pressed
        topic = self.topics.get(data[len(_TOGGLE) :])
        if topic is None:
            await query.answer("That topic no longer exists.")
            return
        if topic.id in self.store.subscriptions(chat_id):
            self.store.unsubscribe(chat_id, topic.id)
            await query.answer(f"Unsubscribed from {topic.name}")
        else:
            self.store.subscribe(chat_id, topic.id, self.clock())
            await query.answer(f"Subscribed to {topic.name}")
        await query.edit_message_reply_markup(reply_markup=self._keyboard(chat_id))

    async def subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/subscribe TOPIC..."""
        if await self._may_change(update, context):
            await self._change(update, context.args or [], subscribe=True)
        else:
            await self._refuse(update)

    async def unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/unsubscribe TOPIC..."""
        if await self._may_change(update, context):
            await self._change(update, context.args or [], subscribe=False)
        else:
            await self._refuse(update)

    async def _change(self, update: Update, args: Sequence[str], *, subscribe: bool) -> None:
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        verb = "subscribe" if subscribe else "unsubscribe"
        if not args:
            await self._reply(
                update,
                f"Which topic? Send /{verb} <code>topic</code>.\n\n{self._topic_list()}",
                reply_markup=self._keyboard(chat_id),
            )
            return
        lines = []
        for word in args:
            topic = self._find_topic(word)
            if topic is None:
                known = ", ".join(f"<code>{esc(t)}</code>" for t in self.topics)
                lines.append(f"❓ Unknown topic <code>{esc(word)}</code>. Topics: {known}")
            elif subscribe:
                new = self.store.subscribe(chat_id, topic.id, self.clock())
                lines.append(
                    f"✅ Subscribed to <b>{esc(topic.name)}</b>."
                    if new
                    else f"You were already subscribed to <b>{esc(topic.name)}</b>."
                )
            else:
                gone = self.store.unsubscribe(chat_id, topic.id)
                lines.append(
                    f"Unsubscribed from <b>{esc(topic.name)}</b>."
                    if gone
                    else f"You were not subscribed to <b>{esc(topic.name)}</b>."
                )
        await self._reply(update, "\n".join(lines))

    async def mytopics(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/mytopics: the chat's subscriptions."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        mine = [t for t in self.topics.values() if t.id in self.store.subscriptions(chat_id)]
        if not mine:
            await self._reply(
                update, "You follow no topics yet. Pick some:", reply_markup=self._keyboard(chat_id)
            )
            return
        names = "\n".join(f"• <b>{esc(t.name)}</b> (<code>{esc(t.id)}</code>)" for t in mine)
        await self._reply(update, f"You follow:\n{names}")

    async def latest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/latest [TOPIC]: recent matches of a topic, or of the chat's topics."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        args = context.args or []
        if args:
            topic = self._find_topic(" ".join(args))
            if topic is None:
                known = ", ".join(f"<code>{esc(t)}</code>" for t in self.topics)
                await self._reply(update, f"❓ Unknown topic. Topics: {known}")
                return
            ids, title = [topic.id], topic.name
        else:
            ids = sorted(self.store.subscriptions(chat_id)) or list(self.topics)
            title = "your topics" if self.store.subscriptions(chat_id) else "all topics"
        entries = self.store.recent_matches(ids, limit=5)
        await self._reply_messages(
            update, render_latest(entries, self.topics, self.pipeline.timezone, title)
        )

    async def digest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/digest: this chat's digest now."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        if not self.store.subscriptions(chat_id):
            await self._reply(update, "You follow no topics yet: /topics")
            return
        # Through the outbox: paced with the alerts, and retried if Telegram asks us to wait.
        self.pipeline.queue_digest(chat_id)
        self.pipeline.kick_delivery()

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

    # ------------------------------------------------------------------ watches and queries
    @staticmethod
    def _rest(update: Update, skip: int) -> str:
        """The message text after the command and ``skip`` more words, as typed (quotes kept)."""
        message = update.effective_message
        text = (message.text or "") if message else ""
        parts = text.split(None, skip + 1)
        return parts[skip + 1].strip() if len(parts) > skip + 1 else ""

    @staticmethod
    def _query_problem(exc: QueryError) -> str:
        pointer = f"{exc.query}\n{' ' * exc.position}^" if exc.position <= len(exc.query) else ""
        fix = f"\nExpected {esc(exc.expected)}." if exc.expected else ""
        shown = f"\n<pre>{esc(pointer)}</pre>" if pointer else ""
        return f"❌ {esc(exc.message)}.{shown}{fix}\nSee /help for the query language."

    async def _try_query(
        self, update: Update, chat_id: int, query: str, refused: str = ""
    ) -> tuple[int, int, list[tuple[Item, Match]]] | None:
        """The query tried on the recent items (off the event loop, bounded in time and work);
        None, answered, if it is too costly or the chat already has one running.

        :raises QueryError: the query is invalid or breaks the ``[watches]`` limits.
        """
        if chat_id in self._trying:
            await self._reply(update, "⏳ Your previous query is still running; try again soon.")
            return None
        self._trying.add(chat_id)
        try:
            return await self.pipeline.test_query(query)
        except QueryTooCostly as exc:
            await self._reply(update, f"❌ {esc(str(exc))}.{refused}")
            return None
        finally:
            self._trying.discard(chat_id)

    async def watch(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/watch NAME QUERY: a private topic for this chat (refused if it is too costly to try
        on the recent items)."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        query = self._rest(update, 1)
        if not args or not query:
            await self._reply(
                update,
                "Send /watch <code>name</code> <code>query</code>, e.g.\n"
                "<code>/watch sahel (French OR France) NEAR/5 troops AND (Niger OR Mali)</code>",
            )
            return
        name = args[0]
        try:
            self.pipeline.check_watch(chat_id, name, query)
            tried = await self._try_query(update, chat_id, query, " Nothing was watched.")
            if tried is None:
                return
            searched, matched, _ = tried
            watch = self.pipeline.add_watch(chat_id, name, query)
        except QueryError as exc:
            await self._reply(update, self._query_problem(exc))
            return
        except ValueError as exc:
            await self._reply(update, f"❌ {esc(str(exc))}")
            return
        await self._reply(
            update,
            f"👁 Watching <b>{esc(watch.name)}</b>: <code>{esc(watch.query)}</code>\n"
            f"It would have matched {matched} of the {searched} items of the last 7 days. "
            "New matches come as alerts; /unwatch "
            f"<code>{esc(watch.name)}</code> to stop.",
        )

    async def unwatch(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/unwatch NAME."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        if not args:
            await self._reply(update, "Send /unwatch <code>name</code>; /watches lists them.")
            return
        if self.pipeline.remove_watch(chat_id, args[0]):
            await self._reply(update, f"Stopped watching <b>{esc(args[0])}</b>.")
        else:
            await self._reply(update, f"No watch named <b>{esc(args[0])}</b>. /watches lists them.")

    async def watches(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/watches: this chat's watches."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        mine = self.store.watches(chat_id)
        if not mine:
            await self._reply(update, "No watches yet. /watch <code>name</code> <code>query</code>")
            return
        lines = [f"• <b>{esc(w.name)}</b>: <code>{esc(w.query)}</code>" for w in mine]
        await self._reply(update, "Your watches:\n" + "\n".join(lines))

    async def test(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/test QUERY: what it would have matched in the last 7 days."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        query = self._rest(update, 0)
        if not query:
            await self._reply(update, "Send /test <code>query</code>, e.g. /test Daesh OR ISIL")
            return
        try:
            tried = await self._try_query(update, chat_id, query)
        except QueryError as exc:
            await self._reply(update, self._query_problem(exc))
            return
        if tried is None:
            return
        searched, matched, best = tried
        lines = [
            f"🔎 <code>{esc(query if len(query) <= 200 else query[:200] + '…')}</code> "
            f"matches {matched} of {searched} items "
            "of the last 7 days."
        ]
        for item, match in best:
            title = esc(item.title[:150])
            link = web_link(item.link)
            linked = f'<a href="{esc(link)}">{title}</a>' if link else title
            lines.append(f"• {linked} <i>({esc(match.why(2))})</i>")
        await self._reply(update, "\n".join(lines))

    async def why(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/why, replying to an alert: the evidence behind it."""
        chat_id = self._register_chat(update)
        message = update.effective_message
        original = message.reply_to_message if message else None
        if chat_id is None or original is None:
            await self._reply(
                update, "Reply <b>/why</b> to one of my alerts to see why it matched."
            )
            return
        task = self.store.alert_for_message(chat_id, original.message_id)
        if task is None:
            await self._reply(update, "That message is not one of my alerts.")
            return
        await self._reply_messages(update, render_why(task, self.topics, self.pipeline.timezone))

    # ------------------------------------------------------------------ per-chat settings
    def _settings_view(self, chat_id: int) -> tuple[str, InlineKeyboardMarkup]:
        chat = self.store.chat(chat_id)
        tz = (chat.timezone if chat else None) or f"{self.pipeline.timezone.key} (default)"
        at = (chat.digest_time if chat else None) or f"{self.default_digest} (default)"
        previews = "on" if chat and chat.previews else "off"
        quiet = f"{chat.quiet_start}–{chat.quiet_end}" if chat and chat.quiet_start else "off"
        modes = self.store.modes(chat_id)
        urgent = self.store.urgent_topics(chat_id)
        lines = [
            "<b>Settings</b>",
            f"Timezone: {esc(tz)} — /timezone <code>Europe/Berlin</code>",
            f"Digest time: {esc(at)} — /digesttime <code>08:00</code>",
            f"Link previews: {previews} — /previews on|off",
            f"Quiet hours: {quiet} — /quiet <code>22:00-07:00</code> or off",
            "Topics: tap the name to switch between alert, digest and both; ⚡ urgent alerts "
            "come first and even in quiet hours.",
        ]
        rows = [
            [
                InlineKeyboardButton(f"Previews: {previews}", callback_data="set:previews"),
                InlineKeyboardButton(f"🌙 Quiet: {quiet}", callback_data="set:quiet"),
            ]
        ]
        muted = self.store.mutes(chat_id, self.clock())
        for key, until in muted.items():
            topic = self.topics.get(key)
            name = "a story" if key.startswith("story:") else (topic.name if topic else key)
            lines.append(f"🔕 {esc(name)} muted until {self._local(chat_id, until)}")
            if len(f"set:unmute:{key}".encode()) <= 64:
                rows.append(
                    [InlineKeyboardButton(f"🔊 Unmute {name}", callback_data=f"set:unmute:{key}")]
                )
        for stopped in self.pipeline.feedback.stopped(chat_id):
            name = self._topic_name(stopped.topic_id)
            lines.append(f"🚫 {esc(name)}: alerts that match on {esc(kind_label(stopped.kind))}")
            rows.append(
                [
                    InlineKeyboardButton(
                        f"✅ Allow again: {name}, {kind_label(stopped.kind)}"[:60],
                        callback_data=f"set:allow:{stopped.key}",
                    )
                ]
            )
        for topic_id, tuning in self.store.tunings(chat_id).items():
            if tuning.threshold is not None:
                lines.append(
                    f"🎚 {esc(self._topic_name(topic_id))}: learned alerts from a score of "
                    f"{tuning.threshold:.2f} (your 👍/👎 set it)"
                )
        for topic_id, mode in sorted(modes.items()):
            topic = self.topics.get(topic_id)
            name = topic.name if topic else topic_id
            data = f"set:mode:{topic_id}"
            if len(data.encode()) <= 64:
                flag = "⚡ urgent" if topic_id in urgent else "normal"
                rows.append(
                    [
                        InlineKeyboardButton(f"{name}: {mode}", callback_data=data),
                        InlineKeyboardButton(flag, callback_data=f"set:urg:{topic_id}"),
                    ]
                )
        return "\n".join(lines), InlineKeyboardMarkup(rows)

    async def settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/settings: this chat's settings, with buttons."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        text, keyboard = self._settings_view(chat_id)
        await self._reply(update, text, reply_markup=keyboard)

    async def settings_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A /settings button: toggle previews, or cycle a topic's mode."""
        pressed = await self._pressed(update, context, changes=True)
        if pressed is None:
            return
        query, chat_id, data = pressed
        chat = self.store.chat(chat_id)
        if data == "set:previews":
            self.store.update_chat(chat_id, {"previews": not (chat and chat.previews)})
        elif data == "set:quiet":
            if chat and chat.quiet_start:
                self._set_quiet(chat_id, None)
            else:
                self._set_quiet(chat_id, DEFAULT_QUIET)
        elif data.startswith("set:unmute:"):
            self.store.unmute(chat_id, data.split(":", 2)[2])
        elif data.startswith("set:allow:"):
            if self.pipeline.feedback.allow(chat_id, data.split(":", 2)[2]) is None:
                await query.answer("That kind of alert is not stopped any more.")
                return
        else:
            _, what, topic_id = data.split(":", 2)
            current = self.store.modes(chat_id).get(topic_id)
            if current is None:
                await query.answer("Not subscribed to that topic any more.")
                return
            if what == "urg":
                urgent = topic_id in self.store.urgent_topics(chat_id)
                self.store.set_urgent(chat_id, topic_id, not urgent)
            else:
                following = MODES[(MODES.index(current) + 1) % len(MODES)]
                self.store.set_mode(chat_id, topic_id, following)
        await query.answer("Saved")
        _, keyboard = self._settings_view(chat_id)
        await query.edit_message_reply_markup(reply_markup=keyboard)

    async def _setting(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int | None:
        """The chat, if this user may change what it receives (else None, and told why)."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return None
        if not await self._may_change(update, context):
            await self._refuse(update)
            return None
        return chat_id

    async def set_timezone(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/timezone NAME: times in alerts and the digest time, in this chat's zone."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        name = (context.args or [""])[0]
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            await self._reply(
                update, "❓ Send an IANA timezone, e.g. /timezone <code>Europe/Berlin</code>"
            )
            return
        self.store.update_chat(chat_id, {"timezone": name})
        await self._reply(update, f"🕒 Timezone set to <b>{esc(name)}</b>.")

    async def digest_time(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/digesttime HH:MM in the chat's timezone, or "default"."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        raw = (context.args or [""])[0]
        if raw == "default":
            self.store.update_chat(chat_id, {"digest_time": None})
            await self._reply(update, f"Digest back at the default time, {self.default_digest}.")
            return
        clock = parse_clock(raw)
        if clock is None:
            await self._reply(update, "❓ Send a time, e.g. /digesttime <code>07:30</code>")
            return
        value = clock.strftime("%H:%M")
        self.store.update_chat(chat_id, {"digest_time": value})
        await self._reply(update, f"📰 Your digest comes at <b>{value}</b> every day.")

    async def mode(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/mode TOPIC instant|digest|both."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        topic = self._find_topic(args[0]) if args else None
        if topic is None or len(args) < 2 or args[1] not in MODES:
            await self._reply(
                update, "Send /mode <code>topic</code> <code>instant|digest|both</code>"
            )
            return
        if not self.store.set_mode(chat_id, topic.id, args[1]):
            await self._reply(update, f"Subscribe to <b>{esc(topic.name)}</b> first.")
            return
        await self._reply(update, f"<b>{esc(topic.name)}</b>: {args[1]}.")

    async def previews(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/previews on|off: link previews under alerts."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        choice = (context.args or [""])[0].lower()
        if choice not in ("on", "off"):
            await self._reply(update, "Send /previews <code>on</code> or <code>off</code>")
            return
        self.store.update_chat(chat_id, {"previews": choice == "on"})
        await self._reply(update, f"Link previews {choice}.")

    def _set_quiet(self, chat_id: int, hours: tuple[str, str] | None) -> None:
        start, end = hours or (None, None)
        self.store.update_chat(chat_id, {"quiet_start": start, "quiet_end": end})
        # What was held for the old hours goes out now (or is held again by the new ones).
        self.store.release_chat(chat_id, self.clock())

    async def quiet(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/quiet HH:MM-HH:MM | off: alerts are held in these hours (the chat's time), except
        urgent topics; held alerts arrive when the hours end."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        raw = "".join(context.args or []).replace("–", "-")
        if raw.lower() == "off":
            self._set_quiet(chat_id, None)
            await self._reply(update, "☀️ Quiet hours off: held alerts are on their way.")
            return
        start, _, end = raw.partition("-")
        begins, ends = parse_clock(start), parse_clock(end)
        if begins is None or ends is None or begins == ends:
            await self._reply(
                update,
                "❓ Send the hours in your timezone, e.g. /quiet <code>22:00-07:00</code>, "
                "or /quiet off",
            )
            return
        hours = (begins.strftime("%H:%M"), ends.strftime("%H:%M"))
        self._set_quiet(chat_id, hours)
        await self._reply(
            update,
            f"🌙 Quiet hours {hours[0]}–{hours[1]}: alerts wait until they end, except "
            "topics marked /urgent.",
        )

    async def urgent(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/urgent TOPIC [on|off]: its alerts skip the queue and quiet hours."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        topic = self._find_topic(args[0]) if args else None
        choice = args[1].lower() if len(args) > 1 else None
        if topic is None or choice not in (None, "on", "off"):
            marked = ", ".join(sorted(self.store.urgent_topics(chat_id))) or "none"
            await self._reply(
                update,
                f"Urgent topics: {esc(marked)}.\nSend /urgent <code>topic</code> [on|off]",
            )
            return
        urgent = (
            topic.id not in self.store.urgent_topics(chat_id)
            if choice is None
            else (choice == "on")
        )
        if not self.store.set_urgent(chat_id, topic.id, urgent):
            await self._reply(update, f"Subscribe to <b>{esc(topic.name)}</b> first.")
            return
        state = "⚡ urgent: first in line, even in quiet hours" if urgent else "normal"
        await self._reply(update, f"<b>{esc(topic.name)}</b>: {state}.")

    async def mute_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/mute TOPIC [HOURS]: no alerts of the topic for that long (24 h by default); as a
        reply to an alert, /mute [HOURS] mutes that alert's story."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        message = update.effective_message
        replied = message.reply_to_message if message else None
        if replied is not None and (not args or args[0].isdigit()):
            await self._mute_story(update, chat_id, replied.message_id, args[0] if args else "24")
            return
        topic = self._find_topic(args[0]) if args else None
        hours = args[1] if len(args) > 1 else "24"
        if topic is None or not hours.isdigit() or not 1 <= int(hours) <= 24 * 30:
            await self._reply(update, "Send /mute <code>topic</code> <code>hours</code> (1–720)")
            return
        until = self.clock() + timedelta(hours=int(hours))
        self.store.mute(chat_id, topic.id, until)
        await self._reply(
            update, f"🔕 <b>{esc(topic.name)}</b> muted until {self._local(chat_id, until)}."
        )

    async def _mute_story(self, update: Update, chat_id: int, message_id: int, hours: str) -> None:
        alert = self.store.alert_for_message(chat_id, message_id)
        if alert is None or not alert.item.story:
            await self._reply(update, "Reply to one of my alerts to mute its story.")
            return
        if not 1 <= int(hours) <= 24 * 30:
            await self._reply(update, "Mute a story for 1 to 720 hours.")
            return
        until = self.clock() + timedelta(hours=int(hours))
        self.store.mute(chat_id, f"story:{alert.item.story}", until)
        await self._reply(
            update,
            f"🔕 The story “{esc(alert.item.title[:120])}” is muted until "
            f"{self._local(chat_id, until)}.",
        )

    async def unmute(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/unmute TOPIC."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        topic = self._find_topic(args[0]) if args else None
        if topic is None:
            await self._reply(update, "Send /unmute <code>topic</code>")
            return
        self.store.unmute(chat_id, topic.id)
        await self._reply(update, f"🔊 <b>{esc(topic.name)}</b> unmuted.")

    def _local(self, chat_id: int, when: datetime) -> str:
        chat = self.store.chat(chat_id)
        tz = self.pipeline.chat_timezone(chat.timezone if chat else None)
        return when.astimezone(tz).strftime("%d %b %H:%M")

    # ------------------------------------------------------------------ alert buttons
    async def feedback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """👍 / 👎 on an alert: the chat's vote, which retunes the alert's topics for this chat
        (in a group, the admins' votes count: they change what the group gets)."""
        pressed = await self._pressed(update, context, changes=True)
        if pressed is None:
            return
        query, chat_id, data = pressed
        _, value, ref = data.split(":", 2)
        await self._vote(query, chat_id, int(ref), int(value))

    async def _vote(self, query: CallbackQuery, chat_id: int, ref: int, value: int) -> bool:
        result = self.pipeline.feedback.vote(chat_id, ref, value)
        if result is None:
            await query.answer("That item is no longer stored.")
            return False
        await query.answer("Thanks: noted 👍" if value > 0 else "Thanks: noted 👎")
        html: list[str] = []
        plain: list[str] = []
        for stopped in result.stopped:
            name, kind = self._topic_name(stopped.topic_id), kind_label(stopped.kind)
            said = (
                f"no longer reach this chat: you marked {STOP_AFTER} of them 👎. Other chats "
                "still get them; /settings lets them in again."
            )
            html.append(f"🚫 Alerts of <b>{esc(name)}</b> that match on {esc(kind)} {said}")
            plain.append(f"🚫 Alerts of {name} that match on {kind} {said}")
        for topic_id, threshold in result.thresholds.items():
            name = self._topic_name(topic_id)
            said = (
                "this chat is back on the topic's own threshold."
                if threshold is None
                else f"its learned layer now needs a score of {threshold:.2f} to alert this chat."
            )
            html.append(f"🎚 <b>{esc(name)}</b>: {said}")
            plain.append(f"🎚 {name}: {said}")
        for topic_id in await self.pipeline.feedback.relearn(result.watches):
            said = (
                "now learns from your votes: of what it finds, alerts like those you marked 👎 "
                "are held back."
            )
            html.append(f"🧠 Your watch <b>{esc(self._topic_name(topic_id))}</b> {said}")
            plain.append(f"🧠 Your watch {self._topic_name(topic_id)} {said}")
        if html:
            self.pipeline.queue_reply(chat_id, OutgoingMessage("\n".join(html), "\n".join(plain)))
        return True

    def _topic_name(self, topic_id: str) -> str:
        topic = self.topics.get(topic_id)
        return topic.name if topic else topic_id

    async def mute_topic(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """🔕 on an alert: no alerts of that topic for this chat for 24 hours."""
        pressed = await self._pressed(update, context, changes=True)
        if pressed is None:
            return
        query, chat_id, data = pressed
        topic_id = data.split(":", 1)[1]
        until = self.clock() + timedelta(hours=24)
        self.store.mute(chat_id, topic_id, until)
        topic = self.topics.get(topic_id)
        name = topic.name if topic else topic_id
        await query.answer(f"{name} muted until {self._local(chat_id, until)}")

    async def mute_story(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """🔕 Story on an alert: no alerts or updates of that story here for 24 hours."""
        pressed = await self._pressed(update, context, changes=True)
        if pressed is None:
            return
        query, chat_id, data = pressed
        found = self.store.item_story(int(data.split(":", 1)[1]))
        if found is None:
            await query.answer("That item is no longer stored.")
            return
        until = self.clock() + timedelta(hours=24)
        self.store.mute(chat_id, f"story:{found[0]}", until)
        await query.answer(f"This story is muted until {self._local(chat_id, until)}")

    async def more_like_this(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """➕ on an alert: a 👍 on it (where this user may vote), then the latest matches of
        its topic."""
        pressed = await self._pressed(update, context, changes=False)
        if pressed is None:
            return
        query, chat_id, data = pressed
        topic_id = data.split(":", 1)[1]
        message = query.message
        task = None
        if message is not None and await self._may_change(update, context):
            task = self.store.alert_for_message(chat_id, message.message_id)
        if task is None or not task.item_ref:
            await query.answer()
        else:
            await self._vote(query, chat_id, task.item_ref, 1)
        entries = self.store.recent_matches([topic_id], limit=5)
        await self._reply_messages(
            update,
            render_latest(entries, self.topics, self.pipeline.timezone, self._topic_name(topic_id)),
        )

    # ------------------------------------------------------------------ operators
    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error with its traceback, then tell the admins (rate-limited per kind).

        The admins get only the kind of error: library messages may carry the bot token.
        """
        error = context.error
        log.error("error while handling an update: %s", error, exc_info=error)
        kind = type(error).__name__ if error else "error"
        await self.pipeline.report(f"error:{kind}", f"{kind} while handling a command; see the log")

    async def _admin(self, update: Update) -> bool:
        self._register_chat(update)
        user = update.effective_user
        if user is None or user.id not in self.admins:
            await self._reply(update, "⛔ This command is for the bot's admins.")
            return False
        return True

    def _when(self, value: datetime | None) -> str:
        if value is None:
            return "never"
        return value.astimezone(self.pipeline.timezone).strftime("%d %b %H:%M")

    async def stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/stats: feeds ok and failing, items, alerts sent and pending (admins only)."""
        if not await self._admin(update):
            return
        st = self.store.stats(self.clock())
        watches = len(self.store.watches())
        liked, disliked = self.store.feedback_counts()
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
            text = feed_health(feed, self.store.feed_state(feed.url), now, self.pipeline.timezone)
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
        self.store.upsert_chat(target.id, "channel", target.title or args[0], self.clock())
        wanted = args[1:]
        if wanted == ["off"]:
            for topic_id in self.store.subscriptions(target.id):
                self.store.unsubscribe(target.id, topic_id)
            await self._reply(update, f"📣 {esc(args[0])} gets no more alerts.")
            return
        topics = [self._find_topic(word) for word in wanted]
        unknown = [w for w, t in zip(wanted, topics, strict=True) if t is None]
        if unknown:
            await self._reply(
                update, f"Unknown topic {esc(unknown[0])}. Topics:\n{self._topic_list()}"
            )
            return
        now = self.clock()
        for topic in topics:
            assert topic is not None
            self.store.subscribe(target.id, topic.id, now)
        routed = self.store.subscriptions(target.id)
        names = ", ".join(esc(t.name) for t in self.topics.values() if t.id in routed)
        await self._reply(update, f"📣 {esc(args[0])} gets alerts of: {names or 'nothing'}.")


def register(application: Application, commands: BotCommands) -> None:  # type: ignore[type-arg]
    """Wire the handlers into a python-telegram-bot application."""
    handlers: dict[str, _Handler] = {
        "start": commands.start,
        "help": commands.help,
        "topics": commands.topics_command,
        "subscribe": commands.subscribe,
        "unsubscribe": commands.unsubscribe,
        "mytopics": commands.mytopics,
        "latest": commands.latest,
        "digest": commands.digest,
        "poll": commands.poll,
        "watch": commands.watch,
        "unwatch": commands.unwatch,
        "watches": commands.watches,
        "test": commands.test,
        "why": commands.why,
        "stats": commands.stats,
        "settings": commands.settings,
        "timezone": commands.set_timezone,
        "digesttime": commands.digest_time,
        "mode": commands.mode,
        "previews": commands.previews,
        "quiet": commands.quiet,
        "urgent": commands.urgent,
        "mute": commands.mute_command,
        "unmute": commands.unmute,
        "feeds": commands.feeds_command,
        "addfeed": commands.add_feed,
        "removefeed": commands.remove_feed,
        "broadcast": commands.broadcast,
        "exportfeeds": commands.export_feeds,
        "channel": commands.channel,
    }
    for name, callback in handlers.items():
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(CallbackQueryHandler(commands.toggle, pattern=f"^{_TOGGLE}"))
    application.add_handler(CallbackQueryHandler(commands.feedback, pattern=r"^fb:-?1:\d+$"))
    application.add_handler(CallbackQueryHandler(commands.mute_topic, pattern="^mute:"))
    application.add_handler(CallbackQueryHandler(commands.more_like_this, pattern="^more:"))
    application.add_handler(CallbackQueryHandler(commands.mute_story, pattern=r"^ms:\d+$"))
    application.add_handler(CallbackQueryHandler(commands.settings_button, pattern="^set:"))
    opml = filters.Document.FileExtension("opml") | filters.Document.FileExtension("xml")
    application.add_handler(MessageHandler(opml & filters.ChatType.PRIVATE, commands.import_feeds))
    application.add_error_handler(commands.on_error)


def bot_commands() -> list[BotCommand]:
    """The command list for setMyCommands."""
    return [BotCommand(name, text) for name, text in COMMANDS]
