"""What the database's error codes mean, decided once for every store that talks to PostgreSQL.

The PostgreSQL store reads a SQLSTATE from psycopg; the Supabase store finds the same SQLSTATE
(or one of PostgREST's own ``PGRST`` codes) in PostgREST's error body. Both ask
:func:`error_for`, so a refused write, a missing row or a missing schema is the same groqgen
error whichever way it arrived. What a store does with a code this map leaves alone (a generic
:class:`~groqgen.errors.StoreError`, transient or not) is the store's own business, since only
the store knows how the failure reached it.
"""

from __future__ import annotations

from ..errors import GroqgenError, NotFound, PermissionDenied, StoreError, ValidationError

__all__ = ["error_for", "transient"]

_REFUSED_VALUE = ("23514", "23502")  # check and not-null violations; class 22 is bad data
_NO_ROW = ("P0002", "PGRST116")  # the SQL functions' no_data_found; PostgREST's "no single row"
# A function or table of groqgen's that is not there (yet), in SQL's and PostgREST's words.
_SCHEMA_MISSING = ("42883", "42P01", "PGRST202", "PGRST205")
_TIMED_OUT = ("57014", "55P03")  # statement_timeout, lock_timeout


def error_for(code: str, message: str, *, supabase: bool = False) -> GroqgenError | None:
    """The groqgen error that ``code`` means, or None when it means nothing more specific.

    ``message`` is the database's own sentence, kept in the error. ``supabase``: the code came
    through PostgREST, so a missing schema is explained in Supabase's terms.

    Example:
        >>> type(error_for("23503", "insert violates foreign key")).__name__
        'PermissionDenied'
        >>> error_for("XX000", "internal error") is None
        True
    """
    if code == "42501":
        if "row-level security" in message:
            return PermissionDenied(
                f"not allowed: {message}; rows can only be written for the acting user, and "
                "only into a project of theirs (check project_id)"
            )
        return PermissionDenied(f"not allowed: {message}")
    if code == "23503":
        return PermissionDenied(
            f"the project does not exist or is not yours ({message}); check project_id"
        )
    if code in _REFUSED_VALUE or code.startswith("22"):
        return ValidationError(f"the database refused a value: {message}")
    if code in _NO_ROW:
        return NotFound(message)
    if code in _SCHEMA_MISSING:
        from ..migrations import schema_missing

        return schema_missing(message, supabase=supabase)
    if code in _TIMED_OUT:
        return StoreError(
            f"the database did not finish in time ({message}); the client's timeout bounds "
            "every store call",
            code=code,
            transient=True,
        )
    return None


def transient(code: str) -> bool:
    """Whether a failure with SQLSTATE ``code`` is worth another try.

    A lost connection (class 08), a server shutting down (57P) and a serialization failure or
    deadlock (class 40) pass; the same request may well succeed a moment later.
    """
    return code.startswith(("08", "57P", "40"))
