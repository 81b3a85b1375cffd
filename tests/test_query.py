"""The topic query language: parsing, error positions and evaluation (bot/query.py)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ConfigError, QueryError
from bot.query import (
    MAX_NEAR,
    MAX_QUERY_LENGTH,
    And,
    Near,
    Not,
    Or,
    Span,
    Term,
    evaluate,
    explain,
    parse_query,
    positive_terms,
    term_spans,
    tokenize,
)


def doc(text: str = "", title: str = "") -> dict:
    return {"title": tokenize(title), "text": tokenize(text)}


def matches(query: str, text: str = "", title: str = "") -> bool:
    return evaluate(parse_query(query), doc(text, title))


# --------------------------------------------------------------------------- tokenize


def test_tokenize_lowercases_words_keeps_case_and_offsets() -> None:
    raw = "ISIS-K struck Iraq's north."
    t = tokenize(raw)
    assert t.words == ("isis", "k", "struck", "iraq", "s", "north")
    assert t.cased == ("ISIS", "K", "struck", "Iraq", "s", "north")
    assert [raw[a:b] for a, b in t.offsets] == list(t.cased)
    assert t.index["iraq"] == [3]


def test_tokenize_indexes_every_occurrence() -> None:
    t = tokenize("war and war and war")
    assert t.index["war"] == [0, 2, 4]
    assert t.index["and"] == [1, 3]


# --------------------------------------------------------------------------- parsing: trees


def test_a_single_word_is_a_lower_case_term_for_every_field() -> None:
    node = parse_query("Iraq")
    assert isinstance(node, Term)
    assert node.parts == ("iraq",)
    assert node.fields == ("title", "text")
    assert not node.case_sensitive and not node.prefix


@pytest.mark.parametrize(
    ("query", "parts", "prefixes"),
    [
        ('"Islamic State"', ("islamic", "state"), (False, False)),
        ("ISIS-K", ("isis", "k"), (False, False)),
        ("withdr*", ("withdr",), (True,)),
        ('"pull* out"', ("pull", "out"), (True, False)),
        ("“Islamic State”", ("islamic", "state"), (False, False)),
    ],
)
def test_phrases_prefixes_and_punctuated_words(query, parts, prefixes) -> None:
    node = parse_query(query)
    assert isinstance(node, Term)
    assert node.parts == parts
    assert node.prefixes == prefixes


def test_adjacent_terms_are_anded_like_explicit_and() -> None:
    assert parse_query("iraq syria") == parse_query("iraq AND syria")
    assert isinstance(parse_query("iraq syria"), And)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # AND binds tighter than OR
        (
            "a OR b c",
            Or(
                (
                    Term("a", ("a",), (False,)),
                    And((Term("b", ("b",), (False,)), Term("c", ("c",), (False,)))),
                )
            ),
        ),
        # NOT binds tighter than AND
        ("NOT a b", And((Not(Term("a", ("a",), (False,))), Term("b", ("b",), (False,))))),
        ("b -a", And((Term("b", ("b",), (False,)), Not(Term("a", ("a",), (False,)))))),
        ("NOT a OR b", Or((Not(Term("a", ("a",), (False,))), Term("b", ("b",), (False,))))),
    ],
)
def test_precedence_not_over_and_over_or(query, expected) -> None:
    assert parse_query(query) == expected


def test_lower_case_operators_are_words() -> None:
    node = parse_query("war and peace")
    assert isinstance(node, And)
    assert [c.parts for c in node.children] == [("war",), ("and",), ("peace",)]


def test_field_scopes_apply_to_a_term_and_to_a_group() -> None:
    assert parse_query("title:isis").fields == ("title",)
    assert parse_query("text:isis").fields == ("text",)
    group = parse_query("title:(isis OR text:daesh)")
    assert isinstance(group, Or)
    assert [c.fields for c in group.children] == [("title",), ("text",)]


def test_case_modifier_keeps_case_of_terms_and_groups() -> None:
    term = parse_query("case:IS")
    assert term.case_sensitive and term.parts == ("IS",)
    group = parse_query("case:(IS OR ISIL)")
    assert [c.parts for c in group.children] == [("IS",), ("ISIL",)]
    assert all(c.case_sensitive for c in group.children)
    both = parse_query("title:case:IS")
    assert both.fields == ("title",) and both.case_sensitive and both.parts == ("IS",)


def test_near_and_not_near_nodes() -> None:
    near = parse_query("isis NEAR/3 coalition")
    assert isinstance(near, Near) and near.distance == 3 and not near.negated
    not_near = parse_query("isis NOT NEAR/3 coalition")
    assert isinstance(not_near, Near) and not_near.distance == 3 and not_near.negated


def test_positive_terms_skip_negated_ones_but_count_double_negation() -> None:
    node = parse_query("a NOT b NOT (NOT c)")
    assert sorted(t.parts[0] for t in positive_terms(node)) == ["a", "c"]


def test_near_limits_are_accepted() -> None:
    assert parse_query("a NEAR/1 b").distance == 1
    assert parse_query(f"a NEAR/{MAX_NEAR} b").distance == MAX_NEAR


def test_a_query_of_exactly_the_maximum_length_is_accepted() -> None:
    query = "a" * MAX_QUERY_LENGTH
    assert parse_query(query).parts == ("a" * MAX_QUERY_LENGTH,)


# --------------------------------------------------------------------------- parsing: errors


@pytest.mark.parametrize(
    ("name", "query", "position"),
    [
        ("empty query", "", 0),
        ("unterminated phrase", 'isis "islamic state', 5),
        ("unmatched )", "isis)", 4),
        ("unmatched ) after a group", "(isis) daesh)", 12),
        ("missing )", "(isis OR daesh", 14),
        ("empty parentheses", "isis ()", 6),
        ("dangling AND at the end", "isis AND", 8),
        ("dangling OR at the end", "isis OR", 7),
        ("dangling NOT at the end", "isis NOT", 8),
        ("AND at the start", "AND isis", 0),
        ("OR at the start", "OR isis", 0),
        ("two operators in a row", "isis AND OR daesh", 9),
        ("NEAR with an AND-group on the left", "(isis daesh) NEAR/3 iraq", 13),
        ("NEAR/0", "isis NEAR/0 iraq", 5),
        ("NEAR/999", "isis NEAR/999 iraq", 5),
        ("NEAR without a number", "isis NEAR/x iraq", 5),
        ("NEAR at the start", "NEAR/3 iraq", 0),
        ("* in the middle of a word", "wi*thdraw", 2),
        ("* in the middle of a scoped word", "title:wi*thdraw", 8),
        ("* in the middle of a word in a phrase", '"pull wi*th"', 8),
        ("too-short prefix", "isis w*", 5),
        ("a lone *", "isis *", 5),
        ("only negated terms", "NOT isis", 0),
        ("only negated terms with -", "-isis -daesh", 0),
        ("only a negated NEAR", "NOT isis NEAR/3 iraq", 0),
        ("a field with nothing to search", "isis title:", 11),
        ("a word without letters", "isis - daesh", 5),
    ],
)
def test_query_errors_point_at_the_problem(name, query, position) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    err = info.value
    assert err.position == position, f"{name}: {err}"
    assert err.expected, f"{name}: the error must say what was expected"
    assert err.query == query
    # The message is 1-based for people; the attribute is 0-based.
    assert f"at position {position + 1}" in str(err)
    assert err.pointer().splitlines()[-1] == " " * position + "^"


def test_near_with_an_and_group_on_the_right_points_inside_that_group() -> None:
    query = "iraq NEAR/3 (isis daesh)"
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert query.index("(") <= info.value.position <= query.index(")")
    assert "NEAR" in info.value.expected


def test_missing_paren_error_names_the_opening_paren() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("iraq (isis OR daesh")
    # the ( is the 6th character
    assert "position 6" in info.value.expected


def test_over_long_query_is_refused_at_the_limit() -> None:
    query = "a " * (MAX_QUERY_LENGTH // 2) + "b"
    assert len(query) == MAX_QUERY_LENGTH + 1
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.position == MAX_QUERY_LENGTH
    assert str(MAX_QUERY_LENGTH) in info.value.expected


def test_query_error_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        parse_query("(")


@pytest.mark.parametrize(
    "query", ["(" * 300 + "isis" + ")" * 300, "NOT " * 1200 + "isis"], ids=["parens", "nots"]
)
def test_deeply_nested_query_parses_or_raises_query_error(query) -> None:
    with contextlib.suppress(QueryError):
        parse_query(query)


# --------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # whole words, case-insensitive
        ("iraq", "Troops left Iraq.", True),
        ("iraq", "IRAQ's government", True),
        ("iraq", "the Iraqi army", False),
        ("iraqi", "Iraq", False),
        # prefixes
        ("iraq*", "the Iraqi army", True),
        ("iraq*", "Iraq", True),
        ("withdr*", "a planned withdrawal", True),
        ("withdr*", "they will draw down", False),
        ('"pull* out"', "the US is pulling out", True),
        ('"pull* out"', "pulling the troops out", False),
        # phrases, across punctuation
        ('"Islamic State"', "the Islamic State group", True),
        ('"Islamic State"', "an Islamic-State cell", True),
        ('"Islamic State"', "the state is Islamic", False),
        ("ISIS-K", "a branch known as ISIS K", True),
        ("ISIS-K", "a branch known as ISIS-K", True),
        ("ISIS-K", "ISIS claimed it; K was silent", False),
        ("U.S.", "U.S. troops", True),
        # implicit AND, OR, NOT
        ("iraq syria", "Iraq and Syria", True),
        ("iraq syria", "Iraq alone", False),
        ("iraq OR syria", "Syria alone", True),
        ("iraq OR syria", "Jordan alone", False),
        ("iraq NOT syria", "Iraq alone", True),
        ("iraq NOT syria", "Iraq and Syria", False),
        ("iraq -syria", "Iraq and Syria", False),
        # precedence: NOT > AND > OR
        ("a OR b c", "a", True),
        ("a OR b c", "b", False),
        ("a OR b c", "b c", True),
        ("NOT a b", "b", True),
        ("NOT a b", "a b", False),
        ("(a OR b) c", "a", False),
        ("(a OR b) c", "a c", True),
        ("NOT (a OR b) c", "c", True),
        ("NOT (a OR b) c", "b c", False),
    ],
)
def test_evaluate(query, text, expected) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("case:IS", "fighters of the IS group attacked", True),
        ("case:IS", "this is not it", False),
        ("case:IS", "Is it over?", False),
        ("case:(IS OR ISIL)", "ISIL fighters", True),
        ("case:(IS OR ISIL)", "isil fighters and this is", False),
        ('case:"Islamic State"', "the Islamic State group", True),
        ('case:"Islamic State"', "an islamic state", False),
        ("case:Withdr*", "Withdrawal announced", True),
        ("case:Withdr*", "a withdrawal announced", False),
    ],
)
def test_case_sensitive_terms(query, text, expected) -> None:
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("troops withdraw", True),
        ("withdraw troops", True),  # either order
        ("troops will soon withdraw", True),  # 2 words between
        ("troops will very soon withdraw", True),  # exactly 3 words between
        ("troops will very soon then withdraw", False),  # 4 words between
        ("withdraw will very soon troops", True),
        ("withdraw will very soon then troops", False),
    ],
)
def test_near_distance_counts_words_between_in_either_order(text, expected) -> None:
    assert matches("troops NEAR/3 withdraw", text) is expected


def test_near_measures_from_the_ends_of_phrases() -> None:
    q = '"islamic state" NEAR/1 fighters'
    assert matches(q, "Islamic State group fighters")
    assert not matches(q, "Islamic State armed group fighters")
    assert matches(q, "fighters of Islamic State")


def test_near_with_or_groups_on_both_sides() -> None:
    q = "(troops OR soldiers) NEAR/2 (leave OR exit)"
    assert matches(q, "the soldiers will exit")
    assert matches(q, "leave, the troops were told")
    assert not matches(q, "the soldiers were told by the president to leave")


def test_near_needs_both_in_the_same_field() -> None:
    assert not matches("troops NEAR/3 withdraw", text="troops", title="withdraw")
    assert matches("troops NEAR/3 withdraw", text="troops", title="troops withdraw")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the anti-ISIS coalition met", False),  # the only ISIS is next to coalition
        ("the coalition against ISIS met", False),  # either order
        ("ISIS attacked a village", True),  # no coalition at all
        ("ISIS attacked a small remote village near the coalition", True),  # far enough
        # one ISIS is excluded, another is not: the query still matches
        ("the anti-ISIS coalition met on Monday while elsewhere ISIS fighters regrouped", True),
        ("the coalition", False),  # no ISIS: NOT NEAR is not a bare NOT
    ],
)
def test_not_near(text, expected) -> None:
    assert matches("isis NOT NEAR/3 coalition", text) is expected


def test_not_near_only_looks_in_the_same_field() -> None:
    assert matches("isis NOT NEAR/3 coalition", text="ISIS attack", title="coalition")


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        ("title:isis", "ISIS attack", "", True),
        ("title:isis", "Attack", "ISIS claimed it", False),
        ("text:isis", "ISIS attack", "", False),
        ("text:isis", "Attack", "ISIS claimed it", True),
        ("isis", "ISIS attack", "", True),
        ("isis", "", "ISIS claimed it", True),
        ('title:"islamic state"', "Islamic State attack", "", True),
        ('title:"islamic state"', "Attack", "Islamic State", False),
        ("title:(isis OR daesh)", "Daesh attack", "", True),
        ("title:(isis OR daesh)", "Attack", "Daesh", False),
        ("title:isis NOT text:coalition", "ISIS attack", "coalition", False),
        ("title:isis NOT text:coalition", "ISIS attack", "army", True),
    ],
)
def test_field_scopes(query, title, text, expected) -> None:
    assert matches(query, text=text, title=title) is expected


def test_a_missing_field_matches_nothing() -> None:
    assert not evaluate(parse_query("isis"), {"text": tokenize("")})
    assert evaluate(parse_query("isis"), {"text": tokenize("ISIS")})


def test_term_spans_give_field_and_word_positions() -> None:
    term = parse_query('"islamic state"')
    spans = term_spans(term, doc("the Islamic State and Islamic State", "Islamic State"))
    assert Span("title", 0, 2) in spans
    assert Span("text", 1, 3) in spans
    assert Span("text", 4, 6) in spans
    assert len(spans) == 3


def test_explain_lists_positive_contributions_only() -> None:
    node = parse_query("(isis OR daesh) NOT goddess")
    found = explain(node, doc("Daesh and ISIS"), {})
    assert found is not None
    assert sorted(t.parts[0] for t, _ in found) == ["daesh", "isis"]
    assert explain(node, doc("Daesh and the goddess Isis"), {}) is None


def test_explain_on_a_negation_alone_is_empty_evidence() -> None:
    # NOT contributes no evidence; it only decides.
    assert explain(Not(parse_query("isis")), doc("Iraq"), {}) == []
    assert explain(Not(parse_query("isis")), doc("ISIS"), {}) is None


# --------------------------------------------------------------------------- property


VOCAB = ["alpha", "beta", "gamma", "delta", "omega"]

_leaf = st.tuples(
    st.just("word"), st.sampled_from(VOCAB), st.sampled_from(["lower", "upper", "title"])
)


def _trees(children):
    return st.one_of(
        st.tuples(st.just("not"), children, st.sampled_from(["NOT ", "-"])),
        st.tuples(
            st.just("and"),
            st.lists(children, min_size=2, max_size=3),
            st.sampled_from([" AND ", " "]),
        ),
        st.tuples(st.just("or"), st.lists(children, min_size=2, max_size=3)),
    )


trees = st.recursive(_leaf, _trees, max_leaves=8)


def _render(tree) -> str:
    """Fully parenthesized, so the expected meaning does not depend on precedence."""
    kind = tree[0]
    if kind == "word":
        word, style = tree[1], tree[2]
        return {"lower": word, "upper": word.upper(), "title": word.title()}[style]
    if kind == "not":
        return f"{tree[2]}({_render(tree[1])})"
    if kind == "and":
        return "(" + tree[2].join(_render(c) for c in tree[1]) + ")"
    return "(" + " OR ".join(_render(c) for c in tree[1]) + ")"


def _truth(tree, words: set[str]) -> bool:
    kind = tree[0]
    if kind == "word":
        return tree[1] in words
    if kind == "not":
        return not _truth(tree[1], words)
    if kind == "and":
        return all(_truth(c, words) for c in tree[1])
    return any(_truth(c, words) for c in tree[1])


def _has_positive(tree, negated: bool = False) -> bool:
    kind = tree[0]
    if kind == "word":
        return not negated
    if kind == "not":
        return _has_positive(tree[1], not negated)
    return any(_has_positive(c, negated) for c in tree[1])


@settings(max_examples=300, deadline=None)
@given(
    tree=trees,
    text_words=st.lists(st.tuples(st.sampled_from(VOCAB), st.booleans()), min_size=0, max_size=6),
)
def test_evaluate_agrees_with_set_semantics(tree, text_words) -> None:
    text = " ".join(w.upper() if up else w for w, up in text_words)
    query = _render(tree)
    if not _has_positive(tree):
        with pytest.raises(QueryError):
            parse_query(query)
        return
    expected = _truth(tree, {w.lower() for w, _ in text_words})
    assert evaluate(parse_query(query), doc(text)) is expected, (query, text)
