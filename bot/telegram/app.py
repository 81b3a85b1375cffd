"""The Telegram front end put together: one handler object per area, registered with a
python-telegram-bot application from the one command table (:mod:`bot.telegram.commands`),
which also gives Telegram's command menu."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from telegram import BotCommand
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.actions import PATTERNS
from bot.pipeline import Pipeline
from bot.telegram.commands import CALLBACKS, COMMANDS
from bot.telegram.handlers.admin import AdminHandlers
from bot.telegram.handlers.alerts import AlertHandlers
from bot.telegram.handlers.base import Handlers
from bot.telegram.handlers.settings import SettingsHandlers
from bot.telegram.handlers.topics import TopicHandlers
from bot.telegram.handlers.watches import WatchHandlers

__all__ = ["AREAS", "bot_commands", "build_handlers", "register"]

AREAS: dict[str, type[Handlers]] = {
    "topics": TopicHandlers,
    "watches": WatchHandlers,
    "settings": SettingsHandlers,
    "alerts": AlertHandlers,
    "admin": AdminHandlers,
}
"""The handlers of each area, by the name the command table uses."""


def build_handlers(
    pipeline: Pipeline,
    *,
    admins: frozenset[int],
    default_digest: str = "08:00",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Handlers]:
    """One handler object per area, bound to ``pipeline``."""
    return {
        name: area(pipeline, admins=admins, default_digest=default_digest, clock=clock)
        for name, area in AREAS.items()
    }


def register(application: Application, handlers: dict[str, Handlers]) -> None:  # type: ignore[type-arg]
    """Wire every command, button and the OPML upload into ``application``."""
    for command in COMMANDS:
        callback = getattr(handlers[command.area], command.method)
        application.add_handler(CommandHandler(command.name, callback))
    for kind, (area, method) in CALLBACKS.items():
        callback = getattr(handlers[area], method)
        application.add_handler(CallbackQueryHandler(callback, pattern=PATTERNS[kind]))
    admin = handlers["admin"]
    assert isinstance(admin, AdminHandlers)
    opml = filters.Document.FileExtension("opml") | filters.Document.FileExtension("xml")
    application.add_handler(MessageHandler(opml & filters.ChatType.PRIVATE, admin.import_feeds))
    application.add_error_handler(admin.on_error)


def bot_commands() -> list[BotCommand]:
    """The command menu for setMyCommands."""
    return [BotCommand(c.name, c.description) for c in COMMANDS]
