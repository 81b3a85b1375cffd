"""Settings: read once from ``config/newsbot.toml``, the topics file and the environment.

Nothing reads configuration at import time. :func:`load_settings` returns a frozen
:class:`Settings` that the CLI passes to every part that needs it. Every problem is a
:class:`~bot.errors.ConfigError` naming the file, the line and the fix.

Environment variables override secrets and paths:

``TELEGRAM_BOT_TOKEN``        the bot token (never read from a file, never logged)
``NEWSBOT_TELEGRAM_API_URL``  Bot API base URL, token appended (default Telegram's own)
``NEWSBOT_DATA_DIR``          where the SQLite database lives (default ``./data``)
``NEWSBOT_DOCUMENTS_DIR``     the documents folder (default from the config file)
``NEWSBOT_TOPICS``            the topics file (default from the config file)
``NEWSBOT_TIMEZONE``          the timezone for digests and times shown
``NEWSBOT_ADMINS``            comma-separated Telegram user ids allowed to run admin commands
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError, QueryError
from bot.models import Example, FeedConfig, Topic
from bot.pacing import Rates, parse_clock
from bot.query import parse_query

__all__ = [
    "DEFAULT_API_URL",
    "Settings",
    "TopicFile",
    "WatchLimits",
    "line_of",
    "load_settings",
    "load_topic_file",
    "load_topics",
    "parse_clock",
]

DEFAULT_API_URL = "https://api.telegram.org/bot"
_TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


@dataclass(frozen=True)
class WatchLimits:
    """Limits on the private topics (/watch) each chat may create."""

    per_chat: int = 10
    query_chars: int = 300
    regex: bool = False
    test_seconds: float = 5.0
    """How long a chat's query may run over the recent items (/test, /watch's dry run)."""


@dataclass(frozen=True)
class Settings:
    """Everything newsbot is configured with, validated."""

    config_path: Path
    timezone: ZoneInfo
    topics_path: Path
    topics: tuple[Topic, ...]
    data_dir: Path
    documents_dir: Path | None
    feeds: tuple[FeedConfig, ...]
    digest_time: time = time(8, 0)
    admins: frozenset[int] = frozenset()
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = DEFAULT_API_URL
    fetch_timeout: float = 20.0
    max_feed_bytes: int = 10_000_000
    documents_interval: int = 60
    retry_interval: int = 30
    max_items_per_feed: int = 200
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot)"
    aliases: Mapping[str, str] = field(default_factory=dict)
    topic_sources: tuple[Path, ...] = ()
    """The examples files the topics read (see :class:`TopicFile`)."""
    watches: WatchLimits = field(default_factory=lambda: WatchLimits())
    rates: Rates = field(default_factory=Rates)
    concurrent_sends: int = 1
    catch_up_after: int = 10
    catch_up_minutes: int = 30
    reload_interval: int = 30
    poll_interval: int = 300
    """Seconds between polls of a feed that sets none (also feeds added in chats)."""
    max_poll_interval: int = 7200
    """The longest wait between polls of a feed that publishes rarely."""
    poll_concurrency: int = 20
    """Feeds fetched at once (and at most 2 per host)."""
    feed_tick: int = 10
    """Seconds between looks for feeds that are due."""
    admin_chat: int | None = None
    """Where operator reports go; None: each admin's private chat."""
    allow_private_feeds: bool = False
    """May feeds added with /addfeed point at loopback or private addresses?"""
    parse_timeout: float = 20.0
    """Seconds one feed may take to parse (in a worker process, killed at the deadline)."""
    parse_memory_mb: int = 512
    """Address space of a parsing worker process, its own ~50 MB included."""
    parse_workers: int = 1
    """Worker processes parsing feeds at once."""

    @property
    def database_path(self) -> Path:
        return self.data_dir / "newsbot.sqlite3"

    @property
    def model_dir(self) -> Path:
        """Where the topics' learned layers are cached (see :mod:`bot.learn`)."""
        return self.data_dir / "models"

    @property
    def console_mode(self) -> bool:
        """No token: alerts go to the console instead of Telegram."""
        return not self.telegram_token


def line_of(text: str, pattern: str, start_line: int = 1) -> int | None:
    """The 1-based line of the first line at or after ``start_line`` matching ``pattern``.

    One search from where that line starts, over a line table made once per text: finding
    every entry of a file in turn costs one pass over it, not one per entry (10,000 topics
    took 31 s to load when each lookup split the whole file again).
    """
    starts = _line_starts(text)
    if start_line > len(starts):
        return None
    rx = _multiline(pattern)
    found = rx.search(text, starts[max(start_line, 1) - 1])
    return bisect.bisect_right(starts, found.start()) if found else None


@functools.lru_cache(maxsize=8)
def _line_starts(text: str) -> list[int]:
    """The offset where each line of ``text`` starts (cached: a file's lines are looked up
    many times while it is read; a str's hash is computed once)."""
    starts = [0]
    find = text.find
    at = find("\n")
    while at != -1:
        starts.append(at + 1)
        at = find("\n", at + 1)
    return starts


@functools.lru_cache(maxsize=256)
def _multiline(pattern: str) -> re.Pattern[str]:
    """``pattern`` matched within one line, as it was when each line was searched alone:
    ``^`` and ``$`` at line ends, ``.`` and ``\\s`` never cross a newline."""
    return re.compile(pattern.replace(r"\s", r"[^\S\n]"), re.MULTILINE)


def _read_toml(path: Path, what: str) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{what} not found", path=str(path), fix="create it or pass --config PATH"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what}: {exc}", path=str(path)) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line 3, column 7)": keep the reason, move the line to the front.
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        reason = msg[: m.start()].strip() if m else msg
        raise ConfigError(
            f"invalid TOML: {reason}", path=str(path), line=line, fix="see https://toml.io"
        ) from None


def _next_header(text: str, line: int) -> int | None:
    """The line of the first table header after ``line`` (where that entry ends)."""
    return line_of(text, r"^\s*\[", line + 1)


def _key_line(text: str, key: str, start_line: int = 1, end_line: int | None = None) -> int | None:
    found = line_of(text, rf"^\s*{re.escape(key)}\s*=", start_line)
    return found if found is None or end_line is None or found < end_line else None


class _Table:
    """Typed access to one TOML table, with errors that point at the key's line."""

    def __init__(self, data: Mapping[str, Any], text: str, path: Path, name: str, line: int = 1):
        self.data, self.text, self.path, self.name, self.line = data, text, path, name, line

    def fail(self, key: str, message: str, fix: str = "") -> ConfigError:
        end = _next_header(self.text, self.line) if self.name else None
        line = _key_line(self.text, key, self.line, end) or self.line
        label = f"{self.name}.{key}" if self.name else key
        return ConfigError(f"{label}: {message}", path=str(self.path), line=line, fix=fix)

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(
                    key, "unknown key", fix=f"allowed keys: {', '.join(sorted(allowed))}"
                )

    def get_str(self, key: str, default: str | None) -> str | None:
        value = self.data.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {type(value).__name__}")
        return value

    def get_int(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, not {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, not {value}")
        return value

    def get_float(self, key: str, default: float, minimum: float = 0.0) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, not {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, not {value}")
        return float(value)

    def table(self, key: str) -> _Table:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table", fix=f"write it as [{key}]")
        line = line_of(self.text, rf"^\s*\[\s*{re.escape(key)}\s*\]") or self.line
        return _Table(value, self.text, self.path, key, line)


def _parse_time(table: _Table, key: str, default: str) -> time:
    raw = table.get_str(key, default) or default
    value = parse_clock(raw)
    if value is None:
        raise table.fail(key, f"{raw!r} is not a time", fix='write it as "HH:MM", e.g. "08:00"')
    return value


def _parse_timezone(name: str, where: _Table, key: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise where.fail(
            key, f"unknown timezone {name!r}", fix='use an IANA name such as "Europe/Berlin"'
        ) from None


def _parse_admins(raw: Any, table: _Table) -> frozenset[int]:
    if not isinstance(raw, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) for x in raw
    ):
        raise table.fail("admins", "must be a list of Telegram user ids", fix="admins = [12345]")
    return frozenset(raw)


def _parse_feeds(
    raw: Any, text: str, path: Path, default_interval: int, topic_ids: Collection[str]
) -> tuple[FeedConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        line = _key_line(text, "feeds")
        raise ConfigError(
            "feeds must be an array of tables", path=str(path), line=line, fix="write [[feeds]]"
        )
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    start = 1
    for entry in raw:
        line = line_of(text, r"^\s*\[\[\s*feeds\s*\]\]", start) or 1
        start = line + 1
        t = _Table(entry, text, path, "feeds", line)
        t.check_keys({"url", "name", "interval", "topics", "language"})
        url = t.get_str("url", None)
        if not url:
            raise ConfigError(
                "[[feeds]] entry has no url", path=str(path), line=line, fix='add url = "https://…"'
            )
        if not re.match(r"^https?://[^\s/]+", url):
            raise t.fail("url", f"{url!r} is not an http(s) URL", fix="feeds are fetched over HTTP")
        if url in seen:
            raise t.fail("url", f"{url} is listed twice", fix="remove one of the entries")
        seen.add(url)
        interval = t.get_int("interval", default_interval, minimum=30)
        topics = entry.get("topics")
        if topics is not None:
            if not isinstance(topics, list) or not all(isinstance(x, str) for x in topics):
                raise t.fail("topics", "must be a list of topic ids", fix='topics = ["isis"]')
            unknown = [x for x in topics if x not in topic_ids]
            if unknown:
                raise t.fail(
                    "topics",
                    f"unknown topic {unknown[0]!r}",
                    fix=f"topics are: {', '.join(sorted(topic_ids))}",
                )
        feeds.append(
            FeedConfig(
                url=url,
                name=t.get_str("name", None),
                interval=interval,
                topics=tuple(topics) if topics is not None else None,
                language=t.get_str("language", None),
            )
        )
    return tuple(feeds)


@dataclass(frozen=True)
class TopicFile:
    """A topics file: the topics and the named alias sets their queries use (``@name``).

    ``sources``: the examples files its topics read (a change there is a change of topics).
    """

    topics: tuple[Topic, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[Path, ...] = ()


def _query_error(
    exc: QueryError, query: str, path: Path, line: int | None, topic: str | None
) -> QueryError:
    return QueryError(
        exc.message.split(" at position")[0],
        query=query,
        position=exc.position,
        expected=exc.expected,
        path=str(path),
        line=line,
        topic=topic,
    )


def _load_aliases(data: dict[str, Any], text: str, path: Path) -> dict[str, str]:
    raw = data.get("aliases", {})
    line = line_of(text, r"^\s*\[\s*aliases\s*\]") or 1
    table = _Table(raw if isinstance(raw, dict) else {}, text, path, "aliases", line)
    if not isinstance(raw, dict):
        raise ConfigError("aliases must be a table", path=str(path), line=line, fix="[aliases]")
    aliases: dict[str, str] = {}
    for name, value in raw.items():
        if not _ALIAS.match(name):
            raise table.fail(name, "invalid alias set name", fix="letters, digits and _ only")
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            # A list of names or phrases: each is one alternative.
            value = " OR ".join(f'"{v}"' if " " in v and '"' not in v else v for v in value)
        if not isinstance(value, str) or not value.strip():
            raise table.fail(name, "must be a query or a list of words and phrases")
        aliases[name] = value
    for name, value in aliases.items():
        try:
            parse_query(value, aliases)
        except QueryError as exc:
            raise _query_error(
                exc, value, path, _key_line(text, name, line) or line, f"@{name}"
            ) from None
    return aliases


def load_topic_file(path: Path) -> TopicFile:
    """Read and validate a topics file; every query is compiled to check it."""
    data, text = _read_toml(path, "topics file")
    root = _Table(data, text, path, "")
    root.check_keys({"topics", "aliases"})
    aliases = _load_aliases(data, text, path)
    raw = data.get("topics", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            "no topics defined", path=str(path), fix="add [[topics]] with id, name and query"
        )
    topics: list[Topic] = []
    sources: list[Path] = []
    seen: set[str] = set()
    columns = {str(e.get("id", "")).replace("-", "_") for e in raw if isinstance(e, dict)}
    start = 1
    for entry in raw:
        line = line_of(text, r"^\s*\[\[\s*topics\s*\]\]", start) or 1
        start = line + 1
        t = _Table(entry, text, path, "topics", line)
        t.check_keys(
            {"id", "name", "query", "description", "examples", "counter_examples", "examples_file"}
        )
        topic_id = t.get_str("id", None)
        if not topic_id or not _TOPIC_ID.match(topic_id):
            raise ConfigError(
                f"topic id {topic_id!r} is missing or invalid",
                path=str(path),
                line=(_key_line(text, "id", line, _next_header(text, line)) or line)
                if "id" in entry
                else line,
                fix='use lower-case letters, digits, - and _, e.g. id = "troop-withdrawal"',
            )
        if topic_id in seen:
            raise t.fail("id", f"topic {topic_id!r} is defined twice", fix="ids must be unique")
        seen.add(topic_id)
        query = t.get_str("query", None)
        if not query or not query.strip():
            raise ConfigError(
                f"topic {topic_id!r} has no query",
                path=str(path),
                line=line,
                fix='add query = "word OR \\"a phrase\\""',
            )
        try:
            parse_query(query, aliases)
        except QueryError as exc:
            query_line = _key_line(text, "query", line, _next_header(text, line)) or line
            raise _query_error(exc, query, path, query_line, topic_id) from None
        name = t.get_str("name", None) or topic_id
        examples = _inline_examples(t, "examples", True) + _inline_examples(
            t, "counter_examples", False
        )
        examples_file = t.get_str("examples_file", None)
        if examples_file is not None:
            examples += _examples_file(t, examples_file, topic_id, columns)
            sources.append(_beside(path, examples_file))
        topics.append(
            Topic(
                id=topic_id,
                name=name,
                query=query,
                description=t.get_str("description", "") or "",
                examples=examples,
                examples_file=str(_beside(path, examples_file).resolve()) if examples_file else "",
            )
        )
    return TopicFile(tuple(topics), aliases, tuple(dict.fromkeys(sources)))


def _split_example(text: str) -> tuple[str, str]:
    """ "Headline. Lead" -> ("Headline", "Lead"); one sentence is all headline."""
    head, sep, lead = text.strip().partition(". ")
    return (head, lead.strip()) if sep else (text.strip(), "")


def _beside(topics_path: Path, name: str) -> Path:
    """An examples file's path: as written if absolute, else relative to the topics file."""
    return Path(name) if Path(name).is_absolute() else topics_path.parent / name


def _inline_examples(table: _Table, key: str, positive: bool) -> tuple[Example, ...]:
    raw = table.data.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise table.fail(
            key,
            "must be a list of non-empty strings",
            fix=f'{key} = ["Headline. Lead sentence.", …]',
        )
    end = _next_header(table.text, table.line)
    line = _key_line(table.text, key, table.line, end) or table.line
    origin = f"{table.path.name}:{line}"
    return tuple(Example(*_split_example(x), positive=positive, origin=origin) for x in raw)


def _label_of(row: Mapping[str, Any], topic_id: str) -> Any:
    column = topic_id.replace("-", "_")
    if column in row:
        return row[column]
    return row.get("label")


def _examples_file(
    table: _Table, name: str, topic_id: str, columns: Collection[str] = ()
) -> tuple[Example, ...]:
    """A JSON Lines file of labelled items beside the topics file (the dev set's format):
    ``title``, ``description`` and a 0/1 label named after the topic (``-`` written ``_``)
    or ``label``. Blank lines are skipped, and so are the lines that label only other topics
    of the file (``columns``: every topic's column), as ``newsbot topics learn`` writes them."""
    path = _beside(table.path, name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise table.fail(
            "examples_file",
            f"{name!r} not found (looked for {path})",
            fix="the path is relative to the topics file",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise table.fail("examples_file", f"cannot read {name!r}: {exc}") from None
    column = topic_id.replace("-", "_")
    found: list[Example] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        if not raw_line.strip():
            continue

        def fail(message: str, fix: str, at: int = number) -> ConfigError:
            return ConfigError(
                f"topic {topic_id!r} example: {message}", path=str(path), line=at, fix=fix
            )

        try:
            row = json.loads(raw_line)
        except json.JSONDecodeError as exc:
            raise fail(
                f"invalid JSON: {exc.msg} (column {exc.colno})",
                fix='one object per line, e.g. {"title": "…", "description": "…", "label": 1}',
            ) from None
        if not isinstance(row, dict):
            raise fail("must be a JSON object", fix='{"title": "…", "label": 1}')
        title = row.get("title")
        if not isinstance(title, str) or not title.strip():
            raise fail("no title", fix='add "title": "the headline"')
        description = row.get("description", "")
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise fail('"description" must be a string', fix='"description": "the lead"')
        label = _label_of(row, topic_id)
        if label is None and any(c in row for c in columns if c != column):
            continue
        if label is None:
            raise fail(
                f'no label: neither "{column}" nor "label"',
                fix=f'add "{column}": 1 (the topic wants it) or 0 (it does not)',
            )
        if label not in (0, 1) or isinstance(label, float):
            raise fail(
                f"label {label!r} is not 0 or 1", fix="1: the topic wants it; 0: it does not"
            )
        found.append(
            Example(title.strip(), description.strip(), bool(label), f"{path.name}:{number}")
        )
    return tuple(found)


def load_topics(path: Path) -> tuple[Topic, ...]:
    """The topics of a topics file (see :func:`load_topic_file` for the alias sets too)."""
    return load_topic_file(path).topics


def load_settings(
    config_path: Path | str,
    env: Mapping[str, str],
    *,
    topics_override: Path | None = None,
) -> Settings:
    """Read ``config_path`` and the topics file it names, apply ``env`` overrides, validate."""
    path = Path(config_path)
    data, text = _read_toml(path, "config file")
    base = path.parent
    root = _Table(data, text, path, "")
    root.check_keys(
        {
            "timezone",
            "topics",
            "data_dir",
            "telegram",
            "documents",
            "digest",
            "polling",
            "feeds",
            "watches",
        }
    )
    tz_name = env.get("NEWSBOT_TIMEZONE") or root.get_str("timezone", "UTC") or "UTC"
    timezone = _parse_timezone(tz_name, root, "timezone")

    topics_path = topics_override or (
        Path(env["NEWSBOT_TOPICS"])
        if env.get("NEWSBOT_TOPICS")
        else base / (root.get_str("topics", "topics.toml") or "topics.toml")
    )
    topic_file = load_topic_file(topics_path)

    telegram = root.table("telegram")
    telegram.check_keys(
        {
            "admins",
            "api_url",
            "messages_per_second",
            "chat_messages_per_second",
            "group_messages_per_minute",
            "concurrent_sends",
            "catch_up_after",
            "catch_up_minutes",
            "admin_chat",
        }
    )
    default = Rates()
    rates = Rates(
        overall=telegram.get_float("messages_per_second", default.overall, minimum=0.1),
        private=telegram.get_float("chat_messages_per_second", default.private, minimum=0.01),
        group=telegram.get_float("group_messages_per_minute", default.group * 60, minimum=0.1) / 60,
    )
    admins = _parse_admins(telegram.data.get("admins", []), telegram)
    if env.get("NEWSBOT_ADMINS"):
        try:
            admins = frozenset(int(x) for x in env["NEWSBOT_ADMINS"].split(",") if x.strip())
        except ValueError:
            raise ConfigError(
                "NEWSBOT_ADMINS must be comma-separated user ids", fix="NEWSBOT_ADMINS=123,456"
            ) from None
    api_url = (
        env.get("NEWSBOT_TELEGRAM_API_URL")
        or telegram.get_str("api_url", DEFAULT_API_URL)
        or DEFAULT_API_URL
    )

    documents = root.table("documents")
    documents.check_keys({"path", "interval"})
    doc_path = env.get("NEWSBOT_DOCUMENTS_DIR") or documents.get_str("path", None)
    documents_dir = None
    if doc_path:
        documents_dir = Path(doc_path) if Path(doc_path).is_absolute() else base / doc_path
        if env.get("NEWSBOT_DOCUMENTS_DIR"):
            documents_dir = Path(doc_path)

    digest = root.table("digest")
    digest.check_keys({"time"})
    polling = root.table("polling")
    polling.check_keys(
        {
            "interval",
            "timeout",
            "max_bytes",
            "retry_interval",
            "max_items_per_feed",
            "user_agent",
            "reload_interval",
            "allow_private_feeds",
            "max_interval",
            "concurrency",
            "tick",
            "parse_timeout",
            "parse_memory_mb",
            "parse_workers",
        }
    )
    allow_private = polling.data.get("allow_private_feeds", False)
    if not isinstance(allow_private, bool):
        raise polling.fail("allow_private_feeds", "must be true or false")
    admin_chat = telegram.data.get("admin_chat")
    if admin_chat is not None and (isinstance(admin_chat, bool) or not isinstance(admin_chat, int)):
        raise telegram.fail(
            "admin_chat",
            "must be a chat id (a number)",
            fix="admin_chat = -1001234567890 (the group's id: /stats there shows it)",
        )
    default_interval = polling.get_int("interval", 300, minimum=30)
    watch_table = root.table("watches")
    watch_table.check_keys({"per_chat", "query_chars", "regex", "test_seconds"})
    regex = watch_table.data.get("regex", False)
    if not isinstance(regex, bool):
        raise watch_table.fail("regex", "must be true or false")
    watches = WatchLimits(
        per_chat=watch_table.get_int("per_chat", 10, minimum=0),
        query_chars=watch_table.get_int("query_chars", 300, minimum=10),
        regex=regex,
        test_seconds=watch_table.get_float("test_seconds", 5.0, minimum=0.1),
    )
    data_dir = Path(env.get("NEWSBOT_DATA_DIR") or root.get_str("data_dir", "data") or "data")

    return Settings(
        config_path=path,
        timezone=timezone,
        topics_path=topics_path,
        topics=topic_file.topics,
        aliases=topic_file.aliases,
        topic_sources=topic_file.sources,
        data_dir=data_dir,
        documents_dir=documents_dir,
        feeds=_parse_feeds(
            data.get("feeds"), text, path, default_interval, {t.id for t in topic_file.topics}
        ),
        digest_time=_parse_time(digest, "time", "08:00"),
        admins=admins,
        telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_api_url=api_url,
        fetch_timeout=polling.get_float("timeout", 20.0, minimum=1.0),
        max_feed_bytes=polling.get_int("max_bytes", 10_000_000, minimum=1024),
        documents_interval=documents.get_int("interval", 60, minimum=5),
        retry_interval=polling.get_int("retry_interval", 30, minimum=1),
        max_items_per_feed=polling.get_int("max_items_per_feed", 200, minimum=1),
        user_agent=polling.get_str("user_agent", Settings.user_agent) or Settings.user_agent,
        watches=watches,
        rates=rates,
        concurrent_sends=telegram.get_int("concurrent_sends", 1, minimum=1),
        catch_up_after=telegram.get_int("catch_up_after", 10, minimum=0),
        catch_up_minutes=telegram.get_int("catch_up_minutes", 30, minimum=1),
        reload_interval=polling.get_int("reload_interval", 30, minimum=1),
        admin_chat=admin_chat,
        allow_private_feeds=allow_private,
        poll_interval=default_interval,
        max_poll_interval=polling.get_int("max_interval", 7200, minimum=60),
        poll_concurrency=polling.get_int("concurrency", 20, minimum=1),
        feed_tick=polling.get_int("tick", 10, minimum=1),
        parse_timeout=polling.get_float("parse_timeout", 20.0, minimum=1.0),
        parse_memory_mb=polling.get_int("parse_memory_mb", 512, minimum=128),
        parse_workers=polling.get_int("parse_workers", 1, minimum=1),
    )
