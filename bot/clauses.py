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

from bot.learn import TopicModel
from bot.match import snippet
from bot.query import And, Leaf, Near, Node, Not, Or, Regex, Span, Term, TokenizedText, explain

__all__ = ["explain_lines", "model_lines"]

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


def model_lines(model: TopicModel, doc: Mapping[str, TokenizedText], passed: bool) -> list[str]:
    """The learned layer's verdict on ``doc``: prefilter, score against threshold, top words."""
    head = (
        f"learned layer ({model.positives}+/{model.negatives}- examples, cross-validated "
        f"P {model.cv_precision:.2f} R {model.cv_recall:.2f})"
    )
    if not model.active:
        return [f"– {head}: off, the query alone did best on the examples"]
    if not passed:
        return [f"✗ {head}: no anchor word, not scored"]
    title = doc["title"].words if "title" in doc else ()
    text = doc["text"].words if "text" in doc else ()
    score, terms = model.explain(title, text, 6)
    mark = "✓" if score >= model.threshold else "✗"
    lines = [f"{mark} {head}: score {score:.3f} vs threshold {model.threshold:.3f}"]
    lines.extend(f"  + “{term}” {weight:+.3f}" for term, weight in terms)
    return lines
