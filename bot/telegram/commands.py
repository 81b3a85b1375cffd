"""The bot's commands, in one table: each one's name, what /help and Telegram's command menu
say of it, and the handler that answers it (its area in :mod:`bot.telegram.handlers` and its
method). :mod:`bot.telegram.app` registers the handlers and the menu from it."""

from __future__ import annotations

from dataclasses import dataclass

from bot import actions

__all__ = ["CALLBACKS", "COMMANDS", "Command"]


@dataclass(frozen=True, slots=True)
class Command:
    """``/name``: ``description``; answered by ``method`` of the ``area``'s handlers."""

    name: str
    description: str
    area: str
    method: str


COMMANDS: tuple[Command, ...] = (
    Command("start", "Start and see the topics", "topics", "start"),
    Command("topics", "Choose topics with buttons", "topics", "topics_command"),
    Command("subscribe", "Subscribe to a topic: /subscribe isis", "topics", "subscribe"),
    Command("unsubscribe", "Unsubscribe: /unsubscribe isis", "topics", "unsubscribe"),
    Command("mytopics", "Your topics", "topics", "mytopics"),
    Command("latest", "Recent matches: /latest [topic]", "topics", "latest"),
    Command("digest", "Your digest now", "topics", "digest"),
    Command("watch", "Your own topic: /watch NAME QUERY", "watches", "watch"),
    Command("unwatch", "Remove a watch: /unwatch NAME", "watches", "unwatch"),
    Command("watches", "Your watches", "watches", "watches"),
    Command("test", "Try a query on the last 7 days: /test QUERY", "watches", "test"),
    Command("why", "Reply to an alert: why did it match?", "watches", "why"),
    Command("poll", "Poll the feeds now (admins)", "admin", "poll"),
    Command("stats", "Feeds, items and alerts (admins)", "admin", "stats"),
    Command("feeds", "Each feed's health (admins)", "admin", "feeds_command"),
    Command("addfeed", "Poll a new feed: /addfeed URL (admins)", "admin", "add_feed"),
    Command("removefeed", "Stop polling a feed: /removefeed URL (admins)", "admin", "remove_feed"),
    Command("broadcast", "A message to every chat: /broadcast TEXT (admins)", "admin", "broadcast"),
    Command(
        "exportfeeds",
        "The feeds as an OPML file; send one back to add feeds (admins)",
        "admin",
        "export_feeds",
    ),
    Command("channel", "Send topics to a channel: /channel @name isis", "admin", "channel"),
    Command(
        "settings", "Your settings: timezone, digest time, previews, modes", "settings", "settings"
    ),
    Command("timezone", "Your timezone: /timezone Europe/Berlin", "settings", "set_timezone"),
    Command("digesttime", "Your digest time: /digesttime 08:00", "settings", "digest_time"),
    Command("mode", "Alert, digest or both: /mode isis digest", "settings", "mode"),
    Command("previews", "Link previews: /previews on|off", "settings", "previews"),
    Command("quiet", "Quiet hours: /quiet 22:00-07:00 or /quiet off", "settings", "quiet"),
    Command(
        "urgent", "Alerts of a topic even in quiet hours, first: /urgent isis", "settings", "urgent"
    ),
    Command(
        "mute",
        "Mute a topic (/mute isis 8) or, replying to an alert, its story",
        "settings",
        "mute_command",
    ),
    Command("unmute", "Unmute a topic: /unmute isis", "settings", "unmute"),
    Command("help", "How this bot works", "topics", "help"),
)

CALLBACKS: dict[str, tuple[str, str]] = {
    actions.TOGGLE: ("topics", "toggle"),
    actions.VOTE: ("alerts", "feedback"),
    actions.MUTE_TOPIC: ("alerts", "mute_topic"),
    actions.MORE: ("alerts", "more_like_this"),
    actions.MUTE_STORY: ("alerts", "mute_story"),
    actions.SETTING: ("settings", "settings_button"),
}
"""Per kind of button action (:data:`bot.actions.PATTERNS`), the area and method answering it."""
