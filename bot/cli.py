"""The ``newsbot`` command line. Top layer: parses arguments, loads settings once, calls down.

Exit codes: 0 success, 1 the work failed (e.g. a digest could not be sent), 2 bad input
(missing file, invalid TOML, unknown topic, invalid query).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot import __version__, inflect
from bot.clauses import explain_lines, model_lines
from bot.config import Settings, load_settings, load_topic_file
from bot.errors import ConfigError, NewsbotError, ParseError
from bot.feedback import kind_label
from bot.logsetup import setup_logging
from bot.match import Matcher, train_models
from bot.models import Item, Match, RawEntry
from bot.normalize import normalize
from bot.notify.base import Notifier
from bot.notify.console import ConsoleNotifier
from bot.query import TokenizedText
from bot.render import feed_health
from bot.services.feedback import ItemVotes
from bot.sources.documents import SUFFIXES, parse_document, printable
from bot.sources.opml import read_opml, write_opml
from bot.sources.parse import parse_feed
from bot.storage.base import CONSOLE_CHAT_ID, Store
from bot.storage.lock import DataDirLock, Holder
from bot.storage.sqlite import SQLiteStore
from bot.stories import assign_all
from bot.summarize import summarize

__all__ = ["main"]

DEFAULT_CONFIG = Path("config") / "newsbot.toml"
_FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".feed")


def _default_config() -> Path:
    """``config/newsbot.toml`` here, else the one beside the package (a source checkout)."""
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    beside = Path(__file__).resolve().parent.parent / DEFAULT_CONFIG
    return beside if beside.exists() else DEFAULT_CONFIG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Watch news feeds and documents; alert Telegram subscribers about topics.",
    )
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (env NEWSBOT_CONFIG; default config/newsbot.toml)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser(
        "run",
        help="run the service: scheduler and Telegram bot",
        description="Run the service until SIGINT or SIGTERM: poll the feeds as they come due "
        "and scan the documents folder, send alerts and daily digests, answer Telegram "
        "commands (without TELEGRAM_BOT_TOKEN, alerts are printed on the console). One "
        "service per data directory.",
    )
    poll = sub.add_parser("poll", help="poll every feed and the documents once, then exit")
    poll.add_argument(
        "--dry-run",
        action="store_true",
        help="preview: treat every current item as new, print the alerts each subscribed chat "
        "would get; store and send nothing",
    )
    digest = sub.add_parser("digest", help="send the digest now")
    digest.add_argument("--chat", type=int, metavar="ID", help="only this chat (default: all)")
    digest.add_argument(
        "--dry-run", action="store_true", help="print the digest; send and record nothing"
    )
    digest.add_argument(
        "--markdown",
        action="store_true",
        help="print one chat's digest as Markdown (the console's without --chat); records nothing",
    )
    match = sub.add_parser("match", help="match files against the topics; stores nothing")
    match.add_argument("paths", nargs="+", metavar="PATH", help="documents or feed files (XML)")
    match.add_argument("--topics", metavar="FILE", type=Path, help="topics file to use")
    match.add_argument("--json", action="store_true", help="one JSON object per item and line")
    match.add_argument(
        "--explain", action="store_true", help="show every topic's query tree, clause by clause"
    )
    feeds = sub.add_parser("feeds", help="each feed's health and schedule; import or export OPML")
    feeds.add_argument("action", nargs="?", choices=("list", "import", "export"), default="list")
    feeds.add_argument("file", nargs="?", type=Path, help="the OPML file to import")
    topics = sub.add_parser(
        "topics",
        help="readers' 👍/👎 on the topics' alerts; fold them into a topic's examples",
        description="'feedback [TOPIC]' lists the chats' votes on each topic's alerts, item by "
        "item: accepted (the chats agree), disputed, or already in the examples. 'learn TOPIC' "
        "appends the accepted ones to the topic's examples_file (👍 a positive example, 👎 a "
        "negative one); the topic trains on them at the next start or check-config.",
    )
    topics.add_argument("action", choices=("feedback", "learn"))
    topics.add_argument("topic", nargs="?", help="a topic id (required for learn)")
    topics.add_argument(
        "--skip",
        type=int,
        nargs="+",
        default=[],
        metavar="ITEM",
        help="learn: leave out these items (the numbers 'feedback' shows)",
    )
    sub.add_parser(
        "check-config",
        help="validate the config and topics (and train their learned layers), then exit",
    )
    evaluate = sub.add_parser(
        "eval",
        help="precision, recall and F1 of the topics on labelled items, and the misses",
        description="Score the topics on a JSON Lines file of labelled items (the format of "
        "an examples_file: title, description, and a 0/1 column per topic named after its id "
        "with - written _). Topics without a column are skipped.",
    )
    evaluate.add_argument("labels", type=Path, metavar="LABELS.jsonl")
    evaluate.add_argument("--topics", metavar="FILE", type=Path, help="topics file to use")
    evaluate.add_argument(
        "--query-only", action="store_true", help="without the learned layers (the queries alone)"
    )
    evaluate.add_argument(
        "--misses", type=int, default=20, metavar="N", help="list at most N misses per kind"
    )
    return parser


def _settings(args: argparse.Namespace, topics: Path | None = None) -> Settings:
    path = Path(args.config or os.environ.get("NEWSBOT_CONFIG") or _default_config())
    return load_settings(path, os.environ, topics_override=topics)


# --------------------------------------------------------------------------- match


def _looks_like_feed(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return False
    # XML (also UTF-16 with or without BOM), or JSON, which may be a JSON Feed.
    return head.startswith((b"<", b"{", b"\xff\xfe", b"\xfe\xff", b"\x00<"))


def _read_entries(path: Path) -> list[RawEntry]:
    """A feed file (by suffix, or by its first bytes when it has none) or a document."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in _FEED_SUFFIXES or (suffix not in SUFFIXES and _looks_like_feed(data)):
        return parse_feed(data, url=path.resolve().as_uri(), source_name=path.name).entries
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return [parse_document(path, data, source=f"file:{path.name}", mtime=mtime)]


def _expand(paths: Sequence[str]) -> Iterator[Path]:
    """Files named, and in folders every feed or document file (any file without a suffix)."""
    wanted = (*SUFFIXES, *_FEED_SUFFIXES, "")
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            yield path
            continue
        for child in sorted(path.rglob("*")):
            hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
            if child.is_file() and not hidden and child.suffix.lower() in wanted:
                yield child


def _match_json(entry_matches: list[Match], item_fields: dict[str, object]) -> str:
    item_fields["topics"] = [
        {
            "topic": m.topic_id,
            "score": m.score,
            "why": m.why(),
            "evidence": [
                {"term": e.term, "field": e.field, "count": e.count, "snippet": e.snippet}
                for e in m.evidence
            ],
            **(
                {
                    "model": {
                        "score": m.model.score,
                        "threshold": m.model.threshold,
                        "terms": [list(t) for t in m.model.terms],
                    }
                }
                if m.model is not None
                else {}
            ),
        }
        for m in entry_matches
    ]
    return json.dumps(item_fields, ensure_ascii=False)


def _matcher(args: argparse.Namespace, learned: bool = True) -> Matcher:
    """The topics of ``--topics FILE`` or of the config, with their learned layers (cached in
    the data directory: the config's, or ``NEWSBOT_DATA_DIR`` with ``--topics``; without one,
    in the cache folder)."""
    model_dir: Path | None
    if args.topics:
        topic_file = load_topic_file(args.topics)
        topics, aliases = topic_file.topics, topic_file.aliases
        data_dir = os.environ.get("NEWSBOT_DATA_DIR")
        model_dir = Path(data_dir) / "models" if data_dir else None
    else:
        settings = _settings(args)
        topics, aliases, model_dir = settings.topics, settings.aliases, settings.model_dir
    if model_dir is None or not model_dir.parent.is_dir():
        # No data directory yet (a first try of a topic): models are a cache, kept with the
        # word forms, so the next run does not train them again.
        model_dir = _forms_cache().parent / "models"
        with contextlib.suppress(OSError):
            model_dir.parent.mkdir(parents=True, exist_ok=True)
    matcher = Matcher(topics, aliases)
    if learned:
        train_models(matcher, topics, model_dir)
    return matcher


def cmd_match(args: argparse.Namespace, out: TextIO) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise ConfigError("no such file or folder", path=missing[0], fix="check the path")
    matcher = _matcher(args)
    failures = files = 0
    read: list[tuple[Path, Item]] = []
    for path in _expand(args.paths):
        files += 1
        try:
            entries = _read_entries(path)
        except (ParseError, OSError) as exc:
            failures += 1
            print(f"newsbot: {printable(str(path))}: {exc}", file=sys.stderr)
            continue
        read.extend((path, normalize(raw)) for raw in entries)
    stories: dict[str, str] = {}
    if args.json:
        # Stories over everything read, oldest first, whatever the order of the files: items
        # with the same "story" value are those newsbot would group.
        ordered = sorted({i.key: i for _, i in read}.values(), key=lambda i: (i.published, i.key))
        stories = {
            item.key: story.story_id
            for item, story in zip(ordered, assign_all(ordered), strict=True)
        }
    for path, item in read:
        doc = matcher.index(item)
        matches = matcher.match_doc(doc)
        summary = summarize(item.title, item.text)
        if args.explain:
            _print_explanation(matcher, item, doc, matches, out)
            continue
        if args.json:
            fields: dict[str, object] = {
                "id": item.id,
                "key": item.key,
                "title": item.title,
                "link": item.link,
                "author": item.author,
                "source": item.source_name,
                "published": item.published.isoformat(),
                "file": printable(str(path)),
                "story": stories[item.key],
            }
            fields["summary"] = summary
            print(_match_json(matches, fields), file=out)
        else:
            tags = ", ".join(f"{m.topic_id} ({m.score:g})" for m in matches) or "no topic"
            print(f"{item.published:%Y-%m-%d}  {item.title}  [{tags}]", file=out)
            for m in matches:
                print(f"    why {m.topic_id}: {m.why()}", file=out)
            if matches and summary:
                print(f"    summary: {summary}", file=out)
    if files and failures == files:
        return 2
    return 0


def _print_explanation(
    matcher: Matcher, item: Item, doc: dict[str, TokenizedText], matches: list[Match], out: TextIO
) -> None:
    """Every topic: matched or not, its score, and the query tree with each clause marked."""
    print(f"{item.published:%Y-%m-%d}  {item.title}", file=out)
    print(f"  source: {item.source_name}" + (f"  link: {item.link}" if item.link else ""), file=out)
    by_id = {m.topic_id: m for m in matches}
    for compiled in matcher.topics:
        match = by_id.get(compiled.topic.id)
        verdict = f"✓ matched, score {match.score:g}" if match else "✗ no match"
        if match is not None and match.model is not None:
            verdict = f"✓ matched by the learned layer ({match.model.why(5)})"
        print(f"  {compiled.topic.id}: {verdict}", file=out)
        for line in explain_lines(compiled.tree, doc):
            print(f"      {line}", file=out)
        model = matcher.models.get(compiled.topic.id)
        if model is not None:
            for line in model_lines(model, doc, compiled.topic.id in matcher.model_candidates(doc)):
                print(f"      {line}", file=out)
    print(file=out)


# --------------------------------------------------------------------------- eval


def _read_labels(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(line number, object) for each labelled item. :raises ConfigError: not JSON Lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("labels file not found", path=str(path), fix="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the labels: {exc}", path=str(path)) from None
    rows: list[tuple[int, dict[str, object]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON: {exc.msg}", path=str(path), line=number, fix="one object per line"
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("title"), str):
            raise ConfigError(
                "each line must be an object with a title",
                path=str(path),
                line=number,
                fix='{"id": "…", "title": "…", "description": "…", "isis": 0}',
            )
        rows.append((number, row))
    return rows


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    """Precision, recall and F1 per topic on labelled items, then the misses of each kind."""
    rows = _read_labels(args.labels)
    matcher = _matcher(args, learned=not args.query_only)
    predicted: list[dict[str, Match]] = []
    for number, row in rows:
        raw = RawEntry(
            source="eval",
            guid=str(row.get("id") or number),
            title=str(row["title"]),
            link=None,
            author=None,
            published=None,
            summary=str(row.get("description") or ""),
            content="",
        )
        predicted.append({m.topic_id: m for m in matcher.match(normalize(raw))})
    scored = 0
    for compiled in matcher.topics:
        topic_id = compiled.topic.id
        column = topic_id.replace("-", "_")
        labelled = [(n, r, p) for (n, r), p in zip(rows, predicted, strict=True) if column in r]
        if not labelled:
            continue
        scored += 1
        missed: list[str] = []
        alarms: list[str] = []
        tp = 0
        for number, row, found in labelled:
            gold = row[column]
            if gold not in (0, 1):
                raise ConfigError(
                    f"{column} must be 0 or 1, not {gold!r}", path=str(args.labels), line=number
                )
            match = found.get(topic_id)
            name = f"{row.get('id') or f'line {number}'}  {printable(str(row['title']))[:100]}"
            if gold and match is not None:
                tp += 1
            elif gold:
                missed.append(name)
            elif match is not None:
                how = f"  [{match.model.why(3)}]" if match.model is not None else ""
                alarms.append(name + how)
        fp, fn = len(alarms), len(missed)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        layer = " (query and learned layer)" if topic_id in matcher.models else ""
        print(
            f"{topic_id}{layer}: P {p:.2f} R {r:.2f} F1 {f1:.3f} "
            f"(tp {tp} fp {fp} fn {fn}, {len(labelled)} items)",
            file=out,
        )
        for lines, kind in ((missed, "missed"), (alarms, "false alarms")):
            if not lines:
                continue
            print(f"  {kind} ({len(lines)}):", file=out)
            for line in lines[: args.misses]:
                print(f"    {line}", file=out)
            if len(lines) > args.misses:
                print(f"    … {len(lines) - args.misses} more (--misses N)", file=out)
    if not scored:
        names = ", ".join(t.topic.id.replace("-", "_") for t in matcher.topics)
        raise ConfigError(
            "no topic has labels in this file",
            path=str(args.labels),
            fix=f"label columns are named after the topics: {names}",
        )
    return 0


# --------------------------------------------------------------------------- poll / digest


def _dry_run_store(settings: Settings, *, forget_items: bool) -> Store:
    """A copy of the database in memory: the real code path runs, nothing is written to disk.

    With ``forget_items`` the copy keeps chats and subscriptions but nothing that was seen,
    so a dry run previews every current item as new (and fetches feeds unconditionally).
    """
    memory = SQLiteStore.copy_of(settings.database_path)
    if forget_items:
        for table in ("deliveries", "matches", "items", "feeds", "documents"):
            memory.db.execute(f"DELETE FROM {table}")
    return memory


LOCK_WAIT = 600.0
"""Seconds a poll or digest waits for another one on the same data directory to finish."""


def _own_data_dir(settings: Settings, command: str) -> DataDirLock:
    """The data directory's lock for ``command``, waiting for another poll or digest to end,
    refusing to run beside the service (which polls and sends by itself)."""
    lock = DataDirLock(settings.data_dir, command)

    def waiting(holder: Holder) -> None:
        print(f"newsbot: waiting for {holder.describe()} to finish…", file=sys.stderr)

    lock.acquire(wait=LOCK_WAIT, on_wait=waiting, refuse=lambda h: h.command == "run")
    return lock


async def _poll(settings: Settings, dry_run: bool, out: TextIO) -> int:
    store = _dry_run_store(settings, forget_items=True) if dry_run else None
    notifiers: dict[str, Notifier] | None = None
    if dry_run:
        label = "[dry-run] would send"
        printer = ConsoleNotifier(out, label=label)
        notifiers = {"console": printer, "telegram": printer}
    lock = None if dry_run else _own_data_dir(settings, "poll")
    try:
        return await _poll_once(settings, store, notifiers, dry_run, out, lock is not None)
    finally:
        if lock is not None:
            lock.release()


async def _poll_once(
    settings: Settings,
    store: Store | None,
    notifiers: dict[str, Notifier] | None,
    dry_run: bool,
    out: TextIO,
    owner: bool,
) -> int:
    from bot.service import open_runtime

    async with open_runtime(
        settings, store=store, notifiers=notifiers, console=out, owner=owner
    ) as runtime:
        report = await runtime.pipeline.poll_all(runtime.pipeline.all_feeds())
        failed = [f for f in report.feeds if not f.ok and not f.skipped]
        if report.network_down and failed:
            print(
                f"newsbot: no feed could be reached ({failed[0].error}): this machine looks "
                "offline; no feed was counted as failing, they are tried again next time",
                file=sys.stderr,
            )
        else:
            for feed in failed:
                print(f"feed failed: {feed.url}: {feed.error}", file=sys.stderr)
        for error in report.documents_errors:
            print(f"documents: {error}", file=sys.stderr)
        delivered = await runtime.pipeline.deliver_pending()
        print(
            ("[dry-run] " if dry_run else "")
            + report.line()
            + f", {delivered.sent} "
            + ("would be sent" if dry_run else "sent"),
            file=out,
        )
    return 0


async def _digest(settings: Settings, chat: int | None, dry_run: bool, out: TextIO) -> int:
    store = _dry_run_store(settings, forget_items=False) if dry_run else None
    notifiers: dict[str, Notifier] | None = None
    if dry_run:
        printer = ConsoleNotifier(out, label="[dry-run] digest")
        notifiers = {"console": printer, "telegram": printer}
    lock = None if dry_run else _own_data_dir(settings, "digest")
    try:
        return await _digest_now(settings, store, notifiers, chat, dry_run, out, lock is not None)
    finally:
        if lock is not None:
            lock.release()


async def _digest_now(
    settings: Settings,
    store: Store | None,
    notifiers: dict[str, Notifier] | None,
    chat: int | None,
    dry_run: bool,
    out: TextIO,
    owner: bool,
) -> int:
    from bot.service import open_runtime

    async with open_runtime(
        settings, store=store, notifiers=notifiers, console=out, owner=owner
    ) as runtime:
        pipeline = runtime.pipeline
        if chat is not None:
            if runtime.pipeline.chats.chat(chat) is None:
                raise ConfigError(f"unknown chat {chat}", fix="the chat must /start the bot first")
            ok = await pipeline.send_digest(chat)
            return 0 if ok else 1
        sent = await pipeline.send_digests()
        verb = "would be sent" if dry_run else "sent"
        print(f"{sent} digest{'s' if sent != 1 else ''} {verb}", file=sys.stderr)
    return 0


async def _feeds(settings: Settings, action: str, file: Path | None, out: TextIO) -> int:
    from bot.service import open_runtime

    async with open_runtime(settings, console=out) as runtime:
        pipeline = runtime.pipeline
        if action == "export":
            print(write_opml(pipeline.all_feeds()), file=out, end="")
            return 0
        if action == "import":
            if file is None:
                raise ConfigError("no OPML file given", fix="newsbot feeds import FILE.opml")
            try:
                listed = read_opml(file.read_bytes(), interval=settings.poll_interval)
            except OSError as exc:
                raise ConfigError(f"cannot read it: {exc.strerror}", path=str(file)) from None
            except ParseError as exc:
                raise ConfigError(str(exc), path=str(file)) from None
            added, known = pipeline.import_feeds(listed.feeds)
            print(f"{added} feeds added, {known} already polled", file=out)
            for reason in listed.skipped:
                print(f"skipped {reason}", file=out)
            return 0
        now = pipeline.clock()
        for feed in pipeline.all_feeds():
            state = runtime.pipeline.reports.feed_state(feed)
            print(feed_health(feed, state, now, settings.timezone), file=out)
    return 0


def _vote_line(votes: ItemVotes, tz: ZoneInfo) -> str:
    tally = " ".join(
        [f"👍{votes.ups}"] * (votes.ups > 0) + [f"👎{votes.downs}"] * (votes.downs > 0)
    )
    when = votes.item.published.astimezone(tz).strftime("%Y-%m-%d")
    title = printable(votes.item.title)[:90]
    return (
        f"  #{votes.item_ref:<6} {tally:<9} {votes.status:<11} {when}  {title}"
        f"  [{printable(votes.item.source_name)}; {kind_label(votes.kind)}]"
    )


async def _topics(
    settings: Settings, action: str, topic: str | None, skip: Sequence[int], out: TextIO
) -> int:
    from bot.service import open_runtime

    if action == "learn" and not topic:
        raise ConfigError("which topic?", fix="newsbot topics learn TOPIC")
    async with open_runtime(settings, console=out) as runtime:
        feedback = runtime.pipeline.feedback
        if action == "learn":
            assert topic is not None
            result = feedback.learn(topic, set(skip))
            positive = sum(1 for v in result.added if v.positive)
            print(
                f"{topic}: {len(result.added)} examples added to {result.path} "
                f"({positive} positive, {len(result.added) - positive} negative); "
                f"{len(result.skipped)} left out (disputed, already there or --skip)",
                file=out,
            )
            if result.added:
                print("they train the topic at the next start (or newsbot check-config)", file=out)
            return 0
        for review in feedback.review(topic):
            ups = sum(v.ups for v in review.items)
            downs = sum(v.downs for v in review.items)
            print(
                f"{review.topic.id}: {len(review.items)} items voted on (👍 {ups}, 👎 {downs})",
                file=out,
            )
            for votes in review.items:
                print(_vote_line(votes, settings.timezone), file=out)
            for chat_id, tuning in sorted(review.tunings.items()):
                parts = []
                if tuning.threshold is not None:
                    parts.append(f"learned threshold {tuning.threshold:.2f}")
                parts += [f"stopped {kind_label(k)}" for k in sorted(tuning.stopped)]
                if parts:
                    print(f"  chat {chat_id}: " + "; ".join(parts), file=out)
    return 0


async def _digest_markdown(settings: Settings, chat: int | None, out: TextIO) -> int:
    from bot.service import open_runtime

    chat_id = CONSOLE_CHAT_ID if chat is None else chat
    async with open_runtime(settings, console=out) as runtime:
        if runtime.pipeline.chats.chat(chat_id) is None:
            raise ConfigError(f"unknown chat {chat_id}", fix="the chat must /start the bot first")
        print(runtime.pipeline.digest_markdown(chat_id), file=out, end="")
    return 0


# --------------------------------------------------------------------------- main


def _forms_cache() -> Path:
    """Where the word forms computed for queries are kept between runs (not state: deleting
    it only costs the next start 0.4 s): ``NEWSBOT_CACHE_DIR``, else the XDG cache folder."""
    folder = os.environ.get("NEWSBOT_CACHE_DIR")
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = str(Path(base) / "newsbot")
    return Path(folder) / "forms.json"


def _load_forms(path: Path) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # none yet, or unreadable: the forms are computed again
    if isinstance(data, dict) and data.get("version") == inflect.dictionary_version():
        table = data.get("forms")
        if isinstance(table, dict):
            inflect.preload({k: v for k, v in table.items() if isinstance(v, list)})


def _save_forms(path: Path) -> None:
    """Add the forms computed in this run to the cache (written whole, then renamed)."""
    new = inflect.computed()
    if not new:
        return
    table: dict[str, list[str]] = {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") == inflect.dictionary_version():
            table = dict(data.get("forms") or {})
    except (OSError, ValueError, AttributeError):
        pass
    table.update(new)
    body = json.dumps({"version": inflect.dictionary_version(), "forms": table}, sort_keys=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(body, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:  # a read-only home: the next run computes them again
        logging.getLogger(__name__).debug("word forms not cached in %s: %s", path, exc)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the ``newsbot`` command. :returns: the exit code."""
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "")
    level = logging.INFO if args.command == "run" else logging.ERROR
    level = max(logging.DEBUG, level - 10 * args.verbose)
    setup_logging(level, secrets=[token])
    cache = _forms_cache()
    _load_forms(cache)
    try:
        return _command(args, out)
    finally:
        _save_forms(cache)


def _command(args: argparse.Namespace, out: TextIO) -> int:
    try:
        if args.command == "match":
            return cmd_match(args, out)
        if args.command == "eval":
            return cmd_eval(args, out)
        settings = _settings(args)
        if args.command == "check-config":
            print(
                f"{settings.config_path}: ok: {len(settings.topics)} topics, "
                f"{len(settings.feeds)} feeds, documents {settings.documents_dir or 'off'}, "
                f"Telegram {'on' if settings.telegram_token else 'off (console)'}",
                file=out,
            )
            for note in train_models(
                Matcher(settings.topics, settings.aliases), settings.topics, settings.model_dir
            ):
                print(f"  {note}", file=out)
            return 0
        if args.command == "poll":
            return asyncio.run(_poll(settings, args.dry_run, out))
        if args.command == "feeds":
            return asyncio.run(_feeds(settings, args.action, args.file, out))
        if args.command == "topics":
            return asyncio.run(_topics(settings, args.action, args.topic, args.skip, out))
        if args.command == "digest":
            if args.markdown:
                return asyncio.run(_digest_markdown(settings, args.chat, out))
            return asyncio.run(_digest(settings, args.chat, args.dry_run, out))
        if args.command == "run":
            from bot.service import run_service

            asyncio.run(run_service(settings))
            return 0
    except ConfigError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into head or less, closed early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        # Logged through the redacting filter: library messages may carry the bot token.
        logging.getLogger("bot").critical("unexpected error", exc_info=True)
        print(
            f"newsbot: unexpected error: {type(exc).__name__} (see the log above)", file=sys.stderr
        )
        return 1
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover
