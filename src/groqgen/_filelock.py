"""An exclusive lock on a file, held between processes too (fcntl, or msvcrt on Windows)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import IO


class FileLock:
    """An exclusive lock on ``path``: ``with FileLock(path):``, or ``acquire()``/``release()``.

    The two may run on different threads (the lock belongs to the open file, not to a thread),
    which lets async code wait for it in a worker thread instead of blocking its event loop.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._handle: IO[bytes] | None = None

    def acquire(self) -> None:
        """Wait until the lock is ours."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")  # noqa: SIM115 - closed in release()
        try:
            if sys.platform == "win32":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except BaseException:
            handle.close()
            raise
        self._handle = handle

    def release(self) -> None:
        """Give the lock up."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            if sys.platform == "win32":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
