"""What every service needs to know about a chat: its kind and its timezone."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.storage.base import CONSOLE_CHAT_ID, Store

__all__ = ["Zones", "chat_kind"]

log = logging.getLogger(__name__)


def chat_kind(store: Store, chat_id: int) -> str:
    """A chat's kind as stored, else what its id says (groups and channels are negative)."""
    if chat_id == CONSOLE_CHAT_ID:
        return "console"
    chat = store.chat(chat_id)
    if chat is not None:
        return chat.kind
    return "private" if chat_id > 0 else "group"


class Zones:
    """Chats' timezones: a chat's own, or the bot's (``default``)."""

    def __init__(self, default: ZoneInfo) -> None:
        self.default = default

    def of(self, name: str | None) -> ZoneInfo:
        """The timezone ``name`` stored for a chat, or the bot's if none or unknown."""
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("unknown timezone %r stored for a chat; using %s", name, self.default)
        return self.default
