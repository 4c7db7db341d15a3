"""The Supabase store: PostgREST through ``postgrest``, over the client's shared httpx client.

Every repository verb becomes one PostgREST request (filters, newest-first order, keyset pages,
``Prefer: count=exact`` counts on ``HEAD``, ``return=representation`` writes). Writes that must
be atomic with their activity entry go through the functions the migrations install, as RPC:
``record_generation``, ``resource_counts`` and ``create_project`` / ``update_project`` /
``delete_project`` — one request, one transaction — and so does the usage report
(``usage_report``), which PostgREST's filters cannot express.

The user's access token rides on every request (``Authorization: Bearer``), so row-level
security applies; it is refreshed before it expires, and a request refused with "JWT expired"
is retried once with a fresh token. postgrest's own retries are switched off: the client's one
retry policy governs.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import AuthenticationError, ConfigurationError, GroqgenError, StoreError
from ..models import TABLES, Table
from ..observe import store_operation
from . import ops, sqlstate

__all__ = ["AsyncSupabaseStore", "SupabaseStore", "is_service_key"]

# PostgREST's "JWT expired" / invalid JWT codes; a HEAD request (count) has no body to carry
# one, so postgrest-py reports the bare status "401" instead.
_JWT_EXPIRED = ("PGRST301", "PGRST303", "401")


def is_service_key(key: str) -> bool:
    """Whether ``key`` is a service-role key (a legacy JWT or a new ``sb_secret_`` key)."""
    if key.startswith("sb_secret_"):
        return True
    parts = key.split(".")
    if len(parts) != 3:
        return False
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("role") == "service_role"


def _plain(value: Any) -> Any:
    """JSON-ready values (ids and timestamps as text)."""
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class RestCall:
    """A PostgREST request to build on a postgrest client, and how to read its response."""

    build: Callable[[Any], Any]
    answer: Callable[[Any], Any]


class _JwtExpired(Exception):
    pass


def translate(exc: BaseException) -> BaseException:
    """Map a postgrest or httpx error to groqgen's error types (or a JWT-expired signal).

    The database's codes mean what :func:`.sqlstate.error_for` says, as they do for the
    PostgreSQL store.
    """
    import httpx
    from postgrest.exceptions import APIError

    if isinstance(exc, GroqgenError):
        return exc
    if isinstance(exc, httpx.HTTPError):
        return StoreError(
            f"Supabase could not be reached: {type(exc).__name__}: {exc}", transient=True
        )
    if not isinstance(exc, APIError):
        return StoreError(f"Supabase request failed: {type(exc).__name__}: {exc}")
    code = str(exc.code or "")
    message = exc.message or str(exc)
    if code in _JWT_EXPIRED:
        return _JwtExpired(message)
    known = sqlstate.error_for(code, message, supabase=True)
    if known is not None:
        return known
    # No code at all, a bare 5xx status or PostgREST's "cannot reach the database" (PGRST00x):
    # the request may never have reached the database.
    transient = code == "" or sqlstate.transient(code) or code.startswith(("PGRST00", "5"))
    return StoreError(
        f"Supabase refused the request ({code or 'no code'}): {message}",
        code=code or None,
        transient=transient,
    )


# -- operations as PostgREST requests: one small function per operation ---------------------------


# The writes logged in the same transaction, and the SQL function that makes each one: PostgREST
# runs one statement per request, so "the row and its activity entry" needs a function.
_LOGGED_WRITES: Mapping[tuple[str, str], str] = {
    ("insert", "projects"): "create_project",
    ("update", "projects"): "update_project",
    ("delete", "projects"): "delete_project",
}


def _logged_write(verb: str, table: str) -> str:
    """The function that makes a ``verb`` on ``table`` together with its activity entry."""
    function = _LOGGED_WRITES.get((verb, table))
    if function is None:
        raise StoreError(f"no atomic {verb}-with-activity for {table} over PostgREST")
    return function


@dataclass(frozen=True)
class _Caller:
    """Whom a request acts for, and what follows from it (the rules of :mod:`.ops`).

    ``acting``: the functions' ``acting_user`` argument, when the request carries the service
    key (:func:`ops.acting_user_argument`); empty for a signed-in user, whom the JWT names.
    """

    user_id: uuid.UUID | None
    acting: Mapping[str, str]

    def scoped(self, builder: Any, table: Table[Any], scope: ops.Scope) -> Any:
        """``builder`` filtered to the rows the operation may touch (:func:`ops.row_filters`)."""
        for column, value in ops.row_filters(table, scope, self.user_id):
            builder = builder.eq(column, str(value))
        return builder

    def owned(self, table: Table[Any], values: Mapping[str, Any]) -> dict[str, Any]:
        """A new row's values, owned by the acting user (:func:`ops.owned_values`)."""
        data: dict[str, Any] = _plain(ops.owned_values(table, values, self.user_id))
        return data

    def rpc(
        self, function: str, params: Mapping[str, Any], answer: Callable[[Any], Any]
    ) -> RestCall:
        """A call of one of groqgen's SQL functions, told whom it acts for."""
        arguments = {**params, **self.acting}
        return RestCall(lambda rest: rest.rpc(function, arguments), answer)


def _first(response: Any) -> Any:
    """The one row of a response, or None."""
    data = response.data
    if isinstance(data, list):
        return data[0] if data else None
    return data


def _get(op: ops.Get, caller: _Caller) -> RestCall:
    table = TABLES[op.table]
    return RestCall(
        lambda rest: caller.scoped(
            rest.from_(table.name).select("*").eq("id", str(op.id)), table, op.scope
        ).limit(1),
        _first,
    )


def _select(op: ops.Select, caller: _Caller) -> RestCall:
    table = TABLES[op.table]

    def select(rest: Any) -> Any:
        builder = caller.scoped(rest.from_(table.name).select("*"), table, op.scope)
        if op.after is not None:
            moment = op.after.created_at.isoformat()
            # postgrest's or_() does not escape: values are quoted here. The lte() beside it is
            # the same condition PostgREST can use as an index bound.
            builder = builder.lte("created_at", moment).or_(
                f'created_at.lt."{moment}",and(created_at.eq."{moment}",id.lt."{op.after.id}")'
            )
        return builder.order("created_at", desc=True).order("id", desc=True).limit(op.limit)

    return RestCall(select, lambda response: list(response.data or []))


def _count(op: ops.Count, caller: _Caller) -> RestCall:
    from postgrest.types import CountMethod

    table = TABLES[op.table]
    return RestCall(
        lambda rest: caller.scoped(
            rest.from_(table.name).select("*", count=CountMethod.exact, head=True),
            table,
            op.scope,
        ),
        lambda response: int(response.count or 0),
    )


def _insert(op: ops.Insert, caller: _Caller) -> RestCall:
    from postgrest.types import ReturnMethod

    table = TABLES[op.table]
    values = caller.owned(table, op.values)
    if op.activity is not None:
        function = _logged_write("insert", op.table)
        return caller.rpc(
            function, {"project": values, "activity": _plain(dict(op.activity))}, _first
        )
    return RestCall(
        lambda rest: rest.from_(table.name).insert(values, returning=ReturnMethod.representation),
        _first,
    )


def _update(op: ops.Update, caller: _Caller) -> RestCall:
    from postgrest.types import ReturnMethod

    table = TABLES[op.table]
    values = _plain(dict(op.values))
    if op.activity is not None:
        function = _logged_write("update", op.table)
        params = {"id": str(op.id), "changes": values, "activity": _plain(dict(op.activity))}
        return caller.rpc(function, params, _first)

    def update(rest: Any) -> Any:
        builder = rest.from_(table.name).update(values, returning=ReturnMethod.representation)
        if op.id is not None:
            builder = builder.eq("id", str(op.id))
        return caller.scoped(builder, table, op.scope)

    return RestCall(update, _first)


def _delete(op: ops.Delete, caller: _Caller) -> RestCall:
    from postgrest.types import ReturnMethod

    table = TABLES[op.table]
    if op.activity is not None:
        function = _logged_write("delete", op.table)
        return caller.rpc(
            function, {"id": str(op.id), "activity": _plain(dict(op.activity))}, _first
        )
    return RestCall(
        lambda rest: caller.scoped(
            rest.from_(table.name)
            .delete(returning=ReturnMethod.representation)
            .eq("id", str(op.id)),
            table,
            op.scope,
        ),
        _first,
    )


def _record(op: ops.Record, caller: _Caller) -> RestCall:
    params = {
        "kind": op.table,
        "record": caller.owned(TABLES[op.table], op.values),
        "activity": caller.owned(TABLES["activity_logs"], op.activity),
    }
    return caller.rpc("record_generation", params, lambda response: response.data)


def _resource_counts(op: ops.ResourceCounts, caller: _Caller) -> RestCall:
    return caller.rpc("resource_counts", {"project_id": str(op.project_id)}, _first)


def _usage(op: ops.Usage, caller: _Caller) -> RestCall:
    params = {
        "since": op.since.isoformat(),
        "until": op.until.isoformat(),
        "tz": op.tz,
        "by_kind": op.by_kind,
        "by_project": op.by_project,
    }
    return caller.rpc("usage_report", params, lambda response: list(response.data or []))


def plan(op: ops.Operation, user_id: uuid.UUID | None, *, service: bool = False) -> RestCall:
    """The PostgREST request for ``op`` made by ``user_id`` (None: the service role, for all).

    ``service``: the request carries the service-role key, which bypasses row-level security:
    filters name the acting user as they would for a signed-in user (:func:`ops.row_filters`),
    and the SQL functions, which cannot learn the user from a service key's JWT, are told in
    their ``acting_user`` argument (:func:`ops.acting_user_argument`).
    """
    acting_user = ops.acting_user_argument(user_id, service=service)
    caller = _Caller(user_id, {} if acting_user is None else {"acting_user": str(acting_user)})
    match op:
        case ops.Get():
            return _get(op, caller)
        case ops.Select():
            return _select(op, caller)
        case ops.Count():
            return _count(op, caller)
        case ops.Insert():
            return _insert(op, caller)
        case ops.Update():
            return _update(op, caller)
        case ops.Delete():
            return _delete(op, caller)
        case ops.Record():
            return _record(op, caller)
        case ops.ResourceCounts():
            return _resource_counts(op, caller)
        case ops.Usage():
            return _usage(op, caller)
        case _:
            ops.assert_never(op)


class _Base:
    """Configuration and identity shared by the sync and async stores."""

    def __init__(
        self, url: str, key: str, *, auth: Any, user_id: uuid.UUID | None, http_client: Any
    ) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.service = is_service_key(key)
        self.auth = auth
        self.user_id = user_id
        self._http = http_client
        self._rest: Any = None

    def __repr__(self) -> str:
        who = "service_role" if self.service else "the signed-in user"
        return f"{type(self).__name__}({self.url}, as {who})"

    def _refused(self, exc: Exception, attempt: int) -> None:
        """Raise the groqgen error for a failed request.

        Returns instead on a user token's first "JWT expired": refresh it and try once more.
        """
        error = translate(exc)
        if not isinstance(error, _JwtExpired):
            raise error from exc
        if attempt == 0 and not self.service:
            return
        raise AuthenticationError("Supabase refused the access token (expired)") from exc

    def _acting(self) -> uuid.UUID | None:
        if self.service:
            return self.user_id
        signed_in = self.auth.user_id()
        if signed_in is None:
            raise ConfigurationError(
                "not signed in to Supabase: call client.auth.sign_in_with_password(email, "
                "password), or use a service-role key with user_id=",
                setting="SUPABASE_KEY",
            )
        return uuid.UUID(signed_in)


class SupabaseStore(_Base):
    """The Supabase store, synchronous."""

    def _client(self, token: str) -> Any:
        from postgrest import SyncPostgrestClient

        if self._rest is None:
            self._rest = SyncPostgrestClient(
                self.url + "/rest/v1",
                headers={"apikey": self.key},
                http_client=self._http,
                retry_enabled=False,  # one retry policy: groqgen's
            )
        self._rest.auth(token)
        return self._rest

    def _token(self, rejected: str | None = None) -> str:
        return self.key if self.service else str(self.auth.access_token(rejected=rejected))

    def execute(self, op: ops.Operation) -> Any:
        """Send ``op`` as one PostgREST request and return its answer."""
        call = plan(op, self._acting(), service=self.service)
        token = self._token()
        with store_operation("supabase", op):
            for attempt in range(2):
                try:
                    return call.answer(call.build(self._client(token)).execute())
                except Exception as exc:
                    self._refused(exc, attempt)  # raises unless a fresh token is worth a try
                    token = self._token(rejected=token)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Nothing of its own to close: the httpx client belongs to the groqgen client."""


class AsyncSupabaseStore(_Base):
    """The Supabase store for asyncio."""

    def _client(self, token: str) -> Any:
        from postgrest import AsyncPostgrestClient

        if self._rest is None:
            self._rest = AsyncPostgrestClient(
                self.url + "/rest/v1",
                headers={"apikey": self.key},
                http_client=self._http,
                retry_enabled=False,
            )
        self._rest.auth(token)
        return self._rest

    async def _token(self, rejected: str | None = None) -> str:
        return self.key if self.service else str(await self.auth.access_token(rejected=rejected))

    async def execute(self, op: ops.Operation) -> Any:
        """Send ``op`` as one PostgREST request and return its answer."""
        call = plan(op, self._acting(), service=self.service)
        token = await self._token()
        with store_operation("supabase", op):
            for attempt in range(2):
                try:
                    return call.answer(await call.build(self._client(token)).execute())
                except Exception as exc:
                    self._refused(exc, attempt)  # raises unless a fresh token is worth a try
                    token = await self._token(rejected=token)
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """Nothing of its own to close: the httpx client belongs to the groqgen client."""
