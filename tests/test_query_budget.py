"""The work budget of query evaluation, and the check /test and /watch share."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import WatchLimits
from bot.errors import QueryError, QueryTooCostly
from bot.pipeline import Pipeline
from bot.query import Budget, evaluate, parse_query, tokenize
from bot.storage.sqlite import SQLiteStore


def not_near_cost(words: list[str], left: str, right: str, distance: int) -> int:
    """The steps of ``left NOT NEAR/distance right`` on ``words`` (single-word terms, exact:),
    counted from the positions as bot.query.Budget documents them."""
    lefts = [i for i, w in enumerate(words) if w == left]
    rights = [i for i, w in enumerate(words) if w == right]
    # Finding each term directly: one form looked up in each of two fields, 1 per start found;
    # then the lookup itself and 1 per place handed on.
    cost = sum(2 + len(p) + 1 + len(p) for p in (lefts, rights))
    if not lefts or not rights:
        return cost
    cost += len(rights)  # the sort
    reach = distance + 1
    for a in lefts:
        window = [b for b in rights if a - reach <= b <= a + 1 + distance]
        compared = 0
        for b in window:
            compared += 1
            gap = b - (a + 1) if b >= a + 1 else a - (b + 1)
            if gap <= distance:
                break
        cost += 1 + compared
    return cost


def test_the_budget_counts_not_near_comparisons() -> None:
    words = (
        "zed " * 3 + "alpha " + "zed " * 5 + "beta " + "alpha " * 4 + "zed " * 9 + "alpha"
    ).split()
    doc = {"title": tokenize(""), "text": tokenize(" ".join(words))}
    tree = parse_query("exact:alpha NOT NEAR/3 exact:beta")
    cost = not_near_cost(words, "alpha", "beta", 3)
    assert cost > 10
    assert evaluate(tree, doc, Budget(cost))  # exactly enough
    with pytest.raises(QueryTooCostly):
        evaluate(tree, doc, Budget(cost - 1))


def pipeline(tmp_path: Path, limits: WatchLimits) -> Pipeline:
    return Pipeline(
        store=SQLiteStore(tmp_path / "db.sqlite"),
        topics=(),
        timezone=ZoneInfo("UTC"),
        feed_source=None,
        folder_source=None,
        notifiers={},
        watch_limits=limits,
    )


def test_the_shared_check_refuses_a_regex_and_a_long_query(tmp_path: Path) -> None:
    p = pipeline(tmp_path, WatchLimits())
    with pytest.raises(QueryError, match="regular expressions are not allowed"):
        p.check_query("/ira+q/")
    with pytest.raises(QueryError, match="at most 300 characters"):
        p.check_query("iraq OR " * 40 + "syria")
    assert p.check_query("iraq OR syria") is not None
    assert pipeline(tmp_path, WatchLimits(regex=True)).check_query("/ira+q/") is not None


async def test_test_query_refuses_a_regex_when_watches_may_not(tmp_path: Path) -> None:
    p = pipeline(tmp_path, WatchLimits())
    with pytest.raises(QueryError, match="regular expressions are not allowed"):
        await p.dry_run_query("/ira+q/")
