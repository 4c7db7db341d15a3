"""The store protocol's vocabulary: what a repository can ask of a store.

Repositories describe each request as one of these operations; a store carries it out in one
transaction (and, where the store allows, one round trip) and answers with plain values: row
dictionaries, counts, or ``None`` when no visible row matched. The operations hold no I/O, so
every store — SQLite, PostgreSQL, Supabase, sync or async — is driven by the same repository
code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union
from uuid import UUID

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
]


@dataclass(frozen=True)
class Scope:
    """Which rows an operation may touch.

    ``mine`` restricts to the acting user's rows (the store knows who that is; a service-role
    store acting for nobody in particular has no such restriction); ``project_id`` to one
    project's rows.
    """

    mine: bool = True
    project_id: UUID | None = None


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


Operation = Union[Get, Select, Count, Insert, Update, Delete, Record, ResourceCounts]  # noqa: UP007
"""Any operation a store carries out."""
