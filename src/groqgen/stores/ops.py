"""The store protocol's vocabulary: what a repository can ask of a store.

Repositories describe each request as one of these operations; a store carries it out in one
transaction (and, where the store allows, one round trip) and answers with plain values: row
dictionaries, counts, or ``None`` when no visible row matched. The operations hold no I/O, so
every store — SQLite, PostgreSQL, Supabase, sync or async — is driven by the same repository
code.

Who owns what is decided here too, once for every store: :func:`row_filters` (which rows an
operation may touch), :func:`owned_values` (whose a new row is) and :func:`acting_user_argument`
(whom the SQL functions are told they act for).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Union
from uuid import UUID

from ..errors import ConfigurationError, PermissionDenied

if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # pydantic, which groqgen depends on, depends on typing_extensions
    from typing_extensions import assert_never

if TYPE_CHECKING:
    from ..models import Table

__all__ = [
    "Count",
    "Cursor",
    "Delete",
    "Get",
    "Insert",
    "Operation",
    "Record",
    "ResourceCounts",
    "Scope",
    "Select",
    "Update",
    "Usage",
    "acting_user_argument",
    "assert_never",
    "owned_values",
    "row_filters",
]


@dataclass(frozen=True)
class Scope:
    """Which rows an operation may touch.

    ``mine`` restricts to the acting user's rows (the store knows who that is; a service-role
    store acting for nobody in particular has no such restriction); ``project_id`` to one
    project's rows. ``requires_user`` marks an operation on the acting user's own row (their
    profile), which means nothing for a store acting for nobody in particular: it is refused
    there rather than run over every user's rows. :func:`row_filters` spells a scope out as
    conditions.
    """

    mine: bool = True
    project_id: UUID | None = None
    requires_user: bool = False


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the ``(created_at, id)`` of the last row of the previous page."""

    created_at: datetime
    id: UUID


@dataclass(frozen=True)
class Get:
    """Fetch one row by id; answers the row or None."""

    table: str
    id: UUID
    scope: Scope


@dataclass(frozen=True)
class Select:
    """Rows newest first, ``(created_at, id)`` descending, strictly after ``after``."""

    table: str
    scope: Scope
    limit: int
    after: Cursor | None = None


@dataclass(frozen=True)
class Count:
    """Count the rows in scope; answers an int."""

    table: str
    scope: Scope


@dataclass(frozen=True)
class Insert:
    """Insert one row (its id chosen by the client); answers the stored row.

    ``activity``, when given, is written in the same transaction.
    """

    table: str
    values: Mapping[str, Any]
    activity: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Update:
    """Change one row in scope; answers the changed row, or None when no visible row matched.

    ``id`` None means "the one row in scope" (the acting user's profile).

    ``activity`` is written in the same transaction, only when the row was changed.
    """

    table: str
    id: UUID | None
    scope: Scope
    values: Mapping[str, Any]
    activity: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Delete:
    """Delete one row in scope; answers the deleted row, or None when no visible row matched."""

    table: str
    id: UUID
    scope: Scope
    activity: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Record:
    """Record a generation row and its activity entry atomically; answers the stored row.

    Idempotent: the row's client-generated id makes a repeated call a no-op.
    """

    table: str
    values: Mapping[str, Any]
    activity: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceCounts:
    """The four resource counts of a project, in one round trip; answers a dict."""

    project_id: UUID
    scope: Scope


@dataclass(frozen=True)
class Usage:
    """Sum the acting user's generation entries in ``[since, until)``; answers a list of groups.

    One group per local day (in ``tz``), model and batch flag, and per activity type and
    project when ``by_kind`` / ``by_project``: each a dict with ``day``, ``model``, ``batch``,
    ``activity_type``, ``project_id`` (None when not grouped by), ``generations``,
    ``counted`` (generations with token counts), the sums of their ``prompt_tokens``,
    ``completion_tokens``, ``total_tokens``, ``reasoning_tokens`` and ``cached_tokens``,
    ``timed`` (generations with Groq's time) and the sum of their ``groq_time_s``.
    :mod:`groqgen.usage` prices and rolls them up to ``by``.
    """

    since: datetime
    until: datetime
    tz: str
    by: tuple[str, ...]
    by_kind: bool
    by_project: bool
    scope: Scope


Operation = Union[Get, Select, Count, Insert, Update, Delete, Record, ResourceCounts, Usage]  # noqa: UP007
"""Any operation a store carries out.

A store dispatches on it with ``match op:``, one ``case`` per operation and ``case _:
assert_never(op)`` last, so that an operation a store does not handle is a type error there.
"""


# -- who owns what: one rule, applied by every store -------------------------------------------
#
# Row-level security scopes a signed-in user's requests, but the service role bypasses it. A
# store that acts for one user with the service role (``service=True, user_id=`` on PostgreSQL,
# a service-role key with ``user_id=`` on Supabase) must therefore spell the same scope out in
# every request: these two functions are that scope, and the SQL functions of migration 0004
# apply it on the server side. Only a service-role store acting for nobody in particular (the
# administrator's mode) sees every user's rows.


def row_filters(
    table: Table[Any], scope: Scope, acting_user: UUID | None, row_id: UUID | None = None
) -> list[tuple[str, UUID]]:
    """The ``column = value`` conditions that pick the rows an operation may touch.

    The row's id when one is named, the project when the scope names one, and the owner column
    pinned to the acting user whenever one acts (row-level security or not).

    Example:
        >>> from groqgen.models import TABLES
        >>> user = UUID(int=1)
        >>> for column, value in row_filters(TABLES["prompts"], Scope(), user):
        ...     print(column, value)
        user_id 00000000-0000-0000-0000-000000000001
    """
    if scope.requires_user and acting_user is None:
        raise ConfigurationError(
            "this client acts with the service role for no particular user, so it has no "
            "profile of its own; create the client with user_id=...",
            setting="user_id",
        )
    filters: list[tuple[str, UUID]] = []
    if row_id is not None:
        filters.append(("id", row_id))
    if scope.project_id is not None:
        filters.append(("project_id", scope.project_id))
    if scope.mine and acting_user is not None:
        filters.append((table.owner_column, acting_user))
    return filters


def owned_values(
    table: Table[Any], values: Mapping[str, Any], acting_user: UUID | None
) -> dict[str, Any]:
    """``values`` of a new row of ``table``, owned by the acting user.

    The owner column is filled in with the acting user; values that name another owner are
    refused (``PermissionDenied``), whatever the role, so acting for a user never writes for
    somebody else. With nobody acting (the service role for every user) the values must name
    the owner themselves (``ConfigurationError`` otherwise).
    """
    data = dict(values)
    owner = data.get(table.owner_column)
    if acting_user is None:
        if owner is None:
            raise ConfigurationError(
                "this client acts with the service role for no particular user, so it cannot "
                "tell who owns a new row; create the client with user_id=...",
                setting="user_id",
            )
        return data
    if owner is not None and str(owner) != str(acting_user):
        raise PermissionDenied(
            f"not allowed: this client acts for user {acting_user} and cannot write a "
            f"{table.name} row for user {owner}"
        )
    data[table.owner_column] = acting_user
    return data


def acting_user_argument(acting_user: UUID | None, *, service: bool) -> UUID | None:
    """The ``acting_user`` argument for the SQL functions, or None to leave it out.

    A signed-in user's request names its user in the JWT (``auth.uid()``), and row-level
    security scopes it. A service-role request bypasses row-level security and its JWT names
    nobody (a Supabase service key), so the functions are told whom it acts for and check
    ownership themselves (migration 0004). Spelling it out also fails closed on a database
    without 0004, whose functions do not take the argument, instead of crossing users.
    """
    return acting_user if service else None
