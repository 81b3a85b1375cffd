"""Settings and topics files: values, env overrides and errors that name file and line."""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path

import pytest

from bot.config import DEFAULT_API_URL, line_of, load_settings, load_topics
from bot.errors import ConfigError, QueryError
from tests.conftest import ROOT

TOPIC_LINES = [
    "# topics for tests",
    "[[topics]]",
    'id = "isis"',
    'name = "ISIS"',
    'query = "isis OR daesh"',
    "",
    "[[topics]]",
    'id = "iraq"',
    'query = "iraq*"',
]

CONFIG_LINES = [
    "# newsbot test config",
    'timezone = "Europe/Berlin"',
    'topics = "topics.toml"',
    'data_dir = "state"',
    "",
    "[telegram]",
    "admins = [11, 22]",
    "",
    "[documents]",
    'path = "docs"',
    "interval = 15",
    "",
    "[digest]",
    'time = "07:30"',
    "",
    "[polling]",
    "interval = 120",
    "timeout = 5",
    "",
    "[[feeds]]",
    'name = "One"',
    'url = "https://one.example/feed.xml"',
    "",
    "[[feeds]]",
    'url = "https://two.example/rss"',
    "interval = 600",
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def setup(tmp_path: Path, config=CONFIG_LINES, topics=TOPIC_LINES) -> Path:
    write(tmp_path / "topics.toml", list(topics))
    return write(tmp_path / "newsbot.toml", list(config))


def line(lines: list[str], text: str, occurrence: int = 1) -> int:
    """1-based number of the ``occurrence``-th line equal to ``text``."""
    found = [n for n, value in enumerate(lines, start=1) if value == text]
    return found[occurrence - 1]


def replaced(lines: list[str], old: str, new: str) -> list[str]:
    assert old in lines
    return [new if value == old else value for value in lines]


def config_error(path: Path, env=None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(path, env or {})
    return info.value


# --------------------------------------------------------------------------- valid files


def test_a_valid_config_is_read(tmp_path: Path) -> None:
    s = load_settings(setup(tmp_path), {})
    assert s.config_path == tmp_path / "newsbot.toml"
    assert str(s.timezone) == "Europe/Berlin"
    assert s.topics_path == tmp_path / "topics.toml"
    assert [t.id for t in s.topics] == ["isis", "iraq"]
    assert s.topics[0].name == "ISIS" and s.topics[0].query == "isis OR daesh"
    assert s.topics[1].name == "iraq"  # the name defaults to the id
    assert s.admins == {11, 22}
    assert s.digest_time == time(7, 30)
    assert s.documents_interval == 15
    assert s.fetch_timeout == 5.0
    assert [(f.url, f.name, f.interval) for f in s.feeds] == [
        ("https://one.example/feed.xml", "One", 120),  # the [polling] default interval
        ("https://two.example/rss", None, 600),
    ]
    assert s.telegram_token is None and s.console_mode
    assert s.telegram_api_url == DEFAULT_API_URL
    assert s.data_dir == Path("state")
    assert s.database_path == Path("state") / "newsbot.sqlite3"


def test_delivery_and_operator_settings_are_read(tmp_path: Path) -> None:
    lines = replaced(
        CONFIG_LINES,
        "admins = [11, 22]",
        "admins = [11, 22]\nconcurrent_sends = 2\ncatch_up_after = 5\ncatch_up_minutes = 60\n"
        "admin_chat = -100123",
    )
    lines = replaced(lines, "timeout = 5", "timeout = 5\nallow_private_feeds = true")
    s = load_settings(setup(tmp_path, lines), {})
    assert (s.concurrent_sends, s.catch_up_after, s.catch_up_minutes) == (2, 5, 60)
    assert s.admin_chat == -100123 and s.allow_private_feeds
    assert s.poll_interval == 120
    (tmp_path / "plain").mkdir()
    default = load_settings(setup(tmp_path / "plain"), {})
    assert default.admin_chat is None and not default.allow_private_feeds


def test_the_parsing_limits_are_read_with_a_floor_under_memory(tmp_path: Path) -> None:
    limits = "timeout = 5\nparse_timeout = 7.5\nparse_memory_mb = 300\nparse_workers = 2"
    s = load_settings(setup(tmp_path, replaced(CONFIG_LINES, "timeout = 5", limits)), {})
    assert (s.parse_timeout, s.parse_memory_mb, s.parse_workers) == (7.5, 300, 2)
    (tmp_path / "plain").mkdir()
    default = load_settings(setup(tmp_path / "plain"), {})
    assert (default.parse_timeout, default.parse_memory_mb, default.parse_workers) == (20, 512, 1)
    low = replaced(CONFIG_LINES, "timeout = 5", "timeout = 5\nparse_memory_mb = 64")
    (tmp_path / "low").mkdir()
    with pytest.raises(ConfigError, match="parse_memory_mb"):
        load_settings(setup(tmp_path / "low", low), {})


def test_relative_documents_path_is_beside_the_config_file(tmp_path: Path, monkeypatch) -> None:
    sub = tmp_path / "etc"
    sub.mkdir()
    path = setup(sub)
    monkeypatch.chdir(tmp_path)  # not where the config is
    s = load_settings(Path("etc") / "newsbot.toml", {})
    assert s.documents_dir is not None
    assert s.documents_dir.resolve() == (sub / "docs").resolve()
    assert load_settings(path, {}).documents_dir == sub / "docs"


def test_absolute_documents_path_is_kept(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    path = setup(tmp_path, replaced(CONFIG_LINES, 'path = "docs"', f'path = "{elsewhere}"'))
    assert load_settings(path, {}).documents_dir == elsewhere


def test_a_minimal_config_has_defaults(tmp_path: Path) -> None:
    path = setup(tmp_path, ["# nothing but comments"])
    s = load_settings(path, {})
    assert str(s.timezone) == "UTC"
    assert s.topics_path == tmp_path / "topics.toml"
    assert s.feeds == () and s.admins == frozenset()
    assert s.documents_dir is None
    assert s.digest_time == time(8, 0)


def test_env_overrides_win_over_the_file(tmp_path: Path) -> None:
    other_topics = write(tmp_path / "other.toml", ["[[topics]]", 'id = "x"', 'query = "x"'])
    env = {
        "NEWSBOT_DATA_DIR": str(tmp_path / "envdata"),
        "TELEGRAM_BOT_TOKEN": "123:secret-token",
        "NEWSBOT_TELEGRAM_API_URL": "http://127.0.0.1:9999/bot",
        "NEWSBOT_ADMINS": "7, 8,9",
        "NEWSBOT_TIMEZONE": "Asia/Baghdad",
        "NEWSBOT_TOPICS": str(other_topics),
        "NEWSBOT_DOCUMENTS_DIR": str(tmp_path / "envdocs"),
    }
    config = [*CONFIG_LINES[:6], 'api_url = "https://file.example/bot"', *CONFIG_LINES[6:]]
    s = load_settings(setup(tmp_path, config), env)
    assert s.data_dir == tmp_path / "envdata"
    assert s.telegram_token == "123:secret-token" and not s.console_mode
    assert s.telegram_api_url == "http://127.0.0.1:9999/bot"
    assert s.admins == {7, 8, 9}
    assert str(s.timezone) == "Asia/Baghdad"
    assert [t.id for t in s.topics] == ["x"]
    assert s.documents_dir == tmp_path / "envdocs"
    assert "secret-token" not in repr(s)  # the token is never shown


def test_api_url_from_the_file_without_env(tmp_path: Path) -> None:
    config = [*CONFIG_LINES[:6], 'api_url = "https://file.example/bot"', *CONFIG_LINES[6:]]
    assert load_settings(setup(tmp_path, config), {}).telegram_api_url == (
        "https://file.example/bot"
    )


def test_bad_admins_in_env(tmp_path: Path) -> None:
    err = config_error(setup(tmp_path), {"NEWSBOT_ADMINS": "12,alice"})
    assert "NEWSBOT_ADMINS" in str(err)


def test_the_shipped_config_and_topics_load() -> None:
    config_path = ROOT / "config" / "newsbot.toml"
    s = load_settings(config_path, {})
    shipped = tomllib.loads((ROOT / "config" / "topics.toml").read_text(encoding="utf-8"))
    assert [t.id for t in s.topics] == [t["id"] for t in shipped["topics"]]
    feeds = tomllib.loads(config_path.read_text(encoding="utf-8"))["feeds"]
    assert [f.url for f in s.feeds] == [f["url"] for f in feeds]
    assert s.documents_dir == ROOT / "config" / "documents"
    assert s.documents_dir.is_dir()
    assert load_topics(ROOT / "config" / "topics.toml") == s.topics


# --------------------------------------------------------------------------- errors


def test_missing_config_file(tmp_path: Path) -> None:
    err = config_error(tmp_path / "nope.toml")
    assert err.path == str(tmp_path / "nope.toml")
    assert "not found" in str(err) and str(tmp_path / "nope.toml") in str(err)


def test_missing_topics_file(tmp_path: Path) -> None:
    path = write(tmp_path / "newsbot.toml", ['topics = "missing.toml"'])
    err = config_error(path)
    assert err.path == str(tmp_path / "missing.toml")
    assert "not found" in str(err)


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    config = [*CONFIG_LINES[:8], "admins = [1, 2", *CONFIG_LINES[8:]]
    path = setup(tmp_path, config)
    err = config_error(path)
    assert err.path == str(path)
    assert err.line is not None
    assert err.line in (9, 10)  # the unterminated array, or the line where it must end
    assert f"{path}:{err.line}:" in str(err)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('data_dir = "state"', 'colour = "blue"', ["colour", "unknown key"]),
        ("admins = [11, 22]", 'token = "123:abc"', ["telegram.token", "unknown key"]),
        ('path = "docs"', 'folder = "docs"', ["documents.folder", "unknown key"]),
        ('time = "07:30"', 'at = "07:30"', ["digest.at", "unknown key"]),
        ("timeout = 5", "timout = 5", ["polling.timout", "unknown key"]),
        ('name = "One"', 'title = "One"', ["feeds.title", "unknown key"]),
        ('timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"', ["Mars/Olympus"]),
        ('timezone = "Europe/Berlin"', "timezone = 5", ["timezone", "string"]),
        ('time = "07:30"', 'time = "25:00"', ["25:00", "HH:MM"]),
        ('time = "07:30"', 'time = "7am"', ["7am"]),
        ('time = "07:30"', 'time = "07:60"', ["07:60"]),
        ("admins = [11, 22]", 'admins = ["alice"]', ["admins"]),
        ("admins = [11, 22]", 'admin_chat = "ops"', ["telegram.admin_chat", "chat id"]),
        ("timeout = 5", 'allow_private_feeds = "yes"', ["allow_private_feeds", "true or false"]),
        ("interval = 120", "interval = 5", ["interval", "at least 30"]),
        ("interval = 120", 'interval = "often"', ["interval"]),
        ("timeout = 5", "timeout = 0", ["timeout"]),
        ("interval = 15", "interval = true", ["documents.interval"]),
        ('url = "https://two.example/rss"', 'url = "ftp://two.example/rss"', ["not an http"]),
        (
            'url = "https://two.example/rss"',
            'url = "https://one.example/feed.xml"',
            ["https://one.example/feed.xml", "twice"],
        ),
    ],
)
def test_config_errors_name_the_file_and_line(tmp_path: Path, old, new, words) -> None:
    lines = replaced(CONFIG_LINES, old, new)
    path = setup(tmp_path, lines)
    err = config_error(path)
    assert err.path == str(path)
    assert err.line == line(CONFIG_LINES, old), str(err)  # where the new line went
    assert str(err).startswith(f"{path}:{err.line}: ")
    for word in words:
        assert word in str(err)


def test_an_unknown_key_error_does_not_show_its_value(tmp_path: Path) -> None:
    lines = replaced(CONFIG_LINES, "admins = [11, 22]", 'token = "123:very-secret"')
    err = config_error(setup(tmp_path, lines))
    assert "very-secret" not in str(err)


def test_a_feed_without_url_names_its_entry(tmp_path: Path) -> None:
    lines = replaced(CONFIG_LINES, 'url = "https://two.example/rss"', 'name = "Two"')
    err = config_error(setup(tmp_path, lines))
    assert err.line == line(lines, "[[feeds]]", occurrence=2)
    assert "no url" in str(err)


# --------------------------------------------------------------------------- topics errors


def topics_error(tmp_path: Path, lines: list[str]) -> ConfigError:
    path = write(tmp_path / "topics.toml", lines)
    with pytest.raises(ConfigError) as info:
        load_topics(path)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}:")
    return info.value


def test_duplicate_topic_id(tmp_path: Path) -> None:
    lines = replaced(TOPIC_LINES, 'id = "iraq"', 'id = "isis"')
    err = topics_error(tmp_path, lines)
    assert err.line == line(lines, 'id = "isis"', occurrence=2)
    assert "'isis'" in str(err) and "twice" in str(err)


@pytest.mark.parametrize("bad", ['id = "Bad ID"', 'id = ""', 'id = "-x"', "id = 3"])
def test_invalid_topic_id(tmp_path: Path, bad) -> None:
    lines = replaced(TOPIC_LINES, 'id = "iraq"', bad)
    err = topics_error(tmp_path, lines)
    assert err.line == line(lines, bad)


def test_a_topic_without_id_is_reported_in_its_own_entry(tmp_path: Path) -> None:
    lines = [
        *TOPIC_LINES[:5],
        "",
        "[[topics]]",
        'name = "No id"',
        'query = "x"',
        "",
        *TOPIC_LINES[6:],
    ]
    err = topics_error(tmp_path, lines)
    start = line(lines, "[[topics]]", occurrence=2)
    end = line(lines, "[[topics]]", occurrence=3)
    assert start <= err.line < end


def test_unknown_topic_key(tmp_path: Path) -> None:
    lines = replaced(TOPIC_LINES, 'name = "ISIS"', 'title = "ISIS"')
    err = topics_error(tmp_path, lines)
    assert err.line == line(lines, 'title = "ISIS"')
    assert "topics.title" in str(err)


def test_topic_without_query(tmp_path: Path) -> None:
    lines = replaced(TOPIC_LINES, 'query = "iraq*"', 'query = "  "')
    err = topics_error(tmp_path, lines)
    assert "'iraq'" in str(err) and "no query" in str(err)
    assert line(lines, "[[topics]]", occurrence=2) <= err.line <= line(lines, 'query = "  "')


def test_no_topics(tmp_path: Path) -> None:
    err = topics_error(tmp_path, ["# empty"])
    assert "no topics" in str(err)


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("isis AND", 8),
        ('isis "islamic state', 5),
        ("(isis OR daesh", 14),
        ("NOT isis", 0),
        ("isis NEAR/0 iraq", 5),
    ],
)
def test_invalid_topic_query_names_topic_line_and_position(tmp_path: Path, query, position) -> None:
    bad = f"query = '{query}'"
    lines = replaced(TOPIC_LINES, 'query = "iraq*"', bad)
    err = topics_error(tmp_path, lines)
    assert isinstance(err, QueryError)
    assert err.topic == "iraq"
    assert err.line == line(lines, bad)
    assert err.position == position
    assert err.query == query
    message = str(err)
    assert "topic 'iraq'" in message
    assert f"at position {position + 1}" in message  # 1-based for people
    assert err.expected and err.expected in message
    assert message.index(f"at position {position + 1}") < message.index(err.expected)


def test_invalid_multiline_query_points_at_its_query_key(tmp_path: Path) -> None:
    lines = [*TOPIC_LINES[:8], "query = '''", "iraq OR", "(syria", "'''"]
    err = topics_error(tmp_path, lines)
    assert err.line == line(lines, "query = '''")
    assert isinstance(err, QueryError) and err.topic == "iraq"


def test_invalid_topic_query_via_load_settings(tmp_path: Path) -> None:
    topics = replaced(TOPIC_LINES, 'query = "iraq*"', 'query = "iraq AND"')
    path = setup(tmp_path, topics=topics)
    err = config_error(path)
    assert isinstance(err, QueryError)
    assert err.path == str(tmp_path / "topics.toml")
    assert err.line == line(topics, 'query = "iraq AND"')


def test_line_of_finds_the_line_as_a_search_of_each_line_alone_would() -> None:
    """Blank lines before a match are not part of it (``\\s`` does not cross a newline), the
    search starts at ``start_line``, and a text is scanned once however often it is asked."""
    text = "a = 1\n\n\n  [[topics]]\nid = 'x'\n\n[[topics]]\nquery  = 'y'\n"
    header = r"^\s*\[\[\s*topics\s*\]\]"
    assert line_of(text, header) == 4
    assert line_of(text, header, 5) == 7
    assert line_of(text, header, 8) is None
    assert line_of(text, r"^\s*query\s*=") == 8
    assert line_of(text, r"^\s*id\s*=", 2) == 5
    assert line_of(text, r"^\s*nothing", 1) is None
    assert line_of(text, header, 99) is None
    assert line_of("", header) is None


# --------------------------------------------------------------------------- examples


def examples_topics(tmp_path: Path, rows: list[str], extra: list[str] | None = None) -> Path:
    """A topics file whose `iraq` topic has inline examples and the examples file ``rows``."""
    (tmp_path / "iraq.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = [
        *TOPIC_LINES,
        'examples = ["Baghdad votes. Parliament meets.", "Mosul rebuilt"]',
        'counter_examples = ["Iran talks. Nothing about Iraq."]',
        'examples_file = "iraq.jsonl"',
        *(extra or []),
    ]
    return write(tmp_path / "topics.toml", lines)


def test_examples_inline_and_from_a_file_are_read(tmp_path: Path) -> None:
    rows = [
        '{"id": "a", "title": "Iraq election", "description": "Votes counted.", "iraq": 1}',
        "",
        '{"title": "Kirkuk oil", "label": 0}',
        '{"title": "Erbil airport", "description": null, "label": true}',
    ]
    topics = {t.id: t for t in load_topics(examples_topics(tmp_path, rows))}
    assert topics["isis"].examples == ()
    got = [(e.title, e.description, e.positive) for e in topics["iraq"].examples]
    assert got == [
        ("Baghdad votes", "Parliament meets.", True),
        ("Mosul rebuilt", "", True),
        ("Iran talks", "Nothing about Iraq.", False),
        ("Iraq election", "Votes counted.", True),
        ("Kirkuk oil", "", False),
        ("Erbil airport", "", True),
    ]
    assert topics["iraq"].examples[4].origin == "iraq.jsonl:3"


def test_the_topic_column_wins_over_label(tmp_path: Path) -> None:
    rows = ['{"title": "t", "label": 0, "troop_withdrawal": 1}']
    (tmp_path / "tw.jsonl").write_text("\n".join(rows), encoding="utf-8")
    path = write(
        tmp_path / "topics.toml",
        ["[[topics]]", 'id = "troop-withdrawal"', 'query = "x"', 'examples_file = "tw.jsonl"'],
    )
    (topic,) = load_topics(path)
    assert [e.positive for e in topic.examples] == [True]


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ('{"title": "x", "iraq": 1', "invalid JSON"),
        ('["x", 1]', "JSON object"),
        ('{"description": "no title", "iraq": 1}', "no title"),
        ('{"title": "x"}', 'neither "iraq" nor "label"'),
        ('{"title": "x", "iraq": 2}', "not 0 or 1"),
        ('{"title": "x", "iraq": "yes"}', "not 0 or 1"),
        ('{"title": "x", "description": 5, "iraq": 1}', "description"),
    ],
)
def test_an_examples_file_error_names_its_file_and_line(tmp_path: Path, bad, words) -> None:
    rows = ['{"title": "fine", "iraq": 1}', "", '{"title": "fine too", "iraq": 0}', bad]
    path = examples_topics(tmp_path, rows)
    with pytest.raises(ConfigError) as info:
        load_topics(path)
    err = info.value
    assert err.path == str(tmp_path / "iraq.jsonl")
    assert err.line == 4
    assert words in err.message and "'iraq'" in err.message
    assert err.fix
    assert str(err).startswith(f"{tmp_path / 'iraq.jsonl'}:4: ")


def test_a_missing_examples_file_points_at_its_key(tmp_path: Path) -> None:
    lines = [*TOPIC_LINES, 'examples_file = "nowhere.jsonl"']
    err = topics_error(tmp_path, lines)
    assert err.line == line(lines, 'examples_file = "nowhere.jsonl"')
    assert "nowhere.jsonl" in err.message and "relative to the topics file" in err.fix


@pytest.mark.parametrize("bad", ['examples = "one string"', "examples = [1, 2]", 'examples = [""]'])
def test_bad_inline_examples_point_at_their_key(tmp_path: Path, bad) -> None:
    lines = [*TOPIC_LINES, bad]
    err = topics_error(tmp_path, lines)
    assert err.line == line(lines, bad)
    assert "topics.examples" in err.message
