"""SQLite storage: :class:`SQLiteStore`, one file in WAL mode, its schema upgraded on open.

The package holds one module per role of the store and its plumbing; see :mod:`.store`.
"""

from __future__ import annotations

from bot.storage.sqlite.connection import storage_error
from bot.storage.sqlite.schema import MIGRATIONS as _MIGRATIONS
from bot.storage.sqlite.schema import SCHEMA_VERSION
from bot.storage.sqlite.store import SQLiteStore

# _MIGRATIONS: the migrations under their old name, for tests that build an older database.
__all__ = ["SCHEMA_VERSION", "_MIGRATIONS", "SQLiteStore", "storage_error"]
