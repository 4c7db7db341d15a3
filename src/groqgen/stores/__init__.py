"""Stores: where rows live. The transport layer beneath the repositories.

Three stores share one protocol (:mod:`groqgen.stores.ops`), each with a sync and an async
variant: the embedded SQLite file (the default), a PostgreSQL server under row-level security,
and a Supabase project. Stores load their database driver on first use.
"""

from __future__ import annotations

__all__ = ["ops"]
