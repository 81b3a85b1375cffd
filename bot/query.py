"""The topic query language: parse a query into a tree, evaluate it on a tokenized text.

Grammar (operators are upper-case; everything else is case-insensitive)::

    query    := or
    or       := and ("OR" and)*
    and      := unary (["AND"] unary)*          adjacent terms are ANDed
    unary    := ("NOT" | "-") unary | near
    near     := primary ("NEAR/" N primary)*    both sides within N words, either order
    primary  := [FIELD ":"] ( WORD | WORD"*" | '"' PHRASE '"' | "(" or ")" )
    FIELD    := "title" | "text"

A word matches whole words only: ``iraq`` matches "Iraq" and "Iraq's" but not "Iraqi";
``iraq*`` matches both. Punctuation inside a word splits it into a phrase, so ``ISIS-K``
matches "ISIS-K" and "ISIS K". A query needs at least one term that is not negated.
See ``docs/queries.md`` for examples.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from bot.errors import QueryError

__all__ = [
    "FIELDS",
    "And",
    "Contribution",
    "Near",
    "Node",
    "Not",
    "Or",
    "Span",
    "Term",
    "TokenizedText",
    "evaluate",
    "explain",
    "parse_query",
    "positive_terms",
    "tokenize",
]

FIELDS = ("title", "text")
_MODIFIERS = (*FIELDS, "case")
MAX_QUERY_LENGTH = 10_000
MAX_NEAR = 100
MAX_DEPTH = 50
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
    as a prefix (``"pull* out"``). ``fields`` limits where it may match (default: everywhere).
    """

    raw: str
    parts: tuple[str, ...]
    prefixes: tuple[bool, ...] = ()
    fields: tuple[str, ...] = FIELDS
    case_sensitive: bool = False

    @property
    def prefix(self) -> bool:
        return any(self.prefixes)


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
    kind: str  # WORD PHRASE LPAREN RPAREN AND OR NOT NEAR FIELD END
    value: str
    pos: int


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
            close = re.compile(r"[\"“”]").search(query, i + 1)
            if close is None:
                raise QueryError(
                    "unterminated phrase", query=query, position=i, expected='a closing "'
                )
            toks.append(_Tok("PHRASE", query[i + 1 : close.start()], i))
            i = close.end()
        elif c == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != "-":
            toks.append(_Tok("NOT", c, i))
            i += 1
        else:
            m = re.compile(r"[^\s()\"“”]+").match(query, i)
            assert m is not None
            word = m.group()
            if word in _OPERATORS:
                toks.append(_Tok(word, word, i))
            elif _NEAR.match(word):
                toks.append(_Tok("NEAR", word, i))
            elif word.upper().startswith("NEAR/") and word.startswith("NEAR"):
                raise QueryError(
                    f"bad proximity operator {word!r}",
                    query=query,
                    position=i,
                    expected="NEAR/N with a number of words, e.g. NEAR/5",
                )
            elif ":" in word and word.split(":", 1)[0].lower() in _MODIFIERS:
                at = i
                while ":" in word and word.split(":", 1)[0].lower() in _MODIFIERS:
                    name, word = word.split(":", 1)
                    toks.append(_Tok("FIELD", name.lower(), at))
                    at += len(name) + 1
                if word:
                    toks.append(_Tok("WORD", word, at))
            else:
                toks.append(_Tok("WORD", word, i))
            i = m.end()
    toks.append(_Tok("END", "", n))
    return toks


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _lex(query)
        self.i = 0
        self.depth = 0

    def deeper(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                "query nested too deeply", tok, f"at most {MAX_DEPTH} levels of ( ) and NOT"
            )

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok, expected: str) -> QueryError:
        return QueryError(message, query=self.query, position=tok.pos, expected=expected)

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
            elif kind in ("WORD", "PHRASE", "LPAREN", "NOT", "FIELD"):
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

    def parse_primary(self, fields: tuple[str, ...] = FIELDS, case: bool = False) -> Node:
        tok = self.take()
        if tok.kind == "FIELD":
            nxt = self.peek()
            if nxt.kind not in ("WORD", "PHRASE", "LPAREN", "FIELD"):
                raise self.error(
                    f"{tok.value}: needs something to search",
                    nxt,
                    f'a word, "phrase" or ( right after {tok.value}:',
                )
            if tok.value == "case":
                return self.parse_primary(fields, True)
            return self.parse_primary((tok.value,), case)
        if tok.kind in ("WORD", "PHRASE"):
            return self.term(tok, tok.value, fields, case)
        if tok.kind == "LPAREN":
            if self.peek().kind == "RPAREN":
                raise self.error("empty parentheses", self.peek(), "a term inside ( )")
            self.deeper(tok)
            node = self.parse_or()
            self.depth -= 1
            close = self.take()
            if close.kind != "RPAREN":
                raise self.error("missing )", close, f") to close the ( at position {tok.pos + 1}")
            return _scoped(node, fields, case) if (fields != FIELDS or case) else node
        if tok.kind == "END":
            raise self.error("query ends too early", tok, 'a word, a "phrase" or (')
        if tok.kind == "RPAREN":
            raise self.error("unexpected )", tok, 'a word, a "phrase" or ( before it')
        raise self.error(
            f"{tok.value} needs a term before and after it", tok, 'a word, a "phrase" or ('
        )

    def term(self, tok: _Tok, text: str, fields: tuple[str, ...], case: bool) -> Term:
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
        return Term(
            raw=("case:" if case else "") + text,
            parts=tuple(parts),
            prefixes=tuple(prefixes),
            fields=fields,
            case_sensitive=case,
        )


def _positional(node: Node) -> bool:
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Or):
        return all(_positional(c) for c in node.children)
    return False


def _scoped(node: Node, fields: tuple[str, ...], case: bool) -> Node:
    """Apply a field scope (and case sensitivity) to every term below ``node``."""
    if isinstance(node, Term):
        if case and not node.case_sensitive:
            # Parts were lower-cased at parse time; take them again from the raw text.
            cased = tuple(_WORD.findall(node.raw))
            node = Term("case:" + node.raw, cased, node.prefixes, node.fields, True)
        keep = node.fields if node.fields != FIELDS else fields
        return replace(node, fields=keep)
    if isinstance(node, And):
        return And(tuple(_scoped(c, fields, case) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_scoped(c, fields, case) for c in node.children))
    if isinstance(node, Not):
        return Not(_scoped(node.child, fields, case))
    assert isinstance(node, Near)
    return replace(
        node, left=_scoped(node.left, fields, case), right=_scoped(node.right, fields, case)
    )


def parse_query(query: str) -> Node:
    """Parse ``query`` into a tree, or raise :class:`QueryError` with the position and the fix."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"query is {len(query)} characters long",
            query=query[:80],
            position=MAX_QUERY_LENGTH,
            expected=f"at most {MAX_QUERY_LENGTH} characters",
        )
    node = _Parser(query).parse()
    if not any(True for _ in positive_terms(node)):
        raise QueryError(
            "a query needs at least one term that is not negated",
            query=query,
            position=0,
            expected="a word to look for, e.g. isis NOT goddess",
        )
    return node


def positive_terms(node: Node, negated: bool = False) -> Iterator[Term]:
    """The terms whose presence can make the query match (not under an odd number of NOTs)."""
    if isinstance(node, Term):
        if not negated:
            yield node
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from positive_terms(child, negated)
    elif isinstance(node, Not):
        yield from positive_terms(node.child, not negated)
    elif isinstance(node, Near):
        yield from positive_terms(node.left, negated)
        yield from positive_terms(node.right, negated)


# --------------------------------------------------------------------------- evaluation


def _part_matches(word: str, part: str, prefix: bool) -> bool:
    return word.startswith(part) if prefix else word == part


def term_spans(term: Term, doc: dict[str, TokenizedText]) -> list[Span]:
    """Every place ``term`` occurs in the fields it may match."""
    spans: list[Span] = []
    n = len(term.parts)
    first = term.parts[0].lower()
    prefixes = term.prefixes or (False,) * n
    for name in term.fields:
        text = doc.get(name)
        if text is None:
            continue
        if prefixes[0]:
            starts = sorted(i for w, pos in text.index.items() if w.startswith(first) for i in pos)
        else:
            starts = text.index.get(first, [])
        words = text.cased if term.case_sensitive else text.words
        for i in starts:
            if i + n > len(words):
                continue
            if all(_part_matches(words[i + k], term.parts[k], prefixes[k]) for k in range(n)):
                spans.append(Span(name, i, i + n))
    return spans


Contribution = tuple[Term, Span]
"""A term and one place it occurred that helped the query match."""

_Hit = tuple[Span, tuple[Contribution, ...]]


def _gap(a: Span, b: Span) -> int:
    """Words between two spans (0 when adjacent; negative when they overlap)."""
    return b.start - a.end if b.start >= a.end else a.start - b.end


def _hits(node: Node, doc: dict[str, TokenizedText], cache: dict[Term, list[Span]]) -> list[_Hit]:
    """Where a positional node (term, OR of terms, NEAR) occurs, with the terms behind each hit."""
    if isinstance(node, Term):
        spans = cache.get(node)
        if spans is None:
            spans = cache[node] = term_spans(node, doc)
        return [(s, ((node, s),)) for s in spans]
    if isinstance(node, Or):
        out: list[_Hit] = []
        for child in node.children:
            out.extend(_hits(child, doc, cache))
        return out
    assert isinstance(node, Near)
    left = _hits(node.left, doc, cache)
    right = _hits(node.right, doc, cache) if left else []
    if node.negated:
        return [
            (a, why_a)
            for a, why_a in left
            if not any(b.field == a.field and _gap(a, b) <= node.distance for b, _ in right)
        ]
    out = []
    for a, why_a in left:
        for b, why_b in right:
            # Two different places: a word is not "near" itself (war NEAR/5 war needs two).
            if a.field == b.field and 0 <= _gap(a, b) <= node.distance:
                span = Span(a.field, min(a.start, b.start), max(a.end, b.end))
                out.append((span, why_a + why_b))
    return out


def explain(
    node: Node, doc: dict[str, TokenizedText], cache: dict[Term, list[Span]]
) -> list[Contribution] | None:
    """None if ``node`` does not match ``doc``; else the term occurrences that made it match.

    ``cache`` keeps each term's occurrences, so a term shared by many topics is looked up once.
    """
    if isinstance(node, Term | Near):
        hits = _hits(node, doc, cache)
        return [c for _, why in hits for c in why] if hits else None
    if isinstance(node, And):
        found: list[Contribution] = []
        for child in node.children:
            part = explain(child, doc, cache)
            if part is None:
                return None
            found.extend(part)
        return found
    if isinstance(node, Or):
        # Every branch is evaluated (no short-circuit) so the evidence lists all that hit.
        any_hit = False
        found = []
        for child in node.children:
            part = explain(child, doc, cache)
            if part is not None:
                any_hit = True
                found.extend(part)
        return found if any_hit else None
    assert isinstance(node, Not)
    return None if explain(node.child, doc, cache) is not None else []


def evaluate(node: Node, doc: dict[str, TokenizedText]) -> bool:
    """Does ``node`` match ``doc``?"""
    return explain(node, doc, {}) is not None
