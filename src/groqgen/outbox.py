"""The durable outbox: paid generations that could not be recorded yet.

When Groq answered but the store still refused the write after its retries (or the write was
interrupted by Ctrl-C or a task cancellation), the full result is appended to ``outbox.jsonl``
under ``GROQGEN_HOME`` and flushed to disk *before* the error propagates.
``client.outbox.flush()`` replays the entries later.

The file is an append-only journal: a ``pending`` line per generation, then a ``recorded`` line
once it is stored (or a ``dropped`` line when it was discarded on purpose). Replaying is
idempotent — the store records a generation under its client-generated id, and a second write
of the same id changes nothing — so a crash anywhere in a flush neither loses nor duplicates a
record: an entry stays pending until its ``recorded`` line is on disk.

What the journal survives:

* **Another account.** Every entry names its store (without any secret: host, port, database
  and login role for PostgreSQL, the project URL for Supabase, the file for SQLite) and the
  user it was generated for (the PostgreSQL ``user_id`` or the service role, the signed-in
  Supabase user, the service key's ``user_id``, the SQLite home's local profile). A client
  replays only the entries of its own store *and* user; the others are left for their owner.
* **Damage.** Each line stands alone. A line that is not a valid entry (not UTF-8, not JSON,
  not an object, an unknown table, a malformed id or timestamp, ...) is reported with its line
  number and why, and moved to ``outbox.rejects.jsonl``; every other entry still lists and
  flushes.
* **A torn last line** (a crash in the middle of an append): the next append starts on a new
  line, so neither entry is glued to the other.
* **A full disk.** A failed or short write is detected, the partial line is cut off again, and
  a typed :class:`~groqgen.StoreError` says the outbox could not be written (the generator then
  keeps the result on the exception it raises).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._filelock import FileLock
from ._files import (
    ensure_home,
    existing_home,
    fsync_dir,
    open_private,
    read_private,
    replace_private,
    write_all,
)
from .errors import (
    AuthenticationError,
    ConfigurationError,
    GroqgenError,
    NotFound,
    RecordingFailed,
    RecordingInterrupted,
    StoreError,
)
from .generation import KINDS
from .observe import Observer, outbox_log
from .presentation import shorten
from .repositories import _uuid as _valid_uuid
from .retry import RetryPolicy, async_retrying, retrying
from .stores import ops

if TYPE_CHECKING:
    from ._config import Settings
    from .stores import AsyncStore, Store

__all__ = [
    "AsyncOutboxClient",
    "AsyncRecorder",
    "DamagedLine",
    "FlushFailure",
    "FlushResult",
    "Identity",
    "Outbox",
    "OutboxClient",
    "PendingGeneration",
    "Recorder",
    "store_identity",
    "store_unavailable",
]

JOURNAL = "outbox.jsonl"
REJECTS = "outbox.rejects.jsonl"
LOCAL_PROFILE = "local"
"""The user of a SQLite home: its one local profile."""
SERVICE_ROLE = "service_role"
"""The user of a service-role client acting for no user in particular."""
UNWRITABLE = "outbox_unwritable"
"""The ``code`` of the error raised when the outbox itself could not be written."""

_GENERATION_TABLES = frozenset(kind.table for kind in KINDS.values())
_log = outbox_log


# -- who an entry belongs to ------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The store, and the user on it, a generation was made for. Never holds a secret.

    ``user`` is a user id, ``"service_role"``, ``"local"`` (a SQLite home's profile), or None
    when no user is known (a Supabase client nobody is signed in to): an entry made then
    belongs to nobody and is flushed by no one; ``discard`` removes it.
    """

    store: str
    user: str | None


def store_identity(settings: Settings) -> str:
    """Name the store ``settings`` select, without any password, token or key.

    PostgreSQL: ``postgresql://ROLE@HOST:PORT/DBNAME`` read from the connection string (URL
    or ``key=value``; a password in the user info or the query string never appears).
    Supabase: ``supabase:`` and the project URL. SQLite: ``sqlite:`` and the file's path.
    """
    match settings.store_kind:
        case "postgres":
            return _postgres_identity(settings.database_url or "")
        case "supabase":
            return _supabase_identity(settings.supabase_url or "")
        case "sqlite":
            return f"sqlite:{settings.sqlite_path.resolve()}"


def _postgres_identity(url: str) -> str:
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(url)
    except Exception:  # the store refuses such a URL first; never echo it here
        return "postgresql://<unparseable connection string>"
    host = str(info.get("host") or info.get("hostaddr") or "")
    port = str(info.get("port") or "5432")
    user = str(info.get("user") or "")
    dbname = str(info.get("dbname") or user)
    return f"postgresql://{user}@{host}:{port}/{dbname}"


def _supabase_identity(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "supabase:<unparseable URL>"
    return f"supabase:{parts.scheme.lower()}://{parts.hostname or ''}{port}{parts.path.rstrip('/')}"


# -- what is in the journal -------------------------------------------------------------------


@dataclass(frozen=True)
class PendingGeneration:
    """A generation waiting to be recorded: the row's values and its activity entry.

    ``values[output_column]`` holds what Groq generated; nothing of it is lost. ``target`` names
    the store and ``user`` the user it was generated for (see :class:`Identity`).
    """

    id: uuid.UUID
    table: str
    values: dict[str, Any]
    activity: dict[str, Any]
    target: str
    created_at: datetime
    reason: str = ""
    user: str | None = None

    def to_record(self) -> ops.Record:
        """The store operation that records it."""
        return ops.Record(self.table, self.values, self.activity)

    def belongs_to(self, identity: Identity) -> bool:
        """Whether a client acting as ``identity`` may record this entry."""
        return identity.user is not None and (self.target, self.user) == (
            identity.store,
            identity.user,
        )

    def line(self) -> dict[str, Any]:
        """The journal line that holds it."""
        return {
            "event": "pending",
            "id": str(self.id),
            "at": self.created_at.isoformat(),
            "target": self.target,
            "user": self.user,
            "table": self.table,
            "values": self.values,
            "activity": self.activity,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DamagedLine:
    r"""A journal line that was not a valid entry; it was moved to the rejects file.

    ``line`` is its number in the journal as it was found, ``reason`` says why it was refused
    and ``text`` is the line itself (bytes that are not UTF-8 escaped as ``\\xNN``).
    """

    line: int
    reason: str
    text: str


@dataclass(frozen=True)
class FlushFailure:
    """An entry a flush could not record; it stays in the outbox.

    ``permanent`` is True when the store refused the entry itself (a value it will not take, a
    project that is gone): it will fail again until that changes, and ``discard`` drops it. It
    is False when the store could not be reached or the client could not act (try again later).
    """

    entry: PendingGeneration
    error: str
    permanent: bool


@dataclass
class FlushResult:
    """What a flush did.

    ``recorded`` entries were stored; ``failed`` stay pending; ``left_for_others`` belong to
    another store or another user and were not touched; ``set_aside`` are damaged lines found
    (and moved to the rejects file) during this flush.
    """

    recorded: int = 0
    failed: list[FlushFailure] = field(default_factory=list)
    left_for_others: int = 0
    set_aside: list[DamagedLine] = field(default_factory=list)

    @property
    def skipped_other_stores(self) -> int:
        """``left_for_others`` under its earlier name (other stores *or* other users)."""
        return self.left_for_others


def store_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the store cannot be written *now*, whatever the entry.

    A transient store failure (a lost connection, a timeout, a busy lock) or a client that
    cannot act (signed out, misconfigured), as opposed to the store refusing this one entry.
    """
    if isinstance(exc, (AuthenticationError, ConfigurationError)):
        return True
    return isinstance(exc, StoreError) and exc.transient


class _Damaged(Exception):
    """A line that is not a valid journal entry, and why."""


@dataclass(frozen=True)
class _Resolved:
    """A ``recorded`` or ``dropped`` line: the entry with this id is no longer pending."""

    id: uuid.UUID


@dataclass(frozen=True)
class _Journal:
    """The journal as read: what is still pending and the lines that were not entries."""

    entries: list[PendingGeneration]
    damaged: list[DamagedLine]


def _clip(value: Any) -> str:
    return shorten(repr(value), 40)


def _uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise _Damaged("no id" if value is None else f"its id is not a string ({_clip(value)})")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _Damaged(f"its id is not a UUID ({_clip(value)})") from None


def _moment(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Damaged("no timestamp" if value is None else "its timestamp is not a string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Damaged(f"its timestamp is not ISO 8601 ({_clip(value)})") from None
    if moment.tzinfo is None:
        raise _Damaged(f"its timestamp has no time zone ({_clip(value)})")
    return moment


def _object(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _Damaged(f"no {key}" if value is None else f"its {key} is not an object")
    return value


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _event(raw: bytes) -> PendingGeneration | _Resolved:
    """Read one journal line; raises :class:`_Damaged` saying why it is not an entry."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Damaged("not UTF-8 text") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise _Damaged("not JSON") from None
    if not isinstance(data, dict):
        raise _Damaged(f"{_kind_of(data)}, not an entry object")
    event, entry_id = data.get("event"), _uuid(data.get("id"))
    if event in ("recorded", "dropped"):
        return _Resolved(entry_id)
    if event != "pending":
        raise _Damaged("no event" if event is None else f"unknown event {_clip(event)}")
    table = data.get("table")
    if table not in _GENERATION_TABLES:
        raise _Damaged("no table" if table is None else f"unknown table {_clip(table)}")
    values, activity = _object(data, "values"), _object(data, "activity")
    if str(values.get("id")) != str(entry_id):
        raise _Damaged("its values carry another id than the entry")
    target = data.get("target")
    if not isinstance(target, str) or not target:
        raise _Damaged("it names no store")
    # Lines written before entries named their user: a SQLite home has one user; for any
    # other store nobody can tell whose it was, so it is left for ``discard``.
    user = data.get("user", LOCAL_PROFILE if target.startswith("sqlite:") else None)
    if user is not None and not isinstance(user, str):
        raise _Damaged("its user is not a string")
    reason = data.get("reason")
    return PendingGeneration(
        id=entry_id,
        table=table,
        values=values,
        activity=activity,
        target=target,
        created_at=_moment(data.get("at")),
        reason=reason if isinstance(reason, str) else "",
        user=user,
    )


def _parse(data: bytes) -> _Journal:
    """Fold the journal's lines into what is still pending; damaged lines are collected."""
    lines = data.split(b"\n")
    torn = len(lines) if lines[-1] else None  # the last line has no newline: a crash mid-append
    pending: dict[uuid.UUID, PendingGeneration] = {}
    damaged: list[DamagedLine] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            event = _event(raw)
        except _Damaged as why:
            reason = f"{why} (a line torn by a crash)" if number == torn else str(why)
            damaged.append(DamagedLine(number, reason, raw.decode("utf-8", "backslashreplace")))
            continue
        match event:
            case PendingGeneration():
                pending.setdefault(event.id, event)
            case _Resolved():
                pending.pop(event.id, None)
    return _Journal(list(pending.values()), damaged)


# -- file I/O ---------------------------------------------------------------------------------


def _encode(lines: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(line, default=str, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        for line in lines
    )


def _append(path: Path, lines: Iterable[Mapping[str, Any]]) -> None:
    """Append whole lines and flush them to disk; on failure nothing of them is left behind."""
    data = _encode(lines)
    fd = open_private(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    try:
        size = os.fstat(fd).st_size
        if size:
            os.lseek(fd, size - 1, os.SEEK_SET)
            if os.read(fd, 1) != b"\n":
                data = b"\n" + data  # after a torn line: start on a line of our own
        try:
            write_all(fd, data)
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)  # cut off the partial line again
            raise
    finally:
        os.close(fd)
    if size == 0:
        fsync_dir(path.parent)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


class Outbox:
    """The journal of one groqgen home, seen by one client.

    ``store`` is the client's store identity (:func:`store_identity`) and ``user`` answers, when
    asked, who the client acts as now (a Supabase user may sign in and out meanwhile).
    """

    def __init__(
        self, home: Path, store: str, user: Callable[[], str | None] = lambda: LOCAL_PROFILE
    ) -> None:
        self.path = Path(home) / JOURNAL
        self.rejects_path = Path(home) / REJECTS
        self.store = store
        self._user = user

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r})"

    def identity(self) -> Identity:
        """The store and the user this client acts as, right now."""
        try:
            user = self._user()
        except Exception:  # e.g. a damaged session file: it names nobody
            user = None
        return Identity(self.store, user)

    def _locked(self) -> FileLock:
        """An exclusive lock on the journal (between processes too); not reentrant."""
        return FileLock(self.path.with_suffix(".lock"))

    def _journal(self) -> Path:
        """The journal's real path, in a home checked to be its owner's alone (made if new)."""
        return ensure_home(self.path.parent) / JOURNAL

    def _rejects(self) -> Path:
        return ensure_home(self.path.parent) / REJECTS

    def _unwritable(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"the outbox at {self.path} could not be written ({_why(exc)}); free some disk space "
            "or check the folder's permissions",
            code=UNWRITABLE,
        )

    # -- writing --------------------------------------------------------------------------------

    def entry(self, record: ops.Record, reason: str) -> PendingGeneration:
        """The entry that would hold ``record``, for the user the client acts as (not written)."""
        identity = self.identity()
        return PendingGeneration(
            id=uuid.UUID(str(record.values["id"])),
            table=record.table,
            values=json.loads(json.dumps(dict(record.values), default=str)),
            activity=json.loads(json.dumps(dict(record.activity), default=str)),
            target=identity.store,
            created_at=_now(),
            reason=reason,
            user=identity.user,
        )

    def write(self, entry: PendingGeneration) -> None:
        """Append ``entry`` and flush it to disk.

        Raises :class:`~groqgen.StoreError` (``code="outbox_unwritable"``) when the disk refuses.
        """
        try:
            with self._locked():
                _append(self._journal(), [entry.line()])
        except (OSError, ConfigurationError) as exc:
            raise self._unwritable(exc) from exc

    def add(self, record: ops.Record, reason: str) -> PendingGeneration:
        """Append a generation to the journal and flush it to disk; returns the entry."""
        entry = self.entry(record, reason)
        self.write(entry)
        return entry

    def mark_recorded(self, entry: PendingGeneration) -> None:
        """Note on disk that ``entry`` is stored."""
        try:
            with self._locked():
                _append(self._journal(), [{"event": "recorded", "id": str(entry.id), "at": _now()}])
        except (OSError, ConfigurationError) as exc:
            raise self._unwritable(exc) from exc

    def discard(self, entry_id: uuid.UUID | str) -> PendingGeneration:
        """Drop a pending entry on purpose (any store's or user's); returns what was dropped.

        Raises :class:`~groqgen.NotFound` when no pending entry has that id.
        """
        wanted = _valid_uuid(entry_id, "id")
        try:
            with self._locked():
                journal = self._load()
                dropped = next((e for e in journal.entries if e.id == wanted), None)
                if dropped is None:
                    raise NotFound(
                        f"no outbox entry {wanted} is pending ('groqgen outbox list --all' shows "
                        "every entry)"
                    )
                _append(self._journal(), [{"event": "dropped", "id": str(wanted), "at": _now()}])
        except (OSError, ConfigurationError) as exc:
            raise self._unwritable(exc) from exc
        _log.info(
            "dropped outbox entry %s (%s, generated %s) on purpose",
            dropped.id,
            dropped.table,
            dropped.created_at.isoformat(),
        )
        return dropped

    def compact(self) -> None:
        """Rewrite the journal with only what is still pending (atomically)."""
        try:
            with self._locked():
                replace_private(self._journal(), _encode(e.line() for e in self._load().entries))
        except (OSError, ConfigurationError) as exc:
            raise self._unwritable(exc) from exc

    # -- reading --------------------------------------------------------------------------------

    def _load(self) -> _Journal:
        """Read the journal (the lock held); damaged lines are reported and set aside."""
        try:
            home = existing_home(self.path.parent)
            data = (read_private(home / JOURNAL) if home is not None else None) or b""
            journal = _parse(data)
        except OSError as exc:
            raise StoreError(f"the outbox at {self.path} could not be read ({_why(exc)})") from exc
        if journal.damaged:
            self._set_aside(journal)
        return journal

    def _set_aside(self, journal: _Journal) -> None:
        at = _now().isoformat()
        try:
            _append(
                self._rejects(),
                [
                    {"at": at, "line": d.line, "why": d.reason, "text": d.text}
                    for d in journal.damaged
                ],
            )
            replace_private(self._journal(), _encode(e.line() for e in journal.entries))
            where = f"moved to {self.rejects_path}"
        except (OSError, ConfigurationError) as exc:
            where = f"left in place and skipped (the rejects file could not be written: {exc})"
        for damaged in journal.damaged:
            _log.warning(
                "outbox line %d is not a valid entry (%s); %s", damaged.line, damaged.reason, where
            )

    def read(self) -> tuple[list[PendingGeneration], list[DamagedLine]]:
        """Every pending entry (every store's and user's), oldest first, and damaged lines.

        The damaged lines are those this read found (and set aside).
        """
        with self._locked():
            journal = self._load()
        return sorted(journal.entries, key=lambda e: e.created_at), journal.damaged

    def pending(self, *, all_accounts: bool = False) -> list[PendingGeneration]:
        """Entries not recorded yet, oldest first.

        Only this client's store and user's, unless ``all_accounts``.
        """
        entries, _ = self.read()
        if all_accounts:
            return entries
        me = self.identity()
        return [e for e in entries if e.belongs_to(me)]

    def rejects(self) -> list[DamagedLine]:
        """Every line ever set aside as damaged (the rejects file), oldest first."""
        try:
            home = existing_home(self.path.parent)
            data = (read_private(home / REJECTS) if home is not None else None) or b""
        except OSError as exc:
            raise StoreError(f"{self.rejects_path} could not be read ({_why(exc)})") from exc
        found: list[DamagedLine] = []
        for raw in data.splitlines():
            with contextlib.suppress(ValueError, TypeError, AttributeError, RecursionError):
                item = json.loads(raw)
                found.append(DamagedLine(int(item["line"]), str(item["why"]), str(item["text"])))
        return found


class StoreWatch:
    """What a run of store writes (a flush, a batch) has learnt about its store.

    Once a write failed for want of the store (:func:`store_unavailable`, after its retries),
    the rest of the run is not tried: each would wait a full timeout times attempts in vain.
    """

    def __init__(self) -> None:
        self.down: BaseException | None = None

    def saw(self, exc: BaseException) -> None:
        """A write of this run failed with ``exc``."""
        if self.down is None and store_unavailable(exc):
            self.down = exc

    def check(self) -> None:
        """Raise, instead of trying the store, once it is known to be unavailable."""
        if self.down is not None:
            raise StoreError(
                f"not tried: the store was unavailable earlier in this run ({self.down})",
                transient=True,
            )


class Flush:
    """One flush, decided once for both flavours.

    Which entries to replay and what each outcome means are decided here; the sync and async
    outbox clients only carry out the store writes::

        flush = Flush(outbox)                       # reads the journal (file I/O)
        for entry in flush.entries:
            try: write(entry.to_record(), flush.watch)  # the store, with the client's retries
            except Exception as exc: flush.failed(entry, exc)
            else: flush.recorded(entry)             # notes it on disk
        return flush.finish()                       # compacts the journal
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        everything, set_aside = outbox.read()
        me = outbox.identity()
        self.entries = [e for e in everything if e.belongs_to(me)]
        self.result = FlushResult(
            left_for_others=len(everything) - len(self.entries), set_aside=set_aside
        )
        self.watch = StoreWatch()

    def recorded(self, entry: PendingGeneration) -> None:
        """``entry`` is stored: note it on disk."""
        self._outbox.mark_recorded(entry)
        self.result.recorded += 1

    def failed(self, entry: PendingGeneration, exc: BaseException) -> None:
        """``entry`` could not be recorded; it stays pending."""
        self.watch.saw(exc)
        permanent = not store_unavailable(exc)
        self.result.failed.append(FlushFailure(entry, str(exc), permanent=permanent))

    def finish(self) -> FlushResult:
        """Drop what was recorded from the journal; the result."""
        if self.result.recorded:
            try:
                self._outbox.compact()
            except GroqgenError as exc:  # the journal is still right, only longer
                _log.warning("the outbox could not be compacted: %s", exc)
        return self.result


# -- recording: write under the retry policy, park what the store would not take ---------------


class _RecorderBase:
    """What both recorder flavours decide: where a paid generation goes when it is not stored.

    ``observer``: told of each generation recorded (spans, the INFO record, the hooks).
    """

    def __init__(
        self, outbox: Outbox, policy: RetryPolicy, observer: Observer | None = None
    ) -> None:
        self.outbox = outbox
        self.policy = policy
        self.observer = observer if observer is not None else Observer()

    def _parked(self, record: ops.Record, cause: BaseException) -> RecordingFailed:
        """Put a paid generation the store did not record in the outbox (file I/O only).

        Returns the error to raise: where the result is kept, or, when the outbox could not be
        written either, that the exception's ``result`` is its only copy.
        """
        entry = self.outbox.entry(record, str(cause))
        try:
            self.outbox.write(entry)
        except StoreError as unwritable:
            _log.warning(
                "generation %s was not recorded (%s) and the outbox could not be written",
                entry.id,
                type(cause).__qualname__,
            )
            return RecordingFailed(
                f"the generation succeeded but could not be recorded ({cause}), and {unwritable}; "
                "the result exists only on this exception (.result): keep it",
                result=entry,
                code=UNWRITABLE,
            )
        _log.warning(
            "generation %s was not recorded (%s); parked in the outbox",
            entry.id,
            type(cause).__qualname__,
            extra={"row_id": str(entry.id), "table": entry.table},
        )
        return RecordingFailed(
            f"the generation succeeded but could not be recorded ({cause}); it is safe in the "
            f"outbox at {self.outbox.path}: call client.outbox.flush() once the store is back",
            result=entry,
            code=getattr(cause, "code", None),
        )

    def _interrupted(self, record: ops.Record, interrupt: BaseException) -> BaseException:
        """Park a paid generation whose recording was interrupted; returns what to raise.

        File I/O only, never awaited, so a cancelled task cannot be cancelled out of it. A
        ``KeyboardInterrupt`` becomes :class:`~groqgen.RecordingInterrupted` (still a
        ``KeyboardInterrupt``) saying where the result is; a cancellation stays as it is.
        """
        entry = self.outbox.entry(
            record, f"interrupted while recording ({type(interrupt).__name__})"
        )
        path: Path | None = self.outbox.path
        try:
            self.outbox.write(entry)
            where = f"is kept in the outbox at {path}"
        except StoreError as exc:
            path, where = None, f"could not be kept in the outbox ({exc})"
        message = f"interrupted after Groq answered; the paid generation {entry.id} {where}"
        if not isinstance(interrupt, KeyboardInterrupt):
            _log.warning(message)  # a cancellation cannot carry it: say it here
            return interrupt
        replacement = RecordingInterrupted(message, result=entry, path=path)
        replacement.__cause__ = interrupt
        return replacement


class Recorder(_RecorderBase):
    """Writes records to a store under the client's retry policy; parks what fails."""

    def __init__(
        self, outbox: Outbox, store: Store, policy: RetryPolicy, observer: Observer | None = None
    ) -> None:
        super().__init__(outbox, policy, observer)
        self.store = store

    def write(self, record: ops.Record, watch: StoreWatch | None = None) -> Any:
        """Write ``record`` with retries (none once ``watch`` saw the store down)."""
        if watch is not None:
            watch.check()
        stop_when = None if watch is None else (lambda: watch.down is not None)
        try:
            for attempt in retrying(self.policy, stop_when=stop_when):
                with attempt:
                    row = self.store.execute(record)
        except Exception as exc:
            if watch is not None:
                watch.saw(exc)
            raise
        return row

    def record(self, record: ops.Record, watch: StoreWatch | None = None) -> Any:
        """Write a paid generation; on failure or interrupt it is parked in the outbox first.

        Once it is stored, the observer is told and the hooks run (a failing hook is logged).
        """
        with self.observer.recording(record) as stored:
            try:
                row = self.write(record, watch)
            except Exception as exc:
                raise self._parked(record, exc) from exc
            except BaseException as exc:  # Ctrl-C: Groq was paid, so the result is parked first
                raise self._interrupted(record, exc)  # noqa: B904 - it chains the interrupt itself
            event = stored(row)
        self.observer.notify(event)
        return row


class AsyncRecorder(_RecorderBase):
    """:class:`Recorder` for asyncio (the outbox's file I/O runs in a worker thread)."""

    def __init__(
        self,
        outbox: Outbox,
        store: AsyncStore,
        policy: RetryPolicy,
        observer: Observer | None = None,
    ) -> None:
        super().__init__(outbox, policy, observer)
        self.store = store

    async def write(self, record: ops.Record, watch: StoreWatch | None = None) -> Any:
        """Write ``record`` with retries (none once ``watch`` saw the store down)."""
        if watch is not None:
            watch.check()
        stop_when = None if watch is None else (lambda: watch.down is not None)
        try:
            async for attempt in async_retrying(self.policy, stop_when=stop_when):
                with attempt:
                    row = await self.store.execute(record)
        except Exception as exc:
            if watch is not None:
                watch.saw(exc)
            raise
        return row

    async def record(self, record: ops.Record, watch: StoreWatch | None = None) -> Any:
        """Write a paid generation; on failure or cancellation it is parked in the outbox.

        Once it is stored, the observer is told and the hooks run (awaited; a failing hook is
        logged).
        """
        with self.observer.recording(record) as stored:
            try:
                row = await self.write(record, watch)
            except Exception as exc:
                raise await asyncio.to_thread(self._parked, record, exc) from exc
            except BaseException as exc:  # cancelled, or Ctrl-C: parked first, without awaiting
                raise self._interrupted(record, exc)  # noqa: B904 - it chains the interrupt itself
            event = stored(row)
        await self.observer.notify_async(event)
        return row


# -- client.outbox -------------------------------------------------------------------------------


class _OutboxClientBase:
    """What both flavours of ``client.outbox`` show: where the journal is, whose it is."""

    outbox: Outbox

    @property
    def path(self) -> Path:
        """Where the journal lives."""
        return self.outbox.path

    @property
    def rejects_path(self) -> Path:
        """Where damaged journal lines are set aside."""
        return self.outbox.rejects_path

    def identity(self) -> Identity:
        """The store and user this client flushes for."""
        return self.outbox.identity()


class OutboxClient(_OutboxClientBase):
    """``client.outbox``: generations that are paid for but not recorded yet."""

    def __init__(self, outbox: Outbox, store: Store, policy: RetryPolicy) -> None:
        self.outbox = outbox
        self._recorder = Recorder(outbox, store, policy)

    def pending(self, *, all_accounts: bool = False) -> list[PendingGeneration]:
        """Entries of this client's store and user not recorded yet, oldest first.

        ``all_accounts=True`` lists every entry of this home, whatever its store or user.
        """
        return self.outbox.pending(all_accounts=all_accounts)

    def flush(self) -> FlushResult:
        """Record every pending entry of this store and user (idempotent: nothing twice).

        Entries of other stores or users are left for them (``left_for_others``); an entry the
        store refuses is reported (``failed``, ``permanent``) and does not stop the others.
        """
        flush = Flush(self.outbox)
        for entry in flush.entries:
            try:
                self._recorder.write(entry.to_record(), flush.watch)
            except Exception as exc:
                flush.failed(entry, exc)
            else:
                flush.recorded(entry)
        return flush.finish()

    def discard(self, id: uuid.UUID | str) -> PendingGeneration:
        """Drop the pending entry ``id`` on purpose (it is never recorded); returns it.

        Raises :class:`~groqgen.NotFound` when no entry with that id is pending.
        """
        return self.outbox.discard(id)

    def rejects(self) -> list[DamagedLine]:
        """Every damaged line set aside from the journal so far (line number, why, text)."""
        return self.outbox.rejects()


class AsyncOutboxClient(_OutboxClientBase):
    """``client.outbox`` for asyncio."""

    def __init__(self, outbox: Outbox, store: AsyncStore, policy: RetryPolicy) -> None:
        self.outbox = outbox
        self._recorder = AsyncRecorder(outbox, store, policy)

    async def pending(self, *, all_accounts: bool = False) -> list[PendingGeneration]:
        """Entries of this client's store and user not recorded yet, oldest first."""
        return await asyncio.to_thread(self.outbox.pending, all_accounts=all_accounts)

    async def flush(self) -> FlushResult:
        """Record every pending entry of this store and user (idempotent)."""
        flush = await asyncio.to_thread(Flush, self.outbox)
        for entry in flush.entries:
            try:
                await self._recorder.write(entry.to_record(), flush.watch)
            except Exception as exc:
                flush.failed(entry, exc)
            else:
                await asyncio.to_thread(flush.recorded, entry)
        return await asyncio.to_thread(flush.finish)

    async def discard(self, id: uuid.UUID | str) -> PendingGeneration:
        """Drop the pending entry ``id`` on purpose; returns it (``NotFound`` if none)."""
        return await asyncio.to_thread(self.outbox.discard, id)

    async def rejects(self) -> list[DamagedLine]:
        """Every damaged line set aside from the journal so far."""
        return await asyncio.to_thread(self.outbox.rejects)
