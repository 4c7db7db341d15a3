"""The embedded SQLite store: the zero-configuration default.

One file, ``groqgen.db`` under ``GROQGEN_HOME``, in WAL mode so that readers never wait for a
writer. Each thread gets its own connection; writes take the write lock up front
(``BEGIN IMMEDIATE``) and wait for it (``busy_timeout``), so a CLI and a notebook writing at
the same time both succeed and no ``database is locked`` reaches the user. The async variant
runs the same code in worker threads and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from .._files import check_private, create_private, ensure_home
from ..errors import ConfigurationError, PermissionDenied, StoreError, ValidationError
from ..models import Table
from ..observe import store_operation
from . import ops
from .sql import Plan, Rows, SqlDialect

__all__ = ["AsyncSQLiteStore", "SQLiteDialect", "SQLiteStore"]

_MIN_SQLITE = (3, 35, 0)  # RETURNING
_LOCK_RETRIES = 5
_COMPANIONS = ("-wal", "-shm", "-journal")  # files SQLite keeps beside the database
# Creating the database file opens and closes it; closing drops every POSIX lock this process
# holds on the file, so no other thread's connection may be using it meanwhile.
_PREPARING = threading.Lock()


def timestamp(value: datetime) -> str:
    """Fixed-width ISO 8601 UTC text with microseconds: text order is time order."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _now() -> str:
    return timestamp(datetime.now(timezone.utc))


class SQLiteDialect(SqlDialect):
    """SQL for SQLite: text ids and timestamps, JSON text for arrays and objects."""

    def encode(self, table: Table[Any], column: str, value: Any) -> Any:
        """Encode UUIDs and datetimes as text, lists and dicts as JSON."""
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, datetime):
            return timestamp(value)
        if isinstance(value, (list, tuple, dict)):
            return json.dumps(value, default=str)
        return value

    def decode(self, table: Table[Any], row: dict[str, Any]) -> dict[str, Any]:
        """Parse the JSON columns back into lists and dicts."""
        for column in table.json_columns:
            if isinstance(row.get(column), str):
                row[column] = json.loads(row[column])
        return row

    def insert_defaults(self, table: Table[Any]) -> dict[str, Any]:
        """SQLite has no ``now()`` with microseconds: timestamps come from here."""
        now = _now()
        return {c: now for c in ("created_at", "updated_at") if c in table.columns}

    def update_defaults(self, table: Table[Any]) -> dict[str, Any]:
        """``updated_at`` is bumped on every update."""
        return {"updated_at": _now()} if "updated_at" in table.columns else {}


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit on its own)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("groqgen.migrations").joinpath("sqlite")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _translate(exc: sqlite3.Error) -> Exception:
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError):
        if "FOREIGN KEY" in text:
            return PermissionDenied("the project does not exist or is not yours; check project_id")
        if "CHECK" in text or "NOT NULL" in text:
            return ValidationError(f"the store refused a value: {text}")
        return StoreError(f"the store refused the write: {text}", code="integrity")
    return StoreError(f"SQLite failed: {text}", code=type(exc).__name__)


class SQLiteStore:
    """The embedded store, synchronous. Thread-safe: one connection per thread."""

    dialect = SQLiteDialect()

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise ConfigurationError(
                f"groqgen needs SQLite {'.'.join(map(str, _MIN_SQLITE))} or newer; this Python "
                f"has {sqlite3.sqlite_version}. Use a newer Python, or set database_url",
                setting="database_url",
            )
        self.path = Path(path)
        self.timeout = timeout  # bounds each operation's wait for the write lock
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._migrated = False
        self._user_id: uuid.UUID | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"SQLiteStore(path={str(self.path)!r})"

    # -- connections ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        if self._closed:
            raise StoreError("this client is closed; create a new one")
        try:
            with _PREPARING:
                database = _private_database(self.path)
            conn = sqlite3.connect(
                database,
                timeout=self.timeout,
                isolation_level=None,  # transactions are begun and ended explicitly
                check_same_thread=False,  # close() may run on another thread
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(
                f"cannot open the local store at {self.path}: {exc}; set GROQGEN_HOME to a "
                "writable folder",
                setting="GROQGEN_HOME",
            ) from None
        conn.execute(f"pragma busy_timeout = {int(self.timeout * 1000)}")

        def configure() -> None:
            # Switching the journal mode can fail with SQLITE_BUSY without waiting in the busy
            # handler while another process writes; it is a one-time change, so ask first.
            if conn.execute("pragma journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("pragma journal_mode = wal")
            conn.execute("pragma synchronous = full")  # a recorded generation survives power loss
            conn.execute("pragma foreign_keys = on")

        try:
            _retry_while_locked(configure, self.timeout)
        except BaseException:
            conn.close()
            raise
        with self._lock:
            self._connections.append(conn)
        self._local.conn = conn
        if not self._migrated:
            self._migrate(conn)
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        def upgrade() -> None:
            (current,) = conn.execute("pragma user_version").fetchone()
            for version, script in _migrations():
                if version > current:
                    for statement in _statements(script):
                        conn.execute(statement)
                    conn.execute(f"pragma user_version = {version}")

        self._transaction(conn, write=True, body=upgrade)
        self._migrated = True

    def _transaction(self, conn: sqlite3.Connection, *, write: bool, body: Any) -> Any:
        """Run ``body`` in a transaction; retry the whole of it if the lock stays busy."""

        def attempt() -> Any:
            conn.execute("begin immediate" if write else "begin")
            try:
                result = body()
                conn.execute("commit")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("rollback")
                raise

        return _retry_while_locked(attempt, self.timeout)

    # -- the store protocol ----------------------------------------------------------------------

    def _local_user(self) -> uuid.UUID:
        """The local profile's id, creating the profile on first use."""
        if self._user_id is None:
            conn = self._connection()

            def ensure() -> str:
                row = conn.execute(
                    "select id from profiles order by created_at, id limit 1"
                ).fetchone()
                if row:
                    return str(row[0])
                user_id, now = str(uuid.uuid4()), _now()
                name = _local_user_name()
                conn.execute(
                    "insert into profiles (id, email, full_name, created_at, updated_at) "
                    "values (?, ?, ?, ?, ?)",
                    [user_id, f"{name}@localhost", name, now, now],
                )
                return user_id

            self._user_id = uuid.UUID(self._transaction(conn, write=True, body=ensure))
        return self._user_id

    def execute(self, op: ops.Operation) -> Any:
        """Carry out one operation in one transaction and return its answer."""
        with store_operation("sqlite", op):
            user_id = self._local_user()
            plan = self.dialect.plan(op, user_id)
            return self.run(plan)

    def run(self, plan: Plan) -> Any:
        """Run a compiled plan in one transaction."""
        conn = self._connection()

        def body() -> list[Rows]:
            results: list[Rows] = []
            for statement in plan.statements:
                cur = conn.execute(statement.sql.replace("%s", "?"), list(statement.params))
                if cur.description is None:
                    results.append([])
                else:
                    names = [d[0] for d in cur.description]
                    results.append([dict(zip(names, row, strict=True)) for row in cur.fetchall()])
            return results

        return plan.answer(self._transaction(conn, write=plan.write, body=body))

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


def _private_database(path: Path) -> Path:
    """The database file, private before SQLite opens it; returns the path to open.

    SQLite creates ``-wal``, ``-shm`` and ``-journal`` with the database file's own mode, so a
    database made ``0600`` here (whatever the umask) keeps its companions ``0600`` too. The files
    already on disk are checked (never a symlink, never another user's) without being opened:
    closing a descriptor would drop the POSIX locks this process's connections hold on them. The
    home is resolved first, so a symlinked ``GROQGEN_HOME`` is checked where it points.
    """
    database = ensure_home(path.parent) / path.name
    for suffix in _COMPANIONS:
        check_private(database.with_name(database.name + suffix))
    create_private(database)
    return database


def _retry_while_locked(work: Any, timeout: float) -> Any:
    """Run ``work``; when SQLite reports the lock busy, back off and run it again.

    SQLite sometimes answers "locked" without waiting in its busy handler (a read transaction
    that cannot be upgraded), so a few quick retries help; all of them end within ``timeout``
    seconds of the first try, so one store call never waits longer than the client's timeout.
    Every ``sqlite3`` error leaves here as a groqgen error.
    """
    deadline = time.monotonic() + timeout
    for attempt in range(_LOCK_RETRIES + 1):
        try:
            return work()
        except sqlite3.OperationalError as exc:
            locked = "locked" in str(exc) or "busy" in str(exc)
            pause = 0.05 * 2**attempt
            if not locked or attempt == _LOCK_RETRIES or time.monotonic() + pause > deadline:
                error = _translate(exc)
                if locked and isinstance(error, StoreError):
                    error.transient = True
                raise error from None
            time.sleep(pause)
        except sqlite3.Error as exc:
            raise _translate(exc) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _local_user_name() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # no login name on some containers
        name = ""
    cleaned = "".join(c for c in name if c.isalnum() or c in "._-")
    return cleaned or "local"


class AsyncSQLiteStore:
    """The embedded store for asyncio: the same store, run in worker threads."""

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.sync = SQLiteStore(path, timeout=timeout)
        self.path = self.sync.path

    def __repr__(self) -> str:
        return f"AsyncSQLiteStore(path={str(self.path)!r})"

    async def execute(self, op: ops.Operation) -> Any:
        """Carry out one operation in a worker thread."""
        return await asyncio.to_thread(self.sync.execute, op)

    async def close(self) -> None:
        """Close every connection."""
        await asyncio.to_thread(self.sync.close)
