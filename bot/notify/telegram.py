"""Send messages through python-telegram-bot, mapping its errors onto newsbot's.

The bot token is part of every request URL; no error raised here carries a URL or the token.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.errors import ChatMoved, ChatUnavailable, DeliveryError, MessageTooLong, RetryLater
from bot.models import OutgoingMessage
from bot.notify.base import Capabilities, Notifier
from bot.redact import Redactor

__all__ = ["TelegramNotifier"]

log = logging.getLogger(__name__)

_GONE = ("chat not found", "user is deactivated", "bot was kicked", "group chat was deleted")


def _retry_seconds(exc: RetryAfter) -> float:
    # PTB 22 returns an int and warns that it will become a timedelta; accept both, quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramNotifier(Notifier):
    """Delivers HTML messages with a python-telegram-bot :class:`~telegram.Bot`.

    It sends at once: the pipeline paces sends per chat and overall (:mod:`bot.pacing`).
    """

    capabilities = Capabilities(
        format="html", buttons=True, edits=True, max_length=4096, paced=True
    )

    def __init__(self, bot: Bot, *, link_previews: bool = False) -> None:
        self.bot = bot
        self.link_previews = link_previews
        # A server may echo the token in an error description: hidden before the error goes
        # anywhere (logs, the outbox's last_error).
        self._redact = Redactor([bot.token])

    def _preview(self, message: OutgoingMessage) -> LinkPreviewOptions:
        return LinkPreviewOptions(is_disabled=not (self.link_previews or message.previews))

    @staticmethod
    def _markup(message: OutgoingMessage) -> InlineKeyboardMarkup | None:
        if not message.buttons:
            return None
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(text, callback_data=data) for text, data in row]
                for row in message.buttons
            ]
        )

    async def send(self, chat_id: int, message: OutgoingMessage) -> int | None:
        preview = self._preview(message)
        markup = self._markup(message)
        with _mapped_errors(self._redact):
            try:
                sent = await self.bot.send_message(
                    chat_id=chat_id,
                    text=message.html,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=preview,
                    reply_markup=markup,
                )
            except BadRequest as exc:
                if "can't parse entities" not in exc.message.lower():
                    raise
                # Our HTML is built with escaping, so this should not happen; if it does, the
                # message still goes out, as plain text.
                log.error(
                    "Telegram refused the HTML of a message (%s); sending plain text",
                    self._redact(exc.message),
                )
                sent = await self.bot.send_message(
                    chat_id=chat_id,
                    text=message.plain,
                    link_preview_options=preview,
                    reply_markup=markup,
                )
        return sent.message_id

    async def edit(self, chat_id: int, message_id: int | None, message: OutgoingMessage) -> bool:
        if message_id is None:
            return False
        with _mapped_errors(self._redact):
            try:
                await self.bot.edit_message_text(
                    text=message.html,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=self._preview(message),
                    reply_markup=self._markup(message),
                )
            except BadRequest as exc:
                reason = exc.message.lower()
                if "message is not modified" in reason:
                    return True  # it already says this
                if any(gone in reason for gone in _CANNOT_EDIT):
                    return False
                raise
        return True


_CANNOT_EDIT = ("message to edit not found", "message can't be edited", "message_id_invalid")


@contextlib.contextmanager
def _mapped_errors(redact: Redactor) -> Iterator[None]:
    """python-telegram-bot's errors as newsbot's, without URLs or the token."""
    try:
        yield
    except RetryAfter as exc:
        raise RetryLater("Telegram asked to slow down", _retry_seconds(exc)) from None
    except Forbidden as exc:
        raise ChatUnavailable(f"Telegram refused: {redact(exc.message)}") from None
    except ChatMigrated as exc:
        raise ChatMoved(f"group moved to chat {exc.new_chat_id}", int(exc.new_chat_id)) from None
    except InvalidToken:
        raise DeliveryError("Telegram rejected the bot token") from None
    except BadRequest as exc:
        reason = redact(exc.message)
        if "message is too long" in reason.lower():
            raise MessageTooLong("Telegram refused the message as too long") from None
        if any(gone in reason.lower() for gone in _GONE):
            raise ChatUnavailable(f"Telegram refused: {reason}") from None
        raise DeliveryError(f"Telegram refused: {reason}") from None
    except (TimedOut, NetworkError) as exc:
        raise RetryLater(f"network: {type(exc).__name__}", 10.0) from None
    except TelegramError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {redact(exc.message)}") from None
