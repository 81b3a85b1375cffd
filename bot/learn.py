"""The learned layer of a topic: a pure stage, (examples) -> a small linear model, (words) -> score.

A topic with labelled examples (:class:`bot.models.Example`) gets a logistic regression over
TF-IDF weighted words and word pairs (bigrams) of the headline and lead, as lemmas (troops ->
troop, withdrew -> withdraw; function words count only inside a pair), trained with
scikit-learn when the topics load. Its threshold is chosen by cross-validation on the
examples: the one that gives the best F1 of the topic as it runs, the query OR the model, on
the folds held out (so the model is tuned to add what the query misses), with false alarms
weighed as if the topic's items were ``FEATURES["prior"]`` of the news. The model object
states that threshold and the cross-validated precision and recall.

Scoring does not call scikit-learn: the model keeps, for each feature, its IDF and its weight,
and :meth:`TopicModel.score` computes the same logistic score as scikit-learn's pipeline from
the item's words, in a few microseconds. A cheap prefilter comes first: an item that contains
none of the topic's *anchor* words (the content words of its most positive features, enough
to cover every positive example it matches) is not scored.

Models are cached on disk (:func:`load_or_train`) as JSON, keyed by a hash of the examples'
content, the query's verdicts on them, the feature settings and the scikit-learn version; the
key is checked again on load, so a stale or foreign file is retrained, never trusted.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from bot.errors import NewsbotError
from bot.models import Example

__all__ = [
    "FEATURES",
    "MIN_EXAMPLES",
    "NotEnoughExamples",
    "TopicModel",
    "features",
    "lemma",
    "load_or_train",
    "train",
]

log = logging.getLogger(__name__)

MIN_EXAMPLES = 8
"""Positives and negatives a topic needs, each, for a model; with fewer it runs on its query."""
FEATURES: Mapping[str, Any] = {
    "version": 4,
    "words": r"\w+",
    "ngrams": 2,
    "sublinear_tf": True,
    "max_text_words": 120,
    "C": 8.0,
    "folds": 5,
    "anchors": 40,
    "min_threshold": 0.3,
    "prior": 0.05,
    "lemmas": "all",
}
"""The feature and training settings; part of the cache key, so a change retrains."""
_WORD = re.compile(FEATURES["words"])
_SEP = " "
_STOP_TEXT = """a an the and or but nor so yet if then than as of to in on at by for from with
    into onto
    upon about above below under over out off up down back away after before since until while
    during through between among against without within across along around near per via
    i me my we us our you your he him his she her it its they them their this that these those
    who whom whose which what when where why how there here all any both each every few more
    most other some such no not only own same too very can could may might must shall should
    will would be is are was were been being am have has had having do does did done doing
    say says said also just now new one two three s t re ll ve d m"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
"""Function words are no feature on their own (news style, not subject); a pair of words is
one unless both are function words, so "pull out" and "come home" still count."""


class NotEnoughExamples(NewsbotError):
    """A topic has too few positive or negative examples to train its learned layer."""


def words_of(text: str) -> list[str]:
    """Lower-case words, as the query matcher splits them (``\\w+``)."""
    return [w.lower() for w in _WORD.findall(text)]


def features(fields: Iterable[Sequence[str]]) -> list[str]:
    """Words and word pairs of each field (pairs never cross from the title into the text),
    as their :func:`lemma`; see :data:`STOP_WORDS`."""
    out: list[str] = []
    stop = STOP_WORDS
    lemmas = FEATURES["lemmas"]
    for words in fields:
        if lemmas:
            words = [lemma(w) for w in words]
        out.extend(w for w in words if w not in stop)
        out.extend(f"{a}{_SEP}{b}" for a, b in pairwise(words) if a not in stop or b not in stop)
    return out


_LEMMA_POS = {"all": ("VERB", "NOUN", "ADJ"), "nouns": ("NOUN",), True: ("VERB", "NOUN", "ADJ")}


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """A word's dictionary form (withdrew, withdrawn -> withdraw; troops -> troop), so a few
    examples teach every form; a word lemminflect does not know stays as it is."""
    if not FEATURES["lemmas"] or len(word) < 4 or word in STOP_WORDS or not word.isalpha():
        return word
    from lemminflect import getAllLemmas  # with numpy: imported when a word needs it

    found = getAllLemmas(word)
    for upos in _LEMMA_POS[FEATURES["lemmas"]]:
        if upos in found:
            return str(found[upos][0])
    return word


def feature_counts(title: Sequence[str], text: Sequence[str]) -> dict[str, int]:
    """How often each feature occurs in an item with these words (the text cut as in
    training): computed once per item, whatever the number of models."""
    counts: dict[str, int] = {}
    for f in features((title, text[: FEATURES["max_text_words"]])):
        counts[f] = counts.get(f, 0) + 1
    return counts


def _example_fields(example: Example) -> tuple[list[str], list[str]]:
    return words_of(example.title), words_of(example.description)[: FEATURES["max_text_words"]]


@dataclass(frozen=True)
class TopicModel:
    """A topic's trained model: per feature (IDF, weight), the intercept and its threshold.

    ``cv_precision``, ``cv_recall`` and ``cv_f1`` are those of the query OR the model at
    ``threshold`` on the held-out folds of the examples; ``model_f1`` that of the model alone.
    """

    topic_id: str
    key: str
    weights: Mapping[str, tuple[float, float]] = field(repr=False)
    intercept: float
    threshold: float
    positives: int
    negatives: int
    cv_precision: float
    cv_recall: float
    cv_f1: float
    model_f1: float
    anchors: frozenset[str] = field(repr=False)
    seconds: float = 0.0
    """How long training took (0 when read from the cache)."""

    @property
    def active(self) -> bool:
        """Whether the model can match anything: at a threshold of 1 it adds nothing to the
        query (on the examples, every item it would add was a false alarm)."""
        return self.threshold < 1.0

    def passes(self, words: Iterable[str]) -> bool:
        """The prefilter: does the item have one of the anchor words (as their lemma)?"""
        anchors = self.anchors
        return any(lemma(w) in anchors for w in words)

    def score(self, title: Sequence[str], text: Sequence[str]) -> float:
        """The model's probability that the topic wants an item with these words."""
        return self.explain(title, text, 0)[0]

    def explain(
        self, title: Sequence[str], text: Sequence[str], top: int = 5
    ) -> tuple[float, tuple[tuple[str, float], ...]]:
        """The score, and the ``top`` features present that pushed it up most (with weight)."""
        return self.explain_counts(feature_counts(title, text), top)

    def explain_counts(
        self, counts: Mapping[str, int], top: int = 5
    ) -> tuple[float, tuple[tuple[str, float], ...]]:
        """:meth:`explain` on an item's :func:`feature_counts` (shared by every model)."""
        weights = self.weights
        values: list[tuple[str, float, float]] = []
        norm = 0.0
        for f, n in counts.items():
            entry = weights.get(f)
            if entry is None:
                continue
            tf = 1.0 + math.log(n) if FEATURES["sublinear_tf"] else float(n)
            value = tf * entry[0]
            norm += value * value
            values.append((f, value, entry[1]))
        z = self.intercept
        if norm:
            scale = 1.0 / math.sqrt(norm)
            z += sum(v * w for _, v, w in values) * scale
        else:
            scale = 0.0
        score = 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0
        if not top:
            return score, ()
        pushes = sorted(((v * w * scale, f) for f, v, w in values if w > 0), reverse=True)
        return score, tuple((f, round(p, 3)) for p, f in pushes[:top])

    def to_json(self) -> dict[str, Any]:
        return {
            "topic_id": self.topic_id,
            "key": self.key,
            "weights": {f: list(v) for f, v in self.weights.items()},
            "intercept": self.intercept,
            "threshold": self.threshold,
            "positives": self.positives,
            "negatives": self.negatives,
            "cv_precision": self.cv_precision,
            "cv_recall": self.cv_recall,
            "cv_f1": self.cv_f1,
            "model_f1": self.model_f1,
            "anchors": sorted(self.anchors),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TopicModel:
        return cls(
            topic_id=str(data["topic_id"]),
            key=str(data["key"]),
            weights={str(f): (float(v[0]), float(v[1])) for f, v in data["weights"].items()},
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            positives=int(data["positives"]),
            negatives=int(data["negatives"]),
            cv_precision=float(data["cv_precision"]),
            cv_recall=float(data["cv_recall"]),
            cv_f1=float(data["cv_f1"]),
            model_f1=float(data["model_f1"]),
            anchors=frozenset(str(a) for a in data["anchors"]),
        )

    def summary(self) -> str:
        """One line for operators: examples, threshold and the cross-validated figures."""
        return (
            f"{self.topic_id}: learned layer from {self.positives} positive and "
            f"{self.negatives} negative examples; threshold {self.threshold:.2f}; "
            f"cross-validated query+model P {self.cv_precision:.2f} R {self.cv_recall:.2f} "
            f"F1 {self.cv_f1:.3f} (model alone F1 {self.model_f1:.3f})"
        )


def _sklearn_version() -> str:
    """scikit-learn's release, read from its metadata: importing it takes a second."""
    try:
        return importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        import sklearn

        return str(sklearn.__version__)


def cache_key(topic_id: str, examples: Sequence[Example], query: Sequence[bool] | str) -> str:
    """The hash a model is cached under: examples, the query's verdicts on them (or a string
    that decides them: the query and what its words expand to), settings, library version."""
    payload = {
        "topic": topic_id,
        "examples": [[e.title, e.description, e.positive] for e in examples],
        "query_hits": query if isinstance(query, str) else [bool(h) for h in query],
        "features": dict(FEATURES),
        "sklearn": _sklearn_version(),
    }
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _best_threshold(
    probs: Sequence[float], gold: Sequence[bool], hits: Sequence[bool], prior: float
) -> tuple[float, tuple[float, float, float], float]:
    """The threshold with the best F1 of query OR model on the held-out folds (ties: the
    higher threshold), its (P, R, F1), and the F1 of the model alone at that threshold.

    Examples are far richer in positives than the news (a third of them, against a few in a
    hundred of the items that reach the model), so a threshold that suits them lets through
    too much. Each false alarm is therefore counted as ``FEATURES["prior"]`` says: as if the
    topic's items were that share of the items scored (``prior``).
    """
    candidates = sorted({round(p, 4) for p in probs if p >= FEATURES["min_threshold"]})
    best = (FEATURES["min_threshold"], (0.0, 0.0, 0.0), 0.0)
    best_f = -1.0
    positives = sum(gold)
    negatives = len(gold) - positives
    weight = max(1.0, positives / max(negatives, 1) * (1 - prior) / prior)
    for t in [*candidates, 1.01]:
        tp = fp = fn = mtp = mfp = mfn = 0
        for p, g, h in zip(probs, gold, hits, strict=True):
            m = p >= t
            pred = h or m
            tp += g and pred
            fp += (not g) and pred
            fn += g and not pred
            mtp += g and m
            mfp += (not g) and m
            mfn += g and not m
        weighted = 2 * tp / (2 * tp + weight * fp + fn) if tp else 0.0
        if weighted >= best_f:
            best_f = weighted
            best = (min(t, 1.0), _prf(tp, fp, fn), _prf(mtp, mfp, mfn)[2])
    return best


def train(
    topic_id: str,
    examples: Sequence[Example],
    query_hits: Sequence[bool] | None = None,
    *,
    prior: float | None = None,
) -> TopicModel:
    """Train a topic's model from its examples.

    ``query_hits[i]``: the topic's query matches example ``i`` (the threshold is chosen for
    the query OR the model); None: as if the query matched none. ``prior``: the share of the
    topic's items among those the model will score (default ``FEATURES["prior"]``, the news;
    a filter of a watch's own alerts scores items its query matched, about half of them).

    :raises NotEnoughExamples: fewer than :data:`MIN_EXAMPLES` positives or negatives.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    started = time.perf_counter()
    hits = [False] * len(examples) if query_hits is None else [bool(h) for h in query_hits]
    if len(hits) != len(examples):
        raise ValueError("one query verdict per example")
    gold = [e.positive for e in examples]
    positives = sum(gold)
    negatives = len(gold) - positives
    if positives < MIN_EXAMPLES or negatives < MIN_EXAMPLES:
        raise NotEnoughExamples(
            f"topic {topic_id!r} has {positives} positive and {negatives} negative examples; "
            f"its learned layer needs at least {MIN_EXAMPLES} of each, so it runs on its "
            "query alone (add examples, counter_examples or an examples_file)"
        )
    docs = [_example_fields(e) for e in examples]

    def analyzer(doc: tuple[list[str], list[str]]) -> list[str]:
        return features(doc)

    def pipeline() -> Any:
        return make_pipeline(
            TfidfVectorizer(analyzer=analyzer, sublinear_tf=FEATURES["sublinear_tf"]),
            LogisticRegression(C=FEATURES["C"], class_weight="balanced", max_iter=2000),
        )

    folds = min(FEATURES["folds"], positives, negatives)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    probs = cross_val_predict(pipeline(), docs, gold, cv=cv, method="predict_proba")[:, 1]
    share = FEATURES["prior"] if prior is None else prior
    threshold, (p, r, f1), model_f1 = _best_threshold([float(x) for x in probs], gold, hits, share)

    fitted = pipeline().fit(docs, gold)
    vectorizer, regression = fitted.steps[0][1], fitted.steps[1][1]
    idf = vectorizer.idf_
    coef = regression.coef_[0]
    weights = {f: (float(idf[i]), float(coef[i])) for f, i in vectorizer.vocabulary_.items()}
    intercept = float(regression.intercept_[0])
    anchors = _anchors(weights, intercept, threshold, docs, gold)
    return TopicModel(
        topic_id=topic_id,
        key=cache_key(topic_id, examples, hits),
        weights=weights,
        intercept=intercept,
        threshold=round(threshold, 4),
        positives=positives,
        negatives=negatives,
        cv_precision=round(p, 4),
        cv_recall=round(r, 4),
        cv_f1=round(f1, 4),
        model_f1=round(model_f1, 4),
        anchors=anchors,
        seconds=time.perf_counter() - started,
    )


_MEMORY: dict[str, TopicModel] = {}
"""Models trained or read in this process, by key: a reload of unchanged topics is free."""
_MEMORY_MAX = 256


def _anchors(
    weights: Mapping[str, tuple[float, float]],
    intercept: float,
    threshold: float,
    docs: Sequence[tuple[list[str], list[str]]],
    gold: Sequence[bool],
) -> frozenset[str]:
    """The prefilter's words: the content words of the most positive features, at least
    ``FEATURES["anchors"]`` of them and more until every positive example the model matches
    has one (so the prefilter keeps what the model found on the examples)."""
    ranked: list[str] = []
    seen: set[str] = set()
    for _, f in sorted(((w[1], f) for f, w in weights.items() if w[1] > 0), reverse=True):
        for word in f.split(_SEP):
            if word not in STOP_WORDS and word not in seen:
                seen.add(word)
                ranked.append(word)
    probe = TopicModel("", "", weights, intercept, threshold, 0, 0, 0, 0, 0, 0, frozenset())
    uncovered = [
        {lemma(w) for w in title} | {lemma(w) for w in text}
        for (title, text), g in zip(docs, gold, strict=True)
        if g and probe.score(title, text) >= threshold
    ]
    anchors: set[str] = set()
    for word in ranked:
        if len(anchors) >= FEATURES["anchors"] and not uncovered:
            break
        anchors.add(word)
        uncovered = [words for words in uncovered if word not in words]
    return frozenset(anchors)


def _cache_file(cache_dir: Path, topic_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", topic_id)[:80]
    return cache_dir / f"{safe}.model.json"


def load_or_train(
    topic_id: str,
    examples: Sequence[Example],
    query_hits: Sequence[bool] | Callable[[], Sequence[bool]] | None = None,
    cache_dir: Path | None = None,
    *,
    query_key: str | None = None,
    prior: float | None = None,
) -> TopicModel:
    """The topic's model from ``cache_dir`` if its key matches, else trained (and cached).

    ``query_hits`` are the query's verdicts on the examples, or what computes them; with
    ``query_key`` (a string that decides those verdicts) they are computed only to train,
    not to look the model up (running a query over hundreds of examples is most of a start).
    A cache file that cannot be read or written is logged and ignored; the cache is written
    only if the folder ``cache_dir`` is in exists (the data directory). Models are also kept
    in memory by key, so the same examples are trained once per process.

    :raises NotEnoughExamples: see :func:`train`.
    """

    def verdicts() -> list[bool]:
        if query_hits is None:
            return [False] * len(examples)
        return list(query_hits() if callable(query_hits) else query_hits)

    hits = verdicts() if query_key is None else None
    keyed = topic_id if prior is None else f"{topic_id}@prior={prior}"
    key = cache_key(keyed, examples, hits if hits is not None else query_key or "")
    path = _cache_file(cache_dir, topic_id) if cache_dir is not None else None
    known = _MEMORY.get(key)
    if known is not None:
        if path is not None and not path.exists():
            _write(path, known)
        return known
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("key") == key:
                return _remember(TopicModel.from_json(data))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning("model cache %s unreadable (%s): retraining", path, exc)
    model = train(topic_id, examples, hits if hits is not None else verdicts(), prior=prior)
    model = replace(model, key=key)  # found again by the key it was looked up by
    _remember(model)
    if path is not None:
        _write(path, model)
    return model


def _write(path: Path, model: TopicModel) -> None:
    """Cache ``model`` at ``path``; only where the folder above the cache's exists (the data
    directory: a dry run that has none leaves no trace)."""
    if not path.parent.parent.is_dir():
        return
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(model.to_json(), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot write model cache %s: %s", path, exc)


def _remember(model: TopicModel) -> TopicModel:
    if len(_MEMORY) >= _MEMORY_MAX:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[model.key] = replace(model, seconds=0.0)
    return model
