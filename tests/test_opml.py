"""OPML import and export (listparser reads, the standard library writes) and `newsbot feeds`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.models import FeedConfig
from bot.sources.opml import read_opml, write_opml
from tests.factories import write_config
from tests.test_cli import run

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My feeds</title></head><body>
  <outline text="World">
    <outline type="rss" text="BBC World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
    <outline type="rss" text="Al Jazeera" xmlUrl="https://www.aljazeera.com/xml/rss/all.xml"/>
  </outline>
  <outline type="rss" text="BBC again" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
  <outline type="rss" text="Gopher" xmlUrl="gopher://old.example/feed"/>
  <outline type="include" text="More" url="https://example.org/more.opml"/>
</body></opml>"""


def test_opml_feeds_are_read_once_each_and_bad_entries_say_why() -> None:
    listed = read_opml(OPML, interval=600)
    assert [(f.url, f.name, f.interval) for f in listed.feeds] == [
        ("https://feeds.bbci.co.uk/news/world/rss.xml", "BBC World", 600),
        ("https://www.aljazeera.com/xml/rss/all.xml", "Al Jazeera", 600),
    ]
    assert any("Gopher: not an http(s) feed address" in s for s in listed.skipped)
    assert any("more.opml: a link to another list, not followed" in s for s in listed.skipped)


def test_export_then_import_gives_the_same_feeds() -> None:
    feeds = [FeedConfig("https://a.example/rss", "A & <B>"), FeedConfig("https://b.example/atom")]
    again = read_opml(write_opml(feeds).encode(), interval=300).feeds
    assert [(f.url, f.name) for f in again] == [
        ("https://a.example/rss", "A & <B>"),
        ("https://b.example/atom", "https://b.example/atom"),
    ]


@pytest.mark.parametrize("junk", [b"", b"<html><body>hello</body></html>", b"\x00\xff garbage"])
def test_what_is_not_opml_is_a_parse_error(junk: bytes) -> None:
    with pytest.raises(ParseError):
        read_opml(junk, interval=300)


def test_feeds_command_imports_exports_and_lists(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=["http://127.0.0.1:9/config.xml"])
    opml = tmp_path / "feeds.opml"
    opml.write_bytes(OPML)
    code, out = run("--config", str(config), "feeds", "import", str(opml))
    assert code == 0 and "2 feeds added, 0 already polled" in out and "skipped Gopher" in out
    code, out = run("--config", str(config), "feeds", "import", str(opml))
    assert "0 feeds added, 2 already polled" in out
    code, out = run("--config", str(config), "feeds", "export")
    exported = read_opml(out.encode(), interval=300).feeds
    assert [f.url for f in exported] == [
        "http://127.0.0.1:9/config.xml",
        "https://feeds.bbci.co.uk/news/world/rss.xml",
        "https://www.aljazeera.com/xml/rss/all.xml",
    ]
    code, out = run("--config", str(config), "feeds")
    assert code == 0
    assert "BBC World [added]: not polled yet" in out and "next poll:" in out
    missing = run("--config", str(config), "feeds", "import", str(tmp_path / "nope.opml"))
    assert missing[0] == 2
