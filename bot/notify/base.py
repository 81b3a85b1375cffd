"""The notifier interface: one channel's way to send a chat a message, and what it can do."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar

from bot.models import OutgoingMessage

__all__ = ["CONSOLE", "FORMATS", "TELEGRAM", "Capabilities", "Notifier", "Notifiers", "by_chat_id"]

FORMATS = ("html", "markdown", "plain")
"""The renderings of a message (:class:`~bot.models.OutgoingMessage`): Telegram's HTML,
Markdown, plain text."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel does with a message, declared by its notifier; the dispatcher shapes
    each message to it (:func:`bot.services.dispatch.fit`).

    ``format``: the rendering it shows (one of :data:`FORMATS`). ``buttons``: it shows the
    message's buttons and reports their presses. ``edits``: it can replace a sent message
    (a story's alert then lists each new source; without, updates are merged silently).
    ``max_length``: the longest message it takes, in characters as it counts them; longer
    ones are sent in parts. ``paced``: Telegram's per-chat limits apply (1/s in a private
    chat, 20/min in a group), else only the overall pace.
    """

    format: str = "plain"
    buttons: bool = False
    edits: bool = False
    max_length: int = 4096
    paced: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format {self.format!r}: one of {', '.join(FORMATS)}")


class Notifier(ABC):
    """Sends a message to one chat of its channel."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        format="html", buttons=True, edits=True, paced=True
    )
    """What this channel can do (see :class:`Capabilities`); a notifier that declares
    nothing is taken to do what Telegram does."""

    @abstractmethod
    async def send(self, chat_id: int, message: OutgoingMessage) -> int | None:
        """Deliver ``message`` to ``chat_id``; return once the channel has accepted it.

        :returns: the channel's message id, if it has one.
        :raises RetryLater: the channel asked us to wait (Telegram 429, or a transient error).
        :raises ChatUnavailable: the chat blocked the bot or is gone.
        :raises MessageTooLong: the channel refused the message's length.
        :raises DeliveryError: any other failure; the message was not delivered.
        """

    @abstractmethod
    async def edit(self, chat_id: int, message_id: int | None, message: OutgoingMessage) -> bool:
        """Replace an earlier message (e.g. an alert whose story more sources reported);
        called only where :attr:`Capabilities.edits` says it can.

        :returns: False if that message can no longer be edited (deleted, too old): nothing
            was changed and there is nothing to retry.
        :raises: as :meth:`send`.
        """


CONSOLE, TELEGRAM = "console", "telegram"


def by_chat_id(chat_id: int) -> str:
    """Which channel a chat is on, today: the console pseudo-chat (0) prints, every other
    chat is Telegram's."""
    return CONSOLE if chat_id == 0 else TELEGRAM


class Notifiers(Mapping[str, Notifier]):
    """The registry of channels: notifiers by channel name (``"telegram"``, ``"console"``,
    …), and ``channel_of``, which says which channel a chat is on."""

    def __init__(
        self, channels: Mapping[str, Notifier], channel_of: Callable[[int], str] = by_chat_id
    ) -> None:
        self._channels = dict(channels)
        self.channel_of = channel_of

    def __getitem__(self, name: str) -> Notifier:
        return self._channels[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._channels)

    def __len__(self) -> int:
        return len(self._channels)

    def for_chat(self, chat_id: int) -> Notifier | None:
        """The notifier of the chat's channel; None if that channel is not set up here."""
        return self._channels.get(self.channel_of(chat_id))
