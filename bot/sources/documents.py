"""A folder of documents (.txt, .md, .html) as a source.

The seed format is a title line, a line ``From AUTHOR, published at DATE``, then the body.
Other files fall back to their first line (or ``<title>``) and the file's modification time.
A file is re-read only when its size or mtime changed, and yields an entry only when its
content hash changed too.
"""

from __future__ import annotations

import hashlib
import html as htmlmod
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

from bot.models import DocumentFingerprint, RawEntry
from bot.sources.base import DocumentScan, FolderSource

__all__ = ["SUFFIXES", "DocumentFolder", "parse_date", "parse_document"]

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_DOCUMENT_BYTES = 5_000_000
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
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y",
)


def parse_date(text: str) -> datetime | None:
    """Read a date as people and feeds write it; naive dates are taken as UTC."""
    text = text.strip().rstrip(".")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=UTC)
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
        return local.astimezone(UTC)
    try:  # RFC 2822, as feeds and e-mail write it
        value = parsedate_to_datetime(text)
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        return None


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _html_parts(text: str) -> tuple[str, str]:
    m = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S) or re.search(
        r"<h1[^>]*>(.*?)</h1>", text, re.I | re.S
    )
    title = htmlmod.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip() if m else ""
    body = re.sub(r"<head\b.*?</head>", "", text, flags=re.I | re.S)
    return title, body


def parse_document(path: Path, data: bytes, *, source: str, mtime: datetime) -> RawEntry:
    """One document file as a raw entry."""
    text = _decode(data)
    author: str | None = None
    published: datetime | None = None
    if path.suffix.lower() in (".html", ".htm"):
        title, body = _html_parts(text)
        is_html = True
    else:
        is_html = False
        lines = text.splitlines()
        while lines and not lines[0].strip():
            lines.pop(0)
        title = lines.pop(0).strip() if lines else ""
        if path.suffix.lower() in (".md", ".markdown"):
            title = title.lstrip("#").strip()
        rest = list(lines)
        while rest and not rest[0].strip():
            rest.pop(0)
        if rest:
            m = _BYLINE.match(rest[0])
            if m:
                author = m.group("author").strip()
                published = parse_date(m.group("date"))
                rest.pop(0)
        body = "\n".join(rest)
    if not title:
        title = path.stem.replace("_", " ")
    return RawEntry(
        source=source,
        guid=None,
        title=title,
        link=None,
        author=author,
        published=published or mtime,
        summary="",
        content=body,
        html=is_html,
        source_name=f"document {path.name}",
    )


class DocumentFolder(FolderSource):
    """Every .txt, .md and .html file below ``folder`` is an item."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def scan(self, known: dict[str, DocumentFingerprint]) -> DocumentScan:
        scan = DocumentScan()
        if not self.folder.is_dir():
            scan.errors.append(f"documents folder {self.folder} does not exist")
            return scan
        for path in sorted(self.folder.rglob("*")):
            if path.suffix.lower() not in SUFFIXES or not path.is_file():
                continue
            rel = path.relative_to(self.folder).as_posix()
            if any(part.startswith(".") for part in Path(rel).parts):
                continue
            try:
                st = path.stat()
                old = known.get(rel)
                if old and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
                    scan.unchanged += 1
                    continue
                if st.st_size > MAX_DOCUMENT_BYTES:
                    scan.errors.append(f"{rel}: {st.st_size:,} bytes, over the 5 MB limit")
                    continue
                data = path.read_bytes()
            except OSError as exc:
                scan.errors.append(f"{rel}: {exc.strerror or exc}")
                continue
            fp = DocumentFingerprint(
                rel, st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest()
            )
            if old and old.sha256 == fp.sha256:
                # Touched but not changed: remember the new mtime, do not re-read it as news.
                scan.touched.append(fp)
                scan.unchanged += 1
                continue
            mtime = datetime.fromtimestamp(st.st_mtime, UTC)
            scan.entries.append((fp, parse_document(path, data, source=f"file:{rel}", mtime=mtime)))
        return scan
