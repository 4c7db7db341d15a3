"""groqgen's private files: the home folder and everything in it belong to the user alone.

Every file groqgen keeps under ``GROQGEN_HOME`` (the SQLite database and its ``-wal``/``-shm``,
the outbox, lock files, Supabase sessions) is opened through this module, which decides once:

* the home is created ``0700`` whatever the umask; a symlinked home is resolved and the folder
  it points to is the one checked and used;
* a home, or a file in it, that another user owns or that its group or others can write is
  refused with a :class:`~groqgen.ConfigurationError` saying what to fix (as ssh refuses such
  keys); one that others can merely read (made by an older groqgen) is tightened;
* files are created ``0600`` whatever the umask, and a symbolic link inside the home is never
  followed (``O_NOFOLLOW``): it is refused;
* a file is replaced atomically: written to a temporary file created exclusively under an
  unpredictable name, flushed to disk, renamed over the old one, and the folder flushed.

Nothing here runs at import: the checks happen when a file is first used.

On Windows the POSIX owner and mode checks are skipped (files there are guarded by the ACLs of
the per-user folder the home lives in, ``%LOCALAPPDATA%`` by default); the rest works the same.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
from datetime import datetime, timezone
from pathlib import Path

from .errors import ConfigurationError

__all__ = [
    "FILE_MODE",
    "HOME_MODE",
    "check_private",
    "create_private",
    "ensure_home",
    "existing_home",
    "fsync_dir",
    "open_private",
    "read_private",
    "replace_private",
    "set_aside",
    "write_all",
]

HOME_MODE = 0o700
FILE_MODE = 0o600
SETTING = "GROQGEN_HOME"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# A FIFO planted under a file's name would block an open for reading forever.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# What open(O_NOFOLLOW) answers for a symbolic link: ELOOP on Linux and macOS, EMLINK on BSD.
_LINK_ERRORS = (errno.ELOOP, errno.EMLINK)


# -- the home ------------------------------------------------------------------------------------


def ensure_home(home: str | os.PathLike[str]) -> Path:
    """The home folder, created ``0700`` if missing, checked, and resolved.

    Returns the real path (symlinks resolved): open files under it, not under ``home``, so
    that a link swapped after the check cannot redirect them.

    Raises:
        ConfigurationError: (``setting="GROQGEN_HOME"``) the folder cannot be created, is not
            a folder, or another user owns it or can write to it.
    """
    folder = _resolve(home)
    try:
        _make_folders(folder)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create groqgen's home at {folder} ({exc.strerror or exc}); set "
            "GROQGEN_HOME to a folder you can write",
            setting=SETTING,
        ) from None
    _check_home(folder)
    return folder


def existing_home(home: str | os.PathLike[str]) -> Path | None:
    """Like :func:`ensure_home`, but None instead of creating a home that does not exist.

    For reads: looking for a file must not leave a folder behind.
    """
    folder = _resolve(home)
    if not os.path.lexists(folder):
        return None
    _check_home(folder)
    return folder


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents ``0700`` (never wider, whatever the umask).

    As the XDG base directory spec asks of ``~/.local/share`` and the like; the home's own mode
    is then set exactly by :func:`_check_home`.
    """
    missing = []
    while not os.path.lexists(folder) and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            os.mkdir(path, HOME_MODE)


def _resolve(home: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(Path(home).expanduser()))


def _check_home(folder: Path) -> None:
    if sys.platform == "win32":
        if not folder.is_dir():
            raise ConfigurationError(
                f"groqgen's home {folder} is not a folder; set GROQGEN_HOME to a folder",
                setting=SETTING,
            )
        return
    _check_parent(folder)
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        raise ConfigurationError(
            f"groqgen's home {folder} cannot be opened as a folder ({exc.strerror or exc}); "
            "set GROQGEN_HOME to a folder of your own",
            setting=SETTING,
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISDIR(info.st_mode):  # pragma: no cover - O_DIRECTORY refuses it first
            raise ConfigurationError(
                f"groqgen's home {folder} is not a folder; set GROQGEN_HOME to a folder",
                setting=SETTING,
            )
        problem = _problem(info)
        if problem is not None:
            fix = (
                f"run 'chmod 700 {folder}'"
                if info.st_uid == os.geteuid()
                else "set GROQGEN_HOME to a folder of your own"
            )
            raise ConfigurationError(
                f"groqgen's home {folder} {problem}, but it holds your private data and must be "
                f"yours alone: {fix}",
                setting=SETTING,
            )
        if stat.S_IMODE(info.st_mode) != HOME_MODE:
            os.fchmod(fd, HOME_MODE)  # new under any umask, or made readable by an older groqgen
    finally:
        os.close(fd)


def _check_parent(folder: Path) -> None:
    """Refuse a home in a folder that lets another user rename it away and put theirs there.

    That folder may belong to root, and may be writable by everyone when it is sticky (``/tmp``):
    only the owner of an entry can rename it then.
    """
    if sys.platform == "win32":
        return
    try:
        info = os.stat(folder.parent)
    except OSError:  # pragma: no cover - the home exists, so its parent does
        return
    if info.st_uid not in (0, os.geteuid()):
        who = f"another user owns (uid {info.st_uid})"
    elif info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        who = "anyone can write to"
    else:
        return
    raise ConfigurationError(
        f"groqgen's home {folder} is in a folder {who}, who could replace it with a folder of "
        "their own; set GROQGEN_HOME to a folder inside one of yours",
        setting=SETTING,
    )


def _problem(info: os.stat_result) -> str | None:
    """Why a file or folder with this status is not private to us, or None."""
    if sys.platform == "win32":
        return None
    if info.st_uid != os.geteuid():
        return f"is owned by another user (uid {info.st_uid})"
    writers = [
        who
        for who, bit in (("its group", stat.S_IWGRP), ("others", stat.S_IWOTH))
        if info.st_mode & bit
    ]
    if writers:
        return f"can be written by {' and '.join(writers)} (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


# -- files in the home ---------------------------------------------------------------------------


def open_private(path: str | os.PathLike[str], flags: int) -> int:
    """``os.open`` for a file in the home: never through a symlink, created ``0600``, checked.

    ``flags`` are ``os.open``'s (``os.O_RDONLY``, ``os.O_RDWR | os.O_CREAT``,
    ``os.O_WRONLY | os.O_CREAT | os.O_EXCL``, ``os.O_APPEND``, ...); ``O_NOFOLLOW`` and
    ``O_CLOEXEC`` are added. A file this call creates is ``0600`` whatever the umask; an existing
    one must be a regular file of ours that neither group nor others can write (one they can only
    read is tightened to ``0600``). The caller closes the descriptor.

    Raises:
        ConfigurationError: (``setting="GROQGEN_HOME"``) the name is a symbolic link, not a
            regular file, owned by another user, or writable by group or others.
        OSError: as ``os.open`` does otherwise (``FileNotFoundError`` without ``O_CREAT``,
            ``FileExistsError`` with ``O_EXCL``, a full disk, ...).
    """
    extra = _NOFOLLOW | _CLOEXEC | _BINARY | _NONBLOCK
    created = False
    try:
        if flags & os.O_CREAT and not flags & os.O_EXCL:
            # Exclusively first, so that a file made now is known to be ours and new.
            try:
                fd = os.open(path, flags | os.O_EXCL | extra, FILE_MODE)
                created = True
            except FileExistsError:
                fd = os.open(path, flags & ~os.O_CREAT | extra)
        else:
            fd = os.open(path, flags | extra, FILE_MODE)
            created = bool(flags & os.O_EXCL)
    except OSError as exc:
        if exc.errno in _LINK_ERRORS and os.path.islink(path):
            raise ConfigurationError(
                f"{path} is a symbolic link, which groqgen never follows inside its home: "
                "remove it",
                setting=SETTING,
            ) from None
        raise
    try:
        _check_file(fd, path, created=created)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_file(fd: int, path: str | os.PathLike[str], *, created: bool) -> None:
    if sys.platform == "win32":
        return
    os.set_blocking(fd, True)
    info = os.fstat(fd)
    _judge(info, path, created=created)
    if stat.S_IMODE(info.st_mode) != FILE_MODE and (created or info.st_mode & 0o077):
        os.fchmod(fd, FILE_MODE)


def _judge(info: os.stat_result, path: str | os.PathLike[str], *, created: bool = False) -> None:
    """Refuse a file in the home that is not a regular file, or not ours alone.

    ``created``: we just made it, so its owner and mode are ours already.
    """
    if stat.S_ISLNK(info.st_mode):
        raise ConfigurationError(
            f"{path} is a symbolic link, which groqgen never follows inside its home: remove it",
            setting=SETTING,
        )
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError(
            f"{path} in groqgen's home is not a regular file: remove it", setting=SETTING
        )
    problem = None if created else _problem(info)
    if problem is not None:
        raise ConfigurationError(
            f"{path} in groqgen's home {problem}; groqgen will not use a file another user could "
            "have written: remove it",
            setting=SETTING,
        )


def check_private(path: str | os.PathLike[str]) -> None:
    """Check a file in the home without opening it, when it exists; tighten it to ``0600``.

    Refused as :func:`open_private` refuses. For files groqgen does not open itself: SQLite's
    database and the ``-wal``, ``-shm`` and ``-journal`` it makes beside it (SQLite holds POSIX
    locks on them, and closing any descriptor of such a file would drop every lock the process
    holds on it). A missing file is fine. Safe from races once :func:`ensure_home` has checked
    the folder: nobody else can put anything in it.
    """
    if sys.platform == "win32":
        return
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    _judge(info, path)
    if info.st_mode & 0o077:
        os.chmod(path, FILE_MODE)


def create_private(path: str | os.PathLike[str]) -> None:
    """An empty file at ``path``, ``0600`` whatever the umask, unless one is there already.

    Either way the file is then checked as :func:`check_private` does. For a file another
    library opens afterwards (SQLite copies the database file's mode to its ``-wal`` and
    ``-shm``).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, FILE_MODE)
    except FileExistsError:
        check_private(path)
        return
    try:
        if sys.platform != "win32" and stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)  # an umask such as 0277 took more than group and others
    finally:
        os.close(fd)


def read_private(path: str | os.PathLike[str]) -> bytes | None:
    """The whole content of a file in the home, or None when there is no such file.

    Raises:
        ConfigurationError: as :func:`open_private`.
    """
    try:
        fd = open_private(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with open(fd, "rb") as handle:
        return handle.read()


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data``, or raise.

    A short write is continued; a write of nothing is ``OSError(ENOSPC)``.
    """
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "the disk took none of the data (short write)")
        view = view[written:]


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Flush a folder's entries to disk.

    So that a file created or renamed in it is still there after a power loss. Nothing to do on
    Windows.
    """
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file at ``path`` with ``data``, atomically and durably, mode ``0600``.

    The data goes to a temporary file beside it, created exclusively under an unpredictable
    name (a name planted in advance is never used), flushed, then renamed over ``path``; the
    folder is flushed last. A reader sees the old content or the new, never a mix. On failure
    the temporary file is removed and ``path`` is unchanged.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_dir(target.parent)


def set_aside(path: str | os.PathLike[str], label: str) -> Path:
    """Rename a file in the home out of the way, keeping it (and its ``0600`` mode) for a look.

    The new name is ``<name>.<label>-<UTC time>-<random>`` beside it; returns it.
    """
    source = Path(path)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = source.with_name(f"{source.name}.{label}-{stamp}-{secrets.token_hex(3)}")
    os.rename(source, target)
    fsync_dir(source.parent)
    return target
