"""What must never be shown: secrets, and characters that control a terminal or reorder text.

At the bottom of the stack (it imports nothing of newsbot's), since every layer shows text.
Libraries change the case of what a server answered (python-telegram-bot capitalizes error
descriptions, which lowercases the rest), so secrets are matched whatever their case; a bot
token is also hidden when only its secret half (after the colon) appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["Redactor", "strip_controls"]

MASK = "***"

_CONTROLS = re.compile(
    "["
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 but tab and newline, DEL, C1 (ESC, BEL, NUL…)
    "\u200b\u2060-\u2064\ufeff\u180e"  # zero-width spaces and joiners that join nothing
    "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069"  # bidi marks, overrides, isolates
    "\ufff9-\ufffb"  # interlinear annotation
    "]"
)


def strip_controls(text: str) -> str:
    """``text`` without control characters (tab and newline stay, a carriage return becomes
    a newline: it could overwrite a console line), bidi
    overrides and invisible zero-width characters: what could move a terminal's cursor, ring
    its bell, or make a link or name read backwards. Zero-width (non-)joiners stay: emoji and
    Persian script need them."""
    if not text:
        return text
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


class Redactor:
    """Replaces each secret (of at least 6 characters) with ``***``, whatever its case."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= 6:
                forms.add(secret)
                _, colon, rest = secret.partition(":")
                if colon and len(rest) >= 16:  # a bot token's secret half, echoed alone
                    forms.add(rest)
        ordered = sorted(forms, key=len, reverse=True)  # the whole token before its half
        self._pattern = (
            re.compile("|".join(re.escape(f) for f in ordered), re.IGNORECASE) if ordered else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)
