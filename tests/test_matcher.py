"""The compiled matcher: inflections, aliases, regexes, scopes, limits, incremental changes, and
agreement with the direct evaluation of the same queries (hypothesis)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import QueryError
from bot.match import Matcher, anchors
from bot.models import Item, Topic
from bot.query import MAX_TERMS, evaluate, parse_query, tokenize
from tests.factories import item


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
