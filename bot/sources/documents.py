"""A folder of documents (.txt, .md, .html) as a source.

The seed format is a title line, a line ``From AUTHOR, published at DATE``, then the body.
Other files fall back to their first line (or ``<title>``) and the file's modification time.
A file is re-read only when its size or mtime changed, and yields an entry only when its
content hash changed too.

The folder is untrusted: it is walked without following links (a symbolic link, to a file
or a folder, is never opened), only regular files are read, from a file descriptor opened
with ``O_NOFOLLOW | O_NONBLOCK`` relative to the folder's own descriptor, and at most
:data:`MAX_DOCUMENT_BYTES` of each. Binary files and text that is not UTF-8 are refused
with a reason; control and invisible characters never reach names or titles.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
import stat
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import yaml

from bot.errors import ParseError
from bot.models import DocumentFingerprint, RawEntry
from bot.sources.base import DocumentScan, FolderSource

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "SUFFIXES",
    "DocumentFolder",
    "decode_document",
    "parse_date",
    "parse_document",
    "printable",
]

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")
MAX_DOCUMENT_BYTES = 5_000_000
MAX_DEPTH = 20
"""Folders nested deeper than this below the documents folder are not entered."""
_READ_CHUNK = 1 << 20

# --------------------------------------------------------------------------- safe text

# C0 and C1 controls, DEL, bidi embeddings/overrides/isolates and marks, zero-width and other
# invisible format characters, line/paragraph separators, tag characters, and the lone
# surrogates a file name that is not UTF-8 decodes to.
_INVISIBLE = (
    "\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f"
)
_UNSAFE_NAME = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}\ud800-\udfff]")
_UNSAFE_LINE = _UNSAFE_NAME
# In body text, tab and newline stay, and so do the zero-width (non-)joiners that Persian,
# Indic scripts and emoji need.
_UNSAFE_BODY = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\ud800-\udfff]"
)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else (f"\\U{code:08x}")
    )


def printable(name: str) -> str:
    """``name`` safe to print: control, bidi and invisible characters written as escapes
    (``\\x1b``, ``\\u202e``), the way :func:`repr` writes them."""
    return _UNSAFE_NAME.sub(_escape, name)


def _clean_line(text: str) -> str:
    """A title or an author: one line, no control or invisible characters."""
    return " ".join(_UNSAFE_LINE.sub(lambda m: " " if m.group() < " " else "", text).split())


def _clean_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE_BODY.sub(lambda m: " " if m.group() in "\x0b\x0c\u2028\u2029" else "", text)


# --------------------------------------------------------------------------- decoding

_BINARY = "binary file, not a text document: only text files (.txt, .md, .html) are read"
_NOT_UTF8 = "not UTF-8 text: save it as UTF-8"
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]{1,40})""", re.I)
_CONTROL_BYTES = re.compile(rb"[\x01-\x08\x0e-\x1a\x1c-\x1f]")


def decode_document(data: bytes, *, html: bool = False) -> str:
    """The text of a document file: UTF-8 (with or without a byte order mark), UTF-16 with
    one, or for HTML the ``<meta charset>`` it declares.

    :raises ParseError: a binary file, or text in another encoding (the message says the fix).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ParseError(_NOT_UTF8) from None
        if "\x00" in text:
            raise ParseError(_BINARY)
        return text.removeprefix("\ufeff")
    if b"\x00" in data or len(_CONTROL_BYTES.findall(data[:65536])) * 100 > min(len(data), 65536):
        raise ParseError(_BINARY)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(data[:4096]) if html else None
    if declared:
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            codec = ""
        if codec and not codec.startswith(("utf-16", "utf-32", "utf-8")):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                raise ParseError(
                    f"not {codec} text as its <meta charset> says: save it as UTF-8"
                ) from None
    raise ParseError(_NOT_UTF8)


# --------------------------------------------------------------------------- dates

_BYLINE = re.compile(
    r"^\s*From\s+(?P<author>.+?),\s+published\s+(?:at|on)\s+(?P<date>.+?)\s*$", re.I
)
_DATE_FORMATS = (
    "%a %b %d %Y",
    "%a %b %d %Y %H:%M:%S",
    "%b %d %Y",
    "%B %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%a, %d %b %Y",
    "%A, %B %d, %Y",
    "%A, %d %B %Y",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y",
)


def _parse_when(text: str) -> tuple[datetime, bool] | None:
    """(the moment, whether only a date was given) of ``text``, or None."""
    text = text.strip().rstrip(".")
    if not text or len(text) > 100:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        date_only = ":" not in text  # "2024-09-17", not "2024-09-17T10:30"
        return (value if value.tzinfo else value.replace(tzinfo=UTC)), date_only
    except ValueError:
        pass
    # "Tue Sep 17 2024 12:30:00 GMT+0200 (Central European Summer Time)", as JavaScript writes.
    offset = timedelta(0)
    m = re.search(r"\s+GMT(?:([+-])(\d{2}):?(\d{2}))?\b.*$", text)
    head = text
    if m:
        head = text[: m.start()]
        if m.group(1):
            offset = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
            offset = -offset if m.group(1) == "-" else offset
    for fmt in _DATE_FORMATS:
        try:
            local = datetime.strptime(head, fmt).replace(tzinfo=timezone(offset))
        except ValueError:
            continue
        return local.astimezone(UTC), "%H" not in fmt
    try:  # RFC 2822, as feeds and e-mail write it
        value = parsedate_to_datetime(text)
        return (value if value.tzinfo else value.replace(tzinfo=UTC)), False
    except (TypeError, ValueError, IndexError):
        return None


def parse_date(text: str) -> datetime | None:
    """Read a date as people and feeds write it; naive dates are taken as UTC."""
    when = _parse_when(text)
    return when[0] if when else None


def _strip_label(text: str) -> str:
    """ "Published: March 3, 2025", "on 3 March 2025", "*Updated 2025-03-03*": the date."""
    text = text.strip().strip("*_ ")
    return re.sub(
        r"^(?:(?:first\s+)?published|updated|posted|date|on)\b\s*:?\s*",
        "",
        text,
        count=1,
        flags=re.I,
    )


# --------------------------------------------------------------------------- plain text, Markdown

_MAX_FRONT_MATTER_CHARS = 64_000
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # safe: plain data, no objects
_FENCES = {
    "---": re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.M),
    "+++": re.compile(r"^\+\+\+[ \t]*$", re.M),
}
_TITLE_KEYS = ("title", "headline")
_AUTHOR_KEYS = ("author", "authors", "by", "byline", "creator")
_DATE_KEYS = (
    "date",
    "published",
    "pubdate",
    "publishdate",
    "published_at",
    "date_published",
    "publish_date",
    "created",
)
_NAME_PARTICLES = frozenset(
    "and & de del della der den di da du la le van von y bin ibn al el st".split()  # noqa: SIM905
)
_BY = re.compile(r"^by\s+(?P<rest>\S.*)$", re.I)
_BY_SEPARATORS = re.compile(r"\s*(?:[|•·—–]|\s-\s|,|\s(?=on\s))\s*")


def _front_matter(text: str) -> tuple[dict[str, object] | None, str]:
    """(the fields of a YAML ``---`` or TOML ``+++`` block at the top, the text after it).

    No block (or none closed within 64,000 characters): (None, the text). A block that does not
    parse, or is not a mapping: ({}, the text after it), so the document is still read.
    """
    first, _, rest = text.partition("\n")
    fence = first.strip()
    closing = _FENCES.get(fence)
    if closing is None:
        return None, text
    head = rest[:_MAX_FRONT_MATTER_CHARS]
    end = closing.search(head)
    if end is None:
        return None, text
    block, body = head[: end.start()], rest[end.end() :]
    fields: object
    try:
        fields = yaml.load(block, Loader=_YAML_LOADER) if fence == "---" else tomllib.loads(block)
    except Exception:  # a broken block: YAMLError, TOMLDecodeError, a bad date, deep nesting
        fields = {}
    if not isinstance(fields, dict):
        fields = {}
    return {str(k).lower(): v for k, v in fields.items()}, body


def _field_text(value: object, *, nested: bool = False) -> str:
    """A front-matter field as text: a string or number, a ``{name: …}``, or (at the top) a
    list of those. Lists in lists are not followed: YAML aliases can make them huge."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)[:1000]
    if isinstance(value, dict) and not nested:
        return _field_text(value.get("name"), nested=True)
    if isinstance(value, list) and not nested:
        names = [_field_text(v, nested=True) for v in value[:20]]
        return ", ".join(n for n in names if n)[:1000]
    return ""


def _field_when(value: object) -> tuple[datetime, bool] | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC), False
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC), True
    if isinstance(value, str):
        return _parse_when(value)
    return None


def _first(fields: dict[str, object], keys: tuple[str, ...]) -> object:
    return next((fields[k] for k in keys if fields.get(k) not in (None, "", [])), None)


def _names(text: str) -> str | None:
    """``text`` if it reads as one or more names ("Jane Doe", "Jane Doe and John de Roe")."""
    words = text.strip("*_ ").replace(",", " , ").split()
    if not words or len(words) > 16 or len(text) > 120:
        return None
    capitals = 0
    for word in words:
        if word == ",":
            continue
        if word[0].isupper() and word[0].isalpha():
            capitals += 1
        elif word.lower() not in _NAME_PARTICLES:
            return None
    return text.strip(" ,*_") if capitals else None


def _by_line(line: str) -> tuple[str, tuple[datetime, bool] | None] | None:
    """(the names, the date if the line has one) of a "By NAME [| DATE]" line, or None."""
    m = _BY.match(line.strip().strip("*_ "))
    if m is None or len(line) > 200:
        return None
    rest = m.group("rest").strip()
    for sep in _BY_SEPARATORS.finditer(rest):
        when = _parse_when(_strip_label(rest[sep.end() :]))
        if when:
            names = _names(re.split(r"\s*[|•·—–]\s*", rest[: sep.start()])[0])
            return (names, when) if names else None
    names = _names(re.split(r"\s*(?:[|•·—–]|\s-\s)\s*", rest)[0])
    return (names, None) if names else None


def _text_parts(
    text: str, *, markdown: bool
) -> tuple[str, str | None, tuple[datetime, bool] | None, str]:
    """(title, author, date, body) of a plain-text or Markdown document."""
    fields, text = _front_matter(text)
    fields = fields or {}
    title = _field_text(_first(fields, _TITLE_KEYS)).strip()
    author = _field_text(_first(fields, _AUTHOR_KEYS)).strip() or None
    when = _field_when(_first(fields, _DATE_KEYS))
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not title:
        title = lines.pop(0).strip() if lines else ""
        if markdown:
            title = title.lstrip("#").strip()
    elif (
        lines and " ".join(lines[0].lstrip("#").split()).lower() == " ".join(title.split()).lower()
    ):
        lines.pop(0)  # the title again, as the first heading
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines:
        seed = _BYLINE.match(lines[0])
        by = None if seed else _by_line(lines[0])
        if seed:
            author = author or seed.group("author").strip()
            when = when or _parse_when(seed.group("date"))
            lines.pop(0)
        elif by:
            lines.pop(0)
            author = author or by[0]
            dated = by[1]
            if dated is None:
                nxt = next((i for i, line in enumerate(lines) if line.strip()), None)
                if nxt is not None and nxt <= 1:
                    dated = _parse_when(_strip_label(lines[nxt]))
                    if dated:
                        del lines[: nxt + 1]
            when = when or dated
    return title, author, when, "\n".join(lines)


# --------------------------------------------------------------------------- HTML

_HEAD_CHARS = 262_144
_META_AUTHOR = (
    "author",
    "article:author",
    "byl",
    "dc.creator",
    "dcterms.creator",
    "parsely-author",
    "sailthru.author",
    "og:article:author",
)
_META_DATE = (
    "article:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "publish-date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.created",
    "parsely-pub-date",
    "sailthru.date",
    "og:published_time",
    "og:article:published_time",
)


class _HeadReader(HTMLParser):
    """The ``<title>``, the first ``<h1>``, the ``<meta>`` fields and ``<time>`` dates."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.h1: list[str] = []
        self.meta: dict[str, str] = {}
        self.times: list[str] = []
        self._in: str | None = None
        self._seen: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta" and values.get("content", "").strip():
            for key in ("name", "property", "itemprop"):
                name = values.get(key, "").strip().lower()
                if name:
                    self.meta.setdefault(name, values["content"].strip()[:1000])
        elif (
            tag == "time"
            and values.get("datetime")
            and (values.get("itemprop", "").lower() == "datepublished" or "pubdate" in values)
        ):
            self.times.append(values["datetime"][:100])
        elif tag in ("title", "h1") and tag not in self._seen:
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._seen.add(tag)
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title.append(data)
        elif self._in == "h1":
            self.h1.append(data)


def _tagless(parts: list[str]) -> str:
    return " ".join(re.sub(r"<[^>]*>", " ", "".join(parts)).split())


def _html_parts(text: str) -> tuple[str, str | None, tuple[datetime, bool] | None, str]:
    """(title, author, date, body without the head) of an HTML document."""
    reader = _HeadReader()
    try:
        reader.feed(text[:_HEAD_CHARS])
        reader.close()
    except Exception:  # html.parser is lenient; a last resort for odd input
        pass
    meta = reader.meta
    title = _tagless(reader.title) or meta.get("og:title", "") or _tagless(reader.h1)
    author = next(
        (
            v
            for k in _META_AUTHOR
            if (v := meta.get(k, "")) and not v.startswith(("http:", "https:"))
        ),
        None,
    )
    if author and author.lower().startswith("by "):
        author = author[3:]
    when = next((w for k in _META_DATE if k in meta and (w := _parse_when(meta[k]))), None) or next(
        (w for t in reader.times if (w := _parse_when(t))), None
    )
    body = text
    start = re.search(r"<head\b", text, re.I)
    if start:
        end = re.compile(r"</head\s*>", re.I).search(text, start.end())
        if end:
            body = text[: start.start()] + text[end.end() :]
    return title, author, when, body


# --------------------------------------------------------------------------- documents


def parse_document(path: Path, data: bytes, *, source: str, mtime: datetime) -> RawEntry:
    """One document file as a raw entry.

    :raises ParseError: a binary file, or text that is not UTF-8 (the message says the fix).
    """
    suffix = path.suffix.lower()
    is_html = suffix in HTML_SUFFIXES
    text = decode_document(data, html=is_html)
    if is_html:
        title, author, when, body = _html_parts(text)
    else:
        title, author, when, body = _text_parts(text, markdown=suffix in (".md", ".markdown"))
    title = _clean_line(title) or _clean_line(printable(path.stem).replace("_", " "))
    return RawEntry(
        source=source,
        guid=None,
        title=title,
        link=None,
        author=(_clean_line(author) or None) if author else None,
        published=when[0] if when else mtime,
        summary="",
        content=_clean_body(body),
        html=is_html,
        source_name=f"document {printable(path.name)}",
        date_only=when[1] if when else False,
    )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _read_capped(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(_READ_CHUNK, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_LINKED = "a symbolic link, not followed: only files inside the folder are read (copy it in)"
_LINKED_FOLDER = (
    "a symbolic link to a folder, not entered: only files inside the folder are read (move it in)"
)


class DocumentFolder(FolderSource):
    """Every .txt, .md and .html file below ``folder`` is an item.

    A file that is refused (a link, not a regular file, too big, binary, not UTF-8) is
    reported once in :attr:`DocumentScan.errors` and its fingerprint returned in
    :attr:`DocumentScan.touched`, so it is read again when it changes, and not before.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def scan(self, known: dict[str, DocumentFingerprint]) -> DocumentScan:
        scan = DocumentScan()
        try:
            root = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            scan.errors.append(f"documents folder {printable(str(self.folder))} does not exist")
            return scan
        try:
            self._walk(root, "", 0, known, scan)
        finally:
            os.close(root)
        return scan

    def _walk(
        self,
        dir_fd: int,
        prefix: str,
        depth: int,
        known: dict[str, DocumentFingerprint],
        scan: DocumentScan,
    ) -> None:
        try:
            with os.scandir(dir_fd) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            scan.errors.append(f"{prefix or '.'}: {exc.strerror or exc}")
            return
        for name in names:
            if name.startswith("."):
                continue
            rel = prefix + printable(name)
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError as exc:
                scan.errors.append(f"{rel}: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(st.st_mode):
                self._enter(dir_fd, name, rel, depth, known, scan)
                continue
            linked_folder = stat.S_ISLNK(st.st_mode) and _is_folder(name, dir_fd)
            if Path(name).suffix.lower() not in SUFFIXES and not linked_folder:
                continue
            old = known.get(rel)
            if old and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
                scan.unchanged += 1
                continue
            if stat.S_ISLNK(st.st_mode):
                _refuse(scan, rel, st, _LINKED_FOLDER if linked_folder else _LINKED)
            elif not stat.S_ISREG(st.st_mode):
                _refuse(scan, rel, st, f"{_kind(st.st_mode)}: only regular files are read")
            else:
                self._read(dir_fd, name, rel, old, scan)

    def _enter(
        self,
        dir_fd: int,
        name: str,
        rel: str,
        depth: int,
        known: dict[str, DocumentFingerprint],
        scan: DocumentScan,
    ) -> None:
        if depth >= MAX_DEPTH:
            scan.errors.append(f"{rel}: nested over {MAX_DEPTH} folders deep, not entered")
            return
        try:
            sub = os.open(name, _OPEN_DIR, dir_fd=dir_fd)
        except OSError as exc:  # ELOOP: it became a link since it was listed
            scan.errors.append(f"{rel}: {exc.strerror or exc}")
            return
        try:
            self._walk(sub, rel + "/", depth + 1, known, scan)
        finally:
            os.close(sub)

    def _read(
        self,
        dir_fd: int,
        name: str,
        rel: str,
        old: DocumentFingerprint | None,
        scan: DocumentScan,
    ) -> None:
        try:
            fd = os.open(name, _OPEN_FILE, dir_fd=dir_fd)
        except OSError as exc:
            reason = _LINKED if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
            scan.errors.append(f"{rel}: {reason}")
            return
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):  # replaced since it was listed
                _refuse(scan, rel, st, f"{_kind(st.st_mode)}: only regular files are read")
                return
            data = _read_capped(fd, MAX_DOCUMENT_BYTES + 1)
        except OSError as exc:
            scan.errors.append(f"{rel}: {exc.strerror or exc}")
            return
        finally:
            os.close(fd)
        fp = DocumentFingerprint(rel, st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())
        if len(data) > MAX_DOCUMENT_BYTES:
            scan.errors.append(
                f"{rel}: over the 5 MB limit ({MAX_DOCUMENT_BYTES:,} bytes): shorten or split it"
            )
            scan.touched.append(fp)
            return
        if old and old.sha256 == fp.sha256:
            # Touched but not changed: remember the new mtime, do not re-read it as news.
            scan.touched.append(fp)
            scan.unchanged += 1
            return
        mtime = datetime.fromtimestamp(st.st_mtime, UTC)
        try:
            raw = parse_document(Path(rel), data, source=f"file:{rel}", mtime=mtime)
        except ParseError as exc:
            scan.errors.append(f"{rel}: {exc}")
            scan.touched.append(fp)  # reported once; read again when it changes
            return
        scan.entries.append((fp, raw))


def _is_folder(name: str, dir_fd: int) -> bool:
    """Whether the link ``name`` points to a folder (its target's metadata, nothing read)."""
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def _refuse(scan: DocumentScan, rel: str, st: os.stat_result, reason: str) -> None:
    """Report ``rel`` once; its metadata is remembered so it is looked at again when it changes."""
    scan.errors.append(f"{rel}: {reason}")
    scan.touched.append(DocumentFingerprint(rel, st.st_size, st.st_mtime_ns, ""))
