"""The word forms queries need are kept between runs (bot/inflect.py's preload/computed, the
CLI's cache file): a second run matches without lemminflect, and a stale cache is not used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SEED

PROBE = (
    "import sys\n"
    "from bot.cli import main\n"
    "code = main(['match', '--topics', sys.argv[2], sys.argv[1]])\n"
    "print('lemminflect loaded:', 'lemminflect' in sys.modules, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


QUERIES = """
[[topics]]
id = "troop-withdrawal"
query = '(troops OR forces) NEAR/8 (withdraw OR "pull out")'

[[topics]]
id = "isis"
query = "ISIS OR Daesh"
"""
"""Topics without examples: with examples, matching needs lemmas for the learned layer and
lemminflect is loaded for those whatever the forms cache holds."""


def match_seed(cache: Path) -> tuple[str, bool]:
    """``newsbot match --topics`` (the queries above) on the sample document in a fresh
    process: (its output, whether lemminflect was imported)."""
    env = {**os.environ, "NEWSBOT_CACHE_DIR": str(cache)}
    topics = cache / "topics.toml"
    if not topics.exists():
        topics.write_text(QUERIES, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(SEED), str(topics)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=True,
    )
    return done.stdout, "lemminflect loaded: True" in done.stderr


def test_a_second_run_takes_the_forms_from_the_cache_and_matches_the_same(tmp_path: Path) -> None:
    first, loaded = match_seed(tmp_path)
    assert loaded, "the first run computes the forms"
    cached = json.loads((tmp_path / "forms.json").read_text(encoding="utf-8"))
    assert "withdraw" in cached["forms"] and "withdrawal" in cached["forms"]["withdraw"]
    second, loaded = match_seed(tmp_path)
    assert not loaded, "every form came from the cache"
    assert second == first and "troop-withdrawal" in first


def test_a_cache_of_another_dictionary_version_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "forms.json").write_text(
        json.dumps({"version": "lemminflect-0.0-rules-0", "forms": {"withdraw": ["nonsense"]}}),
        encoding="utf-8",
    )
    out, loaded = match_seed(tmp_path)
    assert loaded and "troop-withdrawal" in out
    cached = json.loads((tmp_path / "forms.json").read_text(encoding="utf-8"))
    assert cached["version"] != "lemminflect-0.0-rules-0"
    assert "nonsense" not in cached["forms"]["withdraw"]


def test_an_unreadable_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "forms.json").write_text("{not json", encoding="utf-8")
    out, loaded = match_seed(tmp_path)
    assert loaded and "troop-withdrawal" in out
    assert json.loads((tmp_path / "forms.json").read_text(encoding="utf-8"))["forms"]
