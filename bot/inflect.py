"""English word forms for queries: ``withdraw`` also matches withdrew, withdrawn, withdrawal….

A pure stage on top of lemminflect, whose dictionary ships inside the package (nothing is
downloaded). Forms are computed when a query is compiled, never per item, so matching stays a
lookup of surface words.

lemminflect is imported, and its tables read (0.4 s, most of newsbot's start-up), only for a
word whose forms are not known yet: :func:`preload` takes forms computed before (the CLI keeps
them in a cache file keyed by :func:`dictionary_version`) and :func:`computed` gives the ones
computed since, to keep. This module does no I/O itself.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["computed", "dictionary_version", "forms", "preload"]

FORMS_RULES = 1
"""Bumped when the rules below change what :func:`forms` gives: cached forms are then stale."""
_MEMO_LIMIT = 65536
_known: dict[str, frozenset[str]] = {}
_computed: set[str] = set()


def dictionary_version() -> str:
    """What cached forms depend on: lemminflect's release and these rules."""
    try:
        release = importlib.metadata.version("lemminflect")
    except importlib.metadata.PackageNotFoundError:
        release = "unknown"
    return f"lemminflect-{release}-rules-{FORMS_RULES}"


def preload(table: Mapping[str, Iterable[str]]) -> None:
    """Take forms computed before (by this :func:`dictionary_version`) as known."""
    for word, found in table.items():
        if len(_known) >= _MEMO_LIMIT:
            break
        _known.setdefault(word, frozenset(found))


def computed() -> dict[str, list[str]]:
    """The forms computed (not preloaded) since start, sorted: what a cache should add."""
    return {word: sorted(_known[word]) for word in sorted(_computed) if word in _known}


def _lemminflect() -> Any:
    import lemminflect  # the import alone brings numpy: only when a word needs it

    return lemminflect


# Nouns made from verbs that news uses for the same event: withdraw -> withdrawal,
# deploy -> deployment, depart -> departure, evacuate -> evacuation.
_VERB_TO_NOUN = ("al", "ment", "ure", "ion", "ation", "ance", "ence")
MAX_FORMS = 32
# Nouns that look derived but mean something else (depart -> department).
_FALSE_FRIENDS = frozenset({"department", "apartment", "compartment", "station", "ration"})


def _inflections(lemma: str) -> set[str]:
    out = {lemma}
    for variants in _lemminflect().getAllInflections(lemma).values():
        out.update(v.lower() for v in variants)
    return out


def _nouns_from_verb(verb: str) -> set[str]:
    stems = {verb, verb[:-1]} if verb.endswith("e") else {verb}
    out: set[str] = set()
    for stem in stems:
        for suffix in _VERB_TO_NOUN:
            candidate = stem + suffix
            if candidate in _FALSE_FRIENDS:
                continue
            if "NOUN" in _lemminflect().getAllLemmas(candidate, upos="NOUN"):
                out |= _inflections(candidate)
    return out


def forms(word: str) -> frozenset[str]:
    """``word`` (lower case) and the forms that mean the same thing in a news query.

    Inflections of every lemma the word can have (withdrew -> withdraw, withdraws, withdrawn…),
    plus nouns derived from a verb (withdraw -> withdrawal, withdrawals). Unknown words, names
    and acronyms come back alone.
    """
    word = word.lower()
    if len(word) < 3 or not word.isalpha():
        return frozenset({word})
    known = _known.get(word)
    if known is not None:
        return known
    found = _forms(word)
    if len(_known) < _MEMO_LIMIT:
        _known[word] = found
        _computed.add(word)
    return found


def _forms(word: str) -> frozenset[str]:
    lemminflect = _lemminflect()
    lemmas = lemminflect.getAllLemmas(word)
    if not lemmas:
        # Not in the dictionary (peacekeeper, jihadist): its regular plural at least.
        plural = lemminflect.getAllInflectionsOOV(word, upos="NOUN").get("NNS", ())
        return frozenset({word, *(p.lower() for p in plural)})
    out = {word}
    for pos, bases in lemmas.items():
        for base in bases:
            out |= _inflections(base.lower())
            if pos == "VERB":
                out |= _nouns_from_verb(base.lower())
    if len(out) > MAX_FORMS:  # a very ambiguous word: keep the word and its own inflections
        out = {word} | _inflections(word)
    return frozenset(out)
