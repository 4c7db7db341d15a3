"""Operations compiled to SQL, shared by the SQLite and PostgreSQL stores.

A :class:`Plan` is a fixed list of statements that run in one transaction, plus a pure function
that turns their result rows into the operation's answer. Because a plan never needs the
result of one statement to build the next, PostgreSQL can send it as one query in a single round
trip; conditional work (an activity entry only when a row really changed) is expressed in SQL.

Dialects differ in a handful of places — placeholders, value encoding, the keyset condition,
and the two functions PostgreSQL has server-side — and override just those.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ..models import TABLES, Table
from . import ops

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Statement:
    """One SQL statement with ``%s`` placeholders and its parameters."""

    sql: str
    params: Sequence[Any] = ()


@dataclass(frozen=True)
class Plan:
    """Statements to run in one transaction, and how to answer from their rows."""

    statements: tuple[Statement, ...]
    write: bool
    answer: Callable[[list[Rows]], Any]


def _first(results: list[Rows], index: int = 0) -> dict[str, Any] | None:
    rows = results[index]
    return rows[0] if rows else None


class SqlDialect:
    """Compiles store operations to SQL. Subclasses adapt it to one database."""

    #: Activity entries live here; the owner column of every table but profiles is user_id.
    activity_table = "activity_logs"

    # -- hooks ---------------------------------------------------------------------------------

    def encode(self, table: Table[Any], column: str, value: Any) -> Any:
        """Turn a Python value into a parameter for ``column`` of ``table``."""
        return value

    def decode(self, table: Table[Any], row: dict[str, Any]) -> dict[str, Any]:
        """Turn a result row of ``table`` into the values its row model reads."""
        return row

    def insert_defaults(self, table: Table[Any]) -> dict[str, Any]:
        """Values the database does not fill in by itself on insert."""
        return {}

    def update_defaults(self, table: Table[Any]) -> dict[str, Any]:
        """Values the database does not maintain by itself on update."""
        return {}

    def keyset(self) -> str:
        """The condition "strictly after the cursor", newest first, with two placeholders."""
        return "(created_at, id) < (%s, %s)"

    def owner_of_project(self, table: Table[Any]) -> str | None:
        """An extra condition that spells out a project's owner when no user is acting."""
        return None

    def record(self, op: ops.Record, user_id: UUID | None) -> Plan:
        """Compile :class:`ops.Record`."""
        table = TABLES[op.table]
        values = self._owned(table, op.values, user_id)
        activity = self._owned(TABLES[self.activity_table], op.activity, user_id)
        return Plan(
            (
                self._insert(table, values, conflict="on conflict (id) do nothing"),
                self._insert(
                    TABLES[self.activity_table], activity, conflict="on conflict (id) do nothing"
                ),
                Statement(f'select * from "{table.name}" where id = %s', [self._id(values["id"])]),
            ),
            write=True,
            answer=lambda results: self._row(table, _first(results, 2)),
        )

    def resource_counts(self, op: ops.ResourceCounts, user_id: UUID | None) -> Plan:
        """Compile :class:`ops.ResourceCounts`: no row when the project is not the caller's."""
        counts = []
        params: list[Any] = []
        for name, alias in (
            ("prompts", "prompt_count"),
            ("code_generations", "code_generation_count"),
            ("code_reviews", "code_review_count"),
            ("tests", "test_count"),
        ):
            where, where_params = self._where(TABLES[name], op.scope, user_id)
            counts.append(f'(select count(*) from "{name}" where {where}) as {alias}')
            params.extend(where_params)
        project, project_params = self._where(
            TABLES["projects"], ops.Scope(), user_id, op.project_id
        )
        sql = f'select {", ".join(counts)} from "projects" where {project}'
        return Plan(
            (Statement(sql, [*params, *project_params]),),
            write=False,
            answer=lambda results: dict(results[0][0]) if results[0] else None,
        )

    def local_day(self, op: ops.Usage) -> tuple[str, list[Any]]:
        """The local date (in ``op.tz``) of a ``usage_entries`` row, as SQL and parameters.

        SQLite has no time zone rules: the zone's offsets over the range come from Python
        (:func:`groqgen.usage.day_segments`), one ``case`` branch per offset.
        """
        from ..usage import day_segments

        table = TABLES[self.activity_table]
        segments = day_segments(op.tz, op.since, op.until)
        params: list[Any] = []
        branches = []
        for (_, offset), (following, _) in itertools.pairwise(segments):
            branches.append("when created_at < %s then date(created_at, %s)")
            params += [self.encode(table, "created_at", following), f"{offset:+d} seconds"]
        params.append(f"{segments[-1][1]:+d} seconds")
        if not branches:
            return "date(created_at, %s)", params
        return f"case {' '.join(branches)} else date(created_at, %s) end", params

    def usage(self, op: ops.Usage, user_id: UUID | None) -> Plan:
        """Compile :class:`ops.Usage`: one aggregate over ``usage_entries``, the caller's rows.

        ``usage_entries`` holds each generation entry's figures, decoded when it was written
        (the migrations' triggers), behind an index on ``(user_id, created_at)`` that covers
        every column read here.
        """
        table = TABLES[self.activity_table]
        day, day_params = self.local_day(op)
        where, where_params = self._where(table, op.scope, user_id)
        kind = "activity_type" if op.by_kind else "null"
        project = "project_id" if op.by_project else "null"
        sql = (
            f"select {day} as day, model, batch, {kind} as activity_type, "
            f"{project} as project_id, count(*) as generations, "
            "count(prompt_tokens) as counted, sum(prompt_tokens) as prompt_tokens, "
            "sum(completion_tokens) as completion_tokens, sum(total_tokens) as total_tokens, "
            "sum(reasoning_tokens) as reasoning_tokens, sum(cached_tokens) as cached_tokens, "
            "count(groq_time_s) as timed, sum(groq_time_s) as groq_time_s "
            f"from usage_entries where {where} and created_at >= %s and created_at < %s "
            "group by 1, 2, 3, 4, 5"
        )
        params = [
            *day_params,
            *where_params,
            self.encode(table, "created_at", op.since),
            self.encode(table, "created_at", op.until),
        ]
        return Plan(
            (Statement(sql, params),),
            write=False,
            answer=lambda results: [dict(row) for row in results[0]],
        )

    # -- compilation ---------------------------------------------------------------------------

    def plan(self, op: ops.Operation, user_id: UUID | None) -> Plan:
        """Compile ``op`` for a store acting as ``user_id`` (None: the service role, for all)."""
        match op:
            case ops.Get():
                return self._get(op, user_id)
            case ops.Select():
                return self._select(op, user_id)
            case ops.Count():
                return self._count(op, user_id)
            case ops.Insert():
                return self._insert_plan(op, user_id)
            case ops.Update():
                return self._update(op, user_id)
            case ops.Delete():
                return self._delete(op, user_id)
            case ops.Record():
                return self.record(op, user_id)
            case ops.ResourceCounts():
                return self.resource_counts(op, user_id)
            case ops.Usage():
                return self.usage(op, user_id)
            case _:
                ops.assert_never(op)

    def _id(self, value: Any) -> Any:
        return self.encode(TABLES["profiles"], "id", value)

    def _row(self, table: Table[Any], row: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if row is None else self.decode(table, row)

    def _where(
        self, table: Table[Any], scope: ops.Scope, user_id: UUID | None, row_id: UUID | None = None
    ) -> tuple[str, list[Any]]:
        filters = ops.row_filters(table, scope, user_id, row_id)
        conditions = [f'"{column}" = %s' for column, _ in filters]
        params: list[Any] = [self._id(value) for _, value in filters]
        if scope.project_id is not None and table.owner_column not in dict(filters):
            owner = self.owner_of_project(table)
            if owner:
                conditions.append(owner)
                params.append(self._id(scope.project_id))
        return (" and ".join(conditions) or "true"), params

    def _owned(
        self, table: Table[Any], values: Mapping[str, Any], user_id: UUID | None
    ) -> dict[str, Any]:
        return ops.owned_values(table, {**self.insert_defaults(table), **values}, user_id)

    def _insert(
        self, table: Table[Any], values: Mapping[str, Any], conflict: str = ""
    ) -> Statement:
        columns = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join(["%s"] * len(values))
        params = [self.encode(table, c, v) for c, v in values.items()]
        sql = f'insert into "{table.name}" ({columns}) values ({marks}) {conflict} returning *'
        return Statement(sql, params)

    def _activity_of(
        self,
        activity: Mapping[str, Any] | None,
        user_id: UUID | None,
        table: Table[Any],
        where: str,
        params: Sequence[Any],
    ) -> list[Statement]:
        """An activity entry about the row ``where`` picks, written only when there is one.

        The entry is the row owner's: the acting user's, or, for the service role acting for
        nobody in particular, whoever owns the row.
        """
        if activity is None:
            return []
        log = TABLES[self.activity_table]
        values = {**self.insert_defaults(log), **activity}
        if user_id is not None:
            values = ops.owned_values(log, values, user_id)
        values.pop(log.owner_column, None)
        columns = ", ".join(f'"{c}"' for c in (*values, log.owner_column))
        marks = ", ".join(["%s"] * len(values))
        sql = (
            f'insert into "{log.name}" ({columns}) '
            f'select {marks}, "{table.owner_column}" from "{table.name}" where {where}'
        )
        return [Statement(sql, [*(self.encode(log, c, v) for c, v in values.items()), *params])]

    def _get(self, op: ops.Get, user_id: UUID | None) -> Plan:
        table = TABLES[op.table]
        where, params = self._where(table, op.scope, user_id, op.id)
        return Plan(
            (Statement(f'select * from "{table.name}" where {where}', params),),
            write=False,
            answer=lambda results: self._row(table, _first(results)),
        )

    def _select(self, op: ops.Select, user_id: UUID | None) -> Plan:
        table = TABLES[op.table]
        where, params = self._where(table, op.scope, user_id)
        if op.after is not None:
            where = f"{where} and {self.keyset()}"
            params += [
                self.encode(table, "created_at", op.after.created_at),
                self._id(op.after.id),
            ]
        sql = (
            f'select * from "{table.name}" where {where} order by created_at desc, id desc limit %s'
        )
        return Plan(
            (Statement(sql, [*params, op.limit]),),
            write=False,
            answer=lambda results: [self.decode(table, row) for row in results[0]],
        )

    def _count(self, op: ops.Count, user_id: UUID | None) -> Plan:
        table = TABLES[op.table]
        where, params = self._where(table, op.scope, user_id)
        return Plan(
            (Statement(f'select count(*) as n from "{table.name}" where {where}', params),),
            write=False,
            answer=lambda results: int(results[0][0]["n"]),
        )

    def _insert_plan(self, op: ops.Insert, user_id: UUID | None) -> Plan:
        table = TABLES[op.table]
        statements = [self._insert(table, self._owned(table, op.values, user_id))]
        if op.activity is not None:
            activity_table = TABLES[self.activity_table]
            statements.append(
                self._insert(activity_table, self._owned(activity_table, op.activity, user_id))
            )
        return Plan(
            tuple(statements),
            write=True,
            answer=lambda results: self._row(table, _first(results)),
        )

    def _update(self, op: ops.Update, user_id: UUID | None) -> Plan:
        table = TABLES[op.table]
        values = {**op.values, **self.update_defaults(table)}
        where, where_params = self._where(table, op.scope, user_id, op.id)
        assignments = ", ".join(f'"{c}" = %s' for c in values)
        params = [self.encode(table, c, v) for c, v in values.items()]
        update = Statement(
            f'update "{table.name}" set {assignments} where {where} returning *',
            [*params, *where_params],
        )
        # After the update, the row is still visible exactly when the update found it.
        return Plan(
            (update, *self._activity_of(op.activity, user_id, table, where, where_params)),
            write=True,
            answer=lambda results: self._row(table, _first(results)),
        )

    def _delete(self, op: ops.Delete, user_id: UUID | None) -> Plan:
        table = TABLES[op.table]
        where, params = self._where(table, op.scope, user_id, op.id)
        # The entry goes in first, while the row can still be seen; a project's deletion then
        # sets the entry's project_id to null through the foreign key.
        delete = Statement(f'delete from "{table.name}" where {where} returning *', params)
        statements = (*self._activity_of(op.activity, user_id, table, where, params), delete)
        return Plan(
            statements,
            write=True,
            answer=lambda results: self._row(table, _first(results, len(statements) - 1)),
        )
