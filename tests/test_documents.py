"""The documents folder source: files, dates and change detection (bot/sources/documents.py)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.models import DocumentFingerprint
from bot.normalize import normalize
from bot.sources.documents import DocumentFolder, parse_date, parse_document, printable
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


def test_byte_order_marks_are_decoded(tmp_path: Path) -> None:
    bom = parse(tmp_path / "a.txt", "\ufeffTitle with BOM\nbody".encode())
    assert bom.title == "Title with BOM"
    for codec in ("utf-16-le", "utf-16-be"):
        wide = parse(tmp_path / "b.txt", "\ufeffCafé “quoted”\nbody".encode(codec))
        assert wide.title == "Café “quoted”" and wide.content == "body"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("Caf\xe9 \u201cquoted\u201d\nbody".encode("cp1252"), "not UTF-8 text: save it as UTF-8"),
        ("Café\nbody".encode("latin-1"), "not UTF-8 text: save it as UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file, not a text document"),
        (b"Title\nbody\x00more", "binary file, not a text document"),
        (bytes(range(1, 32)) * 10, "binary file, not a text document"),
    ],
)
def test_binary_and_undecodable_files_are_refused_with_the_fix(tmp_path, data, reason) -> None:
    with pytest.raises(ParseError) as caught:
        parse(tmp_path / "a.txt", data)
    assert str(caught.value).startswith(reason)


def test_html_may_declare_its_charset(tmp_path: Path) -> None:
    page = '<html><head><meta charset="windows-1252"><title>Caf\xe9</title></head><p>x</p>'
    assert parse(tmp_path / "a.html", page.encode("cp1252")).title == "Café"
    # a .txt has no way to declare it; a wrong declaration is refused with the charset named
    with pytest.raises(ParseError, match="not UTF-8"):
        parse(tmp_path / "a.txt", page.encode("cp1252"))
    with pytest.raises(ParseError, match="<meta charset>"):
        parse(tmp_path / "b.html", '<meta charset="ascii"><p>\xe9</p>'.encode("latin-1"))


def test_control_and_invisible_characters_never_reach_the_entry(tmp_path: Path) -> None:
    text = (
        "Alert\x1b[31m red \u202egnp.exe\u200b \x9b title\n"
        "From Jane\x07 Doe\u2066, published at 2024-09-17\n"
        "Body\x1b[2J line\u202e.\nمی\u200cخواهم\tok\n"
    )
    raw = parse(tmp_path / "a\x1b[31m\u202e.txt", text)
    assert raw.title == "Alert [31m red gnp.exe title"
    assert raw.author == "Jane Doe"
    assert raw.content == "Body[2J line.\nمی\u200cخواهم\tok"  # the Persian joiner and tab stay
    assert raw.source_name == "document a\\x1b[31m\\u202e.txt"
    for value in (raw.title, raw.author, raw.source_name):
        assert all(c.isprintable() for c in value), value


def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    assert printable("ok name.txt") == "ok name.txt"
    assert printable("a\x1b[2Jb\n\u202e\u200b\x85.txt") == "a\\x1b[2Jb\\x0a\\u202e\\u200b\\x85.txt"
    assert printable("caf\udce9.txt") == "caf\\xe9.txt"  # a Latin-1 byte in the name
    assert printable(printable("a\x1b")) == printable("a\x1b")


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
    opened: list[object] = []
    real = os.open

    def spy(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not flags & os.O_DIRECTORY:
            opened.append(path)
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    second = source.scan(known)
    assert second.entries == [] and second.touched == []
    assert second.unchanged == 3
    assert opened == []  # size and mtime unchanged: not even opened


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
    real = os.open

    def failing(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if path == "a.txt":
            raise PermissionError(13, "Permission denied")
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing)
    scan = DocumentFolder(folder).scan({})
    assert sorted(fp.path for fp, _ in scan.entries) == ["b.md", "sub/c.html"]
    assert len(scan.errors) == 1 and scan.errors[0].startswith("a.txt")


def test_mtime_fallback_is_utc(tmp_path: Path) -> None:
    plus3 = timezone(timedelta(hours=3))
    raw = parse(tmp_path / "x.txt", "Title\nbody", mtime=datetime(2024, 1, 1, 3, tzinfo=plus3))
    assert normalize(raw).published == datetime(2024, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- a hostile folder

FAKE_TOKEN = "000000:not-a-real-token-documents-folder-test"
CONTROL_NAME = "evil\x1b[31m\u202etxt.exe\u200b.txt"


def hostile_folder(tmp_path: Path) -> Path:
    """A documents folder holding every way out of itself, and one healthy document."""
    outside = tmp_path / "outside"
    write(outside / "secret.txt", "Outside secret\nThe secret outside the folder.")
    write(outside / "deeper" / "inner.txt", "Inner secret\nAlso outside.")
    docs = tmp_path / "docs"
    docs.mkdir()
    write(docs / "healthy.txt", SEED.read_text(encoding="utf-8"))
    write(docs / CONTROL_NAME, "Named badly\nBut its content is fine.")
    (docs / "env.txt").symlink_to("/proc/self/environ")
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    (docs / "outside.txt").symlink_to(outside / "secret.txt")
    (docs / "relative.md").symlink_to("../outside/secret.txt")
    (docs / "linked").symlink_to(outside, target_is_directory=True)
    (docs / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    os.mkfifo(docs / "pipe.txt")
    (docs / "nul.txt").write_bytes(b"Looks like text\n\x00\x00\x00binary after all")
    (docs / "latin.txt").write_bytes("Café news\nÉté à Paris.".encode("cp1252"))
    (docs / "bin\x07.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with (docs / "big.md").open("wb") as f:
        f.truncate(5_000_001)  # sparse: its zeros are never written to disk
        f.seek(0)
        f.write(b"# Big\n")
    return docs


EXPECTED_ERRORS = {
    "big.md": "over the 5 MB limit",
    "bin\\x07.html": "binary file, not a text document",
    "dangling.txt": "a symbolic link, not followed",
    "env.txt": "a symbolic link, not followed",
    "latin.txt": "not UTF-8 text: save it as UTF-8",
    "linked": "a symbolic link to a folder, not entered",
    "nul.txt": "binary file, not a text document",
    "outside.txt": "a symbolic link, not followed",
    "passwd.txt": "a symbolic link, not followed",
    "pipe.txt": "a named pipe (FIFO): only regular files are read",
    "relative.md": "a symbolic link, not followed",
}

_SCAN_IN_A_CHILD = """
import json, sys
from pathlib import Path
from bot.sources.documents import DocumentFolder
scan = DocumentFolder(Path(sys.argv[1])).scan({})
print(json.dumps({
    "entries": [[fp.path, raw.title, raw.source_name, raw.content] for fp, raw in scan.entries],
    "errors": scan.errors,
    "touched": [fp.path for fp in scan.touched],
}))
"""


def test_a_hostile_folder_leaks_nothing_and_the_healthy_document_is_read(tmp_path) -> None:
    import json
    import subprocess
    import sys

    docs = hostile_folder(tmp_path)
    # In a child whose environment holds a bot token, so /proc/self/environ really has it;
    # the timeout proves the FIFO is never opened for a blocking read.
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": FAKE_TOKEN}
    done = subprocess.run(
        [sys.executable, "-c", _SCAN_IN_A_CHILD, str(docs)],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
        env=env,
    )
    result = json.loads(done.stdout)
    assert [e[0] for e in result["entries"]] == [printable(CONTROL_NAME), "healthy.txt"]
    titles = {e[0]: e[1] for e in result["entries"]}
    assert titles["healthy.txt"].startswith("ISIS Defeat Means US Troops")
    assert titles[printable(CONTROL_NAME)] == "Named badly"
    assert result["entries"][0][2] == "document evil\\x1b[31m\\u202etxt.exe\\u200b.txt"
    # one line per refused file: its path, the reason and the fix
    by_path = dict(line.split(": ", 1) for line in result["errors"])
    assert sorted(by_path) == sorted(EXPECTED_ERRORS)
    for path, reason in EXPECTED_ERRORS.items():
        assert by_path[path].startswith(reason), (path, by_path[path])
        assert ":" in by_path[path] or "(" in by_path[path]  # the fix follows the reason
    assert all("\n" not in line and line.isprintable() for line in result["errors"])
    assert sorted(result["touched"]) == sorted(EXPECTED_ERRORS)  # remembered: reported once
    everything = done.stdout
    for secret in (FAKE_TOKEN, "TELEGRAM_BOT_TOKEN", "root:", "Outside secret", "Inner secret"):
        assert secret not in everything, secret
    assert "\x1b" not in everything and "\u202e" not in everything


def test_a_refused_file_is_reported_once_and_read_again_when_it_changes(tmp_path) -> None:
    docs = hostile_folder(tmp_path)
    source = DocumentFolder(docs)
    first = source.scan({})
    known = remember(first)
    assert len(first.errors) == len(EXPECTED_ERRORS)
    second = source.scan(known)
    assert second.errors == [] and second.entries == [] and second.touched == []
    assert second.unchanged == len(EXPECTED_ERRORS) + 2
    # Saved again as UTF-8: now it is read.
    write(docs / "latin.txt", "Café news\nÉté à Paris.", mtime_s=1_700_000_100)
    third = source.scan(known)
    assert [(fp.path, raw.title) for fp, raw in third.entries] == [("latin.txt", "Café news")]
    assert third.errors == []


def test_a_file_swapped_for_a_fifo_after_listing_never_blocks(tmp_path, monkeypatch) -> None:
    # The race: listed as a regular file, a FIFO by the time it is opened. O_NONBLOCK and the
    # fstat of the open descriptor refuse it without waiting for a writer.
    import threading

    docs = tmp_path / "docs"
    write(docs / "a.txt", "Alpha\nbody")
    real_stat = os.stat

    def swapping_stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        st = real_stat(path, *args, **kwargs)
        if path == "a.txt" and not stat_is_fifo(docs / "a.txt"):
            (docs / "a.txt").unlink()
            os.mkfifo(docs / "a.txt")
        return st

    monkeypatch.setattr(os, "stat", swapping_stat)
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(DocumentFolder(docs).scan({})))
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # unblock it before failing, by opening the other end
        os.close(os.open(docs / "a.txt", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("the scan blocked on a FIFO")
    [scan] = result
    assert scan.entries == []  # type: ignore[attr-defined]
    assert scan.errors == ["a.txt: a named pipe (FIFO): only regular files are read"]  # type: ignore[attr-defined]


def stat_is_fifo(path: Path) -> bool:
    import stat as st

    return path.exists() and st.S_ISFIFO(path.lstat().st_mode)


def test_folders_nested_too_deep_are_not_entered(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    deep = docs.joinpath(*["d"] * 22)
    write(deep / "x.txt", "Too deep\nbody")
    write(docs / "d" / "ok.txt", "Shallow\nbody")
    scan = DocumentFolder(docs).scan({})
    assert [fp.path for fp, _ in scan.entries] == ["d/ok.txt"]
    [error] = scan.errors
    assert error.startswith("/".join(["d"] * 21) + ": nested over 20 folders deep")


# --------------------------------------------------------------------------- through the pipeline


async def test_the_pipeline_alerts_the_healthy_document_and_leaks_nothing(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    import io
    import logging
    import sqlite3
    from zoneinfo import ZoneInfo

    from bot.config import load_topic_file
    from bot.notify.console import ConsoleNotifier
    from bot.pipeline import Pipeline
    from bot.storage.base import CONSOLE_CHAT_ID
    from bot.storage.sqlite import SQLiteStore
    from tests.conftest import ROOT

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", FAKE_TOKEN)
    environ = Path("/proc/self/environ").read_bytes().split(b"\0")[0].decode(errors="replace")
    assert environ  # what the link would have shown: the process's first variable
    docs = hostile_folder(tmp_path)
    shipped = load_topic_file(ROOT / "config" / "topics.toml")
    out = io.StringIO()
    console = ConsoleNotifier(out)
    now = datetime(2024, 9, 18, 8, 0, tzinfo=UTC)
    pipeline = Pipeline(
        store=SQLiteStore(tmp_path / "db"),
        topics=shipped.topics,
        aliases=shipped.aliases,
        timezone=ZoneInfo("UTC"),
        feed_source=None,
        folder_source=DocumentFolder(docs),
        notifiers={"telegram": console, "console": console},
        clock=lambda: now,
    )
    pipeline.store.upsert_chat(CONSOLE_CHAT_ID, "private", "", now)
    for topic in ("isis", "iraq", "troop-withdrawal"):
        pipeline.store.subscribe(CONSOLE_CHAT_ID, topic, now)
    with caplog.at_level(logging.WARNING):
        stored, alerts, errors = pipeline.scan_documents()
        await pipeline.deliver_pending()
    assert stored == 2 and alerts == 1
    assert len(errors) == len(EXPECTED_ERRORS)
    printed = out.getvalue()
    assert "ISIS Defeat Means US Troops No Longer Needed in Iraq" in printed
    assert "document healthy.txt · Joumanna Bercetche · 17 Sep 2024\n" in printed  # no "00:00"
    db = sqlite3.connect(tmp_path / "db")
    dump = "\n".join(db.iterdump())
    db.close()
    assert "ISIS Defeat Means US Troops" in dump  # the healthy document is stored
    for where, text in (("alert", printed), ("database", dump), ("log", caplog.text)):
        for secret in (FAKE_TOKEN, environ, "root:x:0:0", "Outside secret", "\x1b", "\u202e"):
            assert secret not in text, (where, secret)
    # the next scan is quiet: the refusals were reported once
    assert pipeline.scan_documents() == (0, 0, [])


# --------------------------------------------------------------------------- by-lines

MARCH_3 = datetime(2025, 3, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("head", "author", "published"),
    [
        ("By Jane Doe | 3 March 2025", "Jane Doe", MARCH_3),
        ("By Jane Doe\nMarch 3, 2025", "Jane Doe", MARCH_3),
        ("By Jane Doe\n\nPublished: 2025-03-03", "Jane Doe", MARCH_3),
        ("By Jane Doe, March 3, 2025", "Jane Doe", MARCH_3),
        (
            "By Jane Doe — 2025-03-03T10:30:00Z",
            "Jane Doe",
            datetime(2025, 3, 3, 10, 30, tzinfo=UTC),
        ),
        ("BY JANE DOE AND JOHN ROE", "JANE DOE AND JOHN ROE", MTIME),
        ("By Jane Doe and John de Roe | Reuters", "Jane Doe and John de Roe", MTIME),
        ("*By Ángel Núñez* · 3 Mar 2025", "Ángel Núñez", MARCH_3),
        ("By Jane Doe on March 3, 2025", "Jane Doe", MARCH_3),
    ],
)
def test_by_lines(tmp_path: Path, head, author, published) -> None:
    raw = parse(tmp_path / "a.txt", f"Iraq asks US troops to leave\n{head}\n\nThe body.\n")
    assert raw.title == "Iraq asks US troops to leave"
    assert (raw.author, raw.published) == (author, published)
    assert raw.content.strip() == "The body."


@pytest.mark.parametrize(
    "line",
    [
        "By the end of the year, troops will have left.",
        "By 2026 the troops will be out.",
        "Bystanders watched the convoy.",
    ],
)
def test_a_sentence_that_starts_with_by_is_body_text(tmp_path: Path, line) -> None:
    raw = parse(tmp_path / "a.txt", f"Title\n{line}\nMore.")
    assert raw.author is None and raw.published == MTIME
    assert raw.content.startswith(line)


def test_a_date_line_after_a_by_line_is_taken_only_when_it_is_a_date(tmp_path: Path) -> None:
    raw = parse(tmp_path / "a.txt", "Title\nBy Jane Doe\nMarch was a hard month.\nMore.")
    assert raw.author == "Jane Doe" and raw.published == MTIME
    assert raw.content == "March was a hard month.\nMore."


# --------------------------------------------------------------------------- front matter

FRONT = """---
title: "Iraq asks US troops to leave"
author: Jane Doe
date: 2025-03-03
tags: [iraq, us]
---

# Iraq asks US troops to leave

Iraq's prime minister said US troops are no longer needed.
"""


def test_yaml_front_matter(tmp_path: Path) -> None:
    raw = parse(tmp_path / "note.md", FRONT)
    assert raw.title == "Iraq asks US troops to leave"
    assert raw.author == "Jane Doe"
    assert raw.published == MARCH_3 and raw.date_only is True
    # neither the block nor the heading that repeats the title is body text
    assert raw.content.strip() == "Iraq's prime minister said US troops are no longer needed."


@pytest.mark.parametrize(
    ("block", "author", "published", "date_only"),
    [
        (
            "authors:\n  - Jane Doe\n  - John Roe\npublished: 2025-03-03T10:30:00+02:00",
            "Jane Doe, John Roe",
            datetime(2025, 3, 3, 8, 30, tzinfo=UTC),
            False,
        ),
        ("by: {name: Jane Doe}\ndate: 'March 3, 2025'", "Jane Doe", MARCH_3, True),
        (
            "Author: Jane Doe\nDate: 2025-03-03 10:30",
            "Jane Doe",
            datetime(2025, 3, 3, 10, 30, tzinfo=UTC),
            False,
        ),
        ("author: 42\ndate: not a date", "42", MTIME, False),
    ],
)
def test_front_matter_field_variants(tmp_path, block, author, published, date_only) -> None:
    raw = parse(tmp_path / "a.md", f"---\ntitle: T\n{block}\n---\nBody.\n")
    assert (raw.title, raw.author, raw.published, raw.date_only) == (
        "T",
        author,
        published,
        date_only,
    )
    assert raw.content == "Body."


def test_toml_front_matter(tmp_path: Path) -> None:
    text = (
        '+++\ntitle = "Iraq asks US troops to leave"\nauthor = "Jane Doe"\n'
        "date = 2025-03-03\n+++\nBody."
    )
    raw = parse(tmp_path / "a.md", text)
    assert (raw.title, raw.author, raw.published, raw.date_only) == (
        "Iraq asks US troops to leave",
        "Jane Doe",
        MARCH_3,
        True,
    )
    assert raw.content == "Body."


@pytest.mark.parametrize(
    "block",
    [
        'title: "unclosed\nauthor: [Jane',  # a YAML syntax error
        "- just\n- a list",  # not a mapping
        "title: x\ndate: 2025-13-45",  # a timestamp YAML cannot build
        "[" * 5000 + "]" * 5000,  # nested deeper than the parser goes
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nauthor: [*e, *e, *e, *e, *e, *e, *e, *e]",
    ],
)
def test_broken_front_matter_still_reads_the_body(tmp_path: Path, block) -> None:
    raw = parse(tmp_path / "a.md", f"---\n{block}\n---\n# Troops leave Iraq\n\nThe body.\n")
    assert raw.title == "Troops leave Iraq"
    assert raw.content.strip() == "The body."
    assert raw.published == MTIME and len(raw.author or "") < 2000


def test_an_unclosed_or_huge_block_is_not_front_matter(tmp_path: Path) -> None:
    unclosed = parse(tmp_path / "a.md", "---\ntitle: x\n\nJust a rule and text.")
    assert unclosed.title == "---" and "Just a rule" in unclosed.content
    huge = "---\n" + "k: v\n" * 20_000 + "---\nBody"
    assert parse(tmp_path / "b.md", huge).title == "---"  # closed past 64,000 characters


# --------------------------------------------------------------------------- HTML meta


@pytest.mark.parametrize(
    ("head", "author", "published"),
    [
        (
            '<meta name="author" content="Jane Doe">'
            '<meta property="article:published_time" content="2025-03-03T10:30:00Z">',
            "Jane Doe",
            datetime(2025, 3, 3, 10, 30, tzinfo=UTC),
        ),
        (
            '<meta name="byl" content="By Jane Doe"><meta name="date" content="2025-03-03">',
            "Jane Doe",
            MARCH_3,
        ),
        (
            '<meta property="article:author" content="https://ex.org/jane">'
            '<meta name="DC.creator" content="Jane Doe">'
            '<meta itemprop="datePublished" content="March 3, 2025">',
            "Jane Doe",
            MARCH_3,
        ),
        ("", None, MTIME),
    ],
)
def test_html_meta_author_and_date(tmp_path: Path, head, author, published) -> None:
    page = f"<html><head><title>Troops</title>{head}</head><body><p>Body.</p></body></html>"
    raw = parse(tmp_path / "a.html", page)
    assert (raw.title, raw.author, raw.published) == ("Troops", author, published)
    assert normalize(raw).text == "Body."


def test_html_time_element_and_head_left_out_of_the_body(tmp_path: Path) -> None:
    page = (
        "<html><head><title>T</title><meta name=description content='Head text'></head>"
        '<body><header>Site</header><time itemprop="datePublished" datetime="2025-03-03">3 March'
        "</time><p>Body.</p></body></html>"
    )
    raw = parse(tmp_path / "a.html", page)
    assert raw.published == MARCH_3 and raw.date_only
    assert "Head text" not in normalize(raw).text and "Site" in normalize(raw).text


def test_html_without_a_closing_title_or_h1_is_read_in_linear_time(tmp_path: Path) -> None:
    import time

    page = "<title>" + "<h1>x" * 200_000 + "<head>" * 100_000
    start = time.process_time()
    raw = parse(tmp_path / "a.html", page)
    assert time.process_time() - start < 5  # the old regexes took minutes here
    assert raw.title  # the h1 text, or the file's name


def test_the_seed_date_is_a_date_only() -> None:
    raw = parse_document(SEED, SEED.read_bytes(), source="file:seed", mtime=MTIME)
    assert raw.date_only is True
    timed = parse(Path("a.txt"), "T\nFrom A, published at Tue Sep 17 2024 10:30:00\nBody")
    assert timed.date_only is False
