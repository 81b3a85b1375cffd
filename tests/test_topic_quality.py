"""The default topics on the labelled dev set (../shared/eval): better than a keyword rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import load_topic_file, load_topics
from bot.match import Matcher
from bot.models import RawEntry, Topic
from bot.normalize import normalize
from tests.conftest import ROOT, shared_path

# The one-line keyword rule a user would write first, per topic.
BASELINE = {
    "isis": 'ISIS OR ISIL OR Daesh OR "Islamic State"',
    "troop-withdrawal": "(troops OR forces OR soldiers) AND (withdraw OR withdrawal OR withdrawn)",
}
BARS = {"isis": 0.95, "troop-withdrawal": 0.80}


def f1(
    topics: list[Topic],
    topic_id: str,
    rows: list[dict[str, object]],
    aliases: dict[str, str] | None = None,
) -> float:
    matcher = Matcher(topics, aliases)
    field = topic_id.replace("-", "_")
    tp = fp = fn = 0
    for row in rows:
        item = normalize(
            RawEntry(
                source="dev",
                guid=str(row["id"]),
                title=str(row["title"]),
                link=str(row["link"]),
                author=None,
                published=None,
                summary=str(row["description"]),
                content="",
            )
        )
        predicted = any(m.topic_id == topic_id for m in matcher.match(item))
        gold = bool(row[field])
        tp += predicted and gold
        fp += predicted and not gold
        fn += gold and not predicted
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    path = shared_path("eval", "dev_labels.jsonl")
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


@pytest.mark.parametrize("topic_id", sorted(BARS))
def test_default_topic_beats_its_bar_and_the_keyword_rule(
    topic_id: str, rows: list[dict[str, object]]
) -> None:
    shipped = load_topic_file(ROOT / "config" / "topics.toml")
    ours = f1(list(shipped.topics), topic_id, rows, dict(shipped.aliases))
    baseline = f1([Topic(topic_id, topic_id, BASELINE[topic_id])], topic_id, rows)
    assert ours >= BARS[topic_id], f"F1 {ours:.3f} below {BARS[topic_id]}"
    assert ours > baseline, f"F1 {ours:.3f} not above the keyword rule's {baseline:.3f}"


def test_the_shipped_config_lists_the_reference_topics() -> None:
    ids = {t.id for t in load_topics(Path(ROOT / "config" / "topics.toml"))}
    assert {"isis", "troop-withdrawal"} <= ids
