"""Feed parsing in worker processes that newsbot can stop: a deadline and a memory limit per feed.

:func:`bot.sources.parse.parse_feed` is bounded in what it reads (:mod:`bot.sources.bounds`),
but a parser is still C code and feedparser's Python working on bytes a stranger chose. Here it
runs in a pool of worker processes (:mod:`pebble`): a parse that passes its deadline has its
process killed and replaced, one that asks for more memory than its limit (``RLIMIT_AS``, set
in each worker) fails there, and one that crashes its process takes nothing else with it. In
every case the feed's poll fails with a :class:`~bot.errors.ParseError` that says which limit,
and the event loop, the other feeds and the bot's process go on. The workers run at a lower
CPU priority than the bot, so the event loop gets the CPU first.

Workers are forked from a fork server started once, with the parser already imported, so a
replacement costs milliseconds, and no worker inherits the bot's threads, sockets or token.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pebble

from bot.errors import ParseError
from bot.sources.parse import ParsedFeed, parse_feed

__all__ = ["ParserPool", "SandboxLimits"]

_MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """What one parse may cost: ``seconds`` of wall time, ``memory_mb`` of address space in
    its worker (the worker's own ~50 MB included); ``workers`` parse at once."""

    seconds: float = 20.0
    memory_mb: int = 512
    workers: int = 1


def _worker_setup(memory_bytes: int) -> None:
    """In each worker: the memory limit, a lower priority, and Ctrl-C left to the bot."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    with contextlib.suppress(OSError):
        os.nice(5)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ready() -> None:
    """The first task of a pool: it starts the workers."""


class ParserPool:
    """``await pool.parse(body, url=..., ...)``: :func:`parse_feed` in a worker process.

    The processes start at the first parse and stop at :meth:`close` (or when the program
    exits). A pool may be shared by any number of feed sources and event loops. ``parse`` is
    what the workers run, :func:`parse_feed` unless a test says otherwise (a module-level
    function: it is sent to the worker by name).
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        parse: Callable[..., ParsedFeed] = parse_feed,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.function = parse
        self._pool: pebble.ProcessPool | None = None
        self._lock = threading.Lock()

    def _started(self) -> pebble.ProcessPool:
        with self._lock:
            if self._pool is None or not self._pool.active:
                context = multiprocessing.get_context("forkserver")
                # The fork server imports the parser (and the program's main module, which
                # multiprocessing imports in every worker otherwise) once, before it forks;
                # bot.sources.parse imports every module of bot.sources.fastread
                # (tests/test_architecture.py checks that it does).
                context.set_forkserver_preload(["__main__", "bot.sources.parse"])
                pool = pebble.ProcessPool(
                    max_workers=self.limits.workers,
                    initializer=_worker_setup,
                    initargs=(self.limits.memory_mb * _MIB,),
                    context=context,
                )
                # pebble starts its workers at the first task, in the thread that schedules
                # it, waiting for the fork server: here, off the event loop. The pool is
                # published only once started (its ``active`` would start it otherwise).
                pool.schedule(_ready)
                self._pool = pool
            return self._pool

    async def parse(
        self,
        body: bytes,
        *,
        url: str,
        content_type: str | None = None,
        source_name: str | None = None,
        limit: int | None = None,
    ) -> ParsedFeed:
        """What :func:`parse_feed` gives for these arguments, parsed in a worker.

        :raises ParseError: what parse_feed raises, or the parse passed a limit: its deadline
            (the worker was killed), its memory, or its worker died.
        """
        kwargs = {
            "url": url,
            "content_type": content_type,
            "source_name": source_name,
            "limit": limit,
        }
        limits = self.limits
        pool = self._pool
        if pool is None or not pool.active:
            # Starting the fork server waits for it to import the parser: not on the loop.
            pool = await asyncio.to_thread(self._started)
        future = pool.schedule(self.function, args=(body,), kwargs=kwargs, timeout=limits.seconds)
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError:
            raise ParseError(
                f"parsing took longer than {limits.seconds:g} s and was stopped (a feed this "
                "costly to read is refused; if it is yours, make it smaller)"
            ) from None
        except MemoryError:
            raise ParseError(
                f"parsing needed more than {limits.memory_mb} MB and was stopped (if the feed "
                "is yours, make it smaller; an operator can raise [polling] parse_memory_mb)"
            ) from None
        except pebble.ProcessExpired as exc:
            raise ParseError(
                f"the parser's process ended while reading this feed (exit code {exc.exitcode})"
            ) from None

    def close(self) -> None:
        """Stop the workers (a parse under way is killed); the next parse starts them again."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()  # type: ignore[no-untyped-call]
            pool.join(timeout=5)


_shared: ParserPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ParserPool:
    """One pool with the default limits for every feed source not given its own, stopped when
    the program exits."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ParserPool()
            atexit.register(_shared.close)
        return _shared
