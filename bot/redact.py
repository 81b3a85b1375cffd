"""Secrets out of text: the one place that decides what a secret looks like in a message.

A pure stage. Libraries change the case of what a server answered (python-telegram-bot
capitalizes error descriptions, which lowercases the rest), so matching ignores case; a bot
token is also hidden when only its secret half (after the colon) appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["Redactor"]

MASK = "***"


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
