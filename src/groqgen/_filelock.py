"""An exclusive lock on a file, held between processes too (fcntl, or msvcrt on Windows)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType

from ._files import ensure_home, open_private


class FileLock:
    """An exclusive lock on ``path``: ``with FileLock(path):``, or ``acquire()``/``release()``.

    The lock file lives in groqgen's home, so it is one of its private files: the folder is
    checked (made ``0700`` if new), the file is created ``0600`` and never opened through a
    symlink (see :mod:`groqgen._files`).

    ``acquire`` and ``release`` may run on different threads (the lock belongs to the open file,
    not to a thread), which lets async code wait for it in a worker thread instead of blocking
    its event loop.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Wait until the lock is ours."""
        folder = ensure_home(self.path.parent)
        fd = open_private(folder / self.path.name, os.O_RDWR | os.O_CREAT)
        try:
            if sys.platform == "win32":
                import msvcrt

                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Give the lock up."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if sys.platform == "win32":
                import msvcrt

                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

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
