"""Print alerts on the console: the notifier used when no Telegram token is set."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.models import OutgoingMessage
from bot.notify.base import Capabilities, Notifier
from bot.redact import strip_controls

__all__ = ["ConsoleNotifier"]


class ConsoleNotifier(Notifier):
    """Writes each message as plain text, between rules, to ``stream`` (stdout by default),
    without control characters."""

    # It "edits" by printing the updated alert again, marked as such.
    capabilities = Capabilities(format="plain", edits=True, max_length=1_000_000)

    def __init__(self, stream: TextIO | None = None, label: str = "") -> None:
        self.stream = stream
        self.label = label

    async def send(self, chat_id: int, message: OutgoingMessage) -> int | None:
        self._print(chat_id, message, self.label)
        return None

    async def edit(self, chat_id: int, message_id: int | None, message: OutgoingMessage) -> bool:
        # A console cannot change what it printed: print the updated alert, marked as such.
        self._print(chat_id, message, f"{self.label} updated".strip())
        return True

    def _print(self, chat_id: int, message: OutgoingMessage, label: str) -> None:
        out = self.stream or sys.stdout
        target = "the console" if chat_id == 0 else f"chat {chat_id}"  # 0: the console pseudo-chat
        head = f"{label} to {target}" if label else ""
        rule = "─" * 72
        print(rule if not head else f"── {head} " + "─" * max(0, 68 - len(head)), file=out)
        # Never a terminal escape, bell or bidi override, whatever a feed or document held.
        print(strip_controls(message.plain).rstrip(), file=out)
        out.flush()
