"""Matching items against topics: which topics, the score and the evidence (bot/match.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import load_topic_file
from bot.errors import QueryError
from bot.match import MAX_HITS_PER_TERM, TITLE_WEIGHT, Matcher, snippet
from bot.models import Item, Topic
from bot.normalize import normalize
from bot.query import Span, tokenize
from bot.sources.documents import parse_document
from tests.conftest import ROOT, SEED


def make_item(title: str, text: str = "") -> Item:
    return Item(
        key="k",
        id="i",
        source="s",
        source_name="S",
        title=title,
        link=None,
        author=None,
        published=datetime(2024, 9, 17, tzinfo=UTC),
        text=text,
    )


def matcher(**queries: str) -> Matcher:
    return Matcher(Topic(tid, tid.title(), q) for tid, q in queries.items())


def test_scoring_constants_are_as_documented() -> None:
    assert TITLE_WEIGHT == 3
    assert MAX_HITS_PER_TERM == 3


@pytest.mark.parametrize(
    ("title", "text", "score"),
    [
        ("ISIS attack", "", 3.0),  # one title hit weighs 3
        ("Attack", "ISIS claimed it", 1.0),  # one text hit weighs 1
        ("ISIS attack", "ISIS claimed it", 4.0),
        ("Attack", "ISIS, ISIS", 2.0),
        ("Attack", "ISIS " * 3, 3.0),
        ("Attack", "ISIS " * 10, 3.0),  # at most 3 hits per term per field
        ("ISIS ISIS ISIS ISIS ISIS", "", 9.0),
        ("ISIS ISIS ISIS ISIS", "ISIS " * 7, 12.0),
    ],
)
def test_score_weights_title_and_caps_hits(title, text, score) -> None:
    [m] = matcher(isis="isis").match(make_item(title, text))
    assert m.score == score


def test_each_term_is_scored_separately() -> None:
    m = matcher(isis="isis OR daesh").match(make_item("ISIS attack", "Daesh " * 5))[0]
    assert m.score == 1 * TITLE_WEIGHT + 3 * 1


def test_negated_terms_add_no_score_or_evidence() -> None:
    [m] = matcher(isis="isis NOT goddess").match(make_item("ISIS attack", "near the temple"))
    assert [e.term for e in m.evidence] == ["isis"]
    [m] = matcher(isis="isis NOT NEAR/3 coalition").match(
        make_item("ISIS attack", "the coalition responded")
    )
    assert [e.term for e in m.evidence] == ["isis"]
    assert m.score == TITLE_WEIGHT


def test_a_repeated_term_is_not_counted_twice() -> None:
    [m] = matcher(isis="isis OR (isis AND iraq)").match(make_item("ISIS in Iraq"))
    isis = [e for e in m.evidence if e.term == "isis"]
    assert len(isis) == 1 and isis[0].count == 1
    assert m.score == 2 * TITLE_WEIGHT  # isis + iraq, once each


def test_evidence_counts_every_hit_title_first() -> None:
    [m] = matcher(isis="isis OR daesh").match(
        make_item("Daesh attack", "ISIS and ISIS and ISIS and ISIS")
    )
    assert [(e.term, e.field, e.count) for e in m.evidence] == [
        ("daesh", "title", 1),
        ("isis", "text", 4),  # the count is every hit, the score is capped
    ]
    assert m.score == TITLE_WEIGHT + MAX_HITS_PER_TERM
    assert m.why() == "“daesh” in title; “isis” ×4 in text"


def test_evidence_snippet_shows_the_hit() -> None:
    [m] = matcher(iraq='"prime minister"').match(
        make_item("News", "Yesterday the Iraqi prime minister spoke to reporters.")
    )
    [ev] = m.evidence
    assert "prime minister" in ev.snippet


def test_items_matching_no_topic_give_no_match() -> None:
    assert matcher(isis="isis", iraq="iraq").match(make_item("Football", "Goals")) == []


def test_matches_are_sorted_best_first() -> None:
    found = matcher(low="syria", high="iraq").match(make_item("Iraq", "Syria"))
    assert [m.topic_id for m in found] == ["high", "low"]
    assert found[0].score > found[1].score


def test_near_evidence_names_both_sides() -> None:
    [m] = matcher(w="troops NEAR/3 withdraw*").match(
        make_item("News", "the troops will withdraw soon")
    )
    assert {e.term for e in m.evidence} == {"troops", "withdraw*"}
    assert m.score == 2.0


def test_an_invalid_topic_query_fails_when_compiling() -> None:
    with pytest.raises(QueryError):
        matcher(bad="isis AND")


def test_snippet_has_whole_words_and_ellipses() -> None:
    words = [f"w{i:03d}" for i in range(100)]
    words[50] = "TARGET"
    raw = " ".join(words)
    text = tokenize(raw)
    snip = snippet(text, Span("text", 50, 51), width=20)
    assert "TARGET" in snip
    assert snip.startswith("…") and snip.endswith("…")
    for piece in snip.strip("…").split():
        assert piece in words  # no word cut in half
    assert len(snip) < len(raw)
    # at the very start there is no leading ellipsis
    start = snippet(text, Span("text", 0, 1), width=20)
    assert start.startswith("w000") and start.endswith("…")


def test_shipped_topics_on_the_seed_document() -> None:
    shipped = load_topic_file(ROOT / "config" / "topics.toml")
    raw = parse_document(
        SEED, SEED.read_bytes(), source="file:seed", mtime=datetime(2024, 1, 1, tzinfo=UTC)
    )
    found = Matcher(shipped.topics, shipped.aliases).match(normalize(raw))
    ids = {m.topic_id for m in found}
    # The seed: Iraq's PM says US troops are no longer needed after ISIS's defeat; Iran-backed
    # militias attacked US bases.
    assert {"troop-withdrawal", "isis", "iraq", "us-forces-mideast", "iran-backed-militias"} <= ids
    isis = next(m for m in found if m.topic_id == "isis")
    assert isis.evidence[0].field == "title"
    assert isis.evidence[0].term.lower() == "isis"


@pytest.mark.parametrize(
    ("topic", "title", "text", "expected"),
    [
        ("isis", "ISIS claims attack", "", True),
        ("isis", "The anti-ISIS coalition meets", "", False),
        ("isis", "Nothing", "This is what it is.", False),
        ("isis", "IS fighters kill 5", "", True),
        ("iraq", "Iraqi parliament votes", "", True),
        ("iraq", "Iran elects president", "", False),
        ("troop-withdrawal", "US troops to withdraw from Iraq by 2026", "", True),
        ("troop-withdrawal", "Troops sign arms treaty on withdrawal", "", False),
    ],
)
def test_shipped_topics_examples(topic, title, text, expected) -> None:
    shipped = load_topic_file(Path(ROOT / "config" / "topics.toml"))
    chosen = [t for t in shipped.topics if t.id == topic]
    found = Matcher(chosen, shipped.aliases).match(make_item(title, text))
    assert bool(found) is expected
