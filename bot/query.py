"""The topic query language: parse a query into a tree, evaluate it on a tokenized text.

Grammar (operators are upper-case; everything else is case-insensitive)::

    query    := or
    or       := and ("OR" and)*
    and      := unary (["AND"] unary)*          adjacent terms are ANDed
    unary    := ("NOT" | "-") unary | near
    near     := primary (["NOT"] "NEAR/" N primary)*
    primary  := modifier* ( WORD | WORD"*" | '"' PHRASE '"' | "/" REGEX "/" | "@" ALIAS
                            | "(" or ")" )
    modifier := "title:" | "text:" | "source:" | "case:" | "exact:"

A word matches whole words only: ``iraq`` matches "Iraq" and "Iraq's" but not "Iraqi";
``iraq*`` matches both. A word written in lower case also matches its inflections and the
nouns made from it (``withdraw``: withdrew, withdrawn, withdrawal…); ``exact:`` or a capital
letter turns that off. Punctuation inside a word splits it into a phrase, so ``ISIS-K``
matches "ISIS-K" and "ISIS K". A query needs at least one term that is not negated.
See ``docs/queries.md``.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2

from bot.errors import QueryError, QueryTooCostly
from bot.inflect import forms

__all__ = [
    "ALL_FIELDS",
    "FIELDS",
    "And",
    "Budget",
    "Contribution",
    "Leaf",
    "Near",
    "Node",
    "Not",
    "Or",
    "Regex",
    "Span",
    "Term",
    "TokenizedText",
    "evaluate",
    "explain",
    "leaves",
    "parse_query",
    "positive_terms",
    "term_spans",
    "tokenize",
    "variants",
]

FIELDS = ("title", "text")
ALL_FIELDS = ("title", "text", "source")
_MODIFIERS = (*ALL_FIELDS, "case", "exact")
MAX_QUERY_LENGTH = 10_000
MAX_NEAR = 100
MAX_DEPTH = 50
MAX_TERMS = 500
MAX_REGEX_LENGTH = 200
MAX_NEAR_PAIRS = 200  # NEAR stops pairing after this many hits: enough to decide and explain
_RE2_MEMORY = 1 << 20
_WORD = re.compile(r"\w+")
_OPERATORS = {"AND", "OR", "NOT"}
_NEAR = re.compile(r"^NEAR/(\d+)$")


# --------------------------------------------------------------------------- tokenized text


@dataclass(frozen=True, slots=True)
class TokenizedText:
    """A field's words (lower-case), their character offsets, and an index word -> positions."""

    raw: str
    words: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]
    index: dict[str, list[int]] = field(hash=False)
    cased: tuple[str, ...] = ()


def tokenize(text: str) -> TokenizedText:
    """Split ``text`` into lower-case words with their offsets."""
    words: list[str] = []
    cased: list[str] = []
    offsets: list[tuple[int, int]] = []
    index: dict[str, list[int]] = {}
    for i, m in enumerate(_WORD.finditer(text)):
        w = m.group()
        cased.append(w)
        w = w.lower()
        words.append(w)
        offsets.append(m.span())
        index.setdefault(w, []).append(i)
    return TokenizedText(text, tuple(words), tuple(offsets), index, tuple(cased))


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True, slots=True)
class Span:
    """Where a term occurred: field name and word positions [start, end)."""

    field: str
    start: int
    end: int


class Node:
    """A node of a parsed query."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Term(Node):
    """A word, a prefix (``withdr*``) or a phrase: a sequence of word parts.

    ``parts`` are lower-case unless ``case_sensitive``; ``prefixes[k]`` says part k matches
    as a prefix (``"pull* out"``). ``fields`` limits where it may match (default: title and
    text). Lower-case words also match their inflections unless ``exact`` (see :func:`variants`).
    """

    raw: str
    parts: tuple[str, ...]
    prefixes: tuple[bool, ...] = ()
    fields: tuple[str, ...] = FIELDS
    case_sensitive: bool = False
    exact: bool = False
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Terms are dictionary keys on the hot path: hash the fields once, not at every lookup.
        key = (self.raw, self.parts, self.prefixes, self.fields, self.case_sensitive, self.exact)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    @property
    def prefix(self) -> bool:
        return any(self.prefixes)


@dataclass(frozen=True, slots=True)
class Regex(Node):
    """A regular expression, run by RE2 (linear time, bounded memory) on each field's text."""

    raw: str
    pattern: str
    fields: tuple[str, ...] = FIELDS
    case_sensitive: bool = False

    def compiled(self) -> Any:
        return _compile_regex(self.pattern, self.case_sensitive)


Leaf = Term | Regex
"""What evidence points at: a term or a regular expression."""


@dataclass(frozen=True, slots=True)
class And(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not(Node):
    child: Node


@dataclass(frozen=True, slots=True)
class Near(Node):
    """``left`` and ``right`` occur within ``distance`` words of each other, in the same field.

    With ``negated`` (``a NOT NEAR/3 b``): the places where ``left`` occurs with no ``right``
    within ``distance`` words, e.g. ``ISIS NOT NEAR/3 coalition`` ignores "anti-ISIS coalition".
    """

    left: Node
    right: Node
    distance: int
    negated: bool = False


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # WORD PHRASE REGEX ALIAS LPAREN RPAREN AND OR NOT NEAR FIELD END
    value: str
    pos: int


_BARE = re.compile(r"[^\s()\"“”]+")
_QUOTE = re.compile(r"[\"“”]")


def _lex(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "(":
            toks.append(_Tok("LPAREN", c, i))
            i += 1
        elif c == ")":
            toks.append(_Tok("RPAREN", c, i))
            i += 1
        elif c in '"“”':
            close = _QUOTE.search(query, i + 1)
            if close is None:
                raise QueryError(
                    "unterminated phrase", query=query, position=i, expected='a closing "'
                )
            toks.append(_Tok("PHRASE", query[i + 1 : close.start()], i))
            i = close.end()
        elif c == "/":
            j = i + 1
            while j < n and query[j] != "/":
                j += 2 if query[j] == "\\" else 1
            if j >= n:
                raise QueryError(
                    "unterminated regular expression",
                    query=query,
                    position=i,
                    expected="a closing / (write \\/ for a slash inside it)",
                )
            toks.append(_Tok("REGEX", query[i + 1 : j].replace("\\/", "/"), i))
            i = j + 1
        elif c == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != "-":
            toks.append(_Tok("NOT", c, i))
            i += 1
        else:
            m = _BARE.match(query, i)
            assert m is not None
            word = m.group()
            if word in _OPERATORS:
                toks.append(_Tok(word, word, i))
            elif _NEAR.match(word):
                toks.append(_Tok("NEAR", word, i))
            elif word.startswith("NEAR/"):
                raise QueryError(
                    f"bad proximity operator {word!r}",
                    query=query,
                    position=i,
                    expected="NEAR/N with a number of words, e.g. NEAR/5",
                )
            elif word.startswith("@"):
                toks.append(_Tok("ALIAS", word[1:], i))
            elif ":" in word and word.split(":", 1)[0].lower() in _MODIFIERS:
                at = i
                while ":" in word and word.split(":", 1)[0].lower() in _MODIFIERS:
                    name, word = word.split(":", 1)
                    toks.append(_Tok("FIELD", name.lower(), at))
                    at += len(name) + 1
                i = at  # what follows the modifiers is lexed as usual: title:/re/, case:@names
                continue
            else:
                toks.append(_Tok("WORD", word, i))
            i = m.end()
    toks.append(_Tok("END", "", n))
    return toks


@dataclass(frozen=True, slots=True)
class _Scope:
    fields: tuple[str, ...] = FIELDS
    case: bool = False
    exact: bool = False

    def with_modifier(self, name: str) -> _Scope:
        if name == "case":
            return _Scope(self.fields, True, True)
        if name == "exact":
            return _Scope(self.fields, self.case, True)
        return _Scope((name,), self.case, self.exact)


class _Parser:
    def __init__(
        self,
        query: str,
        aliases: Mapping[str, str] | None = None,
        depth: int = 0,
        interned: dict[Term, Term] | None = None,
    ) -> None:
        self.query = query
        self.interned = interned
        self.toks = _lex(query)
        self.i = 0
        self.depth = depth
        self.aliases = aliases or {}
        self.scope = _Scope()
        self.terms = 0

    def deeper(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                "query nested too deeply", tok, f"at most {MAX_DEPTH} levels of ( ), NOT and @"
            )

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok, expected: str) -> QueryError:
        return QueryError(message, query=self.query, position=tok.pos, expected=expected)

    def count_term(self, tok: _Tok) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.error(
                f"query has more than {MAX_TERMS} terms",
                tok,
                "fewer alternatives: put shared words in an alias set, or split the topic",
            )

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise self.error("empty query", self.peek(), 'a word, a "phrase" or (')
        node = self.parse_or()
        tok = self.peek()
        if tok.kind == "RPAREN":
            raise self.error("unmatched )", tok, "an opening ( before it, or remove it")
        if tok.kind != "END":  # pragma: no cover - parse_and consumes everything else
            raise self.error(f"unexpected {tok.value!r}", tok, "end of query")
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                self.take()
                children.append(self.parse_unary())
            elif kind in ("WORD", "PHRASE", "REGEX", "ALIAS", "LPAREN", "NOT", "FIELD"):
                children.append(self.parse_unary())
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self) -> Node:
        if self.peek().kind == "NOT":
            self.deeper(self.take())
            node = Not(self.parse_unary())
            self.depth -= 1
            return node
        return self.parse_near()

    def parse_near(self) -> Node:
        left = self.parse_primary()
        while self.peek().kind == "NEAR" or (
            self.peek().kind == "NOT" and self.toks[self.i + 1].kind == "NEAR"
        ):
            negated = self.take().kind == "NOT"
            tok = self.take() if negated else self.toks[self.i - 1]
            distance = int(tok.value.split("/", 1)[1])
            if not 1 <= distance <= MAX_NEAR:
                raise self.error(
                    f"NEAR/{distance} is out of range", tok, f"a distance from 1 to {MAX_NEAR}"
                )
            right = self.parse_primary()
            for side, at in ((left, tok), (right, self.toks[self.i - 1])):
                if not _positional(side):
                    raise self.error(
                        "NEAR joins words, phrases and OR-groups only",
                        at,
                        'words, "phrases" or (a OR b) on both sides of NEAR',
                    )
            left = Near(left, right, distance, negated)
        return left

    def parse_primary(self) -> Node:
        tok = self.take()
        if tok.kind == "FIELD":
            nxt = self.peek()
            if nxt.kind not in ("WORD", "PHRASE", "REGEX", "ALIAS", "LPAREN", "FIELD"):
                raise self.error(
                    f"{tok.value}: needs something to search",
                    nxt,
                    f'a word, "phrase" or ( right after {tok.value}:',
                )
            outer = self.scope
            self.scope = outer.with_modifier(tok.value)
            try:
                return self.parse_primary()
            finally:
                self.scope = outer
        if tok.kind in ("WORD", "PHRASE"):
            self.count_term(tok)
            return self.term(tok, tok.value)
        if tok.kind == "REGEX":
            self.count_term(tok)
            return self.regex(tok)
        if tok.kind == "ALIAS":
            return self.alias(tok)
        if tok.kind == "LPAREN":
            if self.peek().kind == "RPAREN":
                raise self.error("empty parentheses", self.peek(), "a term inside ( )")
            self.deeper(tok)
            node = self.parse_or()
            self.depth -= 1
            close = self.take()
            if close.kind != "RPAREN":
                raise self.error("missing )", close, f") to close the ( at position {tok.pos + 1}")
            return node
        if tok.kind == "END":
            raise self.error("query ends too early", tok, 'a word, a "phrase" or (')
        if tok.kind == "RPAREN":
            raise self.error("unexpected )", tok, 'a word, a "phrase" or ( before it')
        raise self.error(
            f"{tok.value} needs a term before and after it", tok, 'a word, a "phrase" or ('
        )

    def alias(self, tok: _Tok) -> Node:
        text = self.aliases.get(tok.value)
        if text is None:
            known = ", ".join("@" + a for a in sorted(self.aliases)) or "none are defined"
            raise self.error(f"unknown alias set @{tok.value}", tok, f"one of: {known}")
        self.deeper(tok)
        inner = _Parser(text, self.aliases, self.depth, self.interned)
        inner.scope = self.scope
        inner.terms = self.terms
        try:
            node = inner.parse()
        except QueryError as exc:
            raise self.error(
                f"in @{tok.value}: {exc.message.split(' at position')[0]}", tok, exc.expected
            ) from None
        self.terms = inner.terms
        self.depth -= 1
        return node

    def regex(self, tok: _Tok) -> Regex:
        pattern = tok.value
        if not pattern:
            raise self.error("empty regular expression", tok, "a pattern between / and /")
        if len(pattern) > MAX_REGEX_LENGTH:
            raise self.error(
                f"regular expression is {len(pattern)} characters long",
                tok,
                f"at most {MAX_REGEX_LENGTH} characters",
            )
        try:
            _compile_regex(pattern, self.scope.case)
        except re2.error as exc:
            raise self.error(f"invalid regular expression: {exc}", tok, "an RE2 pattern") from None
        raw = ("case:" if self.scope.case else "") + f"/{pattern}/"
        return Regex(raw, pattern, self.scope.fields, self.scope.case)

    def term(self, tok: _Tok, text: str) -> Term:
        case, exact = self.scope.case, self.scope.exact
        parts: list[str] = []
        prefixes: list[bool] = []
        offset = 0
        for word in text.split():
            at = text.index(word, offset)
            offset = at + len(word)
            star = word.endswith("*")
            body = word[:-1] if star else word
            inner = body.find("*")
            if inner >= 0:
                raise self.error(
                    "* may only end a word",
                    _Tok(tok.kind, "*", tok.pos + at + inner + (1 if tok.kind == "PHRASE" else 0)),
                    "a word with * at its end, e.g. withdr*",
                )
            pieces = _WORD.findall(body)
            if star and (not pieces or len(pieces[-1]) < 2):
                raise self.error(
                    "prefix too short", tok, "at least two letters before *, e.g. withdr*"
                )
            parts.extend(p if case else p.lower() for p in pieces)
            prefixes.extend([False] * (len(pieces) - 1) + ([star] if pieces else []))
        if not parts:
            raise self.error(f"{text!r} has no letters or digits", tok, "a word")
        term = Term(
            raw=("case:" if case else "") + text,
            parts=tuple(sys.intern(p) for p in parts),
            prefixes=_shared(tuple(prefixes)),
            fields=self.scope.fields,
            case_sensitive=case,
            exact=exact and not case,
        )
        if self.interned is None:
            return term
        # The same term in many topics is one object: 100,000 topics share most of their words.
        return self.interned.setdefault(term, term)


# Prefix flags are a handful of distinct tuples: one shared copy of each, not one per term.
_FLAGS: dict[tuple[bool, ...], tuple[bool, ...]] = {}


def _shared(value: tuple[bool, ...]) -> tuple[bool, ...]:
    return _FLAGS.setdefault(value, value)


@lru_cache(maxsize=4096)
def _compile_regex(pattern: str, case_sensitive: bool) -> Any:
    options = re2.Options()
    options.max_mem = _RE2_MEMORY
    options.case_sensitive = case_sensitive
    options.log_errors = False
    return re2.compile(pattern, options)


def _positional(node: Node) -> bool:
    if isinstance(node, Term | Regex | Near):
        return True
    if isinstance(node, Or):
        return all(_positional(c) for c in node.children)
    return False


def parse_query(
    query: str,
    aliases: Mapping[str, str] | None = None,
    interned: dict[Term, Term] | None = None,
) -> Node:
    """Parse ``query`` into a tree, or raise :class:`QueryError` with the position and the fix.

    ``aliases`` maps alias-set names to query text, used as ``@name``. With ``interned``,
    equal terms come out as one shared object (the dict collects them).
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"query is {len(query)} characters long",
            query=query[:80],
            position=MAX_QUERY_LENGTH,
            expected=f"at most {MAX_QUERY_LENGTH} characters",
        )
    node = _Parser(query, aliases, interned=interned).parse()
    if not any(True for _ in positive_terms(node)):
        raise QueryError(
            "a query needs at least one term that is not negated",
            query=query,
            position=0,
            expected="a word to look for, e.g. isis NOT goddess",
        )
    return node


def positive_terms(node: Node, negated: bool = False) -> Iterator[Leaf]:
    """The terms whose presence can make the query match (not under an odd number of NOTs)."""
    if isinstance(node, Term | Regex):
        if not negated:
            yield node
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from positive_terms(child, negated)
    elif isinstance(node, Not):
        yield from positive_terms(node.child, not negated)
    elif isinstance(node, Near):
        yield from positive_terms(node.left, negated)
        yield from positive_terms(node.right, negated and not node.negated)


def leaves(node: Node) -> Iterator[Leaf]:
    """Every term and regular expression in the tree, negated or not."""
    if isinstance(node, Term | Regex):
        yield node
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from leaves(child)
    elif isinstance(node, Not):
        yield from leaves(node.child)
    elif isinstance(node, Near):
        yield from leaves(node.left)
        yield from leaves(node.right)


@lru_cache(maxsize=8192)
def variants(term: Term) -> tuple[frozenset[str], ...]:
    """For each part of ``term``, the words it accepts (before the prefix rule).

    Case-sensitive parts keep their case; a part written in lower case (and not ``exact``)
    accepts its inflections; anything else (names, acronyms, numbers) only itself.
    """
    raw = term.raw.removeprefix("case:")
    written = _WORD.findall(raw.replace("*", " "))
    if len(written) != len(term.parts):  # built by hand: take the parts as written
        written = list(term.parts)
    out: list[frozenset[str]] = []
    for k, part in enumerate(term.parts):
        prefix = bool(term.prefixes) and term.prefixes[k]
        if term.case_sensitive or prefix or term.exact or not written[k].islower():
            out.append(frozenset({part}))
        else:
            out.append(forms(part))
    return tuple(out)


# --------------------------------------------------------------------------- evaluation


class Budget:
    """The work a query's evaluation may do, counted in steps; over it, :class:`QueryTooCostly`.

    What costs a step (each is a few Python operations, about a tenth of a microsecond):

    - looking a term or a regular expression up for a document: 1, plus 1 per place it
      occurs (each is handed on to the operators above);
    - finding a term directly (:func:`term_spans`): 1 per form looked up in a field's index
      (a prefix: 1 per distinct word of the field, all are compared), plus 1 per start checked;
    - NEAR and NOT NEAR: 1 per right-hand hit (they are sorted), then for each left-hand hit
      1 (the search for its window) plus 1 per right-hand hit compared with it, plus 1 per
      pair produced. NOT NEAR stops comparing at the first right-hand hit within the distance.

    One budget can be shared by many evaluations: a chat's query run over many items spends
    one budget; on ingest each topic gets a fresh one per item (:meth:`reset`).
    """

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    @property
    def spent(self) -> int:
        return self.limit - self.left

    def reset(self) -> None:
        self.left = self.limit

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            self.exceeded()

    def exceeded(self) -> None:
        raise QueryTooCostly(spent=self.spent)


UNLIMITED = 1 << 62
"""A budget limit that is never reached (direct evaluation, e.g. in tests and explanations)."""


def term_spans(
    term: Term, doc: Mapping[str, TokenizedText], budget: Budget | None = None
) -> list[Span]:
    """Every place ``term`` occurs in the fields it may match (the direct, slow way)."""
    spans: list[Span] = []
    n = len(term.parts)
    options = variants(term)
    prefixes = term.prefixes or (False,) * n
    for name in term.fields:
        text = doc.get(name)
        if text is None:
            continue
        if prefixes[0]:
            first = term.parts[0].lower()
            if budget is not None:
                budget.spend(len(text.index))
            starts = sorted(i for w, pos in text.index.items() if w.startswith(first) for i in pos)
        else:
            if budget is not None:
                budget.spend(len(options[0]))
            starts = sorted(i for form in options[0] for i in text.index.get(form.lower(), ()))
        if budget is not None:
            budget.spend(len(starts))
        words = text.cased if term.case_sensitive else text.words
        for i in starts:
            if i + n > len(words):
                continue
            for k in range(n):
                word = words[i + k]
                if prefixes[k]:
                    if not word.startswith(term.parts[k]):
                        break
                elif word not in options[k]:
                    break
            else:
                spans.append(Span(name, i, i + n))
    return spans


def regex_spans(
    node: Regex, doc: Mapping[str, TokenizedText], budget: Budget | None = None
) -> list[Span]:
    """Where the expression matches, as the word positions it covers.

    RE2 runs in time linear in the text; the budget is charged 1 per field searched and 1 per
    match found.
    """
    spans: list[Span] = []
    compiled = node.compiled()
    for name in node.fields:
        text = doc.get(name)
        if text is None or not text.raw:
            continue
        starts = [a for a, _ in text.offsets]
        before = len(spans)
        for m in compiled.finditer(text.raw):
            a, b = m.span()
            if a == b:
                continue
            first = max(0, bisect_right(starts, a) - 1)
            last = max(first + 1, bisect_left(starts, b))
            spans.append(Span(name, first, last))
            if len(spans) >= MAX_NEAR_PAIRS:
                break
        if budget is not None:
            budget.spend(1 + len(spans) - before)
    return spans


def leaf_spans(
    leaf: Leaf, doc: Mapping[str, TokenizedText], budget: Budget | None = None
) -> list[Span]:
    if isinstance(leaf, Term):
        return term_spans(leaf, doc, budget)
    return regex_spans(leaf, doc, budget)


Contribution = tuple[Leaf, Span]
"""A term and one place it occurred that helped the query match."""

_Hit = tuple[Span, tuple[Contribution, ...]]
Resolver = Callable[[Leaf, Mapping[str, TokenizedText], "Budget | None"], list[Span]]


def _gap(a: Span, b: Span) -> int:
    """Words between two spans (0 when adjacent; negative when they overlap)."""
    return b.start - a.end if b.start >= a.end else a.start - b.end


def _hits(
    node: Node,
    doc: Mapping[str, TokenizedText],
    cache: dict[Leaf, list[Span]],
    resolve: Resolver,
    budget: Budget,
) -> list[_Hit]:
    """Where a positional node (term, OR of terms, NEAR) occurs, with the terms behind each hit.

    Charges ``budget`` as :class:`Budget` says.
    """
    if isinstance(node, Term | Regex):
        spans = cache.get(node)
        if spans is None:
            spans = cache[node] = resolve(node, doc, budget)
        budget.left -= 1 + len(spans)
        if budget.left < 0:
            budget.exceeded()
        return [(s, ((node, s),)) for s in spans]
    if isinstance(node, Or):
        out: list[_Hit] = []
        for child in node.children:
            out.extend(_hits(child, doc, cache, resolve, budget))
        return out
    assert isinstance(node, Near)
    left = _hits(node.left, doc, cache, resolve, budget)
    right = _hits(node.right, doc, cache, resolve, budget) if left else []
    if not right:
        return left if node.negated else []
    budget.spend(len(right))
    # Sorted by position, each left hit only looks at the right hits in its window: the cost is
    # about (left + right) log(right), not left * right, and pairing stops at MAX_NEAR_PAIRS.
    right.sort(key=lambda h: (h[0].field, h[0].start))
    keys = [(h[0].field, h[0].start) for h in right]
    reach = node.distance + max(h[0].end - h[0].start for h in left + right)
    distance = node.distance
    out = []
    for a, why_a in left:
        lo = bisect_left(keys, (a.field, a.start - reach))
        hi = bisect_right(keys, (a.field, a.end + distance))
        if node.negated:
            # The places of ``a`` with no right hit near: the first one near settles it.
            compared = 0
            for b, _ in right[lo:hi]:
                compared += 1
                if _gap(a, b) <= distance:
                    break
            else:
                out.append((a, why_a))
            budget.left -= 1 + compared
            if budget.left < 0:
                budget.exceeded()
            continue
        near = [(b, why_b) for b, why_b in right[lo:hi] if 0 <= _gap(a, b) <= distance]
        budget.left -= 1 + (hi - lo) + len(near)
        if budget.left < 0:
            budget.exceeded()
        for b, why_b in near:
            span = Span(a.field, min(a.start, b.start), max(a.end, b.end))
            out.append((span, why_a + why_b))
        if len(out) >= MAX_NEAR_PAIRS:
            break
    return out


def explain(
    node: Node,
    doc: Mapping[str, TokenizedText],
    cache: dict[Leaf, list[Span]],
    resolve: Resolver = leaf_spans,
    budget: Budget | None = None,
) -> list[Contribution] | None:
    """None if ``node`` does not match ``doc``; else the term occurrences that made it match.

    ``cache`` keeps each term's occurrences, so a term shared by many topics is looked up once;
    ``resolve`` finds the occurrences of a term that is not in the cache. ``budget`` bounds the
    work (see :class:`Budget`); without one it is unbounded.

    :raises QueryTooCostly: the evaluation went over ``budget``.
    """
    return _explain(node, doc, cache, resolve, Budget(UNLIMITED) if budget is None else budget)


def _explain(
    node: Node,
    doc: Mapping[str, TokenizedText],
    cache: dict[Leaf, list[Span]],
    resolve: Resolver,
    budget: Budget,
) -> list[Contribution] | None:
    if isinstance(node, Term | Regex | Near):
        hits = _hits(node, doc, cache, resolve, budget)
        return [c for _, why in hits for c in why] if hits else None
    if isinstance(node, And):
        found: list[Contribution] = []
        for child in node.children:
            part = _explain(child, doc, cache, resolve, budget)
            if part is None:
                return None
            found.extend(part)
        return found
    if isinstance(node, Or):
        # Every branch is evaluated (no short-circuit) so the evidence lists all that hit.
        any_hit = False
        found = []
        for child in node.children:
            part = _explain(child, doc, cache, resolve, budget)
            if part is not None:
                any_hit = True
                found.extend(part)
        return found if any_hit else None
    assert isinstance(node, Not)
    return None if _explain(node.child, doc, cache, resolve, budget) is not None else []


def evaluate(node: Node, doc: Mapping[str, TokenizedText], budget: Budget | None = None) -> bool:
    """Does ``node`` match ``doc``? The direct evaluation, term by term.

    :raises QueryTooCostly: it went over ``budget``.
    """
    return explain(node, doc, {}, budget=budget) is not None
