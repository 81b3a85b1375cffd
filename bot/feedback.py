"""What a chat's 👍 and 👎 teach: a pure stage, (votes on a topic's alerts) -> the chat's tuning.

Every alert has a *kind*, the reason it matched in a word (:func:`alert_kind`): how (the query,
or the learned layer) and the term that weighed most, e.g. ``query:ISIS`` or
``model:pull out``. A chat's votes on the alerts of one topic give that chat, and only that
chat, a :class:`Tuning` of the topic (:func:`tune`):

- **its own threshold** for the topic's learned layer: the lowest one, not below the topic's
  own, that gets most of the chat's votes on model matches right (a 👎 at 0.62 lifts it above
  0.62, a 👍 at 0.70 keeps it below 0.70). Query matches have no score: the threshold leaves
  them alone;
- **the kinds it stopped**: :data:`STOP_AFTER` 👎 on alerts of one kind, and at most half as
  many 👍 on it, stop that kind reaching the chat. A chat that lets a kind in again (in
  /settings) is asked for :data:`STOP_AFTER` more 👎 before it stops again.

Nothing here changes what other chats get; the operator folds votes into a shared topic's
examples deliberately (``newsbot topics learn``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.models import Match

__all__ = [
    "STOP_AFTER",
    "Tuning",
    "Vote",
    "alert_kind",
    "kind_key",
    "kind_label",
    "passes",
    "tune",
]

STOP_AFTER = 3
"""👎 on alerts of one kind that stop the kind for the chat."""
_STEP = 0.001
"""How far above a 👎'd model score the chat's threshold goes."""


def alert_kind(match: Match) -> str:
    """The kind of an alert of ``match``: ``query:TERM`` or ``model:TERM``, with the term that
    weighed most (the first in the title, then the most frequent; the model's heaviest)."""
    if match.model is not None:
        term = match.model.terms[0][0] if match.model.terms else ""
        return f"model:{term.lower()}"
    term = match.evidence[0].term if match.evidence else ""
    return f"query:{term.lower()}"


def kind_label(kind: str) -> str:
    """``model:pull out`` -> ``“pull out” (learned layer)``, for a reader."""
    how, _, term = kind.partition(":")
    return f"“{term}”" + (" (learned layer)" if how == "model" else "")


def kind_key(topic_id: str, kind: str) -> str:
    """A short stable key of a topic's kind, for button data (64 bytes at most)."""
    return hashlib.sha256(f"{topic_id}\0{kind}".encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Vote:
    """A chat's 👍 (1) or 👎 (-1) on an alert of a topic: the alert's kind and, for a match of
    the learned layer, its score."""

    value: int
    kind: str
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Tuning:
    """A chat's own settings of one topic, learned from its votes.

    ``threshold``: the learned layer's threshold for this chat (None: the topic's own).
    ``stopped``: the kinds that no longer reach the chat. ``allowed``: kinds the chat let in
    again, with the 👎 they had then.
    """

    threshold: float | None = None
    stopped: frozenset[str] = frozenset()
    allowed: Mapping[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.threshold is None and not self.stopped and not self.allowed


def _threshold(votes: Sequence[Vote], base: float | None) -> float | None:
    """The lowest threshold (not below ``base``) with the fewest of the chat's model votes
    wrong: a 👎 at or above it, or a 👍 below it."""
    scored = [(v.score, v.value) for v in votes if v.score is not None]
    if base is None or not any(value < 0 for _, value in scored):
        return None
    candidates = sorted({base, *(s + _STEP for s, value in scored if value < 0 and s >= base)})

    def wrong(threshold: float) -> int:
        return sum((s >= threshold) if value < 0 else (s < threshold) for s, value in scored)

    best = min(candidates, key=lambda t: (wrong(t), t))
    return None if best <= base else round(best, 3)


def tune(
    votes: Iterable[Vote], base: float | None = None, allowed: Mapping[str, int] | None = None
) -> Tuning:
    """A chat's tuning of a topic from its ``votes`` on the topic's alerts; ``base``: the
    topic's learned threshold (None: it has no learned layer); ``allowed``: what the chat let
    in again (:meth:`Tuning.allowed`)."""
    votes = list(votes)
    allowed = dict(allowed or {})
    downs: dict[str, int] = {}
    ups: dict[str, int] = {}
    for vote in votes:
        tally = downs if vote.value < 0 else ups
        tally[vote.kind] = tally.get(vote.kind, 0) + 1
    stopped = set()
    for kind, down in downs.items():
        since = down - allowed.get(kind, 0)
        if since >= STOP_AFTER and down >= 2 * ups.get(kind, 0):
            stopped.add(kind)
    allowed = {k: n for k, n in allowed.items() if k not in stopped}
    return Tuning(_threshold(votes, base), frozenset(stopped), allowed)


def passes(tuning: Tuning | None, match: Match) -> bool:
    """Whether an alert of ``match`` reaches a chat with ``tuning`` of its topic."""
    if tuning is None:
        return True
    if alert_kind(match) in tuning.stopped:
        return False
    model = match.model
    return model is None or tuning.threshold is None or model.score >= tuning.threshold
