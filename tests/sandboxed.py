"""Stand-ins for parse_feed that misbehave, run by ParserPool's workers in tests/test_sandbox.py
(module-level: a worker receives its function by name)."""

from __future__ import annotations

import os
from typing import Any

from bot.errors import ParseError
from bot.sources.parse import ParsedFeed


def spin(body: bytes, **_: Any) -> ParsedFeed:
    """Never returns: the worker must be killed at the deadline."""
    while True:
        pass


def hog(body: bytes, **_: Any) -> ParsedFeed:
    """Asks for memory 64 MB at a time until the worker's limit says no."""
    held = []
    while True:
        held.append(bytearray(64 << 20))


def die(body: bytes, **_: Any) -> ParsedFeed:
    """The worker's process ends in the middle of a parse, as a crash in C code would end it."""
    os._exit(3)


def refuse(body: bytes, **_: Any) -> ParsedFeed:
    raise ParseError(f"not a feed: {body.decode()}")
