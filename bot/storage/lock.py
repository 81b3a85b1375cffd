"""One owner per data directory: an advisory lock on ``newsbot.lock`` inside it.

Two processes sending from one outbox would send alerts twice, so until several workers are
supported a data directory belongs to one process at a time. ``newsbot run`` takes the lock for
as long as it runs and refuses to start beside another owner; ``newsbot poll`` and ``newsbot
digest`` wait for another poll or digest to finish, and refuse to run beside the service (it
polls by itself).

The lock is ``flock(2)`` on an open file, so the kernel releases it when its process ends, even
by SIGKILL: a crashed owner never leaves a stale lock behind. The file holds the owner's pid,
command and start time so that the refusal can name it. (The ``filelock`` package truncates the
file on every attempt, which would erase that name; the lock itself is these few lines.)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import ConfigError

__all__ = ["DataDirLock", "Holder"]

LOCK_NAME = "newsbot.lock"


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the lock, as it wrote itself into the file."""

    pid: int | None
    command: str
    since: str

    def describe(self) -> str:
        pid = f"pid {self.pid}" if self.pid else "pid unknown"
        since = f", since {self.since}" if self.since else ""
        return f"newsbot {self.command} ({pid}{since})"


class DataDirLock:
    """The lock of ``folder`` for ``command`` (``run``, ``poll``, ``digest``)."""

    def __init__(self, folder: Path, command: str) -> None:
        self.folder = folder
        self.path = folder / LOCK_NAME
        self.command = command
        self._fd: int | None = None

    def acquire(
        self,
        *,
        wait: float = 0.0,
        on_wait: Callable[[Holder], None] | None = None,
        refuse: Callable[[Holder], bool] = lambda holder: False,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        """Take the lock, waiting up to ``wait`` seconds for its holder to finish.

        ``on_wait`` is told once who is being waited for; ``refuse(holder)`` True means not to
        wait for that holder at all (a poll does not wait for the service, which never ends).

        :raises ConfigError: the lock is held (by whom, and what to do), or the folder cannot
            be written.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"cannot open the lock file: {exc.strerror or exc}",
                path=str(self.path),
                fix="newsbot needs to write in its data directory (data_dir, NEWSBOT_DATA_DIR)",
            ) from None
        started = clock()
        deadline = started + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = self._read(fd)
                if refuse(holder) or clock() >= deadline:
                    os.close(fd)
                    raise self._busy(holder) from None
                # A holder that has just taken the lock may not have written who it is yet:
                # read again before saying whom we wait for (after a second, say it anyway).
                known = holder.pid is not None or clock() - started > 1.0
                if on_wait is not None and not told and known:
                    on_wait(holder)
                    told = True
                pause(min(0.05 if not known else 0.2, max(0.0, deadline - clock())))
        os.ftruncate(fd, 0)
        record = {
            "pid": os.getpid(),
            "command": self.command,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd

    def _busy(self, holder: Holder) -> ConfigError:
        if holder.command == "run":
            fix = (
                "the service polls and sends by itself (an admin can /poll in Telegram); stop "
                "it first, or give this command another data_dir"
            )
        else:
            fix = "wait for it to finish, or give this command another data_dir"
        return ConfigError(
            f"{holder.describe()} is using this data directory", path=str(self.folder), fix=fix
        )

    @staticmethod
    def _read(fd: int) -> Holder:
        try:
            raw = json.loads(os.pread(fd, 4096, 0) or b"{}")
        except (OSError, ValueError):
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        pid = raw.get("pid")
        return Holder(
            pid if isinstance(pid, int) else None,
            str(raw.get("command") or "(starting)")[:20],
            str(raw.get("since") or "")[:40],
        )

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None

    def __enter__(self) -> DataDirLock:
        if self._fd is None:
            self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
