"""Settings: read once from ``config/newsbot.toml``, the topics file and the environment.

Nothing reads configuration at import time. :func:`load_settings` returns a frozen
:class:`Settings` that the CLI passes to every part that needs it. Every problem is a
:class:`~bot.errors.ConfigError` naming the file, the line and the fix.

The keys, their defaults and bounds, and the environment variables are listed in one place,
:mod:`bot.config_schema`; the README's tables are generated from it.
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

from bot.config_schema import default, keys, option, typed
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

DEFAULT_API_URL = typed("telegram.api_url", str)
_DIGEST_TIME = time.fromisoformat(typed("digest.time", str))
_TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


@dataclass(frozen=True)
class WatchLimits:
    """Limits on the private topics (/watch) each chat may create."""

    per_chat: int = typed("watches.per_chat", int)
    query_chars: int = typed("watches.query_chars", int)
    regex: bool = typed("watches.regex", bool)
    test_seconds: float = typed("watches.test_seconds", float)
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
    digest_time: time = _DIGEST_TIME
    admins: frozenset[int] = frozenset()
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = DEFAULT_API_URL
    fetch_timeout: float = typed("polling.timeout", float)
    max_feed_bytes: int = typed("polling.max_bytes", int)
    documents_interval: int = typed("documents.interval", int)
    retry_interval: int = typed("polling.retry_interval", int)
    max_items_per_feed: int = typed("polling.max_items_per_feed", int)
    user_agent: str = typed("polling.user_agent", str)
    aliases: Mapping[str, str] = field(default_factory=dict)
    topic_sources: tuple[Path, ...] = ()
    """The examples files the topics read (see :class:`TopicFile`)."""
    watches: WatchLimits = field(default_factory=lambda: WatchLimits())
    rates: Rates = field(default_factory=Rates)
    concurrent_sends: int = typed("telegram.concurrent_sends", int)
    catch_up_after: int = typed("telegram.catch_up_after", int)
    catch_up_minutes: int = typed("telegram.catch_up_minutes", int)
    reload_interval: int = typed("polling.reload_interval", int)
    poll_interval: int = typed("polling.interval", int)
    """Seconds between polls of a feed that sets none (also feeds added in chats)."""
    max_poll_interval: int = typed("polling.max_interval", int)
    """The longest wait between polls of a feed that publishes rarely."""
    poll_concurrency: int = typed("polling.concurrency", int)
    """Feeds fetched at once (and at most 2 per host)."""
    feed_tick: int = typed("polling.tick", int)
    """Seconds between looks for feeds that are due."""
    admin_chat: int | None = None
    """Where operator reports go; None: each admin's private chat."""
    allow_private_feeds: bool = typed("polling.allow_private_feeds", bool)
    """May feeds added with /addfeed point at loopback or private addresses?"""
    parse_timeout: float = typed("polling.parse_timeout", float)
    """Seconds one feed may take to parse (in a worker process, killed at the deadline)."""
    parse_memory_mb: int = typed("polling.parse_memory_mb", int)
    """Address space of a parsing worker process, its own ~50 MB included."""
    parse_workers: int = typed("polling.parse_workers", int)
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

    def int_option(self, name: str) -> int:
        """The option ``table.key`` (:mod:`bot.config_schema`): its value, or its default."""
        found = option(name)
        return self.get_int(found.key, typed(name, int), int(found.minimum or 0))

    def float_option(self, name: str) -> float:
        found = option(name)
        return self.get_float(found.key, typed(name, float), float(found.minimum or 0.0))

    def str_option(self, name: str) -> str:
        found = option(name)
        return self.get_str(found.key, str(found.default)) or str(found.default)

    def bool_option(self, name: str) -> bool:
        found = option(name)
        value = self.data.get(found.key, found.default)
        if not isinstance(value, bool):
            raise self.fail(found.key, "must be true or false")
        return value

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
    root.check_keys(keys("") | {"telegram", "documents", "digest", "polling", "feeds", "watches"})
    tz_name = env.get("NEWSBOT_TIMEZONE") or root.str_option("timezone")
    timezone = _parse_timezone(tz_name, root, "timezone")

    topics_path = topics_override or (
        Path(env["NEWSBOT_TOPICS"])
        if env.get("NEWSBOT_TOPICS")
        else base / root.str_option("topics")
    )
    topic_file = load_topic_file(topics_path)

    telegram = root.table("telegram")
    telegram.check_keys(keys("telegram"))
    rates = Rates(
        overall=telegram.float_option("telegram.messages_per_second"),
        private=telegram.float_option("telegram.chat_messages_per_second"),
        group=telegram.float_option("telegram.group_messages_per_minute") / 60,
    )
    admins = _parse_admins(telegram.data.get("admins", []), telegram)
    if env.get("NEWSBOT_ADMINS"):
        try:
            admins = frozenset(int(x) for x in env["NEWSBOT_ADMINS"].split(",") if x.strip())
        except ValueError:
            raise ConfigError(
                "NEWSBOT_ADMINS must be comma-separated user ids", fix="NEWSBOT_ADMINS=123,456"
            ) from None
    api_url = env.get("NEWSBOT_TELEGRAM_API_URL") or telegram.str_option("telegram.api_url")

    documents = root.table("documents")
    documents.check_keys(keys("documents"))
    doc_path = env.get("NEWSBOT_DOCUMENTS_DIR") or documents.get_str("path", None)
    documents_dir = None
    if doc_path:
        documents_dir = Path(doc_path) if Path(doc_path).is_absolute() else base / doc_path
        if env.get("NEWSBOT_DOCUMENTS_DIR"):
            documents_dir = Path(doc_path)

    digest = root.table("digest")
    digest.check_keys(keys("digest"))
    polling = root.table("polling")
    polling.check_keys(keys("polling"))
    allow_private = polling.bool_option("polling.allow_private_feeds")
    admin_chat = telegram.data.get("admin_chat")
    if admin_chat is not None and (isinstance(admin_chat, bool) or not isinstance(admin_chat, int)):
        raise telegram.fail(
            "admin_chat",
            "must be a chat id (a number)",
            fix="admin_chat = -1001234567890 (the group's id: /stats there shows it)",
        )
    default_interval = polling.int_option("polling.interval")
    watch_table = root.table("watches")
    watch_table.check_keys(keys("watches"))
    regex = watch_table.bool_option("watches.regex")
    watches = WatchLimits(
        per_chat=watch_table.int_option("watches.per_chat"),
        query_chars=watch_table.int_option("watches.query_chars"),
        regex=regex,
        test_seconds=watch_table.float_option("watches.test_seconds"),
    )
    data_dir = Path(env.get("NEWSBOT_DATA_DIR") or root.str_option("data_dir"))

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
        digest_time=_parse_time(digest, "time", str(default("digest.time"))),
        admins=admins,
        telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_api_url=api_url,
        fetch_timeout=polling.float_option("polling.timeout"),
        max_feed_bytes=polling.int_option("polling.max_bytes"),
        documents_interval=documents.int_option("documents.interval"),
        retry_interval=polling.int_option("polling.retry_interval"),
        max_items_per_feed=polling.int_option("polling.max_items_per_feed"),
        user_agent=polling.str_option("polling.user_agent"),
        watches=watches,
        rates=rates,
        concurrent_sends=telegram.int_option("telegram.concurrent_sends"),
        catch_up_after=telegram.int_option("telegram.catch_up_after"),
        catch_up_minutes=telegram.int_option("telegram.catch_up_minutes"),
        reload_interval=polling.int_option("polling.reload_interval"),
        admin_chat=admin_chat,
        allow_private_feeds=allow_private,
        poll_interval=default_interval,
        max_poll_interval=polling.int_option("polling.max_interval"),
        poll_concurrency=polling.int_option("polling.concurrency"),
        feed_tick=polling.int_option("polling.tick"),
        parse_timeout=polling.float_option("polling.parse_timeout"),
        parse_memory_mb=polling.int_option("polling.parse_memory_mb"),
        parse_workers=polling.int_option("polling.parse_workers"),
    )
