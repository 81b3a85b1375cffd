"""English word forms for queries: ``withdraw`` also matches withdrew, withdrawn, withdrawal….

A pure stage on top of lemminflect, whose dictionary ships inside the package (nothing is
downloaded). Forms are computed when a query is compiled, never per item, so matching stays a
lookup of surface words.
"""

from __future__ import annotations

from functools import lru_cache

from lemminflect import getAllInflections, getAllInflectionsOOV, getAllLemmas

__all__ = ["forms"]

# Nouns made from verbs that news uses for the same event: withdraw -> withdrawal,
# deploy -> deployment, depart -> departure, evacuate -> evacuation.
_VERB_TO_NOUN = ("al", "ment", "ure", "ion", "ation", "ance", "ence")
MAX_FORMS = 32
# Nouns that look derived but mean something else (depart -> department).
_FALSE_FRIENDS = frozenset({"department", "apartment", "compartment", "station", "ration"})


def _inflections(lemma: str) -> set[str]:
    out = {lemma}
    for variants in getAllInflections(lemma).values():
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
            if "NOUN" in getAllLemmas(candidate, upos="NOUN"):
                out |= _inflections(candidate)
    return out


@lru_cache(maxsize=65536)
def forms(word: str) -> frozenset[str]:
    """``word`` (lower case) and the forms that mean the same thing in a news query.

    Inflections of every lemma the word can have (withdrew -> withdraw, withdraws, withdrawn…),
    plus nouns derived from a verb (withdraw -> withdrawal, withdrawals). Unknown words, names
    and acronyms come back alone.
    """
    word = word.lower()
    if len(word) < 3 or not word.isalpha():
        return frozenset({word})
    lemmas = getAllLemmas(word)
    if not lemmas:
        # Not in the dictionary (peacekeeper, jihadist): its regular plural at least.
        plural = getAllInflectionsOOV(word, upos="NOUN").get("NNS", ())
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
