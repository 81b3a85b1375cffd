"""SQLite storage: one file, WAL mode, schema created and upgraded on open.

:class:`SQLiteStore` is composed of one class per role of :class:`~bot.storage.base.Store`
(:mod:`.feeds`, :mod:`.items`, :mod:`.deliveries`, :mod:`.outbox`, :mod:`.chats`,
:mod:`.reports`) over one connection; :mod:`.schema` holds the migrations, :mod:`.codecs` how
values are stored, :mod:`.connection` transactions and errors.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.errors import StorageError
from bot.storage.base import Store
from bot.storage.sqlite.chats import SQLiteChats
from bot.storage.sqlite.connection import FIXES, quick_check, storage_error, translated
from bot.storage.sqlite.deliveries import SQLiteDeliveries
from bot.storage.sqlite.feeds import SQLiteFeedStates
from bot.storage.sqlite.items import SQLiteItems
from bot.storage.sqlite.outbox import SQLiteOutbox
from bot.storage.sqlite.reports import SQLiteReports
from bot.storage.sqlite.schema import migrate

__all__ = ["SQLiteStore"]


class SQLiteStore(
    SQLiteFeedStates,
    SQLiteItems,
    SQLiteDeliveries,
    SQLiteOutbox,
    SQLiteChats,
    SQLiteReports,
    Store,
):
    """The default store. ``path`` may be ``":memory:"`` for throwaway runs (``--dry-run``)."""

    def __init__(self, path: Path | str) -> None:
        """Open (creating) the database, check it (``PRAGMA quick_check``) and bring its
        schema up to date.

        :raises StorageError: the file cannot be opened or written, or is damaged.
        """
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA busy_timeout = 10000")
            if self.path != ":memory:":
                quick_check(self.db)
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")
            migrate(self.db, self.path, self._tx)
        except OSError as exc:
            raise StorageError(f"{self.path}: {exc.strerror or exc} ({FIXES['write']})") from None
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc) from None

    @classmethod
    def copy_of(cls, path: Path) -> SQLiteStore:
        """An in-memory copy of the database at ``path`` (empty if there is none), checked and
        upgraded in memory: the file is only read, never written (for dry runs).

        :raises StorageError: the file cannot be read or is damaged.
        """
        memory = cls(":memory:")
        if not path.exists():
            return memory
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                quick_check(source)
                source.backup(memory.db)
            finally:
                source.close()
            # The copy has the file's schema, maybe an older one.
            migrate(memory.db, memory.path, memory._tx)
        except sqlite3.Error as exc:
            raise storage_error(str(path), exc) from None
        return memory

    def close(self) -> None:
        self.db.close()


# Every method of the Store interface raises StorageError when the file is at fault (full,
# unwritable, damaged, locked), never sqlite3's own errors.
for _name in sorted(Store.__abstractmethods__ | {"close"}):
    setattr(SQLiteStore, _name, translated(getattr(SQLiteStore, _name)))
