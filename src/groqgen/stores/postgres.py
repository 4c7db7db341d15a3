"""The direct PostgreSQL store: psycopg 3 with a connection pool, sync and async.

Every operation runs the way PostgREST runs a request: in one transaction that first sets the
role (``authenticated`` for a user, ``service_role`` when told to) and the JWT claims with
``set_config(..., true)``, so row-level security applies exactly as it does for the web app.
The whole transaction — begin, role and claims, the statements, commit — is sent as one
query string with the parameters bound on the client: one network round trip per operation.

Nothing relies on session state or server-side prepared statements surviving a transaction
(``prepare_threshold=None``, transaction-local settings only), so the store works through a
transaction-mode pooler such as Supabase's pooler or PgBouncer.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ..errors import ConfigurationError, GroqgenError, StoreError
from ..models import TABLES, Table
from ..observe import store_operation
from . import ops, sqlstate
from .sql import Plan, SqlDialect, Statement

if TYPE_CHECKING:
    import psycopg

__all__ = ["AsyncPostgresStore", "PostgresDialect", "PostgresStore"]

# Role and claims as PostgREST sets them, plus the client's timeout as the transaction's
# statement and lock timeouts: a write blocked by a lock ends instead of waiting for ever.
_PRELUDE = (
    "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true), "
    "set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)"
)


class PostgresDialect(SqlDialect):
    """SQL for PostgreSQL, using the functions the migrations install.

    ``service``: the store acts with the service role, so the functions are told whom for.
    """

    def __init__(self, *, service: bool = False) -> None:
        self.service = service

    def encode(self, table: Table[Any], column: str, value: Any) -> Any:
        """Wrap objects for ``jsonb`` columns; everything else adapts natively."""
        if isinstance(value, dict):
            from psycopg.types.json import Jsonb

            return Jsonb(value)
        return value

    def keyset(self) -> str:
        """The cursor goes through an InitPlan so that the plan does not depend on its value.

        With literal values, a cursor older than most of the table makes the planner expect a
        handful of rows and pick a bitmap scan plus a sort; unknown at planning time, the index
        scan with LIMIT wins wherever the cursor sits (docs/database.md).
        """
        return "(created_at, id) < ((select %s::timestamptz), (select %s::uuid))"

    def owner_of_project(self, table: Table[Any]) -> str | None:
        """Spell out the project's owner so the (project_id, user_id, ...) index applies."""
        if not table.project_scoped:
            return None
        return "user_id = (select p.user_id from public.projects p where p.id = %s)"

    def _acting_user(self, user_id: UUID | None) -> tuple[str, list[Any]]:
        """The ``acting_user`` argument of a call, if any (:func:`ops.acting_user_argument`)."""
        acting = ops.acting_user_argument(user_id, service=self.service)
        return ("", []) if acting is None else (", acting_user => %s::uuid", [acting])

    def record(self, op: ops.Record, user_id: UUID | None) -> Plan:
        """One call to ``public.record_generation``: row and entry, atomic and idempotent."""
        table = TABLES[op.table]
        values = self._owned(table, op.values, user_id)
        activity = self._owned(TABLES[self.activity_table], op.activity, user_id)
        acting, acting_params = self._acting_user(user_id)
        statement = Statement(
            f"select public.record_generation(%s, %s::jsonb, %s::jsonb{acting}) as row",
            [
                op.table,
                json.dumps(values, default=str),
                json.dumps(activity, default=str),
                *acting_params,
            ],
        )
        return Plan(
            (statement,),
            write=True,
            answer=lambda results: self._row(table, results[0][0]["row"]),
        )

    def resource_counts(self, op: ops.ResourceCounts, user_id: UUID | None) -> Plan:
        """One call to ``public.resource_counts``: no row when the project is not the caller's."""
        acting, acting_params = self._acting_user(user_id)
        return Plan(
            (
                Statement(
                    f"select * from public.resource_counts(%s{acting})",
                    [op.project_id, *acting_params],
                ),
            ),
            write=False,
            answer=lambda results: dict(results[0][0]) if results[0] else None,
        )

    def usage(self, op: ops.Usage, user_id: UUID | None) -> Plan:
        """One call to ``public.usage_report`` (migration 0005), as Supabase's RPC makes it."""
        acting, acting_params = self._acting_user(user_id)
        statement = Statement(
            "select * from public.usage_report(%s, %s, %s, %s, %s" + acting + ")",
            [op.since, op.until, op.tz, op.by_kind, op.by_project, *acting_params],
        )
        return Plan((statement,), write=False, answer=lambda results: [dict(r) for r in results[0]])


def _import_psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError:
        raise ConfigurationError(
            "the PostgreSQL store needs psycopg and psycopg_pool; install them with: "
            "pip install 'groqgen[postgres]'",
            setting="groqgen[postgres]",
        ) from None
    return psycopg, psycopg_pool


def _check_url(url: str) -> None:
    psycopg, _ = _import_psycopg()
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ConfigurationError(
            "GROQGEN_DATABASE_URL / database_url is not a valid PostgreSQL URL; expected "
            "postgresql://user:password@host:5432/dbname",
            setting="GROQGEN_DATABASE_URL",
        ) from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def translate(exc: psycopg.Error) -> GroqgenError:
    """Map a psycopg error to groqgen's error types (:func:`.sqlstate.error_for`)."""
    state = exc.sqlstate or ""
    text = exc.diag.message_primary or _first_line(exc)
    known = sqlstate.error_for(state, text)
    if known is not None:
        return known
    import psycopg

    # A connection lost without a word from the server (no SQLSTATE) is worth a retry too.
    transient = isinstance(exc, psycopg.OperationalError) and (
        not state or sqlstate.transient(state)
    )
    return StoreError(f"PostgreSQL failed: {text}", code=state or None, transient=transient)


def _result_sets(cur: Any) -> list[list[dict[str, Any]]]:
    """Rows of each statement between ``begin`` and ``commit``.

    The first two result sets are ``begin`` and the role/claims prelude; the last is ``commit``.
    """
    sets: list[list[dict[str, Any]]] = []
    while True:
        sets.append(list(cur.fetchall()) if cur.description else [])
        if not cur.nextset():
            break
    return sets[2:-1]


async def _async_result_sets(cur: Any) -> list[list[dict[str, Any]]]:
    """:func:`_result_sets` for an async cursor."""
    sets: list[list[dict[str, Any]]] = []
    while True:
        sets.append(list(await cur.fetchall()) if cur.description else [])
        if not cur.nextset():
            break
    return sets[2:-1]


class _Base:
    """What the sync and async stores share: configuration, identity and the dialect."""

    dialect = PostgresDialect()

    def __init__(
        self,
        url: str,
        *,
        user_id: UUID | None = None,
        service: bool = False,
        pool_size: int = 10,
        timeout: float = 30.0,
    ) -> None:
        if user_id is None and not service:
            raise ConfigurationError(
                "a PostgreSQL client acts either as a user under row-level security "
                "(user_id=...) or as the service role (service=True); pass one",
                setting="user_id",
            )
        _check_url(url)
        self.url = url
        self.user_id = user_id
        self.service = service
        self.pool_size = pool_size
        self.timeout = timeout
        self.dialect = PostgresDialect(service=service)
        role = "service_role" if service else "authenticated"
        claims: dict[str, str] = {"role": role}
        if user_id is not None:
            claims["sub"] = str(user_id)
        limit = f"{max(1, int(timeout * 1000))}ms"
        self._prelude = Statement(_PRELUDE, [role, json.dumps(claims), limit, limit])

    def __repr__(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(self.url)
        where = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        who = "service_role" if self.service else f"user {self.user_id}"
        return f"{type(self).__name__}({where}, as {who})"

    def _script(self, cur: Any, plan: Plan) -> str:
        """The whole transaction as one query string, parameters bound on the client.

        One simple-protocol message: one network round trip, and a single ReadyForQuery at the
        end, which is how transaction-mode poolers see where a transaction ends. (PgBouncer
        1.18 lost track of pipelined extended-protocol transactions and stalled clients.)
        """
        parts = ["begin", cur.mogrify(self._prelude.sql, self._prelude.params)]
        parts += [cur.mogrify(s.sql, s.params) for s in plan.statements]
        parts.append("commit")
        return ";\n".join(parts)

    def _checkout_failed(self) -> StoreError:
        return StoreError(
            f"no PostgreSQL connection became free within {self.timeout} s "
            f"(pool_size={self.pool_size})",
            transient=True,
        )

    def _unreachable(self, exc: BaseException) -> ConfigurationError:
        return ConfigurationError(
            f"cannot connect to PostgreSQL: {_first_line(exc)}; check GROQGEN_DATABASE_URL",
            setting="GROQGEN_DATABASE_URL",
        )

    def _pool_kwargs(self) -> dict[str, Any]:
        return {
            "min_size": 1,
            "max_size": self.pool_size,
            "timeout": self.timeout,
            "kwargs": {"autocommit": True, "prepare_threshold": None},
            "open": False,
        }


class PostgresStore(_Base):
    """The PostgreSQL store, synchronous (safe to use from several threads)."""

    _pool: Any = None

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._opening = threading.Lock()

    def _connections(self) -> Any:
        if self._pool is None:
            with self._opening:  # many threads may make their first call at once
                if self._pool is None:
                    psycopg, psycopg_pool = _import_psycopg()
                    try:  # fail fast, with the server's own words, when it is unreachable
                        psycopg.connect(self.url, connect_timeout=10).close()
                    except psycopg.OperationalError as exc:
                        raise self._unreachable(exc) from None
                    pool = psycopg_pool.ConnectionPool(self.url, **self._pool_kwargs())
                    pool.open()
                    self._pool = pool
        return self._pool

    def execute(self, op: ops.Operation) -> Any:
        """Carry out one operation: one transaction, one round trip."""
        with store_operation("postgres", op):
            return self.run(self.dialect.plan(op, self.user_id))

    def run(self, plan: Plan) -> Any:
        """Send begin, role and claims, the plan's statements and commit as one query."""
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import PoolTimeout

        try:
            with self._connections().connection() as conn:
                cur = psycopg.ClientCursor(conn, row_factory=dict_row)
                try:
                    cur.execute(self._script(cur, plan))
                    results = _result_sets(cur)
                except psycopg.Error as exc:
                    if not conn.closed and conn.info.transaction_status != 0:
                        conn.execute("rollback")
                    raise translate(exc) from exc
        except PoolTimeout:
            raise self._checkout_failed() from None
        return plan.answer(results)

    def close(self) -> None:
        """Close the pool and every connection in it."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class AsyncPostgresStore(_Base):
    """The PostgreSQL store for asyncio."""

    _pool: Any = None

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._opening = asyncio.Lock()

    async def _connections(self) -> Any:
        if self._pool is None:
            async with self._opening:  # many tasks may make their first call at once
                if self._pool is None:
                    psycopg, psycopg_pool = _import_psycopg()
                    try:
                        conn = await psycopg.AsyncConnection.connect(self.url, connect_timeout=10)
                        await conn.close()
                    except psycopg.OperationalError as exc:
                        raise self._unreachable(exc) from None
                    pool = psycopg_pool.AsyncConnectionPool(self.url, **self._pool_kwargs())
                    await pool.open()
                    self._pool = pool
        return self._pool

    async def execute(self, op: ops.Operation) -> Any:
        """Carry out one operation: one transaction, one round trip."""
        with store_operation("postgres", op):
            return await self.run(self.dialect.plan(op, self.user_id))

    async def run(self, plan: Plan) -> Any:
        """Send begin, role and claims, the plan's statements and commit as one query."""
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import PoolTimeout

        pool = await self._connections()
        try:
            async with pool.connection() as conn:
                cur = psycopg.AsyncClientCursor(conn, row_factory=dict_row)
                try:
                    await cur.execute(self._script(cur, plan))
                    results = await _async_result_sets(cur)
                except psycopg.Error as exc:
                    if not conn.closed and conn.info.transaction_status != 0:
                        await conn.execute("rollback")
                    raise translate(exc) from exc
        except PoolTimeout:
            raise self._checkout_failed() from None
        return plan.answer(results)

    async def close(self) -> None:
        """Close the pool and every connection in it."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
