"""Match items against topics: a pure stage, (item, topics) -> matches with score and evidence.

Cost is flat in the number of topics. Every term of every topic is compiled into one index of
the word sequences it accepts (its phrases with their inflections). An item's words are scanned
once against that index, like Aho-Corasick over words; only the topics with a term found (or
that can match without one) are then evaluated. So the cost per item grows with the topics that
hit, not with the topics defined. Terms with a prefix in the middle (``"pull* out"``) are looked
up by their first word and checked; regular expressions run only for topics that need them.

Scoring: each term that matched (and is not negated) adds ``TITLE_WEIGHT`` per hit in the
title and 1 per hit in the text, counting at most ``MAX_HITS_PER_TERM`` hits per field, so a
long article that repeats a word is not worth more than a headline that names it.

The learned layer (:mod:`bot.learn`): a topic with a trained model (:meth:`Matcher.set_model`)
also matches an item its query misses when the model scores it at or above its threshold.
Only items with one of the model's anchor words are scored (one more lookup per word, in an
index shared by all models, so that cost too is flat in the number of topics); such a match
carries the score, the threshold and the words and phrases that weighed most.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import QueryTooCostly
from bot.inflect import dictionary_version
from bot.learn import NotEnoughExamples, TopicModel, feature_counts, lemma, load_or_train
from bot.models import Evidence, Example, Item, Match, ModelScore, Topic
from bot.query import (
    And,
    Budget,
    Contribution,
    Leaf,
    Near,
    Node,
    Not,
    Or,
    Regex,
    Span,
    Term,
    TokenizedText,
    explain,
    leaf_spans,
    leaves,
    parse_query,
    variants,
)
from bot.query import tokenize as tokenize_text

__all__ = [
    "ITEM_BUDGET",
    "RUN_BUDGET",
    "TITLE_WEIGHT",
    "CompiledTopic",
    "Matcher",
    "anchors",
    "snippet",
    "train_models",
]

log = logging.getLogger(__name__)

_VERDICT_RULES = 1
"""Bumped when matching changes what a query says of a text: cached models keyed by a query's
text (:func:`train_models`) are then trained again."""

ITEM_BUDGET = 50_000
"""Steps (see :class:`bot.query.Budget`) one topic may take on one item while ingesting: a few
milliseconds. The topics people write take tens to a few hundred; a topic over it counts as
no match for that item, so one costly watch cannot stall ingest."""
RUN_BUDGET = 2_000_000
"""Steps a chat's query may take over all the recent items it is tried on (/test, /watch's dry
run): about a second of evaluation. A query of a few words over a week of items takes tens of
thousands."""
TITLE_WEIGHT = 3.0
FIELD_WEIGHTS = {"title": TITLE_WEIGHT, "text": 1.0, "source": 0.0}
MAX_HITS_PER_TERM = 3
SNIPPET_CHARS = 60


@dataclass(frozen=True, slots=True)
class CompiledTopic:
    topic: Topic
    tree: Node


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


def anchors(node: Node) -> frozenset[Leaf] | None:
    """Terms of which at least one must occur for ``node`` to match; None if there is no such set.

    ``a OR b``: one of a, b. ``a AND b``: a's anchors are enough (the smallest set is taken).
    ``NOT a`` can match without any term. Regular expressions are not indexed, so a regex-only
    branch has no anchors and its topic is evaluated for every item.
    """
    if isinstance(node, Term):
        return frozenset({node})
    if isinstance(node, Regex | Not):
        return None
    if isinstance(node, Near):
        left = anchors(node.left)
        if node.negated:
            return left
        right = anchors(node.right)
        options = [a for a in (left, right) if a is not None]
        return min(options, key=len) if options else None
    if isinstance(node, And):
        found = [a for a in (anchors(c) for c in node.children) if a is not None]
        return min(found, key=len) if found else None
    assert isinstance(node, Or)
    union: set[Leaf] = set()
    for child in node.children:
        sub = anchors(child)
        if sub is None:
            return None
        union |= sub
    return frozenset(union)


def _put(table: dict[Any, Any], key: Any, value: Any) -> None:
    """Add ``value`` under ``key``: most keys have one value, kept bare to save memory."""
    old = table.get(key)
    if old is None:
        table[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        table[key] = [old, value]


def _stands_for(word: str, family: str | list[str] | None) -> tuple[str, ...]:
    if family is None:
        return (word,)
    if isinstance(family, str):
        return (word, family)
    return (word, *family)


def _drop(table: dict[Any, Any], key: Any, value: Any) -> None:
    old = table.get(key)
    if old is None:
        return
    if isinstance(old, list):
        if value in old:
            old.remove(value)
        if len(old) == 1:
            table[key] = old[0]
        elif not old:
            del table[key]
    elif old == value:
        del table[key]


class Matcher:
    """Compiled topics; :meth:`match` returns the topics an item matches, best first.

    ``aliases`` are the named alias sets (``@name``) the queries may use. Topics can be added and
    removed one at a time (:meth:`add`, :meth:`remove`) without recompiling the others.
    """

    def __init__(self, topics: Iterable[Topic], aliases: Mapping[str, str] | None = None) -> None:
        self.aliases = dict(aliases or {})
        self._topics: dict[str, CompiledTopic] = {}
        # Phrase keys: the query's words, lower-case, "~word" for a word that also matches its
        # inflections. "pull out" written in lower case is "~pull ~out".
        self._phrases: dict[str, Term | list[Term]] = {}
        # "~pull" for "~pull ~out": keep extending. Never shrinks: a stale start costs a lookup.
        self._phrase_starts: set[str] = set()
        self._family: dict[str, str | list[str]] = {}  # "pulled" -> "~pull": keys it stands for
        self._family_uses: dict[str, int] = {}  # "~pull" -> how many indexed parts use it
        self._prefixed: dict[str, list[Term]] = {}  # "withdr" -> terms with a prefix part
        self._prefix_lengths: list[int] = []
        self._topics_of: dict[Leaf, str | list[str]] = {}  # anchor term -> topic id(s)
        self._always: set[str] = set()  # topics without anchors
        self._indexed: dict[Leaf, int] = {}  # term -> number of topics using it
        self._interned: dict[Term, Term] = {}  # one object per distinct term
        self.too_costly: set[str] = set()  # topics that went over ITEM_BUDGET (logged once)
        self._models: dict[str, TopicModel] = {}
        self._filters: dict[str, TopicModel] = {}  # topic -> the model its matches must pass
        self._model_anchors: dict[str, str | list[str]] = {}  # word -> topics whose model it opens
        for topic in topics:
            self.add(topic)

    # ------------------------------------------------------------------ compiling
    @property
    def topics(self) -> tuple[CompiledTopic, ...]:
        return tuple(self._topics.values())

    def __len__(self) -> int:
        return len(self._topics)

    def compile(self, topic: Topic) -> CompiledTopic:
        """Parse a topic's query. :raises QueryError: it is invalid."""
        return CompiledTopic(topic, parse_query(topic.query, self.aliases, self._interned))

    def add(self, topic: Topic | CompiledTopic) -> None:
        """Add or replace one topic. :raises QueryError: its query is invalid."""
        compiled = topic if isinstance(topic, CompiledTopic) else self.compile(topic)
        topic_id = compiled.topic.id
        if topic_id in self._topics:
            self.remove(topic_id)
        self._topics[topic_id] = compiled
        for leaf in set(leaves(compiled.tree)):
            self._index_leaf(leaf)
        found = anchors(compiled.tree)
        if found is None:
            self._always.add(topic_id)
        else:
            for leaf in found:
                _put(self._topics_of, leaf, topic_id)

    def remove(self, topic_id: str) -> None:
        """Remove one topic (nothing happens if it is not there)."""
        compiled = self._topics.pop(topic_id, None)
        if compiled is None:
            return
        self._always.discard(topic_id)
        self.too_costly.discard(topic_id)
        self.set_model(topic_id, None)
        self.set_filter(topic_id, None)
        for leaf in anchors(compiled.tree) or ():
            _drop(self._topics_of, leaf, topic_id)
        for leaf in set(leaves(compiled.tree)):
            self._unindex_leaf(leaf)

    @property
    def models(self) -> Mapping[str, TopicModel]:
        """The topics' learned layers, by topic id."""
        return self._models

    @property
    def filters(self) -> Mapping[str, TopicModel]:
        """The filters learned from a chat's votes (a watch's): topic id -> model."""
        return self._filters

    def set_filter(self, topic_id: str, model: TopicModel | None) -> None:
        """Give a topic a filter (None: remove it): a model trained on what its readers
        voted, which each of its query matches must pass at the model's threshold."""
        if model is None:
            self._filters.pop(topic_id, None)
        else:
            self._filters[topic_id] = model

    def set_model(self, topic_id: str, model: TopicModel | None) -> None:
        """Give a topic (already added) its learned layer, or take it away (None)."""
        old = self._models.pop(topic_id, None)
        if old is not None and old.active:
            for word in old.anchors:
                _drop(self._model_anchors, word, topic_id)
        if model is None:
            return
        if topic_id not in self._topics:
            raise KeyError(topic_id)
        self._models[topic_id] = model
        if model.active:  # a model that adds nothing is kept (for --explain), never run
            for word in model.anchors:
                _put(self._model_anchors, word, topic_id)

    @staticmethod
    def _part_keys(term: Term) -> list[str] | None:
        """The term's key words, or None if a part is a prefix (then it is checked directly)."""
        if term.prefix:
            return None
        keys = []
        for part, options in zip(term.parts, variants(term), strict=True):
            keys.append(sys.intern(f"~{part.lower()}" if len(options) > 1 else part.lower()))
        return keys

    def _index_leaf(self, leaf: Leaf) -> None:
        count = self._indexed.get(leaf, 0)
        self._indexed[leaf] = count + 1
        if count or not isinstance(leaf, Term):
            return
        keys = self._part_keys(leaf)
        if keys is None:
            self._prefixed.setdefault(leaf.parts[0].lower(), []).append(leaf)
            self._prefix_lengths = sorted({len(p) for p in self._prefixed})
            return
        _put(self._phrases, " ".join(keys), leaf)
        for n in range(1, len(keys)):
            start = " ".join(keys[:n])
            self._phrase_starts.add(sys.intern(start))
        for key, options in zip(keys, variants(leaf), strict=True):
            if key.startswith("~"):
                uses = self._family_uses.get(key, 0)
                self._family_uses[key] = uses + 1
                if not uses:
                    for word in options:
                        _put(self._family, word, key)

    def _unindex_leaf(self, leaf: Leaf) -> None:
        count = self._indexed.get(leaf, 0) - 1
        if count > 0:
            self._indexed[leaf] = count
            return
        self._indexed.pop(leaf, None)
        if not isinstance(leaf, Term):
            return
        self._interned.pop(leaf, None)
        keys = self._part_keys(leaf)
        if keys is None:
            terms = self._prefixed.get(leaf.parts[0].lower(), [])
            if leaf in terms:
                terms.remove(leaf)
            if not terms:
                self._prefixed.pop(leaf.parts[0].lower(), None)
                self._prefix_lengths = sorted({len(p) for p in self._prefixed})
            return
        _drop(self._phrases, " ".join(keys), leaf)
        for key, options in zip(keys, variants(leaf), strict=True):
            if key.startswith("~"):
                uses = self._family_uses.get(key, 0) - 1
                if uses > 0:
                    self._family_uses[key] = uses
                    continue
                self._family_uses.pop(key, None)
                for word in options:
                    _drop(self._family, word, key)

    # ------------------------------------------------------------------ matching
    @staticmethod
    def index(item: Item) -> dict[str, TokenizedText]:
        return {
            "title": tokenize_text(item.title),
            "text": tokenize_text(item.text),
            "source": tokenize_text(item.source_name),
        }

    def scan(
        self, doc: Mapping[str, TokenizedText], budget: Budget | None = None
    ) -> dict[Leaf, list[Span]]:
        """Every indexed term that occurs in ``doc``, with its places: one pass over the words.

        Each word stands for itself and for the inflected query words whose forms include it
        ("pulled" stands for "~pull"); runs of such keys are looked up as phrases, extended
        only while they are the start of some phrase. ``budget`` is charged for the terms
        with a prefix, which are checked directly.
        """
        found: dict[Leaf, list[Span]] = {}
        phrases, starts, family = self._phrases, self._phrase_starts, self._family
        prefixed, lengths = self._prefixed, self._prefix_lengths
        to_check: set[Term] = set()
        for name, text in doc.items():
            words = text.words
            n = len(words)
            options = [_stands_for(w, family.get(w)) for w in words]
            for i in range(n):
                current: Sequence[str] = options[i]
                j = i + 1
                while current:
                    for key in current:
                        hit = phrases.get(key)
                        if hit is not None:
                            for term in hit if isinstance(hit, list) else (hit,):
                                if name in term.fields and (
                                    not term.case_sensitive or text.cased[i:j] == term.parts
                                ):
                                    found.setdefault(term, []).append(Span(name, i, j))
                    if j >= n:
                        break
                    longer: list[str] = []
                    for key in current:
                        if key in starts:  # rarely: most words start no phrase
                            longer.extend(f"{key} {nxt}" for nxt in options[j])
                    current = longer
                    j += 1
            if lengths:
                for word in text.index:
                    for length in lengths:
                        if length > len(word):
                            break
                        to_check.update(prefixed.get(word[:length], ()))
        for term in to_check:
            spans = leaf_spans(term, doc, budget)
            if spans:
                found[term] = spans
        return found

    def candidates(self, found: Mapping[Leaf, list[Span]]) -> list[str]:
        """The topics worth evaluating: one of their anchors occurs, or they have none."""
        ids = set(self._always)
        topics_of = self._topics_of
        for leaf in found:
            owners = topics_of.get(leaf)
            if owners is None:
                continue
            if isinstance(owners, str):
                ids.add(owners)
            else:
                ids.update(owners)
        return sorted(ids)

    def match(self, item: Item, budget: Budget | None = None) -> list[Match]:
        return self.match_doc(self.index(item), budget)

    def match_doc(
        self, doc: Mapping[str, TokenizedText], budget: Budget | None = None
    ) -> list[Match]:
        """The topics ``doc`` matches, best first.

        Without ``budget`` (ingest), each topic may take :data:`ITEM_BUDGET` steps on this
        item; one that takes more counts as no match and is logged once. With ``budget`` (a
        chat's query run over many items) every evaluation spends that one budget.

        :raises QueryTooCostly: ``budget`` was given and is spent.
        """
        run = budget
        if budget is None:
            budget = Budget(ITEM_BUDGET)
        cache = self.scan(doc, run)
        indexed = self._indexed

        def resolve(leaf: Leaf, d: Mapping[str, TokenizedText], b: Budget | None) -> list[Span]:
            # Indexed terms absent from the scan do not occur; only regexes are run here.
            if isinstance(leaf, Term) and leaf in indexed:
                return []
            return leaf_spans(leaf, d, b)

        matches: list[Match] = []
        snippets: dict[Span, str] = {}  # topics sharing a term share its snippet
        for topic_id in self.candidates(cache):
            if run is None:
                budget.left = budget.limit
            try:
                found = explain(self._topics[topic_id].tree, doc, cache, resolve, budget)
            except QueryTooCostly:
                if run is not None:
                    raise
                self._too_costly(topic_id)
                continue
            if found is not None:
                matches.append(self._match(topic_id, found, doc, snippets))
        if self._filters and any(m.topic_id in self._filters for m in matches):
            matches = self._filtered(doc, matches)
        if self._models:
            matches.extend(self.model_matches(doc, {m.topic_id for m in matches}))
        matches.sort(key=lambda m: (-m.score, m.topic_id))
        return matches

    def _filtered(self, doc: Mapping[str, TokenizedText], matches: list[Match]) -> list[Match]:
        """``matches`` without those their topic's filter scores below its threshold."""
        title = doc["title"].words if "title" in doc else ()
        text = doc["text"].words if "text" in doc else ()
        counts = feature_counts(title, text)
        kept = []
        for m in matches:
            model = self._filters.get(m.topic_id)
            if model is None or model.explain_counts(counts, 0)[0] >= model.threshold:
                kept.append(m)
        return kept

    def model_candidates(self, doc: Mapping[str, TokenizedText]) -> set[str]:
        """The topics whose model ``doc`` passes the prefilter of: it has an anchor word."""
        found: set[str] = set()
        anchors = self._model_anchors
        for name in ("title", "text"):
            text = doc.get(name)
            if text is None:
                continue
            for word in text.index:
                owners = anchors.get(lemma(word))
                if owners is None:
                    continue
                if isinstance(owners, str):
                    found.add(owners)
                else:
                    found.update(owners)
        return found

    def model_matches(
        self, doc: Mapping[str, TokenizedText], skip: Iterable[str] = ()
    ) -> list[Match]:
        """The learned layers' matches on ``doc`` (past the prefilter, at their threshold),
        except for the topics in ``skip`` (those the query matched already)."""
        out: list[Match] = []
        candidates = self.model_candidates(doc) - set(skip)
        if not candidates:
            return out
        title = doc["title"].words if "title" in doc else ()
        text = doc["text"].words if "text" in doc else ()
        counts = feature_counts(title, text)
        for topic_id in sorted(candidates):
            model = self._models[topic_id]
            if model.explain_counts(counts, 0)[0] < model.threshold:
                continue
            score, features = model.explain_counts(counts)
            # A feature is a lemma ("troop"); show the words the item wrote ("troops").
            found = [(_term_snippet(doc, term), weight) for term, weight in features]
            terms = tuple((said, weight) for (said, _), weight in found)
            evidence = tuple(Evidence(said, "model", 1, where) for (said, where), _ in found)
            out.append(
                Match(
                    topic_id,
                    round(score, 2),
                    evidence,
                    ModelScore(round(score, 3), model.threshold, terms),
                )
            )
        return out

    def _too_costly(self, topic_id: str) -> None:
        if topic_id not in self.too_costly:
            self.too_costly.add(topic_id)
            log.warning(
                "topic %r takes more than %d steps on some items: it counts as no match there",
                topic_id,
                ITEM_BUDGET,
            )

    @staticmethod
    def _match(
        topic_id: str,
        found: list[Contribution],
        doc: Mapping[str, TokenizedText],
        snippets: dict[Span, str] | None = None,
    ) -> Match:
        by_term: dict[tuple[str, str], list[Span]] = {}
        for term, span in found:
            spans = by_term.setdefault((term.raw, span.field), [])
            if span not in spans:
                spans.append(span)
        evidence: list[Evidence] = []
        score = 0.0
        for (raw, where), spans in by_term.items():
            spans.sort(key=lambda s: s.start)
            counted = min(len(spans), MAX_HITS_PER_TERM)
            score += counted * FIELD_WEIGHTS.get(where, 1.0)
            first = spans[0]
            text = snippets.get(first) if snippets is not None else None
            if text is None:
                text = snippet(doc[where], first)
                if snippets is not None:
                    snippets[first] = text
            evidence.append(Evidence(raw, where, len(spans), text))
        evidence.sort(key=lambda e: (e.field != "title", -e.count, e.term))
        return Match(topic_id, round(score, 2), tuple(evidence))


def _term_snippet(doc: Mapping[str, TokenizedText], term: str) -> tuple[str, str]:
    """Where a model's feature (the lemmas of a word or two) first occurs: the words as
    written there, and the snippet around them; (the feature, "") if it cannot be found."""
    wanted = term.split(" ")
    n = len(wanted)
    for name in ("title", "text"):
        text = doc.get(name)
        if text is None:
            continue
        words = text.words
        for i in range(len(words) - n + 1):
            if all(lemma(words[i + k]) == wanted[k] for k in range(n)):
                start, end = text.offsets[i][0], text.offsets[i + n - 1][1]
                said = " ".join(text.raw[start:end].split())
                return said, snippet(text, Span(name, i, i + n))
    return term, ""


def _doc_of(title: str, text: str) -> dict[str, TokenizedText]:
    return {"title": tokenize_text(title), "text": tokenize_text(text), "source": tokenize_text("")}


def train_models(
    matcher: Matcher, topics: Iterable[Topic], cache_dir: Path | None = None
) -> list[str]:
    """Train (or read from ``cache_dir``) the learned layer of each topic with examples and
    give it to ``matcher``. The threshold is chosen for the query OR the model, so the query
    is run on the examples first.

    :returns: one line per topic with examples for operators: the model's cross-validated
        figures, or why the topic runs on its query alone.
    """
    notes: list[str] = []
    for topic in topics:
        if not topic.examples or topic.id not in matcher._topics:
            continue
        alone = Matcher((), matcher.aliases)
        alone.add(matcher._topics[topic.id])
        examples = topic.examples

        def hits(alone: Matcher = alone, examples: Sequence[Example] = examples) -> list[bool]:
            return [bool(alone.match_doc(_doc_of(e.title, e.description))) for e in examples]

        # What decides the query's verdicts: its text, the aliases, what words expand to.
        query_key = json.dumps(
            [topic.query, sorted(matcher.aliases.items()), dictionary_version(), _VERDICT_RULES]
        )
        try:
            model = load_or_train(topic.id, examples, hits, cache_dir, query_key=query_key)
        except NotEnoughExamples as exc:
            log.warning("%s", exc)
            notes.append(str(exc))
            matcher.set_model(topic.id, None)
            continue
        matcher.set_model(topic.id, model)
        notes.append(model.summary())
        if model.seconds:
            log.info("trained %s in %.2f s", model.summary(), model.seconds)
    return notes
