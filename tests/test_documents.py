"""The documents folder source: files, dates and change detection (bot/sources/documents.py)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.models import DocumentFingerprint
from bot.normalize import normalize
from bot.sources.documents import DocumentFolder, parse_date, parse_document
from tests.conftest import SEED

MTIME = datetime(2023, 5, 6, 7, 8, 9, tzinfo=UTC)


def parse(path: Path, content: str | bytes, mtime: datetime = MTIME):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return parse_document(path, data, source=f"file:{path.name}", mtime=mtime)


# --------------------------------------------------------------------------- parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue Sep 17 2024", datetime(2024, 9, 17, tzinfo=UTC)),
        ("Tue Sep 17 2024 10:30:00", datetime(2024, 9, 17, 10, 30, tzinfo=UTC)),
        (
            "Tue Sep 17 2024 10:30:00 GMT+0000 (Coordinated Universal Time)",
            datetime(2024, 9, 17, 10, 30, tzinfo=UTC),
        ),
        ("2024-09-17", datetime(2024, 9, 17, tzinfo=UTC)),
        ("2024-09-17T10:30:00Z", datetime(2024, 9, 17, 10, 30, tzinfo=UTC)),
        ("2024-09-17T12:30:00+02:00", datetime(2024, 9, 17, 10, 30, tzinfo=UTC)),
        ("Tue, 17 Sep 2024 12:30:00 +0200", datetime(2024, 9, 17, 10, 30, tzinfo=UTC)),
        ("Tue, 17 Sep 2024 10:30:00 GMT", datetime(2024, 9, 17, 10, 30, tzinfo=UTC)),
        ("September 17, 2024", datetime(2024, 9, 17, tzinfo=UTC)),
        ("Sep 17, 2024", datetime(2024, 9, 17, tzinfo=UTC)),
        ("17 September 2024", datetime(2024, 9, 17, tzinfo=UTC)),
        ("17 Sep 2024", datetime(2024, 9, 17, tzinfo=UTC)),
        ("17.09.2024", datetime(2024, 9, 17, tzinfo=UTC)),
        ("2024/09/17", datetime(2024, 9, 17, tzinfo=UTC)),
        ("  Tue Sep 17 2024.  ", datetime(2024, 9, 17, tzinfo=UTC)),
    ],
)
def test_parse_date(text, expected) -> None:
    value = parse_date(text)
    assert value == expected
    assert value.tzinfo is not None


@pytest.mark.parametrize("text", ["", "yesterday", "32.13.2024", "Sep 2024"])
def test_parse_date_gives_none_for_what_it_cannot_read(text) -> None:
    assert parse_date(text) is None


def test_parse_date_keeps_a_javascript_gmt_offset() -> None:
    value = parse_date("Tue Sep 17 2024 12:30:00 GMT+0200 (Central European Summer Time)")
    assert value == datetime(2024, 9, 17, 10, 30, tzinfo=UTC)


# --------------------------------------------------------------------------- parse_document


def test_the_seed_document() -> None:
    raw = parse_document(SEED, SEED.read_bytes(), source="file:seed", mtime=MTIME)
    assert raw.title == "ISIS Defeat Means US Troops No Longer Needed in Iraq, Says PM Al-Sudani"
    assert raw.author == "Joumanna Bercetche"
    assert raw.published == datetime(2024, 9, 17, tzinfo=UTC)
    assert raw.published.utcoffset() == timedelta(0)
    assert raw.html is False
    assert "From Joumanna" not in raw.content and "published at" not in raw.content
    assert raw.content.lstrip().startswith("Iraq’s prime minister said US troops")
    assert raw.title not in raw.content
    assert raw.source_name == f"document {SEED.name}"
    assert raw.guid is None and raw.link is None
    # and through normalize: a hash key, since a document has neither GUID nor link
    item = normalize(raw)
    assert item.key.startswith("hash:")
    assert item.author == "Joumanna Bercetche"
    assert "no longer needed" in item.text


@pytest.mark.parametrize(
    "byline",
    [
        "From Jane Doe, published at 2024-09-17",
        "from Jane Doe, published on September 17, 2024",
        "  From Jane Doe,   published at Tue Sep 17 2024  ",
    ],
)
def test_byline_variants(tmp_path: Path, byline) -> None:
    raw = parse(tmp_path / "a.txt", f"Title\n\n{byline}\n\nBody text.")
    assert raw.author == "Jane Doe"
    assert raw.published == datetime(2024, 9, 17, tzinfo=UTC)
    assert raw.content.strip() == "Body text."


def test_an_unreadable_byline_date_falls_back_to_mtime(tmp_path: Path) -> None:
    raw = parse(tmp_path / "a.txt", "Title\nFrom Jane Doe, published at some point\nBody")
    assert raw.author == "Jane Doe"
    assert raw.published == MTIME


def test_a_file_without_byline_uses_mtime_and_first_line(tmp_path: Path) -> None:
    raw = parse(tmp_path / "note.txt", "\n\n  Troops leave Iraq  \nThey left today.\nMore.")
    assert raw.title == "Troops leave Iraq"
    assert raw.author is None
    assert raw.published == MTIME
    assert raw.content == "They left today.\nMore."


def test_a_byline_further_down_is_body_text(tmp_path: Path) -> None:
    raw = parse(tmp_path / "a.txt", "Title\nFirst line.\nFrom X, published at 2024-09-17\n")
    assert raw.author is None and raw.published == MTIME
    assert "From X" in raw.content


@pytest.mark.parametrize("suffix", [".md", ".markdown", ".MD"])
def test_markdown_heading_is_the_title(tmp_path: Path, suffix) -> None:
    raw = parse(tmp_path / f"a{suffix}", "# Heading of the note\n\nSome *text*.")
    assert raw.title == "Heading of the note"
    assert raw.content.strip() == "Some *text*."
    assert raw.html is False


def test_a_hash_in_a_txt_title_is_kept(tmp_path: Path) -> None:
    assert parse(tmp_path / "a.txt", "#1 story\nbody").title == "#1 story"


def test_html_document_title_and_body(tmp_path: Path) -> None:
    page = (
        "<!doctype html><html><head><title>Iraq &amp; the <b>US</b></title>"
        "<style>p{}</style></head><body><h1>Headline</h1><p>Troops left.</p>"
        "<script>var x = 1;</script></body></html>"
    )
    raw = parse(tmp_path / "page.html", page)
    assert raw.title == "Iraq & the US"
    assert raw.html is True
    assert raw.published == MTIME
    item = normalize(raw)
    assert item.title == "Iraq & the US"
    assert "Troops left." in item.text and "Headline" in item.text
    assert "var x" not in item.text and "p{}" not in item.text
    assert "Iraq & the US" not in item.text  # the <head> is not body text


def test_html_without_title_uses_h1(tmp_path: Path) -> None:
    raw = parse(tmp_path / "page.htm", "<body><h1>The <i>headline</i></h1><p>x</p></body>")
    assert raw.title == "The headline"


def test_a_file_without_title_is_named_after_the_file(tmp_path: Path) -> None:
    assert parse(tmp_path / "troop_news.txt", "").title == "troop news"
    assert parse(tmp_path / "troop_news.html", "<p>no title</p>").title == "troop news"


def test_byte_order_mark_and_cp1252_are_decoded(tmp_path: Path) -> None:
    bom = parse(tmp_path / "a.txt", "\ufeffTitle with BOM\nbody".encode())
    assert bom.title == "Title with BOM"
    legacy = parse(tmp_path / "b.txt", "Caf\xe9 \u201cquoted\u201d\nbody".encode("cp1252"))
    assert legacy.title == "Café “quoted”"


# --------------------------------------------------------------------------- DocumentFolder.scan


def write(path: Path, text: str, mtime_s: int = 1_700_000_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime_s, mtime_s))
    return path


def remember(scan, known: dict[str, DocumentFingerprint] | None = None):
    known = dict(known or {})
    for fp, _ in scan.entries:
        known[fp.path] = fp
    for fp in scan.touched:
        known[fp.path] = fp
    return known


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write(root / "a.txt", "Alpha\nFrom A, published at 2024-09-17\nBody A")
    write(root / "b.md", "# Beta\nBody B")
    write(root / "sub" / "c.html", "<title>Gamma</title><p>Body C</p>")
    # skipped: hidden files and folders, other suffixes, folders named like documents
    write(root / ".hidden.txt", "Hidden")
    write(root / ".git" / "notes.txt", "Hidden too")
    write(root / "data.json", '{"title": "no"}')
    write(root / "report.pdf", "%PDF")
    write(root / "README", "no suffix")
    (root / "folder.txt").mkdir()
    return root


def test_scan_reads_documents_and_skips_the_rest(folder: Path) -> None:
    scan = DocumentFolder(folder).scan({})
    assert scan.errors == []
    assert sorted(fp.path for fp, _ in scan.entries) == ["a.txt", "b.md", "sub/c.html"]
    by_path = {fp.path: raw for fp, raw in scan.entries}
    assert [by_path[p].title for p in ("a.txt", "b.md", "sub/c.html")] == ["Alpha", "Beta", "Gamma"]
    assert by_path["a.txt"].source == "file:a.txt"
    assert by_path["sub/c.html"].source == "file:sub/c.html"
    fp = next(fp for fp, _ in scan.entries if fp.path == "a.txt")
    data = (folder / "a.txt").read_bytes()
    assert fp.size == len(data)
    assert fp.mtime_ns == (folder / "a.txt").stat().st_mtime_ns
    assert fp.sha256 == hashlib.sha256(data).hexdigest()
    # without a byline the date is the file's mtime
    assert by_path["b.md"].published == datetime.fromtimestamp(1_700_000_000, UTC)


def test_a_second_scan_reads_nothing(folder: Path, monkeypatch) -> None:
    source = DocumentFolder(folder)
    first = source.scan({})
    known = remember(first)
    read: list[Path] = []
    real = Path.read_bytes

    def spy(self: Path) -> bytes:
        read.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    second = source.scan(known)
    assert second.entries == [] and second.touched == []
    assert second.unchanged == 3
    assert read == []  # size and mtime unchanged: not even opened


def test_touching_a_file_updates_its_fingerprint_but_yields_nothing(folder: Path) -> None:
    source = DocumentFolder(folder)
    known = remember(source.scan({}))
    os.utime(folder / "b.md", (1_800_000_000, 1_800_000_000))
    scan = source.scan(known)
    assert scan.entries == []
    [fp] = scan.touched
    assert fp.path == "b.md"
    assert fp.mtime_ns == 1_800_000_000 * 10**9
    assert fp.sha256 == known["b.md"].sha256
    assert scan.unchanged == 3
    # with the new fingerprint remembered, the next scan is quiet again
    again = source.scan(remember(scan, known))
    assert again.entries == [] and again.touched == []


def test_editing_a_file_yields_a_new_entry(folder: Path) -> None:
    source = DocumentFolder(folder)
    known = remember(source.scan({}))
    write(folder / "a.txt", "Alpha, updated\nNew body", mtime_s=1_700_000_500)
    scan = source.scan(known)
    [(fp, raw)] = scan.entries
    assert fp.path == "a.txt" and raw.title == "Alpha, updated"
    assert fp.sha256 != known["a.txt"].sha256
    assert scan.touched == []
    assert scan.unchanged == 2


def test_same_size_edit_with_new_mtime_is_detected(folder: Path) -> None:
    source = DocumentFolder(folder)
    known = remember(source.scan({}))
    old = (folder / "b.md").read_text()
    write(folder / "b.md", old.replace("Body B", "Body X"), mtime_s=1_700_000_001)
    assert (folder / "b.md").stat().st_size == known["b.md"].size
    [(fp, raw)] = source.scan(known).entries
    assert fp.path == "b.md"
    assert raw.content.strip() == "Body X"


def test_a_new_file_is_picked_up(folder: Path) -> None:
    source = DocumentFolder(folder)
    known = remember(source.scan({}))
    write(folder / "d.txt", "Delta\nbody")
    assert [fp.path for fp, _ in source.scan(known).entries] == ["d.txt"]


def test_a_missing_folder_is_an_error_not_an_exception(tmp_path: Path) -> None:
    scan = DocumentFolder(tmp_path / "nope").scan({})
    assert scan.entries == []
    assert len(scan.errors) == 1 and "nope" in scan.errors[0]


def test_a_file_that_became_unreadable_is_reported(folder: Path, monkeypatch) -> None:
    real = Path.read_bytes

    def failing(self: Path) -> bytes:
        if self.name == "a.txt":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", failing)
    scan = DocumentFolder(folder).scan({})
    assert sorted(fp.path for fp, _ in scan.entries) == ["b.md", "sub/c.html"]
    assert len(scan.errors) == 1 and scan.errors[0].startswith("a.txt")


def test_mtime_fallback_is_utc(tmp_path: Path) -> None:
    plus3 = timezone(timedelta(hours=3))
    raw = parse(tmp_path / "x.txt", "Title\nbody", mtime=datetime(2024, 1, 1, 3, tzinfo=plus3))
    assert normalize(raw).published == datetime(2024, 1, 1, tzinfo=UTC)
