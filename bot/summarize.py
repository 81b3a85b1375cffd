"""Extractive summaries, offline: pick the sentences that carry the item, keep their order.

Short feed items (a description of a few sentences) are returned cleaned, as they are.
Longer texts are scored per sentence: words that recur in the text and the title (the item's
subject), plus a bonus for the lead, since news puts the main fact first.
"""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = ["split_sentences", "summarize"]

_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st gen col lt sgt capt maj gov sen rep pres rev hon no vs etc
    inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u a.m p.m
    e.g i.e approx dept est fig
    """.split()  # noqa: SIM905
)
_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours said
    says say told according
    """.split()  # noqa: SIM905
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before a space
# and a capital letter, a digit or an opening quote.
_BOUNDARY = re.compile(r"([.!?…]+[\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")

SHORT_TEXT_CHARS = 400


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, keeping abbreviations such as "U.S." and "Dr." intact."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        start = 0
        for m in _BOUNDARY.finditer(paragraph):
            head = paragraph[start : m.start()]
            last = head.rsplit(" ", 1)[-1].lower().rstrip(".")
            # "U.S. troops" / "Dr. Smith": not a boundary. A single initial ("J. Smith") neither.
            if m.group(1) == "." and (
                last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())
            ):
                continue
            sentences.append(paragraph[start : m.end(1)].strip())
            start = m.end()
        tail = paragraph[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in _STOPWORDS and len(w) > 1]


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:-–—")
    return cut + "…"


def summarize(title: str, text: str, *, max_sentences: int = 3, max_chars: int = 600) -> str:
    """An extractive summary of ``text``: 2–3 sentences for long texts, the text itself if short."""
    text = text.strip()
    if not text:
        return ""
    sentences = split_sentences(text)
    if len(text) <= SHORT_TEXT_CHARS or len(sentences) <= 2:
        return _truncate(" ".join(sentences), max_chars)
    freq = Counter(_words(text))
    title_words = set(_words(title))
    scores: list[float] = []
    for index, sentence in enumerate(sentences):
        words = _words(sentence)
        if len(words) < 4:  # captions, datelines, "Click here" lines carry no story
            scores.append(-1.0)
            continue
        content = sum(math.log1p(freq[w]) for w in set(words)) / math.sqrt(len(words))
        overlap = len(title_words.intersection(words)) / (len(title_words) or 1)
        lead = 1.5 if index == 0 else 1.0 / (1 + index * 0.3)
        scores.append(content + 2.0 * overlap + lead)
    wanted = 3 if len(sentences) >= 12 else 2
    wanted = min(wanted, max_sentences)
    best = sorted(range(len(sentences)), key=lambda i: -scores[i])[:wanted]
    chosen = [sentences[i] for i in sorted(best) if scores[i] > 0]
    summary = " ".join(chosen)
    while len(summary) > max_chars and len(chosen) > 1:
        # Drop the lowest-scoring sentence rather than cutting one in half.
        kept = sorted(best, key=lambda i: scores[i])
        best.remove(kept[0])
        chosen = [sentences[i] for i in sorted(best)]
        summary = " ".join(chosen)
    return _truncate(summary, max_chars)
