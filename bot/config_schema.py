"""The settings newsbot reads, in one place: each key of ``config/newsbot.toml`` with its
default, its bounds and what it means, and the environment variables. :mod:`bot.config`
reads by this table; the README's configuration tables are generated from it
(``python -m bot.config_schema --readme`` rewrites them; a test checks they are current).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.pacing import Rates

__all__ = [
    "ENVIRONMENT",
    "OPTIONS",
    "Option",
    "default",
    "keys",
    "markdown_tables",
    "option",
    "readme_with_tables",
    "typed",
]

_RATES = Rates()
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Option:
    """A key of the config file: ``table.key`` (``key`` alone at the top), its ``default``
    (None: none), the least value a number may take, and what the README says of it.
    ``shown``: how the README shows the default where its value would not say it well."""

    name: str
    default: object
    doc: str
    minimum: float | None = None
    shown: str = ""

    @property
    def table(self) -> str:
        return self.name.rpartition(".")[0]

    @property
    def key(self) -> str:
        return self.name.rpartition(".")[2]

    def default_text(self) -> str:
        if self.shown:
            return self.shown
        value = self.default
        if isinstance(value, bool):
            return f"`{str(value).lower()}`"
        if isinstance(value, float) and value.is_integer():
            return f"`{int(value)}`"
        if isinstance(value, str):
            return f'`"{value}"`'
        if isinstance(value, (list, tuple)):
            return "`[]`" if not value else f"`{list(value)}`"
        return f"`{value}`"


OPTIONS: tuple[Option, ...] = (
    Option("timezone", "UTC", "IANA name; digest time and times shown in alerts"),
    Option("topics", "topics.toml", "the topics file"),
    Option(
        "data_dir",
        "data",
        "folder of the SQLite database `newsbot.sqlite3` and of `newsbot.lock`: one `newsbot "
        "run` per data directory (a second exits 2); `poll` and `digest` wait for each other "
        "and refuse beside the service",
    ),
    Option(
        "telegram.admins",
        (),
        "Telegram user ids allowed to use `/poll`, `/stats`, `/feeds`; they are told (at most "
        "every 6 h per feed or kind of error) when a feed fails or a command errs",
    ),
    Option(
        "telegram.api_url",
        "https://api.telegram.org/bot",
        "Bot API base URL, the token is appended",
        shown="Telegram's",
    ),
    Option(
        "documents.path",
        None,
        "the documents folder (`documents`, beside the config, ships the sample)",
        shown="none",
    ),
    Option("documents.interval", 60, "seconds between folder scans", minimum=5),
    Option("digest.time", "08:00", "daily digest time in `timezone`"),
    Option(
        "telegram.messages_per_second",
        _RATES.overall,
        "overall sending rate (Telegram allows 30)",
        minimum=0.1,
    ),
    Option(
        "telegram.chat_messages_per_second",
        _RATES.private,
        "per private chat (Telegram allows 1)",
        minimum=0.01,
    ),
    Option(
        "telegram.group_messages_per_minute",
        round(_RATES.group * 60, 6),
        "per group or channel (Telegram allows 20)",
        minimum=0.1,
    ),
    Option(
        "telegram.catch_up_after",
        10,
        "this many alerts waiting for a chat since `catch_up_minutes` (an outage) go out as "
        'one "while you were away" digest; 0 turns it off',
        minimum=0,
    ),
    Option(
        "telegram.catch_up_minutes",
        30,
        "how old the oldest waiting alert must be for that",
        minimum=1,
    ),
    Option(
        "telegram.admin_chat",
        None,
        "a chat id (a group of operators) where failing feeds and command errors are reported "
        "instead of each admin's private chat; `/stats` shows a chat's id",
        shown="none",
    ),
    Option(
        "telegram.concurrent_sends",
        1,
        "chats sent to at once; more helps over a slow link, and a crash may then repeat one "
        "message per concurrent send",
        minimum=1,
    ),
    Option(
        "polling.interval",
        300,
        "default seconds between polls of a feed (minimum 30)",
        minimum=30,
    ),
    Option("polling.timeout", 20.0, "seconds per request", minimum=1.0),
    Option("polling.max_bytes", 10_000_000, "larger feeds are refused", minimum=1024),
    Option(
        "polling.max_items_per_feed",
        200,
        "entries read from one feed body (the first ones, in the order the feed lists them)",
        minimum=1,
    ),
    Option(
        "polling.user_agent",
        "newsbot/0.1 (+https://github.com/newsbot)",
        "the User-Agent header of every feed request",
    ),
    Option(
        "polling.retry_interval",
        30,
        "seconds between retries of undelivered alerts",
        minimum=1,
    ),
    Option(
        "polling.reload_interval",
        30,
        "seconds between checks of the topics file for changes and of the feeds added or "
        "removed in chats",
        minimum=1,
    ),
    Option(
        "polling.max_interval",
        7200,
        "the longest wait between polls of a feed that publishes rarely (a feed's `interval` "
        "is its shortest)",
        minimum=60,
    ),
    Option(
        "polling.concurrency",
        20,
        "feeds fetched at once (and at most 2 per host)",
        minimum=1,
    ),
    Option(
        "polling.parse_timeout",
        20.0,
        "seconds one feed may take to parse; its worker process is killed at the deadline and "
        "the feed's poll fails with the reason",
        minimum=1.0,
    ),
    Option(
        "polling.parse_memory_mb",
        512,
        "address space of a parsing worker process (its own ~50 MB included); a parse that "
        "needs more fails with the reason",
        minimum=128,
    ),
    Option("polling.parse_workers", 1, "worker processes parsing feeds at once", minimum=1),
    Option("polling.tick", 10, "seconds between looks for feeds that are due", minimum=1),
    Option(
        "polling.allow_private_feeds",
        False,
        "whether feeds added with `/addfeed` or an OPML upload may point at loopback, private, "
        "link-local or other non-public addresses (checked on the address actually connected "
        "to, on every redirect; IPv6 forms that embed an IPv4 address are judged by that "
        "address)",
    ),
    Option("watches.per_chat", 10, "private topics (`/watch`) a chat may have", minimum=0),
    Option(
        "watches.query_chars",
        300,
        "longest query a watch (or `/test`) may have",
        minimum=10,
    ),
    Option("watches.regex", False, "whether watches (and `/test`) may use regular expressions"),
    Option(
        "watches.test_seconds",
        5.0,
        "the longest a `/test` or `/watch` dry run over recent items may take before it "
        'answers "too costly, narrow it"',
        minimum=0.1,
    ),
)
"""Every key of the config file but ``[[feeds]]`` (see :data:`FEEDS_DOC`)."""

FEEDS_DOC = (
    "`[[feeds]]`",
    "six world-news feeds",
    "`url`, optional `name`, `interval` (seconds, the shortest wait between polls), `topics` "
    "(only these topics apply to its items) and `language`",
)

ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("TELEGRAM_BOT_TOKEN", "the bot token; without it alerts are printed on the console"),
    (
        "NEWSBOT_TELEGRAM_API_URL",
        "Bot API base URL, e.g. `http://127.0.0.1:8081/bot` for a self-hosted Bot API server "
        "(default `https://api.telegram.org/bot`)",
    ),
    ("NEWSBOT_CONFIG", "the config file"),
    ("NEWSBOT_DATA_DIR", "the data folder"),
    ("NEWSBOT_DOCUMENTS_DIR", "the documents folder"),
    ("NEWSBOT_TOPICS", "the topics file"),
    ("NEWSBOT_TIMEZONE", "the timezone"),
    ("NEWSBOT_ADMINS", "comma-separated admin user ids"),
    (
        "NEWSBOT_CACHE_DIR",
        "where the word forms computed for queries are kept between runs (default "
        "`$XDG_CACHE_HOME/newsbot`, else `~/.cache/newsbot`); deleting it only costs the next "
        "start ~0.4 s",
    ),
)
"""The environment variables newsbot reads (only :mod:`bot.cli` reads them); they override
the config file's secrets and paths."""

_BY_NAME = {o.name: o for o in OPTIONS}


def option(name: str) -> Option:
    """The option ``table.key``. :raises KeyError: no such option."""
    return _BY_NAME[name]


def default(name: str) -> object:
    """The default of the option ``table.key``."""
    return _BY_NAME[name].default


def typed(name: str, kind: type[T]) -> T:
    """The default of ``table.key``, of the type the code holds it in."""
    value = _BY_NAME[name].default
    if not isinstance(value, kind):
        raise TypeError(f"{name}: default {value!r} is no {kind.__name__}")
    return value


def keys(table: str) -> set[str]:
    """The keys a table (``""``: the top) of the config file may hold."""
    return {o.key for o in OPTIONS if o.table == table}


def markdown_tables() -> str:
    """The README's two tables: the config file's keys, and the environment variables."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for o in OPTIONS:
        label = f"[{o.table}] {o.key}" if o.table else o.key
        rows.append(f"| `{label}` | {o.default_text()} | {o.doc} |")
    rows.append("| " + " | ".join(FEEDS_DOC) + " |")
    rows += ["", "Environment variables override secrets and paths:", ""]
    rows += ["| variable | meaning |", "|---|---|"]
    rows += [f"| `{name}` | {doc} |" for name, doc in ENVIRONMENT]
    return "\n".join(rows)


_BEGIN, _END = "<!-- config tables: python -m bot.config_schema --readme -->", "<!-- end -->"


def readme_with_tables(readme: str) -> str:
    """``readme`` with its configuration tables (between the markers) written afresh."""
    pattern = re.compile(re.escape(_BEGIN) + r".*?" + re.escape(_END), re.DOTALL)
    if not pattern.search(readme):
        raise ValueError(f"the README has no {_BEGIN} … {_END} block")
    return pattern.sub(lambda _: f"{_BEGIN}\n{markdown_tables()}\n{_END}", readme)


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    if sys.argv[1:] == ["--readme"]:
        path = Path(__file__).resolve().parent.parent / "README.md"
        path.write_text(readme_with_tables(path.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(markdown_tables())
