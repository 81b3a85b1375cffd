"""Match items against topics: a pure stage, (item, topics) -> matches with score and evidence.

Scoring: each term that matched (and is not negated) adds ``TITLE_WEIGHT`` per hit in the
title and 1 per hit in the text, counting at most ``MAX_HITS_PER_TERM`` hits per field, so a
long article that repeats a word is not worth more than a headline that names it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.models import Evidence, Item, Match, Topic
from bot.query import (
    And,
    Contribution,
    Near,
    Node,
    Or,
    Span,
    Term,
    TokenizedText,
    explain,
    parse_query,
    positive_terms,
)
from bot.query import tokenize as tokenize_text

__all__ = ["TITLE_WEIGHT", "CompiledTopic", "Matcher", "snippet"]

TITLE_WEIGHT = 3.0
MAX_HITS_PER_TERM = 3
SNIPPET_CHARS = 60


@dataclass(frozen=True, slots=True)
class CompiledTopic:
    topic: Topic
    tree: Node
    positives: frozenset[Term]


def snippet(text: TokenizedText, span: Span, width: int = SNIPPET_CHARS) -> str:
    """The words around ``span``, about ``width`` characters each side, with ellipses."""
    start = text.offsets[span.start][0]
    end = text.offsets[span.end - 1][1]
    lo = max(0, start - width)
    hi = min(len(text.raw), end + width)
    # Widen to word boundaries so the snippet does not begin or end mid-word.
    while lo > 0 and not text.raw[lo - 1].isspace():
        lo -= 1
    while hi < len(text.raw) and not text.raw[hi].isspace():
        hi += 1
    body = " ".join(text.raw[lo:hi].split())
    return f"{'…' if lo > 0 else ''}{body}{'…' if hi < len(text.raw) else ''}"


def _needs_a_positive_term(node: Node) -> bool:
    """True when ``node`` can only match if one of its positive terms occurs in the item."""
    if isinstance(node, Term | Near):
        return not (
            isinstance(node, Near) and node.negated and not _needs_a_positive_term(node.left)
        )
    if isinstance(node, And):
        return any(_needs_a_positive_term(c) for c in node.children)
    if isinstance(node, Or):
        return all(_needs_a_positive_term(c) for c in node.children)
    return False  # NOT x matches items without x


class Matcher:
    """Compiled topics; :meth:`match` returns the topics an item matches, best first.

    Every term needs its first word in the item, so the topics are indexed by the first word of
    their terms (and by prefix for ``word*``): an item is evaluated only against the topics one of
    whose words it contains. Cost grows with the topics that could hit, not the topics defined.
    """

    def __init__(self, topics: Iterable[Topic]) -> None:
        self.topics: tuple[CompiledTopic, ...] = tuple(
            CompiledTopic(t, tree, frozenset(positive_terms(tree)))
            for t in topics
            for tree in (parse_query(t.query),)
        )
        self._by_word: dict[str, set[int]] = {}
        self._by_prefix: dict[str, set[int]] = {}
        self._always: set[int] = set()
        for n, compiled in enumerate(self.topics):
            if not _needs_a_positive_term(compiled.tree):
                self._always.add(n)
                continue
            for term in compiled.positives:
                first = term.parts[0].lower()
                table = self._by_prefix if term.prefixes and term.prefixes[0] else self._by_word
                table.setdefault(first, set()).add(n)
        self._prefix_lengths = sorted({len(p) for p in self._by_prefix})

    @staticmethod
    def index(item: Item) -> dict[str, TokenizedText]:
        return {"title": tokenize_text(item.title), "text": tokenize_text(item.text)}

    def candidates(self, doc: dict[str, TokenizedText]) -> list[int]:
        """Indexes of the topics that may match ``doc``, in definition order."""
        found = set(self._always)
        by_word, by_prefix = self._by_word, self._by_prefix
        for text in doc.values():
            for word in text.index:
                hit = by_word.get(word)
                if hit:
                    found |= hit
                for length in self._prefix_lengths:
                    if length > len(word):
                        break
                    hit = by_prefix.get(word[:length])
                    if hit:
                        found |= hit
        return sorted(found)

    def match(self, item: Item) -> list[Match]:
        doc = self.index(item)
        cache: dict[Term, list[Span]] = {}  # shared: a term used by many topics is found once
        matches: list[Match] = []
        for n in self.candidates(doc):
            compiled = self.topics[n]
            found = explain(compiled.tree, doc, cache)
            if found is None:
                continue
            matches.append(self._match(compiled.topic.id, found, doc))
        matches.sort(key=lambda m: -m.score)
        return matches

    @staticmethod
    def _match(topic_id: str, found: list[Contribution], doc: dict[str, TokenizedText]) -> Match:
        by_term: dict[tuple[str, str], list[Span]] = {}
        for term, span in found:
            spans = by_term.setdefault((term.raw, span.field), [])
            if span not in spans:
                spans.append(span)
        evidence: list[Evidence] = []
        score = 0.0
        for (raw, field), spans in by_term.items():
            spans.sort(key=lambda s: s.start)
            counted = min(len(spans), MAX_HITS_PER_TERM)
            score += counted * (TITLE_WEIGHT if field == "title" else 1.0)
            evidence.append(Evidence(raw, field, len(spans), snippet(doc[field], spans[0])))
        evidence.sort(key=lambda e: (e.field != "title", -e.count, e.term))
        return Match(topic_id, round(score, 2), tuple(evidence))
