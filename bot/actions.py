"""Button actions: what a button under a message does, written into its data and read back.
A pure stage; the one codec for :mod:`bot.render` (which puts buttons on alerts) and the
Telegram handlers (which answer them).

An action's data is ``KIND:ARG:ARG…``; Telegram allows 64 bytes of it (:func:`fits`). Each
kind has its handler and a pattern (:data:`PATTERNS`) that routes its presses there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MAX_DATA",
    "PATTERNS",
    "Action",
    "fits",
    "more_like_this",
    "mute_story",
    "mute_topic",
    "parse",
    "setting",
    "toggle",
    "vote",
]

MAX_DATA = 64
"""Bytes of data a Telegram button may carry."""

TOGGLE, VOTE, MUTE_TOPIC, MORE, MUTE_STORY, SETTING = "t", "fb", "mute", "more", "ms", "set"

PATTERNS: dict[str, str] = {
    TOGGLE: r"^t:",
    VOTE: r"^fb:-?1:\d+$",
    MUTE_TOPIC: r"^mute:",
    MORE: r"^more:",
    MUTE_STORY: r"^ms:\d+$",
    SETTING: r"^set:",
}
"""Per kind, the pattern of its data (for python-telegram-bot's ``CallbackQueryHandler``)."""


@dataclass(frozen=True, slots=True)
class Action:
    """A pressed button: its ``kind`` and its arguments."""

    kind: str
    args: tuple[str, ...]

    @property
    def arg(self) -> str:
        """The whole of what follows the kind (a topic id may hold ``:``)."""
        return ":".join(self.args)


def _data(kind: str, *args: object) -> str:
    return ":".join([kind, *(str(a) for a in args)])


def fits(data: str) -> bool:
    """Whether ``data`` fits in a button (topic ids and keys of any length are allowed)."""
    return len(data.encode()) <= MAX_DATA


def toggle(topic_id: str) -> str:
    """Subscribe to the topic, or unsubscribe (the /topics keyboard)."""
    return _data(TOGGLE, topic_id)


def vote(item_ref: int, value: int) -> str:
    """👍 (1) or 👎 (-1) on an alert of the item."""
    return _data(VOTE, value, item_ref)


def mute_topic(topic_id: str) -> str:
    """No alerts of the topic for 24 hours."""
    return _data(MUTE_TOPIC, topic_id)


def more_like_this(topic_id: str) -> str:
    """A 👍 on the alert, and the topic's latest matches."""
    return _data(MORE, topic_id)


def mute_story(item_ref: int) -> str:
    """No alerts or updates of the item's story for 24 hours."""
    return _data(MUTE_STORY, item_ref)


def setting(*args: str) -> str:
    """A /settings button: ``previews``, ``quiet``, ``unmute KEY``, ``allow KEY``,
    ``mode TOPIC``, ``urg TOPIC``."""
    return _data(SETTING, *args)


def parse(data: str) -> Action | None:
    """The action in a button's data; None if it is none of ours."""
    kind = data.split(":", 1)[0]
    pattern = PATTERNS.get(kind)
    if pattern is None or not re.match(pattern, data):
        return None
    rest = data[len(kind) + 1 :]
    if kind in (TOGGLE, MUTE_TOPIC, MORE):
        return Action(kind, (rest,))
    if kind == SETTING:
        what, _, arg = rest.partition(":")
        return Action(kind, (what, arg) if arg else (what,))
    return Action(kind, tuple(rest.split(":")))
