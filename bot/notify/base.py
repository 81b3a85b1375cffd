"""The notifier interface."""

from __future__ import annotations

from abc import ABC, abstractmethod

from bot.models import OutgoingMessage

__all__ = ["Notifier"]


class Notifier(ABC):
    """Sends a message to one chat."""

    @abstractmethod
    async def send(self, chat_id: int, message: OutgoingMessage) -> int | None:
        """Deliver ``message`` to ``chat_id``; return once the channel has accepted it.

        :returns: the channel's message id, if it has one.
        :raises RetryLater: the channel asked us to wait (Telegram 429, or a transient error).
        :raises ChatUnavailable: the chat blocked the bot or is gone.
        :raises DeliveryError: any other failure; the message was not delivered.
        """

    @abstractmethod
    async def edit(self, chat_id: int, message_id: int | None, message: OutgoingMessage) -> bool:
        """Replace an earlier message (e.g. an alert whose story more sources reported).

        :returns: False if that message can no longer be edited (deleted, too old): nothing
            was changed and there is nothing to retry.
        :raises: as :meth:`send`.
        """
