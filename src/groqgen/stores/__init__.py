"""Stores: where rows live. The transport layer beneath the repositories.

Three stores share one protocol, each with a sync and an async variant: the embedded SQLite
file (the default), a PostgreSQL server under row-level security, and a Supabase project.
:class:`Store` and :class:`AsyncStore` are that protocol; :mod:`groqgen.stores.ops` is its
vocabulary (what can be asked) and :mod:`groqgen.stores.errors` the one reading of the
database's error codes. Stores load their database driver on first use.
"""

from __future__ import annotations

from .protocol import AsyncStore, Store

__all__ = ["AsyncStore", "Store", "ops"]
