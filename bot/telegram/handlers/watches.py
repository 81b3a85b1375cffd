"""Watches and queries: /watch, /unwatch, /watches, /test, and /why on an alert."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.errors import QueryError, QueryTooCostly
from bot.models import Item, Match
from bot.render import esc, render_why, web_link
from bot.telegram.handlers.base import Handlers

__all__ = ["WatchHandlers"]


class WatchHandlers(Handlers):
    """A chat's own topics, and the queries it tries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trying: set[int] = set()  # chats whose query is being tried on the recent items

    @staticmethod
    def _query_problem(exc: QueryError) -> str:
        pointer = f"{exc.query}\n{' ' * exc.position}^" if exc.position <= len(exc.query) else ""
        fix = f"\nExpected {esc(exc.expected)}." if exc.expected else ""
        shown = f"\n<pre>{esc(pointer)}</pre>" if pointer else ""
        return f"❌ {esc(exc.message)}.{shown}{fix}\nSee /help for the query language."

    async def _try_query(
        self, update: Update, chat_id: int, query: str, refused: str = ""
    ) -> tuple[int, int, list[tuple[Item, Match]]] | None:
        """The query tried on the recent items (off the event loop, bounded in time and work);
        None, answered, if it is too costly or the chat already has one running.

        :raises QueryError: the query is invalid or breaks the ``[watches]`` limits.
        """
        if chat_id in self._trying:
            await self._reply(update, "⏳ Your previous query is still running; try again soon.")
            return None
        self._trying.add(chat_id)
        try:
            return await self.pipeline.dry_run_query(query)
        except QueryTooCostly as exc:
            await self._reply(update, f"❌ {esc(str(exc))}.{refused}")
            return None
        finally:
            self._trying.discard(chat_id)

    async def watch(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/watch NAME QUERY: a private topic for this chat (refused if it is too costly to try
        on the recent items)."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        query = self._rest(update, 1)
        if not args or not query:
            await self._reply(
                update,
                "Send /watch <code>name</code> <code>query</code>, e.g.\n"
                "<code>/watch sahel (French OR France) NEAR/5 troops AND (Niger OR Mali)</code>",
            )
            return
        name = args[0]
        try:
            self.pipeline.check_watch(chat_id, name, query)
            tried = await self._try_query(update, chat_id, query, " Nothing was watched.")
            if tried is None:
                return
            searched, matched, _ = tried
            watch = self.pipeline.add_watch(chat_id, name, query)
        except QueryError as exc:
            await self._reply(update, self._query_problem(exc))
            return
        except ValueError as exc:
            await self._reply(update, f"❌ {esc(str(exc))}")
            return
        await self._reply(
            update,
            f"👁 Watching <b>{esc(watch.name)}</b>: <code>{esc(watch.query)}</code>\n"
            f"It would have matched {matched} of the {searched} items of the last 7 days. "
            "New matches come as alerts; /unwatch "
            f"<code>{esc(watch.name)}</code> to stop.",
        )

    async def unwatch(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/unwatch NAME."""
        chat_id = await self._setting(update, context)
        if chat_id is None:
            return
        args = context.args or []
        if not args:
            await self._reply(update, "Send /unwatch <code>name</code>; /watches lists them.")
            return
        if self.pipeline.remove_watch(chat_id, args[0]):
            await self._reply(update, f"Stopped watching <b>{esc(args[0])}</b>.")
        else:
            await self._reply(update, f"No watch named <b>{esc(args[0])}</b>. /watches lists them.")

    async def watches(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/watches: this chat's watches."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        mine = self.chats.watches(chat_id)
        if not mine:
            await self._reply(update, "No watches yet. /watch <code>name</code> <code>query</code>")
            return
        lines = [f"• <b>{esc(w.name)}</b>: <code>{esc(w.query)}</code>" for w in mine]
        await self._reply(update, "Your watches:\n" + "\n".join(lines))

    async def test(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/test QUERY: what it would have matched in the last 7 days."""
        chat_id = self._register_chat(update)
        if chat_id is None:
            return
        query = self._rest(update, 0)
        if not query:
            await self._reply(update, "Send /test <code>query</code>, e.g. /test Daesh OR ISIL")
            return
        try:
            tried = await self._try_query(update, chat_id, query)
        except QueryError as exc:
            await self._reply(update, self._query_problem(exc))
            return
        if tried is None:
            return
        searched, matched, best = tried
        lines = [
            f"🔎 <code>{esc(query if len(query) <= 200 else query[:200] + '…')}</code> "
            f"matches {matched} of {searched} items "
            "of the last 7 days."
        ]
        for item, match in best:
            title = esc(item.title[:150])
            link = web_link(item.link)
            linked = f'<a href="{esc(link)}">{title}</a>' if link else title
            lines.append(f"• {linked} <i>({esc(match.why(2))})</i>")
        await self._reply(update, "\n".join(lines))

    async def why(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/why, replying to an alert: the evidence behind it."""
        chat_id = self._register_chat(update)
        message = update.effective_message
        original = message.reply_to_message if message else None
        if chat_id is None or original is None:
            await self._reply(
                update, "Reply <b>/why</b> to one of my alerts to see why it matched."
            )
            return
        task = self.chats.alert(chat_id, original.message_id)
        if task is None:
            await self._reply(update, "That message is not one of my alerts.")
            return
        await self._reply_messages(update, render_why(task, self.topics, self.pipeline.timezone))
