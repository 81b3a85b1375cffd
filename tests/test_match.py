"""bot/match.py: which topics an item matches, the score and the evidence; the compiled
matcher (inflections, aliases, regexes, scopes, limits, incremental changes) and its
agreement with the direct evaluation of the same queries (hypothesis)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import load_topic_file
from bot.errors import QueryError
from bot.match import MAX_HITS_PER_TERM, TITLE_WEIGHT, Matcher, anchors, snippet
from bot.models import Item, Topic
from bot.normalize import normalize
from bot.query import MAX_TERMS, Span, evaluate, parse_query, tokenize
from bot.sources.documents import parse_document
from tests.conftest import ROOT, SEED
from tests.factories import item


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


def matches(query: str, title: str, text: str = "", aliases: dict[str, str] | None = None) -> bool:
    return bool(Matcher([Topic("t", "T", query)], aliases).match(item(title, text)))


@pytest.mark.parametrize(
    "text",
    [
        "They withdraw",
        "France withdrew",
        "troops withdrawn",
        "the withdrawal",
        "withdrawing now",
        "withdraws",
    ],
)
def test_a_lower_case_word_matches_its_inflections(text: str) -> None:
    assert matches("withdraw", text)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("exact:withdraw", "France withdrew", False),
        ("exact:withdraw", "they withdraw", True),
        ("Withdraw", "France withdrew", False),  # a capital means this form only
        ('"pull out"', "forces pulled out of Kidal", True),
        ('exact:"pull out"', "forces pulled out of Kidal", False),
        ("peacekeeper", "UN peacekeepers left", True),  # not in the dictionary: regular plural
        ("depart", "the department of state", False),  # not a form of depart
        ("depart", "their departure was announced", True),
    ],
)
def test_inflection_rules(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_alias_sets_are_reusable_and_checked() -> None:
    aliases = {"names": 'ISIS OR Daesh OR "Islamic State"', "both": "@names OR ISIL"}
    assert matches("@names NEAR/3 attack", "Daesh claims attack", aliases=aliases)
    assert matches("@both", "ISIL fighters", aliases=aliases)
    assert not matches("@names", "nothing here", aliases=aliases)
    with pytest.raises(QueryError) as err:
        parse_query("troops AND @nope", {"names": "ISIS"})
    assert err.value.position == 11 and "@names" in err.value.expected


def test_alias_recursion_is_bounded() -> None:
    with pytest.raises(QueryError, match="nested too deeply"):
        parse_query("@a", {"a": "@b", "b": "@a"})


def test_regex_terms_run_in_re2_and_bad_ones_are_refused() -> None:
    assert matches(r"/ISIS-?K/", "ISISK attack")
    assert matches(r"/\d{2,} (killed|dead)/", "12 killed in blast")
    with pytest.raises(QueryError, match="invalid regular expression"):
        parse_query("/a(b/")
    with pytest.raises(QueryError, match="characters long"):
        parse_query("/" + "a" * 300 + "/")


def test_a_catastrophic_regex_is_linear_in_re2() -> None:
    text = "a" * 5000 + "!"
    started = time.perf_counter()
    assert not matches("/(a+)+b/", text)
    assert time.perf_counter() - started < 0.5


def test_too_many_alternatives_are_refused_with_the_position() -> None:
    query = " OR ".join(f"w{n}" for n in range(MAX_TERMS + 100))
    with pytest.raises(QueryError, match=f"more than {MAX_TERMS} terms") as err:
        parse_query(query)
    assert err.value.position == query.index(f" w{MAX_TERMS} ") + 1
    with pytest.raises(QueryError):  # 10,000 alternatives: refused (by length before count)
        parse_query(" OR ".join(f"w{n}" for n in range(10_000)))


def test_a_100_kb_query_is_refused() -> None:
    with pytest.raises(QueryError, match="characters long"):
        parse_query("troops " * 15_000)


def test_near_on_a_long_text_with_many_hits_stays_fast() -> None:
    text = " ".join(["troops"] * 3000 + ["withdraw"] * 3000)
    matcher = Matcher([Topic("t", "T", "troop NEAR/50 withdraw")])
    started = time.perf_counter()
    assert matcher.match(item("x", text))
    assert time.perf_counter() - started < 0.5


def test_source_scope_matches_the_outlet() -> None:
    topic = Topic("t", "T", "source:aljazeera AND gaza")
    matcher = Matcher([topic])
    hit = Item("k", "k", "s", "Al Jazeera", "Gaza aid", None, None, item("x").published, "")
    miss = Item("k2", "k2", "s", "BBC", "Gaza aid", None, None, item("x").published, "")
    assert not matcher.match(hit)  # "Al Jazeera" is two words
    matcher = Matcher([Topic("t", "T", 'source:"al jazeera" AND gaza')])
    assert matcher.match(hit) and not matcher.match(miss)


def test_add_replace_and_remove_topics_incrementally() -> None:
    matcher = Matcher([Topic("a", "A", "iraq"), Topic("b", "B", "syria")])
    news = item("Iraq and Syria talks")
    assert {m.topic_id for m in matcher.match(news)} == {"a", "b"}
    matcher.remove("a")
    assert {m.topic_id for m in matcher.match(news)} == {"b"}
    matcher.add(Topic("b", "B", "lebanon"))  # replaces b
    assert matcher.match(news) == []
    matcher.add(Topic("c", "C", '"syria talks"'))
    assert [m.topic_id for m in matcher.match(news)] == ["c"]
    assert len(matcher) == 2


def test_only_topics_whose_anchor_occurs_are_evaluated() -> None:
    topics = [Topic(f"t{n}", "T", f'"word{n} alpha" AND beta{n}') for n in range(2000)]
    topics.append(Topic("neg", "N", "mali OR NOT zzz"))
    matcher = Matcher(topics)
    doc = matcher.index(item("word7 alpha and beta7"))
    found = matcher.scan(doc)
    assert sorted(matcher.candidates(found)) == ["neg", "t7"]
    assert anchors(parse_query("mali OR NOT zzz")) is None


# --------------------------------------------------------------------------- property test

WORDS = ["troops", "troop", "withdraw", "withdrew", "isis", "IS", "is", "mali", "niger", "exit"]
_word = st.sampled_from(WORDS)


def _leaf() -> st.SearchStrategy[str]:
    return st.one_of(
        _word.map(lambda w: w.lower()),
        _word.map(lambda w: f"exact:{w.lower()}"),
        _word.map(lambda w: f"case:{w}"),
        st.tuples(_word, _word).map(lambda p: f'"{p[0].lower()} {p[1].lower()}"'),
        st.sampled_from(["withdr*", "tro*", "titl:x"]).filter(lambda w: ":" not in w),
    )


def _query() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]} AND {p[1]})"),
            inner.map(lambda q: f"(x{0} OR NOT {q})".replace("x0", "mali")),
            st.tuples(_leaf(), st.integers(1, 4), _leaf()).map(
                lambda p: f"({p[0]} NEAR/{p[1]} {p[2]})"
            ),
            st.tuples(_leaf(), st.integers(1, 4), _leaf()).map(
                lambda p: f"({p[0]} NOT NEAR/{p[1]} {p[2]})"
            ),
        )

    return st.recursive(_leaf(), extend, max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(
    queries=st.lists(_query(), min_size=1, max_size=4),
    title=st.lists(_word, max_size=6).map(" ".join),
    text=st.lists(_word, max_size=20).map(" ".join),
)
def test_compiled_matcher_agrees_with_direct_evaluation(
    queries: list[str], title: str, text: str
) -> None:
    topics = [Topic(f"t{n}", "T", q) for n, q in enumerate(queries)]
    matcher = Matcher(topics)
    doc = {"title": tokenize(title), "text": tokenize(text), "source": tokenize("")}
    compiled = {m.topic_id for m in matcher.match_doc(doc)}
    direct = {t.id for t in topics if evaluate(parse_query(t.query), doc)}
    assert compiled == direct
