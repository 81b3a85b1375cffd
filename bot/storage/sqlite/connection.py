"""The SQLite connection's plumbing: transactions, errors as one line with their fix, and the
base the role classes of :class:`~bot.storage.sqlite.SQLiteStore` share."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bot.errors import StorageError

__all__ = ["FIXES", "SQLiteBase", "Transaction", "quick_check", "storage_error", "translated"]


class SQLiteBase:
    """What every role class of the SQLite store works with: the connection and its path."""

    path: str
    db: sqlite3.Connection

    def _tx(self) -> Transaction:
        return Transaction(self.db)

    def _rows_in(self, sql: str, values: Sequence[object], *before: object) -> list[sqlite3.Row]:
        """``sql`` with its ``IN ({})`` over ``values``, 500 at a time (``before``: the
        arguments ahead of them)."""
        rows: list[sqlite3.Row] = []
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            rows.extend(self.db.execute(sql.format(",".join("?" * len(chunk))), (*before, *chunk)))
        return rows


class Transaction:
    """``with store._tx():`` BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        # After some errors (a full disk) SQLite has rolled back already.
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")


FIXES = {
    "full": "free space on the data directory's disk; nothing was lost: what was being "
    "stored is stored on the next try",
    "write": "newsbot must be able to write this file and its folder: check the owner, the "
    "permissions and the mount",
    "damaged": "the database is damaged: move it away and newsbot starts a new one, or "
    "restore a backup (sqlite3 FILE .recover may save its data)",
    "busy": "another process holds the database; one newsbot per data directory",
}


def quick_check(db: sqlite3.Connection) -> None:
    """:raises sqlite3.DatabaseError: SQLite's quick check found damaged pages."""
    problems = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError(
            "database disk image is malformed: " + "; ".join(problems)[:300]
        )


def storage_error(path: str, exc: sqlite3.Error) -> StorageError:
    """A SQLite error as one line: the file, what SQLite said, and what to do."""
    text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    low = text.lower()
    if "full" in low:
        fix = FIXES["full"]
    elif any(w in low for w in ("readonly", "read-only", "unable to open", "permission", "i/o")):
        fix = FIXES["write"]
    elif any(w in low for w in ("malformed", "not a database", "corrupt")):
        fix = FIXES["damaged"]
    elif "locked" in low or "busy" in low:
        fix = FIXES["busy"]
    else:
        fix = "see the SQLite message; the file may need a look"
    return StorageError(f"{path}: {text} ({fix})")


_F = TypeVar("_F", bound=Callable[..., Any])


def translated(method: _F) -> _F:
    """``method`` raising :class:`StorageError` when the file is at fault, never sqlite3's own
    errors; newsbot's own mistakes (integrity, programming) pass as they are."""

    @functools.wraps(method)
    def call(self: SQLiteBase, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # newsbot's own mistake, not the file's: a bug to see whole
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc) from None

    return call  # type: ignore[return-value]
