"""Topics and subscriptions: /start, /help, /topics and its buttons, /subscribe,
/unsubscribe, /mytopics, /latest, /digest."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot import actions
from bot.render import esc, render_latest
from bot.telegram.commands import COMMANDS
from bot.telegram.handlers.base import Handlers

__all__ = ["TopicHandlers"]


class TopicHandlers(Handlers):
    """Which topics a chat follows."""

    def _keyboard(self, chat_id: int) -> InlineKeyboardMarkup:
        mine = self.chats.subscriptions(chat_id)
        rows = [
            [
                InlineKeyboardButton(
                    f"{'✅' if t.id in mine else '➕'} {t.name}", callback_data=actions.toggle(t.id)
                )
            ]
            for t in self.topics.values()
        ]
        return InlineKeyboardMarkup(rows)

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
        lines = [f"/{c.name} — {esc(c.description)}" for c in COMMANDS]
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
        query, chat_id, action = pressed
        topic = self.topics.get(action.arg)
        if topic is None:
            await query.answer("That topic no longer exists.")
            return
        if topic.id in self.chats.subscriptions(chat_id):
            self.chats.unsubscribe(chat_id, topic.id)
            await query.answer(f"Unsubscribed from {topic.name}")
        else:
            self.chats.subscribe(chat_id, topic.id)
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
                new = self.chats.subscribe(chat_id, topic.id)
                lines.append(
                    f"✅ Subscribed to <b>{esc(topic.name)}</b>."
                    if new
                    else f"You were already subscribed to <b>{esc(topic.name)}</b>."
                )
            else:
                gone = self.chats.unsubscribe(chat_id, topic.id)
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
        mine = [t for t in self.topics.values() if t.id in self.chats.subscriptions(chat_id)]
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
            ids = sorted(self.chats.subscriptions(chat_id)) or list(self.topics)
            title = "your topics" if self.chats.subscriptions(chat_id) else "all topics"
        entries = self.chats.latest(ids)
        await self._reply_messages(
            update, render_latest(entries, self.topics, self.pipeline.timezone, title)
        )

    async def digest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/digest: this chat's digest now."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        if not self.chats.subscriptions(chat_id):
            await self._reply(update, "You follow no topics yet: /topics")
            return
        # Through the outbox: paced with the alerts, and retried if Telegram asks us to wait.
        self.pipeline.queue_digest(chat_id)
        self.pipeline.kick_delivery()
