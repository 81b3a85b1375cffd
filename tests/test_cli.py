"""The ``newsbot`` command line, run in-process through ``main()`` and once as a real process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import ROOT, SEED, shared_path
from tests.factories import rss, write_config
from tests.feedserver import FeedServer, Route


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_match_seed_json_has_topics_evidence_date_and_summary() -> None:
    code, out = run("match", str(SEED), "--json")
    assert code == 0
    [line] = out.splitlines()
    obj = json.loads(line)
    assert obj["title"] == "ISIS Defeat Means US Troops No Longer Needed in Iraq, Says PM Al-Sudani"
    assert obj["published"].startswith("2024-09-17")
    topics = {t["topic"]: t for t in obj["topics"]}
    assert {"isis", "troop-withdrawal"} <= set(topics)
    for name in ("isis", "troop-withdrawal"):
        assert topics[name]["score"] > 0
        assert topics[name]["evidence"] and all(e["snippet"] for e in topics[name]["evidence"])
    assert "US troops are no longer needed" in obj["summary"]
    assert {"id", "link", "summary"} <= set(obj) and obj["story"].startswith("st-")


def _document(folder: Path, name: str, title: str, when: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"{title}\nFrom Staff, published at {when}\n\n{body}\n", encoding="utf-8")
    return path


def test_match_json_gives_reports_of_one_event_the_same_story(tmp_path: Path) -> None:
    files = [
        _document(
            tmp_path,
            "a.txt",
            "US and Iraq agree to end anti-ISIS coalition mission by September 2025",
            "2026-11-27 09:00",
            "The United States and Iraq agreed that the US-led coalition mission against ISIS in "
            "Iraq will end by September 2025, the two governments said on Friday.",
        ),
        _document(
            tmp_path,
            "b.txt",
            "ISIS attack kills Iraqi soldiers near Kirkuk",
            "2026-11-27 09:30",
            "Islamic State fighters attacked an army post near Kirkuk in northern Iraq, killing "
            "four Iraqi soldiers, security sources said.",
        ),
        _document(
            tmp_path,
            "c.txt",
            "US-led anti-ISIS coalition to end Iraq mission by September 2025",
            "2026-11-27 10:00",
            "The United States and Iraq say the coalition mission against ISIS in Iraq will end "
            "by September 2025.",
        ),
    ]
    for order in (files, files[::-1]):
        code, out = run("match", "--json", *map(str, order))
        assert code == 0
        story = {Path(o["file"]).name: o["story"] for o in map(json.loads, out.splitlines())}
        assert story["a.txt"] == story["c.txt"] != story["b.txt"]


def test_match_text_output_explains() -> None:
    code, out = run("match", str(SEED))
    assert code == 0
    assert "why isis:" in out and "why troop-withdrawal:" in out


def test_match_feed_file_gives_one_line_per_entry(tmp_path: Path) -> None:
    feed = tmp_path / "f.xml"
    feed.write_bytes(rss([{"title": f"Item {n}", "link": f"https://ex.org/{n}"} for n in range(5)]))
    code, out = run("match", str(feed), "--json")
    assert code == 0
    assert [json.loads(x)["title"] for x in out.splitlines()] == [f"Item {n}" for n in range(5)]


def test_match_with_other_topics_file(tmp_path: Path) -> None:
    topics = tmp_path / "t.toml"
    topics.write_text('[[topics]]\nid = "gaza"\nname = "Gaza"\nquery = "gaza"\n')
    doc = tmp_path / "d.txt"
    doc.write_text("Aid reaches Gaza\n\nTrucks entered Gaza today.\n")
    code, out = run("match", str(doc), str(SEED), "--json", "--topics", str(topics))
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert [[t["topic"] for t in o["topics"]] for o in lines] == [["gaza"], ["gaza"]]


def test_match_every_real_news_feed_without_crashing() -> None:
    folder = shared_path("corpus", "kagisearch-fastfeedparser", "benchmark_data")
    code, out = run("match", str(folder), "--json")
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) > 1000
    assert all(o["title"] and o["published"] for o in lines)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("timezone = \n", "newsbot.toml:1: invalid TOML"),
        ('timezone = "Mars/Base"\n', "newsbot.toml:1: timezone: unknown timezone"),
        ('colour = "blue"\n', "newsbot.toml:1: colour: unknown key"),
        ('[digest]\ntime = "25:00"\n', "newsbot.toml:2: digest.time"),
        ('[[feeds]]\nname = "x"\n', "newsbot.toml:1: [[feeds]] entry has no url"),
    ],
)
def test_bad_config_is_one_clear_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text(f'topics = "{(ROOT / "config" / "topics.toml").as_posix()}"\n' + content)
    # Shift the expected line by the topics line we put first.
    file, line, rest = expected.split(":", 2)
    code, _ = run("--config", str(config), "check-config")
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert f"{file}:{int(line) + 1}:{rest}" in err


def test_invalid_query_names_topic_position_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topics = tmp_path / "topics.toml"
    topics.write_text('[[topics]]\nid = "x"\nname = "X"\nquery = "(troops OR forces"\n')
    config = tmp_path / "newsbot.toml"
    config.write_text('topics = "topics.toml"\n')
    code, _ = run("--config", str(config), "check-config")
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "topics.toml:4:" in err
        and "topic 'x'" in err
        and "position 18" in err
        and "expected )" in err
    )


def test_missing_config_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--config", str(tmp_path / "nope.toml"), "check-config")[0] == 2
    assert "nope.toml: config file not found" in capsys.readouterr().err
    assert run("match", str(tmp_path / "missing.txt"))[0] == 2
    assert "missing.txt: no such file" in capsys.readouterr().err


def test_poll_dry_run_prints_alerts_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    with FeedServer() as server:
        server.routes["/ok.xml"] = Route(
            rss([{"title": "Daesh fighters seen near Raqqa", "link": "https://ex.org/d"}])
        )
        config = write_config(
            tmp_path, feeds=[server.url("/ok.xml"), server.url("/missing.xml")], documents=docs
        )
        code, out = run("--config", str(config), "poll", "--dry-run")
    err = capsys.readouterr().err
    assert code == 0
    heads = [line for line in out.splitlines() if line.startswith("🔔")]
    assert len(heads) == 2
    assert sum("ISIS" in h and "Troop withdrawal" in h for h in heads) == 1  # the seed document
    assert "Daesh fighters seen near Raqqa" in out
    assert [line for line in err.splitlines() if "missing.xml" in line] == [
        f"feed failed: {server.url('/missing.xml')}: HTTP 404"
    ]
    assert not (tmp_path / "data").exists()


def test_poll_then_poll_again_prints_nothing_new(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    config = write_config(tmp_path, documents=docs)
    code, out = run("--config", str(config), "poll")
    assert code == 0 and out.count("🔔") == 1
    code, out = run("--config", str(config), "poll")
    assert code == 0 and out.count("🔔") == 0 and "0 new items" in out
    # A dry run previews everything current as new, whatever was seen before.
    code, out = run("--config", str(config), "poll", "--dry-run")
    assert code == 0 and out.count("🔔") == 1 and "would send to the console" in out
    # The digest leaves out what the console's alert already told.
    code, out = run("--config", str(config), "digest", "--dry-run")
    assert code == 0 and "Nothing new" in out and "ISIS Defeat Means" not in out
    assert "the one story that matched came to you already" in out  # says why


def test_an_offline_first_poll_says_so_once_and_blames_no_feed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    feeds = [f"http://127.0.0.1:{port}/feed{n}.xml" for n in range(3)]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    config = write_config(tmp_path, feeds=feeds, documents=docs)
    code, out = run("--config", str(config), "poll")
    err = capsys.readouterr().err
    assert code == 0 and out.count("🔔") == 1  # the document is read all the same
    assert err.count("this machine looks offline") == 1 and "feed failed" not in err
    assert "the network looks down" in out and "3 feeds polled (0 ok, 3 failed)" in out
    from bot.storage.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "data" / "newsbot.sqlite3")
    assert [store.feed_state(url).error_count for url in feeds] == [0, 0, 0]
    store.close()


def test_digest_for_unknown_chat_is_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run("--config", str(config), "digest", "--chat", "123")[0] == 2


def test_python_dash_m_bot_and_console_script_agree(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "match", str(SEED), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["title"].startswith("ISIS Defeat")


def test_match_explain_marks_each_clause() -> None:
    code, out = run("match", str(SEED), "--explain")
    assert code == 0
    assert "isis: ✓ matched" in out and "✓ NOT NEAR/3" in out
    assert "✗ ISIL" in out and "✓ ISIS: text, title ×11" in out


def test_aliases_in_a_topics_file_are_checked_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topics = tmp_path / "t.toml"
    topics.write_text(
        '[aliases]\nnames = "ISIS OR"\n[[topics]]\nid = "x"\nname = "X"\nquery = "@names"\n'
    )
    code, _ = run("match", str(SEED), "--topics", str(topics))
    assert code == 2
    assert "t.toml:2: topic '@names': query ends too early" in capsys.readouterr().err


def test_digest_as_markdown_for_the_console(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    config = write_config(tmp_path, documents=docs)
    code, out = run("--config", str(config), "digest", "--markdown")
    assert code == 0 and out.startswith("Nothing new for your topics")
    assert run("--config", str(config), "digest", "--markdown", "--chat", "5")[0] == 2


def test_match_refuses_binary_and_undecodable_files_in_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a\x1b[2J.txt").write_bytes(b"Title\n\x00\x01binary")
    (tmp_path / "latin.txt").write_bytes("Café\nÉté à Paris, ISIS.".encode("cp1252"))
    (tmp_path / "seed.txt").write_bytes(SEED.read_bytes())
    code, out = run("match", str(tmp_path))
    err = capsys.readouterr().err
    assert code == 0  # the seed was read
    assert "ISIS Defeat Means US Troops" in out
    assert sorted(err.splitlines()) == [
        f"newsbot: {tmp_path}/a\\x1b[2J.txt: binary file, not a text document: "
        "only text files (.txt, .md, .html) are read",
        f"newsbot: {tmp_path}/latin.txt: not UTF-8 text: save it as UTF-8",
    ]
    assert "\x1b" not in err and "Caf" not in out


# --------------------------------------------------------------------------- eval

EVAL_TOPICS = """
[[topics]]
id = "fruit-news"
name = "Fruit"
query = "apple OR pear"

[[topics]]
id = "unlabelled"
query = "banana"
"""


def eval_files(tmp_path: Path) -> tuple[Path, Path]:
    topics = tmp_path / "topics.toml"
    topics.write_text(EVAL_TOPICS, encoding="utf-8")
    rows = [
        {"id": "a", "title": "Apple harvest", "description": "Good year", "fruit_news": 1},
        {"id": "b", "title": "Pear prices", "description": "", "fruit_news": 1},
        {"id": "c", "title": "Apple unveils a phone", "description": "Tech", "fruit_news": 0},
        {"id": "d", "title": "Cherry blossom", "description": "Orchards bloom", "fruit_news": 1},
        {"id": "e", "title": "Football results", "description": "", "fruit_news": 0},
        {"id": "f", "title": "Plums and apricots", "description": "", "fruit_news": 1},
    ]
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    return topics, labels


def test_eval_prints_precision_recall_f1_and_the_misses(tmp_path: Path) -> None:
    topics, labels = eval_files(tmp_path)
    code, out = run("eval", str(labels), "--topics", str(topics))
    assert code == 0
    lines = out.splitlines()
    # tp a, b; fp c; fn d, f: P 2/3, R 2/4, F1 4/7.
    assert lines[0] == "fruit-news: P 0.67 R 0.50 F1 0.571 (tp 2 fp 1 fn 2, 6 items)"
    assert lines[1:] == [
        "  missed (2):",
        "    d  Cherry blossom",
        "    f  Plums and apricots",
        "  false alarms (1):",
        "    c  Apple unveils a phone",
    ]
    assert "unlabelled" not in out


def test_eval_caps_the_misses_it_lists(tmp_path: Path) -> None:
    topics, labels = eval_files(tmp_path)
    code, out = run("eval", str(labels), "--topics", str(topics), "--misses", "1")
    assert code == 0
    assert "    d  Cherry blossom" in out and "Plums" not in out
    assert "… 1 more (--misses N)" in out


def test_eval_refuses_a_file_without_labels_for_any_topic(tmp_path: Path, capsys) -> None:
    topics, labels = eval_files(tmp_path)
    labels.write_text('{"title": "x", "isis": 1}\n', encoding="utf-8")
    code, _ = run("eval", str(labels), "--topics", str(topics))
    assert code == 2
    assert "no topic has labels" in capsys.readouterr().err


@pytest.mark.parametrize(("bad", "words"), [("{oops", "invalid JSON"), ('{"id": 1}', "title")])
def test_eval_names_the_bad_line(tmp_path: Path, capsys, bad: str, words: str) -> None:
    topics, labels = eval_files(tmp_path)
    labels.write_text('{"title": "ok", "fruit_news": 0}\n\n' + bad + "\n", encoding="utf-8")
    code, _ = run("eval", str(labels), "--topics", str(topics))
    assert code == 2
    err = capsys.readouterr().err
    assert f"{labels}:3:" in err and words in err


def test_eval_scores_the_learned_layer_unless_asked_not_to(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    topics, labels = eval_files(tmp_path)
    fruit = [
        f"Fresh {w} from the orchard"
        for w in ["plum", "apricot", "cherry", "grape", "fig", "lime", "kiwi"]
    ]
    fruit += ["Orchard apricots ripen", "Cherry and plum season opens"]
    other = [
        f"{w} results from the weekend" for w in ["Football", "Rugby", "Tennis", "Golf", "Chess"]
    ]
    other += ["Parliament votes", "Markets fall", "Storm warning", "Train strike"]
    rows = [{"title": t, "fruit_news": 1} for t in fruit] + [
        {"title": t, "fruit_news": 0} for t in other
    ]
    (tmp_path / "fruit.jsonl").write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    topics.write_text(
        EVAL_TOPICS.replace(
            'query = "apple OR pear"', 'query = "apple OR pear"\nexamples_file = "fruit.jsonl"'
        ),
        encoding="utf-8",
    )
    _, learned = run("eval", str(labels), "--topics", str(topics))
    _, query = run("eval", str(labels), "--topics", str(topics), "--query-only")
    assert learned.startswith("fruit-news (query and learned layer): ")
    assert query.startswith("fruit-news: P 0.67 R 0.50")
    assert (tmp_path / "data" / "models" / "fruit-news.model.json").exists()


def test_match_explain_and_json_show_the_learned_layer(tmp_path: Path) -> None:
    from tests.test_learn import examples

    rows = [
        {"title": e.title, "description": e.description, "label": int(e.positive)}
        for e in examples()
    ]
    (tmp_path / "leaving.jsonl").write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    topics = tmp_path / "topics.toml"
    topics.write_text(
        '[[topics]]\nid = "leaving"\nquery = "withdraw*"\nexamples_file = "leaving.jsonl"\n',
        encoding="utf-8",
    )
    feed = tmp_path / "items.xml"
    feed.write_bytes(
        rss(
            [
                {
                    "title": "UN peacekeepers head home from Gao",
                    "guid": "a",
                    "description": "The deployment in Gao ends this year.",
                },
                {"title": "Football club wins the cup", "guid": "b"},
            ]
        )
    )
    code, out = run("match", str(feed), "--topics", str(topics), "--explain")
    assert code == 0
    home, cup = out.split("\n\n")[:2]
    assert "leaving: ✓ matched by the learned layer (model 0." in home
    assert "✓ learned layer (15+/15- examples" in home and "vs threshold" in home
    assert "leaving: ✗ no match" in cup and "no anchor word, not scored" in cup
    code, out = run("match", str(feed), "--topics", str(topics), "--json")
    first = json.loads(out.splitlines()[0])
    [topic] = first["topics"]
    assert topic["model"]["score"] >= topic["model"]["threshold"] > 0
    assert topic["model"]["terms"] and topic["why"].startswith("model ")
