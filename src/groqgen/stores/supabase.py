"""The Supabase store: PostgREST through ``postgrest``, over the client's shared httpx client.

Every repository verb becomes one PostgREST request (filters, newest-first order, keyset pages,
``Prefer: count=exact`` counts on ``HEAD``, ``return=representation`` writes). Writes that must
be atomic with their activity entry go through the functions the migrations install, as RPC:
``record_generation``, ``resource_counts`` and ``create_project`` / ``update_project`` /
``delete_project`` — one request, one transaction.

The user's access token rides on every request (``Authorization: Bearer``), so row-level
security applies; it is refreshed before it expires, and a request refused with "JWT expired"
is retried once with a fresh token. postgrest's own retries are switched off: the client's one
retry policy governs.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import (
    AuthenticationError,
    ConfigurationError,
    GroqgenError,
    NotFound,
    PermissionDenied,
    StoreError,
    ValidationError,
)
from ..models import TABLES, Table
from . import ops

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
    """Map a postgrest or httpx error to groqgen's error types (or a JWT-expired signal)."""
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
    if code == "42501":
        return PermissionDenied(
            f"not allowed: {message}; rows can only be written for the signed-in user, and "
            "only into a project of theirs (check project_id)"
        )
    if code == "PGRST116":
        return NotFound(message)
    if code == "23503":
        return PermissionDenied(f"the project does not exist or is not yours ({message})")
    if code in ("23514", "23502") or code.startswith("22"):
        return ValidationError(f"the database refused a value: {message}")
    transient = code == "" or code.startswith(("08", "57P", "40", "PGRST00", "5"))
    return StoreError(
        f"Supabase refused the request ({code or 'no code'}): {message}",
        code=code or None,
        transient=transient,
    )


def plan(op: ops.Operation, user_id: uuid.UUID | None, *, service: bool = False) -> RestCall:
    """The PostgREST request for ``op`` made by ``user_id`` (None: the service role, for all).

    ``service``: the request carries the service-role key, which bypasses row-level security:
    filters name the acting user as they would for a signed-in user (:func:`ops.row_filters`),
    and the SQL functions, which cannot learn the user from a service key's JWT, are told in
    their ``acting_user`` argument (:func:`ops.acting_user_argument`).
    """
    from postgrest.types import CountMethod, ReturnMethod

    acting_user = ops.acting_user_argument(user_id, service=service)
    acting = {} if acting_user is None else {"acting_user": str(acting_user)}

    def scoped(builder: Any, table: Table[Any], scope: ops.Scope) -> Any:
        for column, value in ops.row_filters(table, scope, user_id):
            builder = builder.eq(column, str(value))
        return builder

    def owned(table: Table[Any], values: Any) -> dict[str, Any]:
        data: dict[str, Any] = _plain(ops.owned_values(table, values, user_id))
        return data

    def first(response: Any) -> Any:
        data = response.data
        if isinstance(data, list):
            return data[0] if data else None
        return data

    if isinstance(op, ops.Get):
        table = TABLES[op.table]
        return RestCall(
            lambda rest: scoped(
                rest.from_(table.name).select("*").eq("id", str(op.id)), table, op.scope
            ).limit(1),
            first,
        )
    if isinstance(op, ops.Select):
        table = TABLES[op.table]

        def select(rest: Any) -> Any:
            builder = scoped(rest.from_(table.name).select("*"), table, op.scope)
            if op.after is not None:
                moment = op.after.created_at.isoformat()
                # postgrest's or_() does not escape: values are quoted here. The lte() beside
                # it is the same condition PostgREST can use as an index bound.
                builder = builder.lte("created_at", moment).or_(
                    f'created_at.lt."{moment}",and(created_at.eq."{moment}",id.lt."{op.after.id}")'
                )
            return builder.order("created_at", desc=True).order("id", desc=True).limit(op.limit)

        return RestCall(select, lambda response: list(response.data or []))
    if isinstance(op, ops.Count):
        table = TABLES[op.table]
        return RestCall(
            lambda rest: scoped(
                rest.from_(table.name).select("*", count=CountMethod.exact, head=True),
                table,
                op.scope,
            ),
            lambda response: int(response.count or 0),
        )
    if isinstance(op, ops.Record):
        table = TABLES[op.table]
        activity_table = TABLES["activity_logs"]
        params = {
            "kind": op.table,
            "record": owned(table, op.values),
            "activity": owned(activity_table, op.activity),
            **acting,
        }
        return RestCall(lambda rest: rest.rpc("record_generation", params), lambda r: r.data)
    if isinstance(op, ops.ResourceCounts):
        params = {"project_id": str(op.project_id), **acting}
        return RestCall(lambda rest: rest.rpc("resource_counts", params), first)
    if isinstance(op, ops.Insert):
        table = TABLES[op.table]
        values = owned(table, op.values)
        if op.activity is not None:
            if op.table != "projects":
                raise StoreError(f"no atomic insert-with-activity for {op.table} over PostgREST")
            params = {"project": values, "activity": _plain(dict(op.activity)), **acting}
            return RestCall(lambda rest: rest.rpc("create_project", params), first)
        return RestCall(
            lambda rest: rest.from_(table.name).insert(
                values, returning=ReturnMethod.representation
            ),
            first,
        )
    if isinstance(op, ops.Update):
        table = TABLES[op.table]
        values = _plain(dict(op.values))
        if op.activity is not None:
            params = {
                "id": str(op.id),
                "changes": values,
                "activity": _plain(dict(op.activity)),
                **acting,
            }
            return RestCall(lambda rest: rest.rpc("update_project", params), first)

        def update(rest: Any) -> Any:
            builder = rest.from_(table.name).update(values, returning=ReturnMethod.representation)
            if op.id is not None:
                builder = builder.eq("id", str(op.id))
            return scoped(builder, table, op.scope)

        return RestCall(update, first)
    # ops.Delete
    table = TABLES[op.table]
    if op.activity is not None:
        params = {"id": str(op.id), "activity": _plain(dict(op.activity)), **acting}
        return RestCall(lambda rest: rest.rpc("delete_project", params), first)
    return RestCall(
        lambda rest: scoped(
            rest.from_(table.name)
            .delete(returning=ReturnMethod.representation)
            .eq("id", str(op.id)),
            table,
            op.scope,
        ),
        first,
    )


class _Base:
    """Configuration and identity shared by the sync and async stores."""

    kind = "supabase"

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
        for attempt in range(2):
            try:
                return call.answer(await call.build(self._client(token)).execute())
            except Exception as exc:
                self._refused(exc, attempt)  # raises unless a fresh token is worth a try
                token = await self._token(rejected=token)
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """Nothing of its own to close: the httpx client belongs to the groqgen client."""
