"""What every Telegram handler shares: the chat a message came from, who may change what it
receives, topic look-up, replies. The handlers themselves are grouped by area beside this."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from telegram import CallbackQuery, Update
from telegram.ext import ContextTypes

from bot import actions
from bot.actions import Action
from bot.models import OutgoingMessage, Topic
from bot.pipeline import Pipeline
from bot.render import esc

__all__ = ["Handlers"]


class Handlers:
    """The base of each area's handlers, bound to one pipeline and configuration."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        admins: frozenset[int],
        default_digest: str = "08:00",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pipeline = pipeline
        self.chats = pipeline.chats
        self.admins = admins
        self.default_digest = default_digest
        self.clock = clock

    @property
    def topics(self) -> dict[str, Topic]:
        return self.pipeline.topics

    def _register_chat(self, update: Update) -> int | None:
        chat = update.effective_chat
        if chat is None:
            return None
        title = chat.title or chat.username or chat.full_name or ""
        self.chats.register(chat.id, chat.type, title)
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
    ) -> tuple[CallbackQuery, int, Action] | None:
        """The pressed button's query, chat and action; None (answered) if it may not be used.

        ``changes``: the button changes what the chat receives, so in a group only admins may.
        """
        query = update.callback_query
        chat_id = self._register_chat(update)
        action = actions.parse(query.data) if query is not None and query.data else None
        if query is None or chat_id is None or action is None:
            return None
        if changes and not await self._may_change(update, context):
            await self._refuse(update)
            return None
        return query, chat_id, action

    @staticmethod
    async def _reply(update: Update, text: str, **kwargs: object) -> None:
        message = update.effective_message
        if message is not None:
            await message.reply_html(text, do_quote=False, **kwargs)  # type: ignore[arg-type]

    async def _reply_messages(self, update: Update, messages: Sequence[OutgoingMessage]) -> None:
        for message in messages:
            await self._reply(update, message.html)

    async def _setting(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int | None:
        """The chat, if this user may change what it receives (else None, and told why)."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return None
        if not await self._may_change(update, context):
            await self._refuse(update)
            return None
        return chat_id

    def _local(self, chat_id: int, when: datetime) -> str:
        return self.chats.local(chat_id, when)

    def _topic_name(self, topic_id: str) -> str:
        topic = self.topics.get(topic_id)
        return topic.name if topic else topic_id

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

    @staticmethod
    def _rest(update: Update, skip: int) -> str:
        """The message text after the command and ``skip`` more words, as typed (quotes kept)."""
        message = update.effective_message
        text = (message.text or "") if message else ""
        parts = text.split(None, skip + 1)
        return parts[skip + 1].strip() if len(parts) > skip + 1 else ""
