"""The buttons under an alert: 👍 / 👎, mute its topic or story for 24 hours, more like this."""

from __future__ import annotations

from telegram import CallbackQuery, Update
from telegram.ext import ContextTypes

from bot.feedback import STOP_AFTER, kind_label
from bot.models import OutgoingMessage
from bot.render import esc, render_latest
from bot.telegram.handlers.base import Handlers

__all__ = ["AlertHandlers"]


class AlertHandlers(Handlers):
    """What a reader does with an alert."""

    async def feedback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """👍 / 👎 on an alert: the chat's vote, which retunes the alert's topics for this chat
        (in a group, the admins' votes count: they change what the group gets)."""
        pressed = await self._pressed(update, context, changes=True)
        if pressed is None:
            return
        query, chat_id, action = pressed
        value, ref = action.args
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

    async def mute_topic(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """🔕 on an alert: no alerts of that topic for this chat for 24 hours."""
        pressed = await self._pressed(update, context, changes=True)
        if pressed is None:
            return
        query, chat_id, action = pressed
        topic_id = action.arg
        until = self.chats.mute(chat_id, topic_id)
        topic = self.topics.get(topic_id)
        name = topic.name if topic else topic_id
        await query.answer(f"{name} muted until {self._local(chat_id, until)}")

    async def mute_story(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """🔕 Story on an alert: no alerts or updates of that story here for 24 hours."""
        pressed = await self._pressed(update, context, changes=True)
        if pressed is None:
            return
        query, chat_id, action = pressed
        try:
            _, until = self.chats.mute_story_of(chat_id, int(action.arg))
        except LookupError:
            await query.answer("That item is no longer stored.")
            return
        await query.answer(f"This story is muted until {self._local(chat_id, until)}")

    async def more_like_this(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """➕ on an alert: a 👍 on it (where this user may vote), then the latest matches of
        its topic."""
        pressed = await self._pressed(update, context, changes=False)
        if pressed is None:
            return
        query, chat_id, action = pressed
        topic_id = action.arg
        message = query.message
        task = None
        if message is not None and await self._may_change(update, context):
            task = self.chats.alert(chat_id, message.message_id)
        if task is None or not task.item_ref:
            await query.answer()
        else:
            await self._vote(query, chat_id, task.item_ref, 1)
        entries = self.chats.latest([topic_id])
        await self._reply_messages(
            update,
            render_latest(entries, self.topics, self.pipeline.timezone, self._topic_name(topic_id)),
        )
