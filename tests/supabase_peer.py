"""A local stand-in for a Supabase project: subsets of PostgREST and of Supabase Auth, for tests.

Pure standard library on the HTTP side (``http.server.ThreadingHTTPServer`` on 127.0.0.1, a random
free port, a daemon thread); the data lives in a REAL PostgreSQL database reached through a
``psycopg_pool`` pool, so row-level security, grants, constraints, triggers and the functions the
migrations install all behave as they do on Supabase::

    with SupabasePeer(database_url) as peer:
        rest = postgrest.SyncPostgrestClient(peer.url + "/rest/v1", headers={"apikey": peer.anon_key})
        auth = supabase_auth.SyncGoTrueClient(url=peer.url + "/auth/v1",
                                              headers={"apikey": peer.anon_key})
        peer.script(status(429, path_prefix="/auth/v1/token"))  # the next token request is refused
        peer.expire_all_tokens()                                # every access token so far: expired

``peer.url`` is what a user passes as ``SUPABASE_URL``; ``peer.anon_key`` and ``peer.service_key``
are HS256 JWTs signed with ``jwt_secret`` (claims ``iss: supabase``, ``ref``, ``role``, ``iat``,
``exp``), like a project's legacy API keys.

The gateway (Kong)
------------------
Every request needs an ``apikey`` header (or ``?apikey=`` query parameter) equal to the anon or the
service key, else 401 with Supabase's gateway bodies ``{"message":"No API key found in
request","hint":"No `apikey` request header or url param was found."}`` and ``{"message":"Invalid
API key","hint":"Double check your Supabase `anon` or `service_role` API key."}`` (both quoted
verbatim in public issue threads: supabase-community/supabase-csharp#108, s0ooo0k/TIL#22).
Scripted faults are applied *before* this check, as if injected at the edge.

PostgREST (``/rest/v1``), modelled on PostgREST v12.2 (read in PostgREST/postgrest at tag v12.2.12:
``src/PostgREST/Error.hs``, ``RangeQuery.hs``, ``Response.hs``, ``Query.hs``,
``Query/Statements.hs``, ``ApiRequest.hs``, ``ApiRequest/QueryParams.hs``, ``Auth.hs``,
``docs/references/errors.rst``)
---------------------------------------------------------------------------------------------------
* Identity: ``Authorization: Bearer <jwt>`` is verified (HS256 signature, ``exp``); its ``role``
  claim (default ``anon``) becomes the role. Without a bearer token the apikey's claims are used
  (the brief asks for this; plain PostgREST would use the anon role with empty claims - a guess
  about Supabase's gateway, not verified). Errors, v12: 401 ``{"code":"PGRST301","details":null,
  "hint":null,"message":"JWT expired"}`` (v12 has no PGRST303: ``jwtClaimsError JWT.JWTExpired =
  JwtTokenInvalid "JWT expired"`` -> PGRST301), ``"JWSError JWSInvalidSignature"`` for a bad
  signature, ``"JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got N)"``
  for a token that is not three parts, each with ``WWW-Authenticate: Bearer error="invalid_token",
  error_description="..."``. ``postgrest_version=13`` switches to v13's codes (PGRST303 "JWT
  expired", PGRST301 "JWT cryptographic operation failed" / "Expected 3 parts in JWT; got N") and
  adds v13's ``Proxy-Status: PostgREST; error=CODE`` header. Real PostgREST allows 30 s of clock
  skew (``allowedSkew 30``); the peer allows ``clock_skew`` seconds (default 0, so that
  ``access_token_ttl = 1`` expires tokens promptly).
* Each request is one transaction on a pooled connection, exactly as PostgREST runs it:
  ``BEGIN ISOLATION LEVEL READ COMMITTED [READ ONLY]``, then ``select set_config('search_path',
  ...), set_config('role', <role>, true), set_config('request.jwt.claims', <claims>, true),
  set_config('request.method', ...), set_config('request.path', ...), set_config('request.headers',
  ...), set_config('request.cookies', ...)``, the statement, ``COMMIT``. GET/HEAD and calls of
  STABLE/IMMUTABLE functions are READ ONLY (``Plan.hs``: ``crTxMode``). Statements follow
  ``Statements.hs``: ``WITH pgrst_source AS (...) SELECT ..., pg_catalog.count(_postgrest_t),
  coalesce(json_agg(_postgrest_t), '[]') ...``, so bodies are PostgreSQL's own JSON text, as
  PostgREST sends it (``json_agg`` separates rows with ``", \\n "``).
* Reads: ``select=`` (columns, ``alias:col``, ``col::type``, ``col->key``/``->>``), filters
  ``eq neq gt gte lt lte like ilike match imatch in is isdistinct cs cd ov sl sr nxr nxl adj fts
  plfts phfts wfts`` with ``not.`` and ``(any)``/``(all)``, the logic trees ``or=(...)``,
  ``and=(...)``, ``not.or=(...)`` with nested ``and(...)``/``or(...)`` and double-quoted values
  (the grammar of ``pLogicTree``), ``order=a.desc.nullslast,b``, ``limit``, ``offset``, the
  ``Range`` header. ``Content-Range`` and the status follow ``RangeQuery.rangeStatusHeader``:
  ``0-9/*`` without a count; with ``Prefer: count=exact`` ``0-24/25`` and 200 when the page is
  everything, 206 when it is less, ``*/0`` for an empty table, 416 (PGRST103) for an offset past
  the end. HEAD answers the same headers without a body. ``count=planned``/``estimated`` are
  answered with the exact count.
* ``Accept: application/vnd.pgrst.object+json`` (``.single()``) -> one object, or 406
  ``{"code":"PGRST116","details":"The result contains 0 rows","hint":null,"message":"JSON object
  requested, multiple (or no) rows returned"}`` (and a mutation is rolled back). ``nulls=stripped``
  variants are honoured; anything else unknown -> 406 PGRST107.
* Writes: POST (object or array; ``columns=``; ``Prefer: return=representation|minimal|
  headers-only``, ``missing=default``, ``resolution=merge-duplicates|ignore-duplicates`` with
  ``on_conflict=``) -> 201; PATCH/DELETE with filters -> 200 with rows, else 204.
  ``Content-Range`` ``*/*`` (insert, delete) and ``0-(n-1)/*`` (update), ``*/N`` with a count;
  ``Preference-Applied`` as ``Response.hs``. Unknown payload columns -> 400 PGRST204; arrays with
  differing keys -> 400 PGRST102 "All object keys must match"; bad JSON -> PGRST102 "Empty or
  invalid json". PATCH/DELETE without a filter -> 400 ``21000`` "UPDATE/DELETE requires a WHERE
  clause": Supabase loads pg-safeupdate for PostgREST (``safeupdate=False`` turns this off; that
  Supabase does so is from its docs as remembered, not re-verified here).
* Not implemented (answered 400 PGRST100 "The Supabase test peer does not implement ..." unless
  noted): resource embedding and aggregates in ``select``, filters/order/limit on embedded
  resources, limited PATCH/DELETE, PUT (405 PGRST117), ``text/csv`` (406 PGRST107), the OpenAPI
  root, bulk RPC calls with a JSON array, ``Prefer: tx=``/``handling=``/``max-affected=``.
  ``postgrest_version=13`` changes only the JWT error codes and adds ``Proxy-Status``.
* RPC: ``POST /rest/v1/rpc/{fn}`` with named JSON arguments (GET/HEAD with query arguments), any
  function in schema ``public``, looked up in ``pg_proc`` on every call (no schema cache to reload)
  and called as PostgREST does, ``fn("a" := _."a", ...) FROM json_to_record($1) AS _("a" type,
  ...)``. A scalar/jsonb result is that JSON value, a composite one object, ``setof``/``returns
  table`` an array (filters, order, limit apply), void -> 204. No match -> 404 PGRST202 with v12's
  message "Could not find the function public.fn(a, b) without parameters in the schema cache"
  shape; several -> 300 PGRST203.
* Errors: ``{"code","details","hint","message"}`` (keys in that order: aeson sorts them) with the
  status map of ``pgErrorStatus`` (42501 -> 403 when the role is not anon, else 401 with
  ``WWW-Authenticate: Bearer``; 23505/23503 -> 409; 42P01/42883 -> 404; 25006 -> 405; P0001 and
  other classes -> 400; 08/53 -> 503; PTnnn -> nnn; ``RAISE SQLSTATE 'PGRST'`` with JSON message
  and detail).

Supabase Auth (``/auth/v1``), modelled on supabase/auth at its current main (``internal/api/
errors.go``, ``apierrors/apierrors.go``, ``apiversions.go``, ``token.go``, ``token_refresh.go``,
``tokens/service.go``, ``signup.go``, ``password.go``, ``user.go``, ``logout.go``, ``auth.go``,
``models/refresh_token.go``, ``models/user.go``, ``models/identity.go``)
---------------------------------------------------------------------------------------------------
* ``POST /signup`` (autoconfirm, as a project with "Confirm email" off): inserts into
  ``auth.users`` (id, email, ``raw_user_meta_data`` = ``data`` plus ``sub``, ``email``,
  ``email_verified``, ``phone_verified``; ``raw_app_meta_data`` = ``{"provider":"email",
  "providers":["email"]}``) - the migration's trigger then creates the profile - and answers a
  session. Password hashes, sessions and refresh tokens are kept in memory (a user made directly
  in the database has no password). Weak password -> 422 ``weak_password`` "Password should be at
  least 6 characters." with ``weak_password: {"reasons": ["length"]}``; duplicate email -> 422
  ``user_already_exists`` "User already registered"; no email and no phone -> 422
  ``anonymous_provider_disabled``.
* ``POST /token?grant_type=password`` -> session; unknown email, no password or a wrong one -> 400
  ``invalid_credentials`` "Invalid login credentials".
* ``POST /token?grant_type=refresh_token`` rotates: the used token is revoked and a new one (12
  lowercase base32 characters, ``crypto.SecureAlphanumeric(12)``) is issued in the same session.
  A revoked token is handled as ``tokens/service.go`` does: if it is the parent of the session's
  active token, the active token is answered again (the client may have lost the previous answer);
  else, if it was revoked less than ``refresh_token_reuse_interval`` seconds ago it is swapped
  again; else every token of the session is revoked (``RevokeTokenFamily``) and the answer is 400
  ``refresh_token_already_used`` "Invalid Refresh Token: Already Used" - later refreshes with any
  token of that session fail the same way. Supabase's default reuse interval is 10 s
  (``GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL``); the peer defaults to 0 so tests need not
  wait. Unknown or logged-out tokens -> 400 ``refresh_token_not_found``.
* ``GET /user`` (Bearer) -> the user; ``POST /logout?scope=global|local|others`` -> 204, deleting
  the sessions and their refresh tokens. Bearer problems follow ``auth.go``: 401 ``no_authorization``
  without one, 403 ``bad_jwt`` "invalid JWT: unable to parse or verify signature, token has invalid
  claims: token is expired" (golang-jwt v5 wording), 403 ``session_not_found`` after logout.
* Error bodies depend on ``X-Supabase-Api-Version`` (``errors.go``): from 2024-01-01 (what
  supabase_auth sends) ``{"code":"invalid_credentials","message":"..."}`` and the version header
  echoed back (the client only reads ``code`` when it sees that header); without it
  ``{"code":400,"error_code":"invalid_credentials","msg":"..."}``. ``x-sb-error-code`` is set as
  ``errors.go`` sets it. A scripted ``status(429)`` under ``/auth/v1`` gets GoTrue's
  ``over_request_rate_limit`` "Request rate limit reached".
* Access tokens: HS256, ``{"alg":"HS256","typ":"JWT"}``, claims as ``AccessTokenClaims``: ``iss``
  (``<url>/auth/v1``), ``sub``, ``aud: authenticated``, ``exp``, ``iat``, ``email``, ``phone``,
  ``app_metadata``, ``user_metadata``, ``role: authenticated``, ``aal: aal1``, ``amr``,
  ``session_id``, ``is_anonymous``. Session JSON as ``AccessTokenResponse``: ``access_token``,
  ``token_type: bearer``, ``expires_in``, ``expires_at``, ``refresh_token``, ``user``. Times are
  RFC 3339 in UTC with ``Z``, as Go writes ``time.Time``.

Guessed, not verified: the default bodies of scripted 5xx/401/403/429 faults outside the cases
named above (Kong's "An invalid response was received from the upstream server" style messages),
the ``details`` text of PGRST100 parse errors, the fuzzy "Perhaps you meant" hints.

Faults (``peer.script(...)``) are consumed by the next request that matches their
``path_prefix`` (and ``method``), each once: ``status()`` answers without touching the database,
``reset()`` drops the connection without an answer, ``slow()`` delays then answers normally,
``lost_response()`` does the work (and commits it) then drops the connection - the "did my write
happen?" case.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import hashlib
import hmac
import json
import re
import secrets
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tests.http_peer import ConnectionBook, PeerHandler, PeerServer

__all__ = [
    "DEFAULT_JWT_SECRET",
    "Fault",
    "JwtError",
    "LostResponse",
    "RecordedRequest",
    "Reset",
    "Slow",
    "Status",
    "SupabasePeer",
    "decode_jwt",
    "lost_response",
    "rate_limited",
    "reset",
    "sign_jwt",
    "slow",
    "status",
]

DEFAULT_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters"
REST_PREFIX = "/rest/v1"
AUTH_PREFIX = "/auth/v1"
SCHEMA = "public"
MAX_SLEEP = 30.0
"""Upper bound, in seconds, of any sleep the peer does (``slow()``)."""
GOTRUE_VERSION = "v2.177.0"
API_VERSION_2024 = "2024-01-01"
MAX_PASSWORD_LENGTH = 72

_JSON = "application/json; charset=utf-8"


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# ------------------------------------------------------------------------------------- JWT


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(claims: dict[str, Any], secret: str) -> str:
    """An HS256 JWT (compact form) for ``claims``."""
    signing_input = _b64e(_compact({"alg": "HS256", "typ": "JWT"})) + "." + _b64e(_compact(claims))
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64e(signature)


class JwtError(Exception):
    """Why a token was refused: ``reason`` is parts, malformed, algorithm, signature or expired."""

    def __init__(self, reason: str, parts: int = 3) -> None:
        super().__init__(reason)
        self.reason = reason
        self.parts = parts


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of ``token`` without any check (empty when it cannot be read)."""
    try:
        claims = json.loads(_b64d(token.split(".")[1]))
    except (ValueError, IndexError):
        return {}
    return claims if isinstance(claims, dict) else {}


def decode_jwt(
    token: str, secret: str, *, now: float | None = None, leeway: float = 0.0
) -> dict[str, Any]:
    """Verify an HS256 token (signature, ``exp``, ``nbf``) and return its claims."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("parts", len(parts))
    try:
        header = json.loads(_b64d(parts[0]))
        claims = json.loads(_b64d(parts[1]))
        signature = _b64d(parts[2])
    except ValueError as exc:
        raise JwtError("malformed") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError("malformed")
    if header.get("alg") != "HS256":
        raise JwtError("algorithm")
    expected = hmac.new(
        secret.encode(), (parts[0] + "." + parts[1]).encode("ascii"), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(signature, expected):
        raise JwtError("signature")
    moment = time.time() if now is None else now
    for name in ("exp", "nbf"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise JwtError("malformed")
    if claims.get("exp") is not None and moment > claims["exp"] + leeway:
        raise JwtError("expired")
    if claims.get("nbf") is not None and moment + leeway < claims["nbf"]:
        raise JwtError("not_yet_valid")
    return claims


# ------------------------------------------------------------------------------- recording


@dataclass
class RecordedRequest:
    """One request the peer received (headers lower-cased, query parsed, body as JSON)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any
    body: bytes = b""
    raw_query: str = ""
    at: float = field(default_factory=time.monotonic)

    @property
    def area(self) -> str:
        """``rest``, ``auth`` or ``other``."""
        if self.path == REST_PREFIX or self.path.startswith(REST_PREFIX + "/"):
            return "rest"
        if self.path == AUTH_PREFIX or self.path.startswith(AUTH_PREFIX + "/"):
            return "auth"
        return "other"

    @property
    def bearer(self) -> str | None:
        """The bearer token of the ``Authorization`` header, if any."""
        match = re.fullmatch(r"(?i)bearer\s+(\S+)", self.headers.get("authorization", "").strip())
        return match.group(1) if match else None


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = _JSON


def _json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> _Response:
    return _Response(status, _compact(payload), list(headers or []))


_ABORTED = _Response(0)


# ---------------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """A scripted misbehaviour, consumed by the next request matching ``path_prefix``/``method``."""

    path_prefix: str | None = field(default=None, kw_only=True)
    method: str | None = field(default=None, kw_only=True)

    def matches(self, request: RecordedRequest) -> bool:
        if self.method is not None and self.method.upper() != request.method:
            return False
        return self.path_prefix is None or request.path.startswith(self.path_prefix)

    def apply(self, peer: SupabasePeer, h: _Handler, request: RecordedRequest) -> _Response | None:
        """A response to send instead, ``_ABORTED``, or None to go on normally."""
        raise NotImplementedError


@dataclass
class Status(Fault):
    """Answer ``code`` at once; ``body`` (dict, list, str, bytes) defaults to the area's error."""

    code: int = 500
    body: Any = None
    headers: dict[str, str] | None = None

    def apply(self, peer: SupabasePeer, h: _Handler, request: RecordedRequest) -> _Response | None:
        if self.body is None:
            response = _default_fault_response(self.code, request)
        elif isinstance(self.body, (bytes, str)):
            data = self.body.encode() if isinstance(self.body, str) else self.body
            response = _Response(self.code, data, [], "text/plain; charset=utf-8")
            with contextlib.suppress(ValueError):
                json.loads(data)
                response.content_type = _JSON
        else:
            response = _json_response(self.code, self.body)
        for name, value in (self.headers or {}).items():
            if name.lower() == "content-type":
                response.content_type = value
            else:
                response.headers.append((name, value))
        return response


@dataclass
class Reset(Fault):
    """Close the connection without an answer (TCP RST when ``hard``, else FIN)."""

    hard: bool = True

    def apply(self, peer: SupabasePeer, h: _Handler, request: RecordedRequest) -> _Response | None:
        h.abort(hard=self.hard)
        return _ABORTED


@dataclass
class Slow(Fault):
    """Wait ``seconds`` (at most ``MAX_SLEEP``, cut short when the peer stops), then go on."""

    seconds: float = 1.0

    def apply(self, peer: SupabasePeer, h: _Handler, request: RecordedRequest) -> _Response | None:
        if peer.sleep(self.seconds):
            return None
        h.abort(hard=False)
        return _ABORTED


@dataclass
class LostResponse(Fault):
    """Handle the request normally (a write commits), then drop the connection unanswered."""

    hard: bool = True

    def apply(self, peer: SupabasePeer, h: _Handler, request: RecordedRequest) -> _Response | None:
        h.drop_response = self.hard
        return None


def status(
    code: int,
    body: Any = None,
    headers: dict[str, str] | None = None,
    path_prefix: str | None = None,
    method: str | None = None,
) -> Status:
    """Answer HTTP ``code`` (default body: PostgREST's or GoTrue's error for the path's area)."""
    return Status(code, body, headers, path_prefix=path_prefix, method=method)


def rate_limited(path_prefix: str | None = AUTH_PREFIX, method: str | None = None) -> Status:
    """GoTrue's 429 ``over_request_rate_limit`` (for requests under ``path_prefix``)."""
    return Status(429, path_prefix=path_prefix, method=method)


def reset(path_prefix: str | None = None, *, hard: bool = True, method: str | None = None) -> Reset:
    """Close the connection without any response (RST when ``hard``, else FIN)."""
    return Reset(hard, path_prefix=path_prefix, method=method)


def slow(seconds: float, path_prefix: str | None = None, method: str | None = None) -> Slow:
    """Answer normally after ``seconds`` (bounded by ``MAX_SLEEP``)."""
    return Slow(seconds, path_prefix=path_prefix, method=method)


def lost_response(
    path_prefix: str | None = None, *, hard: bool = True, method: str | None = None
) -> LostResponse:
    """Do the work (a write commits), then drop the connection before answering."""
    return LostResponse(hard, path_prefix=path_prefix, method=method)


_KONG_5XX = {
    502: "An invalid response was received from the upstream server",
    503: "name resolution failed",
    504: "The upstream server is timing out",
}


def _default_fault_response(code: int, request: RecordedRequest) -> _Response:
    if code in _KONG_5XX and not (request.area == "rest" and code in (503, 504)):
        return _json_response(code, {"message": _KONG_5XX[code]})
    if request.area == "auth":
        error_code = {
            400: "validation_failed",
            401: "no_authorization",
            403: "bad_jwt",
            404: "not_found",
            422: "validation_failed",
            429: "over_request_rate_limit",
            500: "unexpected_failure",
        }.get(code, "unknown")
        message = {
            401: "This endpoint requires a valid Bearer token",
            429: "Request rate limit reached",
            500: "Internal Server Error",
        }.get(code, _reason(code))
        return _auth_error_response(request, code, error_code, message)
    if request.area == "rest":
        if code == 503:
            error = _RestError(
                503, "PGRST002", "Could not query the database for the schema cache. Retrying."
            )
        elif code == 504:
            error = _RestError(
                504, "PGRST003", "Timed out acquiring connection from connection pool."
            )
        elif code == 401:
            error = _RestError(401, "PGRST301", "JWT expired")
        elif code == 403:
            error = _RestError(403, "42501", "permission denied for table")
        elif code == 429:
            return _json_response(429, {"message": "Too Many Requests"})
        else:
            error = _RestError(code, "PGRSTX00", _reason(code))
        return error.response(None)
    return _json_response(code, {"message": _reason(code)})


def _reason(code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"HTTP {code}"


# ============================================================================== PostgREST


class _RestError(Exception):
    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        details: Any = None,
        hint: Any = None,
        headers: list[tuple[str, str]] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = list(headers or [])
        self.body = body

    def payload(self) -> Any:
        if self.body is not None:
            return self.body
        return {
            "code": self.code,
            "details": self.details,
            "hint": self.hint,
            "message": self.message,
        }

    def response(self, version: int | None) -> _Response:
        headers = list(self.headers)
        if version is not None and version >= 13 and self.code:
            headers.insert(0, ("Proxy-Status", f"PostgREST; error={self.code}"))
        return _json_response(self.status, self.payload(), headers)


def _pg_status(code: str, message: str, authed: bool) -> int:
    """PostgREST v12's ``pgErrorStatus``."""
    exact = {
        "23503": 409,
        "23505": 409,
        "25006": 405,
        "53400": 500,
        "57P01": 503,
        "P0001": 400,
        "42P01": 404,
        "42P17": 500,
    }
    if code in exact:
        return exact[code]
    if code == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if code == "42883":
        return 406 if message.startswith("function xmlagg(") else 404
    if code == "42501":
        return 403 if authed else 401
    if code.startswith("PT") and code[2:].isdigit():
        return int(code[2:])
    prefixes = {
        "08": 503,
        "09": 500,
        "0L": 403,
        "0P": 403,
        "25": 500,
        "28": 403,
        "2D": 500,
        "38": 500,
        "39": 500,
        "3B": 500,
        "40": 500,
        "53": 503,
        "54": 500,
        "55": 500,
        "57": 500,
        "58": 500,
        "F0": 500,
        "HV": 500,
        "P0": 500,
        "XX": 500,
    }
    if code == "22023" and re.match(r'role ".*" does not exist', message):
        return 401  # a JWT naming a role the database lacks
    return prefixes.get(code[:2], 400)


def _pg_error(exc: Exception, authed: bool) -> _RestError:
    diag = getattr(exc, "diag", None)
    code = getattr(diag, "sqlstate", None) or ""
    message = getattr(diag, "message_primary", None) or str(exc).strip()
    details = getattr(diag, "message_detail", None)
    hint = getattr(diag, "message_hint", None)
    if not code:
        return _RestError(
            503, "PGRST001", "Database client error. Retrying the connection.", str(exc).strip()
        )
    if code == "PGRST":
        try:
            shaped = json.loads(message)
            extra = json.loads(details or "")
            status_code = int(extra["status"])
            headers = [(str(k), str(v)) for k, v in (extra.get("headers") or {}).items()]
            body = {
                "code": shaped["code"],
                "details": shaped.get("details"),
                "hint": shaped.get("hint"),
                "message": shaped["message"],
            }
        except (ValueError, KeyError, TypeError):
            return _RestError(
                500,
                "PGRST121",
                "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
                "Invalid JSON value for MESSAGE: '" + message + "'",
                "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and "
                "optional keys: 'details', 'hint'.",
            )
        return _RestError(
            status_code, str(shaped["code"]), str(shaped["message"]), headers=headers, body=body
        )
    status_code = _pg_status(code, message, authed)
    headers = [("WWW-Authenticate", "Bearer")] if status_code == 401 else []
    return _RestError(status_code, code, message, details, hint, headers)


# -- query-string grammar (ApiRequest/QueryParams.hs) ---------------------------------------------


class _ParseError(Exception):
    def __init__(self, position: int, unexpected: str, expecting: str) -> None:
        super().__init__(unexpected)
        self.position = position
        self.unexpected = unexpected
        self.expecting = expecting


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def eof(self) -> bool:
        return self.i >= len(self.s)

    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def fail(self, expecting: str) -> _ParseError:
        unexpected = "end of input" if self.eof() else repr(self.s[self.i])
        return _ParseError(self.i, unexpected, expecting)

    def take(self, literal: str) -> bool:
        if self.s.startswith(literal, self.i):
            self.i += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.take(literal):
            raise self.fail(repr(literal))

    def spaces(self) -> None:
        while not self.eof() and self.s[self.i] in " \t":
            self.i += 1

    def quoted(self) -> str:
        """``"..."`` with backslash escapes (``pQuotedValue``)."""
        self.expect('"')
        out = []
        while True:
            if self.eof():
                raise self.fail('"\\""')
            ch = self.s[self.i]
            self.i += 1
            if ch == '"':
                return "".join(out)
            if ch == "\\":
                if self.eof():
                    raise self.fail("any character")
                ch = self.s[self.i]
                self.i += 1
            out.append(ch)

    def until(self, stops: str) -> str:
        start = self.i
        while not self.eof() and self.s[self.i] not in stops:
            self.i += 1
        return self.s[start : self.i]


_IDENT_RE = re.compile(r"[A-Za-z0-9_ $\u00C0-\uFFFF]+")


@dataclass
class _Field:
    name: str
    path: list[tuple[str, str, bool]] = field(default_factory=list)  # (arrow, key, is_index)

    def sql(self, qualifier: str | None) -> str:
        base = _ident(self.name) if qualifier is None else f"{qualifier}.{_ident(self.name)}"
        for arrow, key, is_index in self.path:
            base += arrow + (str(int(key)) if is_index else _lit(key))
        return base

    @property
    def output_name(self) -> str:
        return self.path[-1][1] if self.path else self.name


def _parse_field_name(p: _Parser) -> str:
    p.spaces()
    if p.peek() == '"':
        return p.quoted()
    parts = []
    while True:
        match = _IDENT_RE.match(p.s, p.i)
        if not match:
            raise p.fail("field name (* or [a..z0..9_$])")
        parts.append(match.group(0).strip())
        p.i = match.end()
        if p.peek() == "-" and p.peek(2) != "->":
            p.i += 1
            continue
        return "-".join(parts)


def _parse_field(p: _Parser) -> _Field:
    name = _parse_field_name(p)
    path: list[tuple[str, str, bool]] = []
    while True:
        if p.take("->>"):
            arrow = "->>"
        elif p.take("->"):
            arrow = "->"
        else:
            break
        if p.peek() == '"':
            path.append((arrow, p.quoted(), False))
            continue
        match = re.compile(r"-?\d+(?=->|::|\.|,|$)").match(p.s, p.i)
        if match:
            path.append((arrow, match.group(0), True))
            p.i = match.end()
            continue
        key = p.until("(-:.,>)").strip()
        if not key:
            raise p.fail("any non reserved character different from: .,>()")
        path.append((arrow, key, False))
    p.spaces()
    return _Field(name, path)


_QUANT_OPS = {
    "eq": "=",
    "gte": ">=",
    "gt": ">",
    "lte": "<=",
    "lt": "<",
    "like": "LIKE",
    "ilike": "ILIKE",
    "match": "~",
    "imatch": "~*",
}
_SIMPLE_OPS = {
    "neq": "<>",
    "cs": "@>",
    "cd": "<@",
    "ov": "&&",
    "sl": "<<",
    "sr": ">>",
    "nxr": "&<",
    "nxl": "&>",
    "adj": "-|-",
}
_FTS_OPS = {
    "fts": "to_tsquery",
    "plfts": "plainto_tsquery",
    "phfts": "phraseto_tsquery",
    "wfts": "websearch_to_tsquery",
}


@dataclass
class _OpExpr:
    negated: bool
    op: str
    value: Any  # str, list[str] for in, str for is
    quant: str | None = None
    lang: str | None = None


@dataclass
class _Filter:
    field: _Field
    expr: _OpExpr


@dataclass
class _Logic:
    negated: bool
    op: str  # AND / OR
    children: list[Any]  # _Filter | _Logic


def _parse_list(p: _Parser) -> list[str]:
    p.spaces()
    p.expect("(")
    p.spaces()
    items: list[str] = []
    while True:
        start = p.i
        item: str | None = None
        if p.peek() == '"':
            with contextlib.suppress(_ParseError):
                quoted = p.quoted()
                if p.eof() or p.peek() in ",)":
                    item = quoted
            if item is None:
                p.i = start
        if item is None:
            item = p.until(",)")
        items.append(item)
        if p.take(","):
            continue
        break
    p.spaces()
    p.expect(")")
    p.spaces()
    return items


def _parse_op_expr(p: _Parser, value: Callable[[_Parser], str]) -> _OpExpr:
    negated = p.take("not.")
    if p.take("in."):
        return _OpExpr(negated, "in", _parse_list(p))
    if p.take("is."):
        raw = p.until(",)") if value is _logic_value else p.s[p.i :]
        if value is not _logic_value:
            p.i = len(p.s)
        lowered = raw.lower()
        if lowered not in ("null", "unknown", "true", "false"):
            raise p.fail("null or trilean value (unknown, true, false)")
        return _OpExpr(negated, "is", lowered)
    if p.take("isdistinct."):
        return _OpExpr(negated, "isdistinct", value(p))
    for name in _FTS_OPS:
        if p.s.startswith(name, p.i) and p.s[p.i + len(name) : p.i + len(name) + 1] in (".", "("):
            p.i += len(name)
            lang = None
            if p.take("("):
                lang = p.until(")")
                p.expect(")")
            p.expect(".")
            return _OpExpr(negated, name, value(p), lang=lang)
    for name in _SIMPLE_OPS:
        if p.take(name + "."):
            return _OpExpr(negated, name, value(p))
    for name in _QUANT_OPS:
        start = p.i
        if not p.take(name):
            continue
        quant = None
        if p.take("(any)"):
            quant = "ANY"
        elif p.take("(all)"):
            quant = "ALL"
        if p.take("."):
            return _OpExpr(negated, name, value(p), quant=quant)
        p.i = start
    raise p.fail('"not" or operator (eq, gt, ...)')


def _single_value(p: _Parser) -> str:
    text = p.s[p.i :]
    p.i = len(p.s)
    return text


def _logic_value(p: _Parser) -> str:
    start = p.i
    if p.peek() == '"':
        with contextlib.suppress(_ParseError):
            quoted = p.quoted()
            if p.eof() or p.peek() in ",)":
                return quoted
        p.i = start
    if p.peek() == "{":
        end = p.s.find("}", p.i)
        inner = p.s[p.i + 1 : end] if end != -1 else ""
        if end != -1 and "{" not in inner:
            p.i = end + 1
            return p.s[start : p.i]
    return p.until(",)")


def _parse_logic_tree(p: _Parser) -> Any:
    start = p.i
    try:
        fld = _parse_field(p)
        p.expect(".")
        expr = _parse_op_expr(p, _logic_value)
        return _Filter(fld, expr)
    except _ParseError:
        p.i = start
    negated = p.take("not.")
    if p.take("and"):
        op = "AND"
    elif p.take("or"):
        op = "OR"
    else:
        raise p.fail("logic operator (and, or)")
    p.spaces()
    p.expect("(")
    p.spaces()
    children = [_parse_logic_tree(p)]
    while True:
        p.spaces()
        if not p.take(","):
            break
        p.spaces()
        children.append(_parse_logic_tree(p))
    p.spaces()
    p.expect(")")
    p.spaces()
    return _Logic(negated, op, children)


def _qp_error(kind: str, text: str, exc: _ParseError) -> _RestError:
    return _RestError(
        400,
        "PGRST100",
        f'"failed to parse {kind} ({text})" (line 1, column {exc.position + 1})',
        f"unexpected {exc.unexpected} expecting {exc.expecting}",
    )


def _parse_filter(key: str, value: str) -> _Filter:
    kp = _Parser(key)
    try:
        fld = _parse_field(kp)
        if not kp.eof():
            raise kp.fail("end of input")
    except _ParseError as exc:
        if "." in key:
            raise _unsupported(f"filters on embedded resources ({key})") from exc
        raise _qp_error("tree path", key, exc) from exc
    vp = _Parser(value)
    try:
        expr = _parse_op_expr(vp, _single_value)
        if not vp.eof():
            raise vp.fail("end of input")
    except _ParseError as exc:
        raise _qp_error("filter", value, exc) from exc
    return _Filter(fld, expr)


def _parse_logic_param(key: str, value: str) -> _Logic:
    negated = key.startswith("not.")
    op = key.removeprefix("not.")
    text = op + value
    p = _Parser(text)
    try:
        tree = _parse_logic_tree(p)
        if not p.eof():
            raise p.fail("end of input")
    except _ParseError as exc:
        raise _qp_error("logic tree", value, exc) from exc
    if not isinstance(tree, _Logic):
        raise _qp_error("logic tree", value, _ParseError(0, repr(text[:1]), '"("'))
    if negated:
        tree.negated = not tree.negated
    return tree


@dataclass
class _OrderTerm:
    field: _Field
    direction: str | None
    nulls: str | None


def _split_top(text: str) -> list[str]:
    parts, depth, quoted, current = [], 0, False, []
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == ",":
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _parse_order(value: str) -> list[_OrderTerm]:
    terms = []
    for raw in _split_top(value):
        p = _Parser(raw.strip())
        try:
            fld = _parse_field(p)
            if p.peek() == "(":
                raise _unsupported(f"ordering by a related table ({value})")
            direction = nulls = None
            if p.take(".asc"):
                direction = "ASC"
            elif p.take(".desc"):
                direction = "DESC"
            if p.take(".nullsfirst"):
                nulls = "NULLS FIRST"
            elif p.take(".nullslast"):
                nulls = "NULLS LAST"
            if not p.eof():
                raise p.fail('"asc", "desc", "nullsfirst" or "nullslast"')
        except _ParseError as exc:
            raise _qp_error("order", value, exc) from exc
        terms.append(_OrderTerm(fld, direction, nulls))
    return terms


@dataclass
class _SelectItem:
    field: _Field | None  # None: *
    alias: str | None = None
    cast: str | None = None


def _parse_select(value: str) -> list[_SelectItem]:
    items = []
    for raw in _split_top(value):
        text = raw.strip()
        if text == "*":
            items.append(_SelectItem(None))
            continue
        if "(" in text.replace('"', "") or text.startswith("..."):
            raise _unsupported(f"resource embedding and aggregates in select ({value})")
        p = _Parser(text)
        try:
            alias = None
            start = p.i
            with contextlib.suppress(_ParseError):
                name = _parse_field_name(p)
                if p.peek() == ":" and p.peek(2) != "::":
                    p.i += 1
                    alias = name
                else:
                    p.i = start
            if alias is None:
                p.i = start
            fld = _parse_field(p)
            cast = None
            if p.take("::"):
                cast = p.until(",").strip()
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ \[\]]*", cast):
                    raise p.fail("a type name")
            if not p.eof():
                raise p.fail('"," or end of input')
        except _ParseError as exc:
            raise _qp_error("select parameter", value, exc) from exc
        items.append(_SelectItem(fld, alias, cast))
    return items


def _parse_columns(value: str) -> list[str]:
    names = []
    p = _Parser(value)
    try:
        while True:
            names.append(_parse_field_name(p))
            p.spaces()
            if not p.take(","):
                break
        if not p.eof():
            raise p.fail('"," or end of input')
    except _ParseError as exc:
        raise _qp_error("columns parameter", value, exc) from exc
    return names


def _unsupported(what: str) -> _RestError:
    return _RestError(
        400, "PGRST100", f"The Supabase test peer does not implement {what}", None, None
    )


# -- SQL rendering -------------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""').replace("%", "%%") + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def _array_literal(values: list[str]) -> str:
    escaped = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
    return "{" + ",".join(escaped) + "}"


def _filter_sql(flt: _Filter, qualifier: str | None, params: list[Any]) -> str:
    column = flt.field.sql(qualifier)
    expr = flt.expr
    if expr.op == "in":
        params.append(_array_literal(expr.value))
        sql = f"{column} = ANY (%s)"
    elif expr.op == "is":
        sql = f"{column} IS {expr.value.upper()}"
    elif expr.op == "isdistinct":
        params.append(expr.value)
        sql = f"{column} IS DISTINCT FROM %s"
    elif expr.op in _FTS_OPS:
        fn = _FTS_OPS[expr.op]
        if expr.lang:
            params.extend([expr.lang, expr.value])
            sql = f"{column} @@ {fn}(%s, %s)"
        else:
            params.append(expr.value)
            sql = f"{column} @@ {fn}(%s)"
    elif expr.op in _SIMPLE_OPS:
        params.append(expr.value)
        sql = f"{column} {_SIMPLE_OPS[expr.op]} %s"
    else:
        value = expr.value
        if expr.op in ("like", "ilike"):
            value = value.replace("*", "%")
        params.append(value)
        operator = _QUANT_OPS[expr.op]
        sql = f"{column} {operator} {expr.quant}(%s)" if expr.quant else f"{column} {operator} %s"
    return f"NOT {sql}" if expr.negated else sql


def _logic_sql(tree: Any, qualifier: str | None, params: list[Any]) -> str:
    if isinstance(tree, _Filter):
        return _filter_sql(tree, qualifier, params)
    joined = f" {tree.op} ".join(_logic_sql(c, qualifier, params) for c in tree.children)
    return f"NOT ({joined})" if tree.negated else f"({joined})"


def _select_sql(items: list[_SelectItem], qualifier: str) -> str:
    parts = []
    for item in items:
        if item.field is None:
            parts.append(f"{qualifier}.*")
            continue
        expr = item.field.sql(qualifier)
        if item.cast:
            expr = f"CAST({expr} AS {item.cast})"
        name = item.alias or item.field.output_name
        parts.append(f"{expr} AS {_ident(name)}")
    return ", ".join(parts) or f"{qualifier}.*"


# -- request context -----------------------------------------------------------------------------


@dataclass
class _Identity:
    role: str
    claims: dict[str, Any]

    @property
    def authed(self) -> bool:
        return self.role != "anon"


@dataclass
class _Query:
    select: list[_SelectItem]
    filters: list[_Filter]
    logic: list[_Logic]
    order: list[_OrderTerm]
    offset: int
    limit: int | None
    columns: list[str] | None
    on_conflict: list[str] | None
    rpc_args: dict[str, str]

    def where(self, qualifier: str | None, params: list[Any]) -> str:
        conds = [_filter_sql(f, qualifier, params) for f in self.filters]
        conds += [_logic_sql(t, qualifier, params) for t in self.logic]
        return (" WHERE " + " AND ".join(conds)) if conds else ""

    @property
    def has_filters(self) -> bool:
        return bool(self.filters or self.logic)

    def order_sql(self, qualifier: str | None) -> str:
        if not self.order:
            return ""
        terms = []
        for term in self.order:
            sql = term.field.sql(qualifier)
            if term.direction:
                sql += " " + term.direction
            if term.nulls:
                sql += " " + term.nulls
            terms.append(sql)
        return " ORDER BY " + ", ".join(terms)

    def limit_sql(self) -> str:
        sql = ""
        if self.limit is not None:
            sql += f" LIMIT {int(self.limit)}"
        if self.offset:
            sql += f" OFFSET {int(self.offset)}"
        return sql


_RESERVED = {"select", "columns", "on_conflict", "order", "limit", "offset", "apikey"}


def _parse_query(
    pairs: list[tuple[str, str]], *, rpc_read: bool, range_header: str | None
) -> _Query:
    select_value = "*"
    filters: list[_Filter] = []
    logic: list[_Logic] = []
    order: list[_OrderTerm] = []
    limit: int | None = None
    offset = 0
    columns = None
    on_conflict = None
    args: dict[str, str] = {}
    for key, value in pairs:
        if key == "select":
            select_value = value or "*"
        elif key == "columns":
            columns = _parse_columns(value) if value else None
        elif key == "on_conflict":
            on_conflict = _parse_columns(value) if value else None
        elif key == "apikey":
            continue
        elif key == "order":
            if value:
                order = _parse_order(value)
        elif key == "limit":
            with contextlib.suppress(ValueError):
                limit = int(value)
        elif key == "offset":
            with contextlib.suppress(ValueError):
                offset = int(value)
        elif key in ("or", "and", "not.or", "not.and"):
            if value:
                logic.append(_parse_logic_param(key, value))
        elif key.rsplit(".", 1)[-1] in ("order", "limit", "offset", "or", "and"):
            raise _unsupported(f"parameters of embedded resources ({key})")
        elif rpc_read:
            try:
                filters.append(_parse_filter(key, value))
            except _RestError:
                args[key] = value
        elif value:
            filters.append(_parse_filter(key, value))
    if limit is not None and limit < 0:
        raise _RestError(
            416,
            "PGRST103",
            "Requested range not satisfiable",
            "Limit should be greater than or equal to zero.",
        )
    if range_header:
        match = re.fullmatch(r"\s*(\d+)-(\d*)\s*", range_header)
        if match:
            low = int(match.group(1))
            high = int(match.group(2)) if match.group(2) else None
            if high is not None and high < low:
                raise _RestError(
                    416,
                    "PGRST103",
                    "Requested range not satisfiable",
                    "The lower boundary must be lower than or equal to the upper boundary in "
                    "the Range header.",
                )
            # Intersect [offset, offset+limit-1] with [low, high].
            q_low, q_high = offset, (offset + limit - 1) if limit is not None else None
            new_low = max(q_low, low)
            bounds = [b for b in (q_high, high) if b is not None]
            new_high = min(bounds) if bounds else None
            if limit != 0:
                offset = new_low
                limit = None if new_high is None else max(new_high - new_low + 1, 0)
    return _Query(
        _parse_select(select_value),
        filters,
        logic,
        order,
        offset,
        limit,
        columns,
        on_conflict,
        args,
    )


@dataclass
class _Media:
    singular: bool = False
    strip: bool = False

    @property
    def content_type(self) -> str:
        if self.singular:
            mime = "application/vnd.pgrst.object+json"
            return mime + (";nulls=stripped" if self.strip else "") + "; charset=utf-8"
        if self.strip:
            return "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8"
        return _JSON

    def body_sql(self, shape: str) -> str:
        """The body expression over ``_postgrest_t`` (shape: rows, one, scalar, scalars)."""
        strip = (lambda s: f"json_strip_nulls({s})") if self.strip else (lambda s: s)
        if self.singular or shape in ("one", "scalar"):
            column = (
                "_postgrest_t.pgrst_scalar" if shape in ("scalar", "scalars") else "_postgrest_t"
            )
            return f"coalesce({strip(f'json_agg({column})->0')}, 'null')::text"
        column = "_postgrest_t.pgrst_scalar" if shape == "scalars" else "_postgrest_t"
        return f"coalesce({strip(f'json_agg({column})')}, '[]')::text"


def _negotiate(accept: str | None) -> _Media:
    if not accept or not accept.strip():
        return _Media()
    offered = []
    for part in accept.split(","):
        pieces = [x.strip() for x in part.split(";")]
        mime = pieces[0].lower()
        params = {}
        for piece in pieces[1:]:
            if "=" in piece:
                k, v = piece.split("=", 1)
                params[k.strip().lower()] = v.strip()
        quality = 1.0
        with contextlib.suppress(ValueError):
            quality = float(params.get("q", "1"))
        offered.append((quality, mime, params, part.strip()))
    offered.sort(key=lambda x: -x[0])
    for _quality, mime, params, _raw in offered:
        strip = params.get("nulls") == "stripped"
        if mime in ("application/json", "*/*", "application/*"):
            return _Media()
        if mime in ("application/vnd.pgrst.object+json", "application/vnd.pgrst.object"):
            return _Media(True, strip)
        if mime in ("application/vnd.pgrst.array+json", "application/vnd.pgrst.array") and strip:
            return _Media(False, True)
    raise _RestError(
        406,
        "PGRST107",
        "None of these media types are available: " + ", ".join(o[3] for o in offered),
    )


def _prefer(headers: dict[str, str]) -> dict[str, str]:
    prefs: dict[str, str] = {}
    for item in headers.get("prefer", "").split(","):
        item = item.strip()
        if "=" in item:
            key, value = item.split("=", 1)
            prefs.setdefault(key.strip().lower(), value.strip())
    return prefs


def _content_range(lower: int, upper: int, total: int | None) -> str:
    """``RangeQuery.contentRangeH``."""
    total_text = "*" if total is None else str(total)
    if total != 0 and lower <= upper:
        return f"{lower}-{upper}/{total_text}"
    return f"*/{total_text}"


def _range_status(lower: int, page: int, total: int | None) -> int:
    """``RangeQuery.rangeStatusHeader``."""
    if total is None:
        return 200
    upper = lower + page - 1
    if lower > total:
        return 416
    if (1 + upper - lower) < total:
        return 206
    return 200


def _applied(prefs: dict[str, str], keys: tuple[str, ...]) -> list[tuple[str, str]]:
    values = [f"{k}={prefs[k]}" for k in keys if k in prefs]
    return [("Preference-Applied", ", ".join(values))] if values else []


class _Rest:
    """The PostgREST subset, over the peer's pool."""

    def __init__(self, peer: SupabasePeer) -> None:
        self.peer = peer

    # -- identity

    def identity(self, request: RecordedRequest) -> _Identity:
        peer = self.peer
        token = request.bearer
        if not token:
            claims = dict(peer._key_claims(request) or {"role": "anon"})
        else:
            try:
                claims = decode_jwt(token, peer.jwt_secret, leeway=peer.clock_skew)
                if peer._is_expired(token):
                    raise JwtError("expired")
            except JwtError as exc:
                raise self._jwt_error(exc) from exc
        role = claims.get("role", "anon")
        if not isinstance(role, str):
            role = json.dumps(role)
        claims["role"] = role
        return _Identity(role or "anon", claims)

    def _jwt_error(self, exc: JwtError) -> _RestError:
        v13 = self.peer.postgrest_version >= 13
        if exc.reason in ("expired", "not_yet_valid"):
            message = "JWT expired" if exc.reason == "expired" else "JWT not yet valid"
            code = "PGRST303" if v13 else "PGRST301"
        elif exc.reason == "parts":
            code = "PGRST301"
            message = (
                f"Expected 3 parts in JWT; got {exc.parts}"
                if v13
                else "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; "
                f"got {exc.parts})"
            )
        elif exc.reason == "algorithm":
            code = "PGRST301"
            message = (
                "Wrong or unsupported encoding algorithm" if v13 else "JWSError JWSInvalidSignature"
            )
        elif exc.reason == "malformed":
            code = "PGRST301"
            message = (
                "JWT couldn't be decoded"
                if v13
                else "JWSError (CompactDecodeError Invalid base64url or JSON)"
            )
        else:
            code = "PGRST301"
            message = (
                "JWT cryptographic operation failed" if v13 else "JWSError JWSInvalidSignature"
            )
        header = f'Bearer error="invalid_token", error_description={json.dumps(message)}'
        return _RestError(401, code, message, headers=[("WWW-Authenticate", header)])

    # -- entry point

    def handle(self, request: RecordedRequest) -> _Response:
        version = self.peer.postgrest_version
        try:
            return self._handle(request)
        except _RestError as exc:
            return exc.response(version)

    def _handle(self, request: RecordedRequest) -> _Response:
        identity = self.identity(request)
        rest_path = request.path[len(REST_PREFIX) :].strip("/")
        segments = [urllib.parse.unquote(s) for s in rest_path.split("/")] if rest_path else []
        method = request.method
        if not segments or len(segments) > 2 or (len(segments) == 2 and segments[0] != "rpc"):
            if not segments and method in ("GET", "HEAD"):
                raise _unsupported("the OpenAPI root")
            return _json_response(404, {})
        is_rpc = len(segments) == 2
        if is_rpc and method not in ("GET", "HEAD", "POST"):
            raise _RestError(405, "PGRST101", f"Cannot use the {method} method on RPC")
        if not is_rpc and method not in ("GET", "HEAD", "POST", "PATCH", "DELETE"):
            raise _RestError(405, "PGRST117", f"Unsupported HTTP method: {method}")
        header = (
            "content-profile" if method in ("POST", "PATCH", "PUT", "DELETE") else "accept-profile"
        )
        profile = request.headers.get(header)
        if profile is not None and profile != SCHEMA:
            raise _RestError(406, "PGRST106", f"The schema must be one of the following: {SCHEMA}")
        media = _negotiate(request.headers.get("accept"))
        pairs = urllib.parse.parse_qsl(request.raw_query, keep_blank_values=True)
        query = _parse_query(
            pairs,
            rpc_read=is_rpc and method in ("GET", "HEAD"),
            range_header=request.headers.get("range") if method == "GET" else None,
        )
        prefs = _prefer(request.headers)
        if is_rpc:
            return self._rpc(request, identity, segments[1], query, media, prefs)
        table = segments[0]
        if method in ("GET", "HEAD"):
            return self._read(request, identity, table, query, media, prefs)
        if method == "POST":
            return self._insert(request, identity, table, query, media, prefs)
        return self._mutate(request, identity, table, query, media, prefs)

    # -- transactions

    def _run(
        self,
        request: RecordedRequest,
        identity: _Identity,
        work: Callable[[Any], Any],
        *,
        read_only: bool,
    ) -> Any:
        """Run ``work(conn)`` in one transaction as PostgREST does; ``work`` may raise
        ``_Rollback(value)`` to roll back and still return ``value``."""
        import psycopg

        peer = self.peer
        peer._bump("db.transactions")
        headers = {k: v for k, v in request.headers.items() if k != "cookie"}
        try:
            with peer._pool.connection() as conn:
                mode = " READ ONLY" if read_only else ""
                conn.execute(f"BEGIN ISOLATION LEVEL READ COMMITTED{mode}")
                try:
                    conn.execute(
                        "select set_config('search_path', %s, true), "
                        "set_config('role', %s, true), "
                        "set_config('request.jwt.claims', %s, true), "
                        "set_config('request.method', %s, true), "
                        "set_config('request.path', %s, true), "
                        "set_config('request.headers', %s, true), "
                        "set_config('request.cookies', %s, true)",
                        [
                            '"public", "extensions"',
                            identity.role,
                            json.dumps(identity.claims),
                            request.method,
                            request.path[len(REST_PREFIX) :] or "/",
                            json.dumps(headers),
                            "{}",
                        ],
                    )
                    result = work(conn)
                except _Rollback as rb:
                    conn.execute("ROLLBACK")
                    if isinstance(rb.value, BaseException):
                        raise rb.value from None
                    return rb.value
                except BaseException:
                    with contextlib.suppress(Exception):
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return result
        except (psycopg.Error, _PgLike) as exc:
            peer._bump("db.errors")
            raise _pg_error(exc, identity.authed) from exc

    # -- schema lookups (no cache: the catalog is asked every time)

    @staticmethod
    def _table_info(conn: Any, table: str) -> tuple[list[str], list[str]] | None:
        qualified = f"{_ident(SCHEMA)}.{_ident(table)}".replace("%%", "%")
        row = conn.execute("select to_regclass(%s)::oid", [qualified]).fetchone()
        if row is None or row[0] is None:
            return None
        oid = row[0]
        cols = [
            r[0]
            for r in conn.execute(
                "select attname from pg_attribute where attrelid = %s and attnum > 0 "
                "and not attisdropped order by attnum",
                [oid],
            ).fetchall()
        ]
        pk = [
            r[0]
            for r in conn.execute(
                "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
                "and a.attnum = any(i.indkey) where i.indrelid = %s and i.indisprimary "
                "order by array_position(i.indkey::int2[], a.attnum)",
                [oid],
            ).fetchall()
        ]
        return cols, pk

    # -- GET / HEAD

    def _read(
        self,
        request: RecordedRequest,
        identity: _Identity,
        table: str,
        query: _Query,
        media: _Media,
        prefs: dict[str, str],
    ) -> _Response:
        target = f"{_ident(SCHEMA)}.{_ident(table)}"
        count = prefs.get("count") in ("exact", "planned", "estimated")
        params: list[Any] = []
        source = (
            f"SELECT {_select_sql(query.select, target)} FROM {target}"
            f"{query.where(target, params)}{query.order_sql(target)}{query.limit_sql()}"
        )
        count_cte = ""
        total_sql = "null::bigint"
        if count:
            count_cte = (
                f", pgrst_source_count AS (SELECT 1 FROM {target}{query.where(target, params)})"
            )
            total_sql = "(SELECT pg_catalog.count(*) FROM pgrst_source_count)"
        sql = (
            f"WITH pgrst_source AS ({source}){count_cte} SELECT {total_sql} AS total_result_set, "
            f"pg_catalog.count(_postgrest_t) AS page_total, {media.body_sql('rows')} AS body "
            "FROM (SELECT * FROM pgrst_source) _postgrest_t"
        )
        total, page, body = self._run(
            request, identity, lambda conn: conn.execute(sql, params).fetchone(), read_only=True
        )
        if media.singular and page != 1:
            raise _singular_error(page)
        lower = query.offset
        code = _range_status(lower, page, total)
        headers = [
            ("Content-Range", _content_range(lower, lower + page - 1, total)),
            (
                "Content-Location",
                "/" + table + ("?" + _canonical(request) if request.raw_query else ""),
            ),
            *_applied(prefs, ("count",)),
        ]
        if code == 416:
            error = _RestError(
                416,
                "PGRST103",
                "Requested range not satisfiable",
                f"An offset of {lower} was requested, but there are only {total} rows.",
            )
            response = error.response(self.peer.postgrest_version)
            response.headers = headers + response.headers
            return response
        return _Response(code, body.encode(), headers, media.content_type)

    # -- POST

    def _payload(self, request: RecordedRequest) -> Any:
        if not request.body.strip():
            raise _RestError(400, "PGRST102", "Empty or invalid json")
        try:
            return json.loads(request.body)
        except ValueError as exc:
            raise _RestError(400, "PGRST102", "Empty or invalid json") from exc

    def _insert(
        self,
        request: RecordedRequest,
        identity: _Identity,
        table: str,
        query: _Query,
        media: _Media,
        prefs: dict[str, str],
    ) -> _Response:
        payload = self._payload(request)
        rows = payload if isinstance(payload, list) else [payload]
        if not all(isinstance(r, dict) for r in rows):
            raise _RestError(400, "PGRST102", "All object keys must match")
        if query.columns is not None:
            columns = list(query.columns)
        elif rows:
            columns = sorted(rows[0])
            if any(set(r) != set(rows[0]) for r in rows):
                raise _RestError(400, "PGRST102", "All object keys must match")
        else:
            columns = []
        representation = prefs.get("return") == "representation"
        missing_default = prefs.get("missing") == "default"
        resolution = prefs.get("resolution")
        target = f"{_ident(SCHEMA)}.{_ident(table)}"

        def work(conn: Any) -> tuple[int, str]:
            info = self._table_info(conn, table)
            pk: list[str] = []
            if info is not None:
                table_cols, pk = info
                for col in columns:
                    if col not in table_cols:
                        raise _RestError(
                            400,
                            "PGRST204",
                            f"Could not find the '{col}' column of '{table}' in the schema cache",
                        )
            params: list[Any] = []
            col_list = ", ".join(_ident(c) for c in columns)
            if not rows:
                mutation = f"SELECT * FROM {target} WHERE false"
            elif missing_default:
                values = []
                for row in rows:
                    params_row = []
                    for col in columns:
                        if col in row:
                            params.append(json.dumps(row))
                            params_row.append(
                                f"(SELECT _.{_ident(col)} FROM json_populate_record(null::{target}, %s::json) _)"
                            )
                        else:
                            params_row.append("DEFAULT")
                    values.append("(" + ", ".join(params_row) + ")")
                mutation = f"INSERT INTO {target}({col_list}) VALUES " + ", ".join(values)
            elif columns:
                params.append(json.dumps(rows))
                body_cols = ", ".join(f"pgrst_body.{_ident(c)}" for c in columns)
                mutation = (
                    f"INSERT INTO {target}({col_list}) SELECT {body_cols} "
                    f"FROM json_populate_recordset(null::{target}, %s::json) pgrst_body"
                )
            else:
                mutation = f"INSERT INTO {target} DEFAULT VALUES"
            conflict_cols = query.on_conflict or pk
            if rows and resolution in ("merge-duplicates", "ignore-duplicates") and conflict_cols:
                target_cols = ", ".join(_ident(c) for c in conflict_cols)
                updates = [c for c in columns if c not in conflict_cols]
                if resolution == "merge-duplicates" and updates:
                    sets = ", ".join(f"{_ident(c)} = EXCLUDED.{_ident(c)}" for c in updates)
                    mutation += f" ON CONFLICT({target_cols}) DO UPDATE SET {sets}"
                else:
                    mutation += f" ON CONFLICT({target_cols}) DO NOTHING"
            if rows:
                mutation += (
                    f" RETURNING {target}.*"
                    if (representation or media.singular)
                    else " RETURNING 1"
                )
            return self._finish_mutation(conn, mutation, params, query, media, representation)

        page, body = self._run(request, identity, work, read_only=False)
        count = page if prefs.get("count") in ("exact", "planned", "estimated") else None
        headers = [("Content-Range", _content_range(1, 0, count))]
        headers += _applied(prefs, ("resolution", "missing", "return", "count"))
        if representation:
            return _Response(201, body.encode(), headers, media.content_type)
        return _Response(201, b"", headers, None)

    def _finish_mutation(
        self,
        conn: Any,
        mutation: str,
        params: list[Any],
        query: _Query,
        media: _Media,
        representation: bool,
    ) -> tuple[int, str]:
        if representation or media.singular:
            select = f"SELECT {_select_sql(query.select, 'pgrst_source')} FROM pgrst_source"
            body_sql = media.body_sql("rows")
        else:
            select = "SELECT * FROM pgrst_source"
            body_sql = "''"
        sql = (
            f"WITH pgrst_source AS ({mutation}) SELECT pg_catalog.count(_postgrest_t) AS page_total, "
            f"{body_sql} AS body FROM ({select}) _postgrest_t"
        )
        page, body = conn.execute(sql, params).fetchone()
        if media.singular and page != 1:
            raise _Rollback(_singular_error(page))
        return page, body

    # -- PATCH / DELETE

    def _mutate(
        self,
        request: RecordedRequest,
        identity: _Identity,
        table: str,
        query: _Query,
        media: _Media,
        prefs: dict[str, str],
    ) -> _Response:
        is_delete = request.method == "DELETE"
        if query.limit is not None or query.offset:
            raise _unsupported("limited updates and deletes")
        target = f"{_ident(SCHEMA)}.{_ident(table)}"
        representation = prefs.get("return") == "representation"
        payload: Any = None
        if not is_delete:
            payload = self._payload(request)
            if isinstance(payload, list):
                payload = (
                    payload[0] if len(payload) == 1 and isinstance(payload[0], dict) else payload
                )
            if not isinstance(payload, dict):
                raise _RestError(400, "PGRST102", "All object keys must match")
        columns = list(query.columns) if query.columns is not None else sorted(payload or {})

        def work(conn: Any) -> tuple[int, str]:
            info = self._table_info(conn, table)
            if info is not None and not is_delete:
                for col in columns:
                    if col not in info[0]:
                        raise _RestError(
                            400,
                            "PGRST204",
                            f"Could not find the '{col}' column of '{table}' in the schema cache",
                        )
            params: list[Any] = []
            returning = (
                f" RETURNING {target}.*" if (representation or media.singular) else " RETURNING 1"
            )
            if is_delete:
                where = query.where(target, params)
                mutation = f"DELETE FROM {target}{where}{returning}"
                verb = "DELETE"
            elif not columns:
                mutation = f"SELECT * FROM {target} WHERE false"
                verb = "UPDATE"
            else:
                params.append(json.dumps(payload))
                sets = ", ".join(f"{_ident(c)} = pgrst_body.{_ident(c)}" for c in columns)
                where_params: list[Any] = []
                where = query.where(target, where_params)
                params.extend(where_params)
                mutation = (
                    f"UPDATE {target} SET {sets} FROM (SELECT * FROM json_populate_record("
                    f"null::{target}, %s::json)) pgrst_body{where}{returning}"
                )
                verb = "UPDATE"
            if self.peer.safeupdate and not query.has_filters and (is_delete or columns):
                raise _PgLike("21000", f"{verb} requires a WHERE clause")
            return self._finish_mutation(conn, mutation, params, query, media, representation)

        page, body = self._run(request, identity, work, read_only=False)
        count = page if prefs.get("count") in ("exact", "planned", "estimated") else None
        if is_delete:
            content_range = _content_range(1, 0, count)
        else:
            content_range = _content_range(0, page - 1, count)
        headers = [("Content-Range", content_range)]
        headers += _applied(prefs, ("return", "count"))
        if representation:
            return _Response(200, body.encode(), headers, media.content_type)
        return _Response(204, b"", headers, None)

    # -- RPC

    def _rpc(
        self,
        request: RecordedRequest,
        identity: _Identity,
        name: str,
        query: _Query,
        media: _Media,
        prefs: dict[str, str],
    ) -> _Response:
        if request.method == "POST":
            if request.body.strip():
                try:
                    args = json.loads(request.body)
                except ValueError as exc:
                    raise _RestError(400, "PGRST102", "Empty or invalid json") from exc
            else:
                args = {}
            if not isinstance(args, dict):
                raise _unsupported("RPC calls with a JSON array (bulk calls)")
        else:
            args = dict(query.rpc_args)
        self.peer._bump(f"rpc.{name}")
        function = self._find_function(name, sorted(args), request)
        read_only = request.method in ("GET", "HEAD") or function["volatility"] in ("s", "i")
        target = f"{_ident(SCHEMA)}.{_ident(name)}"
        used = [(n, t) for n, t in function["inputs"] if n in args]
        call_args = ", ".join(f"{_ident(n)} := _.{_ident(n)}" for n, _t in used)
        params: list[Any] = []
        if used:
            params.append(json.dumps({n: args[n] for n, _t in used}))
            record = ", ".join(f"{_ident(n)} {t}" for n, t in used)
            from_args = f" FROM json_to_record(%s::json) AS _({record})"
        else:
            from_args = ""
        shape = function["shape"]
        if shape in ("scalar", "void"):
            call = f"SELECT {target}({call_args}) AS pgrst_scalar{from_args}"
        elif shape == "scalars":
            lateral = f", LATERAL {target}({call_args}) AS pgrst_call(pgrst_scalar)"
            call = (
                f"SELECT pgrst_call.pgrst_scalar{from_args}{lateral}"
                if from_args
                else f"SELECT pgrst_call.pgrst_scalar FROM {target}() AS pgrst_call(pgrst_scalar)"
            )
        else:
            lateral = f"LATERAL {target}({call_args}) pgrst_call"
            call = (
                f"SELECT pgrst_call.*{from_args}, {lateral}"
                if from_args
                else f"SELECT pgrst_call.* FROM {target}() pgrst_call"
            )
        if shape in ("rows", "scalars"):
            where_params: list[Any] = []
            qualifier = "pgrst_source"
            select = (
                f"SELECT {_select_sql(query.select, qualifier)} FROM pgrst_source"
                if shape == "rows"
                else "SELECT * FROM pgrst_source"
            )
            select += query.where(qualifier, where_params) + query.order_sql(qualifier)
            select += query.limit_sql()
        else:
            where_params = []
            select = "SELECT * FROM pgrst_source"
        params.extend(where_params)
        body_shape = {"rows": "rows", "one": "one", "scalar": "scalar", "scalars": "scalars"}.get(
            shape, "scalar"
        )
        single = shape in ("one", "scalar", "void")
        page_sql = "1" if single else "pg_catalog.count(_postgrest_t)"
        sql = (
            f"WITH pgrst_source AS ({call}) SELECT {page_sql} AS page_total, "
            f"{media.body_sql(body_shape)} AS body FROM ({select}) _postgrest_t"
        )

        def work(conn: Any) -> tuple[int, str]:
            page, body = conn.execute(sql, params).fetchone()
            if media.singular and page != 1:
                raise _Rollback(_singular_error(page))
            return page, body

        page, body = self._run(request, identity, work, read_only=read_only)
        total = page if prefs.get("count") in ("exact", "planned", "estimated") else None
        headers = [("Content-Range", _content_range(query.offset, query.offset + page - 1, total))]
        headers += _applied(prefs, ("count",))
        if shape == "void":
            return _Response(204, b"", headers, None)
        code = _range_status(query.offset, page, total)
        return _Response(code, body.encode(), headers, media.content_type)

    def _find_function(
        self, name: str, keys: list[str], request: RecordedRequest
    ) -> dict[str, Any]:
        with self.peer._pool.connection() as conn:
            rows = conn.execute(
                """
                select p.oid, p.provolatile, p.proretset, t.typtype, t.typname,
                       p.pronargdefaults,
                       coalesce(p.proargnames, '{}'::text[]),
                       coalesce(p.proargmodes::text[], '{}'::text[]),
                       array(select format_type(u.t, null)
                             from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]))
                                  with ordinality as u(t, n) order by u.n),
                       exists(select 1 from unnest(coalesce(p.proargmodes::text[], '{}'::text[])) m
                              where m in ('o', 't', 'b'))
                from pg_proc p
                join pg_namespace n on n.oid = p.pronamespace
                join pg_type t on t.oid = p.prorettype
                where n.nspname = %s and p.proname = %s and p.prokind = 'f'
                """,
                [SCHEMA, name],
            ).fetchall()
            candidates = []
            for row in rows:
                (
                    _oid,
                    volatility,
                    retset,
                    typtype,
                    typname,
                    ndefaults,
                    names,
                    modes,
                    types,
                    has_out,
                ) = row
                modes = list(modes) or ["i"] * len(types)
                inputs = [
                    (names[i] if i < len(names) else "", types[i])
                    for i in range(len(types))
                    if modes[i] in ("i", "b", "v")
                ]
                if any(not n for n, _t in inputs):
                    continue
                required = {n for n, _t in inputs[: len(inputs) - ndefaults]}
                input_names = {n for n, _t in inputs}
                if not set(keys) <= input_names or not required <= set(keys):
                    continue
                if typname == "void":
                    shape = "void"
                elif typtype == "c" or has_out or typname == "record":
                    shape = "rows" if retset else "one"
                else:
                    shape = "scalars" if retset else "scalar"
                candidates.append(
                    {"inputs": inputs, "volatility": volatility, "shape": shape, "names": names}
                )
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                raise _RestError(
                    300,
                    "PGRST203",
                    "Could not choose the best candidate function between: "
                    + ", ".join(
                        f"{SCHEMA}.{name}(" + ", ".join(f"{n} => {t}" for n, t in c["inputs"]) + ")"
                        for c in candidates
                    ),
                    None,
                    "Try renaming the parameters or the function itself in the database so "
                    "function overloading can be resolved",
                )
            hint = None
            if rows:
                overload_names = sorted(
                    n
                    for n, m in zip(
                        rows[0][6], list(rows[0][7]) or ["i"] * len(rows[0][8]), strict=False
                    )
                    if m in ("i", "b", "v")
                )
                hint = f"Perhaps you meant to call the function {SCHEMA}.{name}({', '.join(overload_names)})"
            else:
                all_names = [
                    r[0]
                    for r in conn.execute(
                        "select distinct p.proname from pg_proc p join pg_namespace n "
                        "on n.oid = p.pronamespace where n.nspname = %s",
                        [SCHEMA],
                    ).fetchall()
                ]
                close = difflib.get_close_matches(name, all_names, n=1)
                if close:
                    hint = f"Perhaps you meant to call the function {SCHEMA}.{close[0]}"
        func = f"{SCHEMA}.{name}"
        params_text = ", ".join(keys)
        with_params = (
            f" with parameter{'s' if len(keys) > 1 else ''} {params_text}"
            if keys
            else " without parameters"
        )
        message_params = f"({params_text})" if keys else " without parameters"
        details = f"Searched for the function {func}{with_params}"
        if request.method == "POST":
            details += " or with a single unnamed json/jsonb parameter"
        raise _RestError(
            404,
            "PGRST202",
            f"Could not find the function {func}{message_params} in the schema cache",
            details + ", but no matches were found in the schema cache.",
            hint,
        )


class _Rollback(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__("rollback")
        self.value = value


class _PgLike(Exception):
    """A PostgreSQL-shaped error raised by the peer itself (pg-safeupdate)."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)

        class _Diag:
            pass

        self.diag = _Diag()
        self.diag.sqlstate = sqlstate  # type: ignore[attr-defined]
        self.diag.message_primary = message  # type: ignore[attr-defined]
        self.diag.message_detail = None  # type: ignore[attr-defined]
        self.diag.message_hint = None  # type: ignore[attr-defined]


def _singular_error(page: int) -> _RestError:
    return _RestError(
        406,
        "PGRST116",
        "JSON object requested, multiple (or no) rows returned",
        f"The result contains {page} rows",
    )


def _canonical(request: RecordedRequest) -> str:
    pairs = urllib.parse.parse_qsl(request.raw_query, keep_blank_values=True)
    return urllib.parse.urlencode(sorted(pairs, key=lambda kv: kv[0]))


# ==================================================================================== Auth


class _AuthError(Exception):
    def __init__(
        self, status: int, code: str, message: str, reasons: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reasons = reasons


def _api_version(request: RecordedRequest) -> str | None:
    value = request.headers.get("x-supabase-api-version", "")
    if (
        re.fullmatch(r"2\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", value)
        and value >= API_VERSION_2024
    ):
        return API_VERSION_2024
    return None


def _auth_error_response(
    request: RecordedRequest,
    status_code: int,
    code: str,
    message: str,
    reasons: list[str] | None = None,
) -> _Response:
    """GoTrue's ``HandleResponseError`` for an ``HTTPError`` or a ``WeakPasswordError``."""
    version = _api_version(request)
    headers: list[tuple[str, str]] = []
    if version:
        headers.append(("X-Supabase-Api-Version", version))
    if reasons is not None:
        if version:
            payload: dict[str, Any] = {
                "code": code,
                "message": message,
                "weak_password": {"reasons": reasons},
            }
        else:
            headers.append(("x-sb-error-code", code))
            payload = {
                "code": status_code,
                "error_code": code,
                "msg": message,
                "weak_password": {"reasons": reasons},
            }
        return _json_response(status_code, payload, headers)
    headers.append(("x-sb-error-code", code))
    if version:
        payload = {"code": code, "message": message}
    else:
        payload = {"code": status_code, "error_code": code, "msg": message}
    response = _json_response(status_code, payload, headers)
    response.content_type = "application/json"  # Go's sendJSON: no charset
    return response


def _go_time(value: datetime | float | None) -> str | None:
    """A time as Go's ``encoding/json`` writes a UTC ``time.Time`` (RFC 3339, trailing zeros cut)."""
    if value is None:
        return None
    moment = (
        datetime.fromtimestamp(value, timezone.utc) if isinstance(value, (int, float)) else value
    )
    moment = moment.astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass
class _Session:
    id: uuid.UUID
    user_id: uuid.UUID
    created_at: float
    refreshed_at: float


@dataclass
class _RefreshToken:
    seq: int
    token: str
    session_id: uuid.UUID
    user_id: uuid.UUID
    parent: str | None
    updated_at: float
    revoked: bool = False


@dataclass
class _UserExtra:
    confirmed_at: float | None = None
    last_sign_in_at: float | None = None
    identity_id: uuid.UUID = field(default_factory=uuid.uuid4)
    identity_created_at: float = field(default_factory=time.time)


_EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")


class _Auth:
    """The Supabase Auth subset: users in ``auth.users``, secrets and sessions in memory."""

    def __init__(self, peer: SupabasePeer) -> None:
        self.peer = peer
        self.lock = threading.RLock()
        self.passwords: dict[uuid.UUID, tuple[bytes, bytes]] = {}
        self.extra: dict[uuid.UUID, _UserExtra] = {}
        self.sessions: dict[uuid.UUID, _Session] = {}
        self.tokens: dict[str, _RefreshToken] = {}
        self.seq = 0

    # -- entry point

    def handle(self, request: RecordedRequest) -> _Response:
        try:
            response = self._handle(request)
        except _AuthError as exc:
            response = _auth_error_response(request, exc.status, exc.code, exc.message, exc.reasons)
        if response.content_type == _JSON:
            response.content_type = "application/json"  # Go's sendJSON: no charset
        return response

    def _handle(self, request: RecordedRequest) -> _Response:
        route = request.path[len(AUTH_PREFIX) :].rstrip("/") or "/"
        method = request.method
        if route == "/health" and method == "GET":
            return _json_response(
                200,
                {
                    "version": GOTRUE_VERSION,
                    "name": "GoTrue",
                    "description": "GoTrue is a user registration and authentication API",
                },
            )
        if route == "/settings" and method == "GET":
            return _json_response(200, self._settings())
        if route == "/signup" and method == "POST":
            self.peer._bump("auth.signup")
            return self.signup(request)
        if route == "/token" and method == "POST":
            return self.token(request)
        if route == "/user" and method == "GET":
            self.peer._bump("auth.user")
            _claims, user, _session = self.authenticate(request)
            aud = request.headers.get("x-jwt-aud") or "authenticated"
            if _claims.get("aud") not in (aud, [aud]):
                raise _AuthError(
                    400, "validation_failed", "Token audience doesn't match request audience"
                )
            return _json_response(200, self.user_json(user))
        if route == "/logout" and method == "POST":
            self.peer._bump("auth.logout")
            return self.logout(request)
        return _Response(404, b"404 page not found\n", [], "text/plain; charset=utf-8")

    @staticmethod
    def _settings() -> dict[str, Any]:
        return {
            "external": {"email": True, "phone": False, "anonymous_users": False},
            "disable_signup": False,
            "mailer_autoconfirm": True,
            "phone_autoconfirm": False,
            "sms_provider": "",
            "saml_enabled": False,
        }

    @staticmethod
    def _params(request: RecordedRequest) -> dict[str, Any]:
        if not request.body.strip():
            return {}
        try:
            params = json.loads(request.body)
        except ValueError as exc:
            raise _AuthError(
                400, "bad_json", f"Could not parse request body as JSON: {exc}"
            ) from exc
        if not isinstance(params, dict):
            raise _AuthError(
                400,
                "bad_json",
                "Could not parse request body as JSON: json: cannot unmarshal array into Go value",
            )
        return params

    # -- users

    def find_user(
        self, *, user_id: uuid.UUID | None = None, email: str | None = None
    ) -> dict[str, Any] | None:
        sql = (
            "select id, email, raw_user_meta_data, raw_app_meta_data, created_at, updated_at "
            "from auth.users where "
        )
        sql += "id = %s" if user_id is not None else "lower(email) = lower(%s)"
        with self.peer._pool.connection() as conn:
            row = conn.execute(
                sql + " limit 1", [user_id if user_id is not None else email]
            ).fetchone()
        if row is None:
            return None
        return {
            "id": row[0],
            "email": row[1],
            "user_metadata": row[2] or {},
            "app_metadata": row[3] or {},
            "created_at": row[4],
            "updated_at": row[5],
        }

    def user_json(self, user: dict[str, Any]) -> dict[str, Any]:
        """``models.User`` as GoTrue marshals it (omitempty times left out when unset)."""
        user_id = user["id"]
        with self.lock:
            extra = self.extra.get(user_id)
        data: dict[str, Any] = {
            "id": str(user_id),
            "aud": "authenticated",
            "role": "authenticated",
            "email": user["email"] or "",
        }
        if extra and extra.confirmed_at:
            data["email_confirmed_at"] = _go_time(extra.confirmed_at)
        data["phone"] = ""
        if extra and extra.confirmed_at:
            data["confirmed_at"] = _go_time(extra.confirmed_at)
        if extra and extra.last_sign_in_at:
            data["last_sign_in_at"] = _go_time(extra.last_sign_in_at)
        data["app_metadata"] = user["app_metadata"]
        data["user_metadata"] = user["user_metadata"]
        identities = []
        if extra is not None:
            identities.append(
                {
                    "identity_id": str(extra.identity_id),
                    "id": str(user_id),
                    "user_id": str(user_id),
                    "identity_data": {
                        "email": user["email"],
                        "email_verified": False,
                        "phone_verified": False,
                        "sub": str(user_id),
                    },
                    "provider": "email",
                    "last_sign_in_at": _go_time(extra.identity_created_at),
                    "created_at": _go_time(extra.identity_created_at),
                    "updated_at": _go_time(extra.identity_created_at),
                    "email": user["email"],
                }
            )
        data["identities"] = identities
        data["created_at"] = _go_time(user["created_at"])
        data["updated_at"] = _go_time(user["updated_at"])
        data["is_anonymous"] = False
        return data

    @staticmethod
    def _hash(password: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
        salt = salt or secrets.token_bytes(16)
        return salt, hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)

    def check_password(self, password: str) -> None:
        """``checkPasswordStrength``."""
        if len(password) > MAX_PASSWORD_LENGTH:
            raise _AuthError(
                400,
                "validation_failed",
                f"Password cannot be longer than {MAX_PASSWORD_LENGTH} characters",
            )
        minimum = self.peer.password_min_length
        if len(password) < minimum:
            raise _AuthError(
                422,
                "weak_password",
                f"Password should be at least {minimum} characters.",
                reasons=["length"],
            )

    def create_user(self, email: str, password: str, data: dict[str, Any] | None) -> dict[str, Any]:
        import psycopg

        user_id = uuid.uuid4()
        metadata = dict(data or {})
        metadata.update(
            {"sub": str(user_id), "email": email, "email_verified": True, "phone_verified": False}
        )
        app_metadata = {"provider": "email", "providers": ["email"]}
        try:
            with self.peer._pool.connection() as conn:
                conn.execute(
                    "insert into auth.users (id, email, raw_user_meta_data, raw_app_meta_data) "
                    "values (%s, %s, %s::jsonb, %s::jsonb)",
                    [user_id, email, json.dumps(metadata), json.dumps(app_metadata)],
                )
        except psycopg.Error as exc:
            raise _AuthError(500, "unexpected_failure", "Database error saving new user") from exc
        now = time.time()
        with self.lock:
            self.passwords[user_id] = self._hash(password)
            self.extra[user_id] = _UserExtra(confirmed_at=now, identity_created_at=now)
        user = self.find_user(user_id=user_id)
        assert user is not None
        return user

    # -- sessions and tokens

    def _new_refresh_token(
        self, session_id: uuid.UUID, user_id: uuid.UUID, parent: str | None
    ) -> _RefreshToken:
        alphabet = "abcdefghijklmnopqrstuvwxyz234567"
        with self.lock:
            self.seq += 1
            token = _RefreshToken(
                self.seq,
                "".join(secrets.choice(alphabet) for _ in range(12)),
                session_id,
                user_id,
                parent,
                time.time(),
            )
            self.tokens[token.token] = token
            extra = self.extra.setdefault(user_id, _UserExtra())
            extra.last_sign_in_at = time.time()
        return token

    def issue_session(self, user: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        session = _Session(uuid.uuid4(), user["id"], now, now)
        with self.lock:
            self.sessions[session.id] = session
        token = self._new_refresh_token(session.id, user["id"], None)
        return self.session_json(user, session, token.token, method="password")

    def session_json(
        self, user: dict[str, Any], session: _Session, refresh_token: str, *, method: str
    ) -> dict[str, Any]:
        peer = self.peer
        now = int(time.time())
        ttl = int(peer.access_token_ttl)
        claims = {
            "iss": peer.url + AUTH_PREFIX,
            "sub": str(user["id"]),
            "aud": "authenticated",
            "exp": now + ttl,
            "iat": now,
            "email": user["email"] or "",
            "phone": "",
            "app_metadata": user["app_metadata"],
            "user_metadata": user["user_metadata"],
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": method, "timestamp": int(session.created_at)}],
            "session_id": str(session.id),
            "is_anonymous": False,
        }
        access_token = peer._issue(claims)
        fresh = self.find_user(user_id=user["id"]) or user
        return {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": ttl,
            "expires_at": claims["exp"],
            "refresh_token": refresh_token,
            "user": self.user_json(fresh),
        }

    # -- endpoints

    def signup(self, request: RecordedRequest) -> _Response:
        params = self._params(request)
        email = params.get("email") or ""
        phone = params.get("phone") or ""
        if not email and not phone:
            raise _AuthError(422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled")
        password = params.get("password") or ""
        if not password:
            raise _AuthError(400, "validation_failed", "Signup requires a valid password")
        self.check_password(password)
        if email and phone:
            raise _AuthError(
                400,
                "validation_failed",
                "Only an email address or phone number should be provided on signup.",
            )
        if phone:
            raise _AuthError(400, "phone_provider_disabled", "Phone signups are disabled")
        if not isinstance(email, str) or len(email) > 255:
            raise _AuthError(400, "validation_failed", "An email address is too long")
        if not _EMAIL_RE.match(email):
            raise _AuthError(
                400, "validation_failed", "Unable to validate email address: invalid format"
            )
        email = email.lower()
        data = params.get("data") if isinstance(params.get("data"), dict) else {}
        with self.lock:  # one sign-up at a time: the e-mail check and the insert go together
            if self.find_user(email=email) is not None:
                raise _AuthError(422, "user_already_exists", "User already registered")
            user = self.create_user(email, password, data)
        return _json_response(200, self.issue_session(user))

    def token(self, request: RecordedRequest) -> _Response:
        grant = (request.query.get("grant_type") or [""])[0]
        if grant == "password":
            self.peer._bump("auth.token.password")
            return self._password_grant(request)
        if grant == "refresh_token":
            self.peer._bump("auth.token.refresh_token")
            return self._refresh_grant(request)
        raise _AuthError(400, "invalid_credentials", "unsupported_grant_type")

    def _password_grant(self, request: RecordedRequest) -> _Response:
        params = self._params(request)
        email, phone = params.get("email") or "", params.get("phone") or ""
        if email and phone:
            raise _AuthError(
                400,
                "validation_failed",
                "Only an email address or phone number should be provided on login.",
            )
        if phone:
            raise _AuthError(422, "phone_provider_disabled", "Phone logins are disabled")
        if not email:
            raise _AuthError(400, "validation_failed", "missing email or phone")
        user = self.find_user(email=str(email))
        invalid = _AuthError(400, "invalid_credentials", "Invalid login credentials")
        if user is None:
            raise invalid
        with self.lock:
            stored = self.passwords.get(user["id"])
        password = str(params.get("password") or "")
        if stored is None or not hmac.compare_digest(self._hash(password, stored[0])[1], stored[1]):
            raise invalid
        return _json_response(200, self.issue_session(user))

    def _refresh_grant(self, request: RecordedRequest) -> _Response:
        params = self._params(request)
        value = params.get("refresh_token") or ""
        if (
            not isinstance(value, str)
            or len(value) < 12
            or (len(value) == 12 and not re.fullmatch(r"[a-z0-9]{12}", value))
        ):
            raise _AuthError(400, "validation_failed", "Refresh token is not valid")
        peer = self.peer
        with self.lock:
            token = self.tokens.get(value)
            if token is None:
                raise _AuthError(
                    400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
                )
            session = self.sessions.get(token.session_id)
            if session is None:
                raise _AuthError(
                    400, "session_not_found", "Invalid Refresh Token: No Valid Session Found"
                )
            issued: str | None = None
            now = time.time()
            if token.revoked:
                active = max(
                    (
                        t
                        for t in self.tokens.values()
                        if t.session_id == session.id and not t.revoked
                    ),
                    key=lambda t: t.seq,
                    default=None,
                )
                if active is not None and active.parent == token.token:
                    issued = active.token
                elif now > token.updated_at + peer.refresh_token_reuse_interval:
                    for other in self.tokens.values():
                        if other.session_id == session.id and not other.revoked:
                            other.revoked = True
                            other.updated_at = now
                    peer._bump("auth.refresh_token_reuse")
                    raise _AuthError(
                        400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"
                    )
            if issued is None:
                token.revoked = True
                token.updated_at = now
                issued = self._new_refresh_token(session.id, session.user_id, token.token).token
            session.refreshed_at = now
        user = self.find_user(user_id=session.user_id)
        if user is None:
            raise _AuthError(
                400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        return _json_response(200, self.session_json(user, session, issued, method="password"))

    def authenticate(
        self, request: RecordedRequest
    ) -> tuple[dict[str, Any], dict[str, Any], _Session | None]:
        """``requireAuthentication``: bearer, signature, user and session."""
        match = re.fullmatch(r"[Bb]earer (\S+)", request.headers.get("authorization", ""))
        if not match:
            raise _AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
        token = match.group(1)
        peer = self.peer
        prefix = "invalid JWT: unable to parse or verify signature, "
        try:
            claims = decode_jwt(token, peer.jwt_secret)
            if peer._is_expired(token):
                raise JwtError("expired")
        except JwtError as exc:
            reason = {
                "expired": "token has invalid claims: token is expired",
                "not_yet_valid": "token has invalid claims: token is not valid yet",
                "parts": "token is malformed: token contains an invalid number of segments",
                "malformed": "token is malformed: could not JSON decode claim",
                "algorithm": "token is unverifiable: error while executing keyfunc",
                "signature": "token signature is invalid: signature is invalid",
            }[exc.reason]
            raise _AuthError(403, "bad_jwt", prefix + reason) from exc
        sub = claims.get("sub")
        if not sub:
            raise _AuthError(403, "bad_jwt", "invalid claim: missing sub claim")
        try:
            user_id = uuid.UUID(str(sub))
        except ValueError as exc:
            raise _AuthError(400, "bad_jwt", "invalid claim: sub claim must be a UUID") from exc
        user = self.find_user(user_id=user_id)
        if user is None:
            raise _AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
        session = None
        session_id = claims.get("session_id")
        if session_id and session_id != str(uuid.UUID(int=0)):
            try:
                sid = uuid.UUID(str(session_id))
            except ValueError as exc:
                raise _AuthError(
                    403, "bad_jwt", "invalid claim: session_id claim must be a UUID"
                ) from exc
            with self.lock:
                session = self.sessions.get(sid)
            if session is None:
                raise _AuthError(
                    403, "session_not_found", "Session from session_id claim in JWT does not exist"
                )
        return claims, user, session

    def logout(self, request: RecordedRequest) -> _Response:
        scope = (request.query.get("scope") or [""])[0]
        if scope not in ("", "global", "local", "others"):
            raise _AuthError(400, "validation_failed", f'Unsupported logout scope "{scope}"')
        _claims, user, session = self.authenticate(request)
        with self.lock:
            if session is not None and scope == "local":
                doomed = {session.id}
            elif session is not None and scope == "others":
                doomed = {s.id for s in self.sessions.values() if s.user_id == user["id"]} - {
                    session.id
                }
            else:
                doomed = {s.id for s in self.sessions.values() if s.user_id == user["id"]}
            for sid in doomed:
                self.sessions.pop(sid, None)
            for key in [k for k, t in self.tokens.items() if t.session_id in doomed]:
                del self.tokens[key]
        return _Response(204, b"", [], None)


# ================================================================================== server


class _Server(PeerServer):
    peer: SupabasePeer


class _Handler(PeerHandler):
    server: _Server
    drop_response: bool | None = None

    @property
    def peer(self) -> SupabasePeer:
        return self.server.peer

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        path, _, raw_query = self.path.partition("?")
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        request = RecordedRequest(
            method=self.command,
            path=path,
            query=urllib.parse.parse_qs(raw_query, keep_blank_values=True),
            headers=headers,
            json=parsed,
            body=body,
            raw_query=raw_query,
        )
        self.drop_response = None
        try:
            response = self.peer._handle(request, self)
        except Exception as exc:  # a peer bug: answer 500 rather than hang the client
            response = _json_response(500, {"message": f"supabase peer error: {exc!r}"})
        if response is _ABORTED:
            return
        try:
            self._send(request, response)
        except OSError:
            self.close_connection = True

    def _send(self, request: RecordedRequest, response: _Response) -> None:
        if self.drop_response is not None:
            self.abort(hard=self.drop_response)
            return
        self.send_response(response.status)
        if response.content_type and response.status != 204:
            self.send_header("Content-Type", response.content_type)
        if request.method != "HEAD" and response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if request.method != "HEAD" and response.status != 204 and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()

    def abort(self, *, hard: bool) -> None:
        """Drop the connection now, without (the rest of) a response."""
        self.close_connection = True
        if hard:
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            except OSError:
                return
            self.peer._mark_rst(self.connection)


class SupabasePeer(ConnectionBook):
    """A local Supabase project (PostgREST and Auth subsets) over a real PostgreSQL database.

    Use as a context manager, or ``start()``/``stop()``.

    Attributes:
        url: ``http://127.0.0.1:PORT`` - the project URL (``SUPABASE_URL``).
        anon_key, service_key: HS256 JWTs with ``role`` anon / service_role.
        requests: every request received, in arrival order (``RecordedRequest``).
        access_token_ttl: lifetime in seconds of access tokens issued from now on.
        clock_skew: seconds of ``exp`` leeway on the PostgREST side (PostgREST itself: 30).
        refresh_token_reuse_interval: seconds a revoked refresh token may still be swapped
            (Supabase's default: 10).
        password_min_length: GoTrue's minimum password length (Supabase's default: 6).
        postgrest_version: 12 (default) or 13 - which JWT error codes PostgREST answers.
        safeupdate: refuse PATCH/DELETE without filters, as Supabase's pg-safeupdate does.
    """

    def __init__(
        self,
        database_url: str,
        *,
        jwt_secret: str = DEFAULT_JWT_SECRET,
        access_token_ttl: int = 3600,
        clock_skew: float = 0.0,
        refresh_token_reuse_interval: float = 0.0,
        password_min_length: int = 6,
        postgrest_version: int = 12,
        safeupdate: bool = True,
        pool_size: int = 8,
    ) -> None:
        self.database_url = database_url
        self.jwt_secret = jwt_secret
        self.access_token_ttl = access_token_ttl
        self.clock_skew = clock_skew
        self.refresh_token_reuse_interval = refresh_token_reuse_interval
        self.password_min_length = password_min_length
        self.postgrest_version = postgrest_version
        self.safeupdate = safeupdate
        self.pool_size = pool_size
        self.project_ref = "peer" + secrets.token_hex(8)
        now = int(time.time())
        ten_years = 10 * 365 * 24 * 3600
        self.anon_key = sign_jwt(
            {
                "iss": "supabase",
                "ref": self.project_ref,
                "role": "anon",
                "iat": now,
                "exp": now + ten_years,
            },
            jwt_secret,
        )
        self.service_key = sign_jwt(
            {
                "iss": "supabase",
                "ref": self.project_ref,
                "role": "service_role",
                "iat": now,
                "exp": now + ten_years,
            },
            jwt_secret,
        )
        self.requests: list[RecordedRequest] = []
        self._counters: Counter[str] = Counter()
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._rst: set[socket.socket] = set()
        self._issued: set[str] = set()
        self._expired: set[str] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._pool: Any = None
        self._rest = _Rest(self)
        self._auth = _Auth(self)

    # -- lifecycle

    def start(self) -> SupabasePeer:
        """Open the database pool, bind 127.0.0.1 on a free port and serve from a daemon thread."""
        if self._server is not None:
            return self
        from psycopg_pool import ConnectionPool

        def configure(conn: Any) -> None:
            conn.execute("set timezone to 'UTC'")

        self._pool = ConnectionPool(
            self.database_url,
            min_size=1,
            max_size=self.pool_size,
            kwargs={"autocommit": True},
            configure=configure,
            open=True,
            name="supabase-peer",
        )
        self._serve(_Server, _Handler, "supabase-peer")
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and the pool (idempotent)."""
        self._shutdown()
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` - the project URL a user passes as ``SUPABASE_URL``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_url(self) -> str:
        """``<url>/rest/v1`` - postgrest's ``base_url``."""
        return self.url + REST_PREFIX

    @property
    def auth_url(self) -> str:
        """``<url>/auth/v1`` - supabase_auth's ``url``."""
        return self.url + AUTH_PREFIX

    # -- scripting

    def script(self, *faults: Fault) -> None:
        """Queue faults; each is consumed by the next request it matches."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def pending(self) -> int:
        """How many scripted faults are still queued."""
        with self._lock:
            return len(self._faults)

    def sleep(self, seconds: float) -> bool:
        """Sleep at most ``MAX_SLEEP``; False if the peer stopped meanwhile."""
        return not self._stopping.wait(max(0.0, min(float(seconds), MAX_SLEEP)))

    def expire_all_tokens(self) -> None:
        """Treat every access token issued so far as expired (PostgREST answers "JWT expired",
        GoTrue "token is expired"); tokens issued afterwards are unaffected. The API keys are not
        affected."""
        with self._lock:
            self._expired |= self._issued
            self._issued = set()

    def expire_token(self, token: str) -> None:
        """Treat one access token as expired."""
        with self._lock:
            self._expired.add(token.rsplit(".", 1)[-1])

    # -- conveniences for tests

    def sign_up(
        self, email: str, password: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Create a user as ``POST /auth/v1/signup`` does (no HTTP); returns the session JSON."""
        user = self._auth.create_user(email.lower(), password, data)
        return self._auth.issue_session(user)

    def session_for(self, user_id: uuid.UUID | str) -> dict[str, Any]:
        """A new session (access and refresh token) for an existing ``auth.users`` row."""
        user = self._auth.find_user(user_id=uuid.UUID(str(user_id)))
        if user is None:
            raise KeyError(f"no user {user_id}")
        return self._auth.issue_session(user)

    def access_token(self, user_id: uuid.UUID | str) -> str:
        """An access token for an existing ``auth.users`` row (a new session)."""
        return str(self.session_for(user_id)["access_token"])

    # -- recording

    def count(self, path_prefix: str = "", method: str | None = None) -> int:
        """How many requests had a path starting with ``path_prefix`` (and ``method``)."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if r.path.startswith(path_prefix) and (method is None or r.method == method.upper())
            )

    @property
    def counters(self) -> dict[str, int]:
        """A snapshot of the peer's counters (requests, rest, auth, faults, db.transactions,
        db.errors, auth.signup, auth.token.password, auth.token.refresh_token, auth.logout,
        auth.user, auth.refresh_token_reuse, rpc.<name>, ...)."""
        with self._lock:
            return dict(self._counters)

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        """The requests whose path starts with ``path_prefix`` (and ``method``)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(path_prefix) and (method is None or r.method == method.upper())
            ]

    def clear(self) -> None:
        """Forget recorded requests, counters and queued faults."""
        with self._lock:
            self.requests.clear()
            self._counters.clear()
            self._faults.clear()

    # -- internals

    def _bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counters[name] += n

    def _issue(self, claims: dict[str, Any]) -> str:
        """Sign an access token; ``claims`` may be moved a second on (``iat``, ``exp``) so that
        it differs from every token ``expire_all_tokens()`` expired - claims have one-second
        resolution, and a refresh right after expiring would otherwise mint the same bytes."""
        with self._lock:
            while True:
                token = sign_jwt(claims, self.jwt_secret)
                signature = token.rsplit(".", 1)[-1]
                if signature not in self._expired:
                    break
                claims["iat"] += 1
                claims["exp"] += 1
            self._issued.add(signature)
        return token

    def _is_expired(self, token: str) -> bool:
        with self._lock:
            return token.rsplit(".", 1)[-1] in self._expired

    def _key_claims(self, request: RecordedRequest) -> dict[str, Any] | None:
        key = request.headers.get("apikey") or (request.query.get("apikey") or [""])[0]
        if key == self.service_key:
            return unverified_claims(self.service_key)
        if key == self.anon_key:
            return unverified_claims(self.anon_key)
        return None

    def _handle(self, request: RecordedRequest, h: _Handler) -> _Response:
        with self._lock:
            self.requests.append(request)
            self._counters["requests"] += 1
            self._counters[request.area] += 1
            fault = next((f for f in self._faults if f.matches(request)), None)
            if fault is not None:
                self._faults.remove(fault)
                self._counters["faults"] += 1
        if fault is not None:
            outcome = fault.apply(self, h, request)
            if outcome is not None:
                return outcome
        key = request.headers.get("apikey") or (request.query.get("apikey") or [""])[0]
        if not key:
            return _json_response(
                401,
                {
                    "message": "No API key found in request",
                    "hint": "No `apikey` request header or url param was found.",
                },
            )
        if key not in (self.anon_key, self.service_key):
            return _json_response(
                401,
                {
                    "message": "Invalid API key",
                    "hint": "Double check your Supabase `anon` or `service_role` API key.",
                },
            )
        if request.area == "rest":
            return self._rest.handle(request)
        if request.area == "auth":
            return self._auth.handle(request)
        return _json_response(404, {"message": "no Route matched with those values"})
