"""Explain a match as the query tree with each clause marked: a pure stage for ``--explain``.

troop-withdrawal  ✓ score 10
  ✓ OR
    ✓ NEAR/6
      ✓ troop: title “…US Troops No Longer Needed…”
      ✓ "no longer needed": title, text
    ✗ NEAR/3 …
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.match import snippet
from bot.query import And, Leaf, Near, Node, Not, Or, Regex, Span, Term, TokenizedText, explain

__all__ = ["explain_lines"]

MAX_LINES = 80


def _label(node: Node) -> str:
    if isinstance(node, Term):
        scope = "" if node.fields == ("title", "text") else "/".join(node.fields) + ":"
        quoted = f'"{node.raw}"' if " " in node.raw else node.raw
        return scope + quoted
    if isinstance(node, Regex):
        return node.raw
    if isinstance(node, Near):
        return f"{'NOT ' if node.negated else ''}NEAR/{node.distance}"
    if isinstance(node, Not):
        return "NOT"
    return "AND" if isinstance(node, And) else "OR"


def explain_lines(
    node: Node, doc: Mapping[str, TokenizedText], cache: dict[Leaf, list[Span]] | None = None
) -> list[str]:
    """One line per clause of ``node``: ✓ where it holds for ``doc``, ✗ where not, with where."""
    cache = {} if cache is None else cache
    lines: list[str] = []

    def walk(n: Node, depth: int) -> None:
        if len(lines) >= MAX_LINES:
            return
        ok = explain(n, doc, cache) is not None
        mark = "✓" if ok else "✗"
        detail = ""
        if isinstance(n, Term | Regex) and ok:
            spans = cache.get(n) or []
            fields = sorted({s.field for s in spans})
            first = spans[0]
            detail = f": {', '.join(fields)} ×{len(spans)} “{snippet(doc[first.field], first, 30)}”"
        lines.append(f"{'  ' * depth}{mark} {_label(n)}{detail}")
        if isinstance(n, And | Or):
            for child in n.children:
                walk(child, depth + 1)
        elif isinstance(n, Not):
            walk(n.child, depth + 1)
        elif isinstance(n, Near):
            walk(n.left, depth + 1)
            walk(n.right, depth + 1)

    walk(node, 0)
    if len(lines) >= MAX_LINES:
        lines.append("…")
    return lines
