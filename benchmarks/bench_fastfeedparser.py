"""fastfeedparser measured against feedparser and newsbot's fast reader: speed and agreement.

usage: python benchmarks/bench_fastfeedparser.py [--repeat N] [--examples N] [--no-speed]

Needs fastfeedparser (the ``bench`` extra: ``pip install -e .[bench]``) and the shared corpus
(../shared/corpus or $NEWSBOT_SHARED/corpus, as for the tests); skips without them.

Speed: entries per second on the 24 news feeds of ``bench_parse.py`` (same bytes, same run, one
core; the readers take turns, best of ``--repeat`` rounds) for ``feedparser.parse`` alone,
``parse_with_feedparser`` (the bot's reference path: bounds, feedparser, entries),
``parse_feed`` (newsbot's reader), ``fastfeedparser.parse`` alone, and fastfeedparser as the bot
would have to call it (the same bounds in front, its entries mapped to RawEntry by
:func:`fastfeedparser_feed`); and what the bounds alone cost.

Agreement: against feedparser (``parse_with_feedparser``), on the files where feedparser reads
without complaint (not bozo) and finds entries, compared as ``tests/test_parse.py`` compares
them: feedparser's own test files (wellformed, illformed, encoding, entities; replayed with
their ``Header:`` lines as Content-Type and Content-Location), the 24 news feeds, and the other
real feeds the tests replay (fastfeedparser's integration files, feed-rs's fixtures). Per field
(title, link, published, guid, author; the text of summary and content once HTML is turned into
text), how many entries agree. newsbot's reader is counted on the files it reads itself
(``parser`` is ``lxml``; it leaves the rest to feedparser, "declined"); fastfeedparser on every
file it reads, twice: declining (falling back to feedparser) on an entry without a title, the
one disagreement its output shows, and not (``ffp,untitled``). A file whose entry count differs
counts against every field. Prints up to ``--examples`` disagreements per field, with the file.

Last, a feed that declares an entity and uses it in text and in an attribute: what
fastfeedparser makes of it bare and behind newsbot's bounds (which remove the declaration).

Measured with fastfeedparser 0.6.5 (issue 12), and why the bot does not use it: on the news
feeds it agrees on titles, links and dates (1,080 of 1,080 entries), but on feedparser's test
files it gives other titles (80 files: only the text before a title's first child element,
base64 not decoded, no sanitizing, relative URIs in HTML left as they are), links (35: an Atom
id is never the link, any rel stands for alternate, a non-permalink guid becomes the link),
dates (7: created ignored, first of several values) and GUIDs (58: the link stands in for a
missing id, ids not resolved against the base) where newsbot's reader agrees on every entry of
the 1,111 files it reads; none of these shows in its output, so no fallback can catch them.
Re-measured after the reader was split into bot/sources/fastread/: the same counts. Bare it is
45-60 times feedparser, but behind the bounds the bot needs (the structure scan, since it does
not limit attributes itself) about as fast as newsbot's reader (0.9-1.0x); behind only the
quick bounds parse_feed uses, 2.6x (a lower bound it could not run safely). Bare, it expands
a declared entity in an attribute value (libxml2 does, whatever ``resolve_entities`` says).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import feedparser

try:
    import fastfeedparser
except ImportError:  # the bench extra is not installed
    fastfeedparser = None

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_parse import news_feeds  # noqa: E402

from bot.errors import ParseError  # noqa: E402
from bot.models import RawEntry  # noqa: E402
from bot.normalize import html_to_text  # noqa: E402
from bot.sources.bounds import (  # noqa: E402
    Limits,
    cap_guid,
    cap_link,
    cap_text,
    quick_check,
    without_entities,
)
from bot.sources.parse import (  # noqa: E402
    FAST,
    ParsedFeed,
    _bounded,
    parse_feed,
    parse_with_feedparser,
)

SHARED = Path(os.environ.get("NEWSBOT_SHARED", ROOT.parent / "shared")) / "corpus"
FEEDPARSER_TESTS = SHARED / "kurtmckee-feedparser" / "tests"
GROUPS = ("wellformed", "illformed", "encoding", "entities")
FIELDS = ("title", "link", "published", "guid", "author", "summary", "content")
_HEADER = re.compile(rb"^Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)
_LIMITS = Limits()
FFP = "fastfeedparser"
FFP_ALL = "ffp,untitled"


# --- fastfeedparser as the bot would call it ----------------------------------------------------


def _when(value: object) -> datetime | None:
    """fastfeedparser's ISO 8601 string as an aware UTC datetime, to the second (feedparser's
    ``struct_time`` has no fractions)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.replace(microsecond=0)


def _join(base: str, link: str | None) -> str | None:
    if not link:
        return None
    try:
        return urljoin(base, link)
    except ValueError:
        return link


def fastfeedparser_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    untitled: bool = False,
    full_check: bool = True,
) -> ParsedFeed:
    """fastfeedparser behind newsbot's bounds, its entries mapped to RawEntry.

    The mapping does what the output alone allows: ``published`` (else ``updated``) as an aware
    UTC datetime to the second, links resolved against the feed URL (fastfeedparser resolves
    none, and drops ``xml:base``), fastfeedparser's ``description`` as the summary, every
    content value joined except the one it copies from the description when an item has no
    content element. It declines (the bot
    would fall back to feedparser) where a disagreement shows: fastfeedparser raised, found no
    entries, or (unless ``untitled``) gave an entry no title (it reads only the text before a
    title's first child element). ``content_type`` is not used: fastfeedparser reads no HTTP
    headers. ``full_check=False`` puts only the quick bounds in front (entity declarations
    removed, :func:`~bot.sources.bounds.quick_check`), as :func:`parse_feed` does for its own
    reader: a lower bound on the cost, since fastfeedparser does not limit attributes itself.

    :raises ParseError: fastfeedparser declined, and why.
    """
    del content_type
    if full_check:
        body, _ = _bounded(body)
    else:  # what parse_feed's own reader needs: it counts attributes itself, fastfeedparser not
        body, _ = without_entities(body)
        quick_check(body)
    try:
        parsed = fastfeedparser.parse(body)  # bytes: a str starting with http is fetched
    except Exception as exc:
        raise ParseError(f"fastfeedparser: {type(exc).__name__}: {exc}") from None
    found = parsed.get("entries") or []
    if not found:
        raise ParseError("fastfeedparser: no entries")
    title = (parsed.get("feed") or {}).get("title")
    entries = []
    for entry in found:
        if not entry.get("title") and not untitled:
            raise ParseError("fastfeedparser: an entry without a title")
        summary = entry.get("description") or ""
        parts = [part.get("value") or "" for part in entry.get("content") or []]
        content = "\n".join(part for part in parts if part and part.strip() != summary)
        author = entry.get("author") or None
        entries.append(
            RawEntry(
                source=url,
                guid=cap_guid(entry.get("id") or None, _LIMITS.guid),
                title=cap_text(entry.get("title") or "", _LIMITS.title),
                link=cap_link(_join(url, entry.get("link")), _LIMITS.link),
                author=cap_text(author, _LIMITS.author) if author else None,
                published=_when(entry.get("published")) or _when(entry.get("updated")),
                summary=cap_text(summary, _LIMITS.text),
                content=cap_text(content, _LIMITS.text),
                html=True,
                source_name=title or url,
            )
        )
    return ParsedFeed(title, entries, None, FFP)


# --- the corpus ---------------------------------------------------------------------------------


def headers(body: bytes) -> dict[str, str]:
    """The ``Header: Name: value`` lines of a feedparser test file's leading comment."""
    if not body.lstrip().startswith(b"<!--"):
        return {}
    head = body[: body.find(b"-->")]
    return {k.decode().lower(): v.decode("latin-1") for k, v in _HEADER.findall(head)}


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    url: str
    content_type: str | None


def feedparser_cases() -> Iterator[Case]:
    for group in GROUPS:
        for path in sorted(p for p in (FEEDPARSER_TESTS / group).rglob("*") if p.is_file()):
            body = path.read_bytes()
            sent = headers(body)
            url = sent.get("content-location") or f"http://127.0.0.1:8097/{path.name}"
            name = str(path.relative_to(FEEDPARSER_TESTS))
            yield Case(name, body, url, sent.get("content-type"))


def news_cases() -> Iterator[Case]:
    for path, _title, body in news_feeds():
        yield Case(path, body, "https://news.example/feed", None)


def other_real_cases() -> Iterator[Case]:
    """The real feeds tests/test_parse.py replays besides the news feeds."""
    for parts in (
        ("kagisearch-fastfeedparser", "tests", "integration"),
        ("feed-rs", "feed-rs", "fixture"),
    ):
        folder = SHARED.joinpath(*parts)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = str(path.relative_to(SHARED))
            yield Case(name, path.read_bytes(), f"http://127.0.0.1:8097/{path.name}", None)


# --- agreement ----------------------------------------------------------------------------------


def text(value: str) -> str:
    return " ".join(html_to_text(value).split())


def value_of(entry: RawEntry, name: str) -> object:
    got = getattr(entry, name)
    return text(got) if name in ("summary", "content") else got


@dataclass
class Agreement:
    """Entries that agree with feedparser, per field, over the files a reader read."""

    files: int = 0
    entries: int = 0
    count_differs: int = 0
    declined: int = 0
    same: Counter[str] = field(default_factory=Counter)
    files_differing: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, case: Case, got: ParsedFeed, ref: ParsedFeed, keep: int) -> None:
        self.files += 1
        self.entries += len(ref.entries)
        if len(got.entries) != len(ref.entries):
            self.count_differs += 1
            for name in FIELDS:
                self.files_differing[name].add(case.name)
            note = f"{case.name}: {len(got.entries)} entries, feedparser {len(ref.entries)}"
            if len(self.examples["entries"]) < keep:
                self.examples["entries"].append(note)
            return
        for ours, theirs in zip(got.entries, ref.entries, strict=True):
            for name in FIELDS:
                mine, reference = value_of(ours, name), value_of(theirs, name)
                if mine == reference:
                    self.same[name] += 1
                    continue
                self.files_differing[name].add(case.name)
                if len(self.examples[name]) < keep and case.name not in str(self.examples[name]):
                    self.examples[name].append(
                        f"{case.name}: {_short(mine)} | feedparser {_short(reference)}"
                    )


def _short(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 90 else shown[:87] + "..."


def measure(cases: list[Case], keep: int) -> tuple[int, int, dict[str, Agreement], Counter[str]]:
    """(files feedparser reads cleanly, their entries, agreement per reader, why
    fastfeedparser declined)."""
    readers = {"newsbot": Agreement(), FFP: Agreement(), FFP_ALL: Agreement()}
    declined: Counter[str] = Counter()
    clean = clean_entries = 0
    for case in cases:
        try:
            ref = parse_with_feedparser(case.body, url=case.url, content_type=case.content_type)
        except ParseError:
            ref = None
        if ref is None or ref.warning or not ref.entries:
            continue
        clean += 1
        clean_entries += len(ref.entries)
        ours = parse_feed(case.body, url=case.url, content_type=case.content_type)
        if ours.parser == FAST:
            readers["newsbot"].add(case, ours, ref, keep)
        else:
            readers["newsbot"].declined += 1
        for name, untitled in ((FFP, False), (FFP_ALL, True)):
            try:
                theirs = fastfeedparser_feed(
                    case.body, url=case.url, content_type=case.content_type, untitled=untitled
                )
            except ParseError as exc:
                readers[name].declined += 1
                if not untitled:
                    declined[str(exc).split(":")[1].strip()[:60]] += 1
                continue
            readers[name].add(case, theirs, ref, keep)
    return clean, clean_entries, readers, declined


def report(label: str, cases: list[Case], keep: int) -> None:
    clean, entries, readers, declined = measure(cases, keep)
    print(f"\n== agreement with feedparser: {label} ==")
    print(f"{len(cases)} files; feedparser reads {clean} cleanly with entries ({entries} entries)")
    head = f"{'reader':<15} {'files':>5} {'declined':>8} {'count≠':>6} {'entries':>7} "
    print(head + " ".join(f"{name:>10}" for name in FIELDS))
    for name, got in readers.items():
        row = (
            f"{name:<15} {got.files:>5} {got.declined:>8} {got.count_differs:>6} {got.entries:>7} "
        )
        print(row + " ".join(f"{got.same[f]:>10}" for f in FIELDS))
    print("files with at least one disagreement, per field:")
    for name, got in readers.items():
        print(f"  {name:<13} " + " ".join(f"{f}={len(got.files_differing[f])}" for f in FIELDS))
    if declined:
        print(f"{FFP} declined: " + "; ".join(f"{n}x {w}" for w, n in declined.most_common(6)))
    for name, got in readers.items():
        for what, notes in got.examples.items():
            for note in notes:
                print(f"  [{name} {what}] {note}")


# --- speed --------------------------------------------------------------------------------------


def one_pass(run: Callable[[bytes], int], bodies: list[bytes]) -> tuple[float, int]:
    """(seconds, entries) of one pass over all bodies."""
    started = time.perf_counter()
    items = sum(run(body) for body in bodies)
    return time.perf_counter() - started, items


def speed(repeat: int) -> None:
    """Entries/s of each reader on the news feeds. The passes are interleaved (one of each
    reader per round, ``repeat`` rounds) so that a busy machine slows them alike; the best
    pass of each counts."""
    url = "https://news.example/feed"
    bodies = [body for _, _, body in news_feeds()]
    headers = {"content-location": url, "content-type": "application/xml"}
    runs: dict[str, Callable[[bytes], int]] = {
        "feedparser.parse": lambda b: len(
            feedparser.parse(io.BytesIO(b), response_headers=headers).entries
        ),
        "parse_with_feedparser": lambda b: len(parse_with_feedparser(b, url=url).entries),
        "parse_feed (newsbot)": lambda b: len(parse_feed(b, url=url).entries),
        "fastfeedparser.parse": lambda b: len(fastfeedparser.parse(b)["entries"]),
        "fastfeedparser+bounds+map": lambda b: len(fastfeedparser_feed(b, url=url).entries),
        "fastfeedparser+quick+map": lambda b: len(
            fastfeedparser_feed(b, url=url, full_check=False).entries
        ),
    }
    bounds: Callable[[bytes], int] = lambda b: len(_bounded(b)[0])  # noqa: E731
    size = sum(len(b) for b in bodies)
    print(f"== speed: {len(bodies)} news feeds, {size / 1e6:.1f} MB, best of {repeat} rounds ==")
    seconds = dict.fromkeys([*runs, "bounds"], float("inf"))
    items: dict[str, int] = {}
    for _ in range(repeat):
        for name, run in runs.items():
            took, items[name] = one_pass(run, bodies)
            seconds[name] = min(seconds[name], took)
        seconds["bounds"] = min(seconds["bounds"], one_pass(bounds, bodies)[0])
    base = items["feedparser.parse"] / seconds["feedparser.parse"]
    for name in runs:
        rate = items[name] / seconds[name]
        print(
            f"{name:<27} {items[name]:>5} entries {seconds[name] * 1000:>8.1f} ms "
            f"{rate:>9,.0f}/s {rate / base:>6.1f}x feedparser.parse"
        )
    print(
        f"of which the bounds (without_entities + check_structure) {seconds['bounds'] * 1000:.1f}"
        " ms, in fastfeedparser+bounds+map; parse_feed and fastfeedparser+quick+map run only"
        " without_entities + quick_check (parse_feed's reader counts attributes itself)"
    )


def entity_probe() -> None:
    """Does fastfeedparser expand a declared entity when nothing is in front of it? In an
    element's text and in an attribute (an enclosure's URL), bare and behind the bounds."""
    print('\n== a declared entity (<!ENTITY big "EXPANDED">) ==')
    for where, item in (
        ("text", "<description>a &big; b</description>"),
        ("attribute", '<enclosure url="https://x.example/&big;.mp3" type="audio/mpeg"/>'),
    ):
        body = (
            '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY big "EXPANDED">]>\n'
            '<rss version="2.0"><channel><title>t</title><item><title>t</title>'
            f"<link>https://x.example/1</link>{item}</item></channel></rss>"
        ).encode()
        for label, data in (("bare", body), ("behind the bounds", _bounded(body)[0])):
            entry = fastfeedparser.parse(data)["entries"][0]
            shown = entry.get("description") if where == "text" else entry.get("enclosures")
            print(f"{where:<9} {label:<17} fastfeedparser: {shown!r}")
        ref = feedparser.parse(io.BytesIO(_bounded(body)[0])).entries[0]
        shown = ref.get("summary") if where == "text" else ref.get("enclosures")
        print(f"{where:<9} {'behind the bounds':<17} feedparser:     {shown!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best one counts")
    parser.add_argument("--examples", type=int, default=6, help="disagreements shown per field")
    parser.add_argument("--no-speed", action="store_true", help="agreement only")
    args = parser.parse_args()
    if fastfeedparser is None:
        print("skip: fastfeedparser is not installed (pip install -e .[bench])")
        return 0
    if not FEEDPARSER_TESTS.exists() or not news_feeds():
        print(f"skip: {SHARED} not found")
        return 0
    if not args.no_speed:
        speed(args.repeat)
    report("feedparser's test files", list(feedparser_cases()), args.examples)
    report("the 24 news feeds", list(news_cases()), args.examples)
    report("other real feeds", list(other_real_cases()), args.examples)
    entity_probe()
    return 0


if __name__ == "__main__":
    sys.exit(main())
