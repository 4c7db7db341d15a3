"""What every store offers the layers above it: one verb to carry out an operation, one to close.

The SQLite, PostgreSQL and Supabase stores satisfy :class:`Store` (sync) or :class:`AsyncStore`
(asyncio) structurally; repositories, the generator and the outbox are typed against these two
protocols and never against a concrete store, so a test can wrap or replace a store freely.
"""

from __future__ import annotations

from typing import Any, Protocol

from . import ops

__all__ = ["AsyncStore", "Store"]


class Store(Protocol):
    """A synchronous store.

    Example:
        >>> from groqgen.stores.ops import Count, Scope
        >>> def prompts_of(store: Store) -> int:
        ...     return int(store.execute(Count("prompts", Scope())))
    """

    def execute(self, op: ops.Operation) -> Any:
        """Carry out ``op`` in one transaction and return its answer.

        The answer is a row dictionary, a list of them, a count, or None when no visible row
        matched (see each operation in :mod:`groqgen.stores.ops`).
        """
        ...

    def close(self) -> None:
        """Release what the store holds (connections, pools); the store is not used again."""
        ...


class AsyncStore(Protocol):
    """A store for asyncio: :class:`Store` with every verb awaitable."""

    async def execute(self, op: ops.Operation) -> Any:
        """Carry out ``op`` in one transaction and return its answer."""
        ...

    async def close(self) -> None:
        """Release what the store holds (connections, pools); the store is not used again."""
        ...
