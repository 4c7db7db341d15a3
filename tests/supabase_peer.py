"""A local stand-in for a Supabase project: what groqgen sends to PostgREST and Supabase Auth.

Pure standard library on the HTTP side (``http.server.ThreadingHTTPServer`` on 127.0.0.1, a random
free port, a daemon thread); the data lives in a REAL PostgreSQL database reached through a
``psycopg_pool`` pool, so row-level security, grants, constraints, triggers and the functions the
migrations install all behave as they do on Supabase::

    with SupabasePeer(database_url) as peer:
        client = groqgen.Client(supabase_url=peer.url, supabase_key=peer.anon_key, home=...)
        peer.script(rate_limited())   # the next Auth request is refused with GoTrue's 429
        peer.expire_all_tokens()      # every access token so far: expired

``peer.url`` is what a user passes as ``SUPABASE_URL``; ``peer.anon_key`` and ``peer.service_key``
are HS256 JWTs signed with ``jwt_secret`` (claims ``iss: supabase``, ``ref``, ``role``, ``iat``,
``exp``), like a project's legacy API keys.

Scope: exactly the requests groqgen makes - its Supabase store (``groqgen/stores/supabase.py``,
through ``postgrest``) and ``client.auth`` (``groqgen/auth.py``, through ``supabase_auth``), as
read there and as logged from the whole test suite on 2026-11-30. Anything else is refused
loudly rather than half-served: PostgREST requests with 400 ``PGRST100`` "The Supabase test peer
does not implement ...", Auth requests with 400 ``validation_failed`` "The Supabase test peer
does not implement ...". When groqgen starts sending something new, the peer grows here.

Where the wire format comes from: PostgREST/postgrest at tag v12.2.12 (``src/PostgREST/Error.hs``,
``RangeQuery.hs``, ``Response.hs``, ``Query/Statements.hs``, ``ApiRequest/QueryParams.hs``,
``Auth.hs``, ``docs/references/errors.rst``) and supabase/auth at main (``internal/api/errors.go``,
``apierrors/apierrors.go``, ``apiversions.go``, ``token.go``, ``tokens/service.go``,
``signup.go``, ``user.go``, ``logout.go``, ``auth.go``, ``models/refresh_token.go``,
``models/user.go``), both read on 2026-11-26 when the stand-in was first written (GoTrue was then
at v2.177.0); the 2026-11-30 trim kept those notes for what stayed and re-checked nothing else.

The gateway (Kong)
------------------
Every request needs an ``apikey`` header equal to the anon or the service key, else 401 with
Supabase's gateway bodies ``{"message":"No API key found in request","hint":"No `apikey` request
header or url param was found."}`` and ``{"message":"Invalid API key","hint":"Double check your
Supabase `anon` or `service_role` API key."}`` (both quoted verbatim in public issue threads:
supabase-community/supabase-csharp#108, s0ooo0k/TIL#22). Scripted faults are applied *before*
this check, as if injected at the edge.

PostgREST (``/rest/v1``), v12
-----------------------------
* Identity: ``Authorization: Bearer <jwt>`` is verified (HS256 signature, ``exp``); its ``role``
  claim becomes the role and its claims ``request.jwt.claims``. Without a bearer token the role is
  ``anon`` with no claims, as PostgREST does. Refused tokens: 401 with ``WWW-Authenticate: Bearer
  error="invalid_token", error_description="..."`` and ``{"code":"PGRST301","details":null,
  "hint":null,"message":"JWT expired"}`` (v12 has no PGRST303: ``jwtClaimsError JWT.JWTExpired =
  JwtTokenInvalid "JWT expired"`` -> PGRST301), ``"JWSError JWSInvalidSignature"`` for a bad
  signature, ``"JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got N)"``.
  Real PostgREST allows 30 s of clock skew (``allowedSkew 30``); the peer allows none, so that
  ``access_token_ttl`` takes effect exactly.
* Each request is one transaction on a pooled connection, as PostgREST runs it: ``BEGIN ISOLATION
  LEVEL READ COMMITTED [READ ONLY]``, then ``select set_config('search_path', ...),
  set_config('role', <role>, true), set_config('request.jwt.claims', <claims>, true),
  set_config('request.method', ...), set_config('request.path', ...), set_config('request.headers',
  ...), set_config('request.cookies', ...)``, the statement, ``COMMIT``. GET/HEAD and calls of
  STABLE/IMMUTABLE functions are READ ONLY (``Plan.hs``: ``crTxMode``). Statements follow
  ``Statements.hs``: ``WITH pgrst_source AS (...) SELECT ..., pg_catalog.count(_postgrest_t),
  coalesce(json_agg(_postgrest_t), '[]') ...``, so bodies are PostgreSQL's own JSON text, as
  PostgREST sends it (``json_agg`` separates rows with ``", \\n "``).
* ``Accept-Profile``/``Content-Profile`` (postgrest-py sends ``public``): another schema -> 406
  PGRST106. ``Accept`` must be ``*/*`` or ``application/json`` (no ``.single()``).
* Reads (GET, HEAD): ``select=*``; filters ``col=eq.v`` and ``col=lte.v``; the logic tree
  ``or=(a.lt."v",and(a.eq."v",b.lt."w"))`` with ``eq``/``lt``/``lte``, nested ``and(...)``/
  ``or(...)`` and double-quoted values with backslash escapes (``pLogicTree``, ``pQuotedValue``);
  ``order=a.desc,b.desc`` (``.asc``/``.desc``); ``limit``. ``Content-Range`` and the status follow
  ``RangeQuery.rangeStatusHeader``: ``0-9/*`` without a count; with ``Prefer: count=exact``
  ``0-24/25`` and 200 when the page is everything, 206 when it is less, ``*/0`` when nothing
  matched. HEAD answers the same headers without a body. ``Content-Location`` and
  ``Preference-Applied: count=exact`` as ``Response.hs``.
* Writes: POST of one JSON object, PATCH of one JSON object and DELETE, filtered as reads are;
  ``Prefer: return=representation`` -> 201 (POST) / 200 with the rows, else 201 / 204 empty.
  ``Content-Range`` ``*/*`` (insert, delete) and ``0-(n-1)/*`` (update); ``Preference-Applied:
  return=...``. Unknown payload columns -> 400 PGRST204; bad JSON -> 400 PGRST102 "Empty or
  invalid json". PATCH/DELETE without a filter -> 400 ``21000`` "UPDATE/DELETE requires a WHERE
  clause": Supabase loads pg-safeupdate for PostgREST (from its docs as remembered, not
  re-verified).
* RPC: ``POST /rest/v1/rpc/{fn}`` with named JSON arguments, any function in schema ``public``
  looked up in ``pg_proc`` on every call (no schema cache to reload) and called as PostgREST does,
  ``fn("a" := _."a", ...) FROM json_to_record($1) AS _("a" type, ...)``. A scalar (``jsonb``)
  result is that JSON value; ``returns table``/``setof`` an array of rows. No match -> 404
  PGRST202 "Could not find the function public.fn(a, b) in the schema cache" (v12's shape).
* Errors: ``{"code","details","hint","message"}`` (keys in that order: aeson sorts them) with the
  status map of ``pgErrorStatus`` (42501 -> 403 when the role is not anon, else 401 with
  ``WWW-Authenticate: Bearer``; 23505/23503 -> 409; 42P01/42883 -> 404; P0001 and other classes ->
  400; 08/53 -> 503; ...). A database error without a SQLSTATE -> 503 PGRST001.

Supabase Auth (``/auth/v1``)
----------------------------
* ``POST /signup`` (autoconfirm, as a project with "Confirm email" off): inserts into
  ``auth.users`` (id, email, ``raw_user_meta_data`` = ``data`` plus ``sub``, ``email``,
  ``email_verified``, ``phone_verified``; ``raw_app_meta_data`` = ``{"provider":"email",
  "providers":["email"]}``) - the migration's trigger then creates the profile - and answers a
  session. Password hashes, sessions and refresh tokens are kept in memory. Weak password -> 422
  ``weak_password`` "Password should be at least 6 characters." with ``weak_password:
  {"reasons": ["length"]}``; duplicate email -> 422 ``user_already_exists`` "User already
  registered"; a malformed address -> 400 ``validation_failed``.
* ``POST /token?grant_type=password`` -> session; unknown email or a wrong password -> 400
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
* ``GET /user`` (Bearer) -> the user; ``POST /logout?scope=global`` -> 204, deleting every
  session of the user and their refresh tokens. Bearer problems follow ``auth.go``: 401
  ``no_authorization`` without one, 403 ``bad_jwt`` "invalid JWT: unable to parse or verify
  signature, token has invalid claims: token is expired" (golang-jwt v5 wording), 403
  ``session_not_found`` after logout.
* Error bodies in the shape of API version 2024-01-01 (``errors.go``), which supabase_auth always
  asks for with ``X-Supabase-Api-Version``: ``{"code":"invalid_credentials","message":"..."}``,
  the version header echoed back (the client only reads ``code`` when it sees it) and
  ``x-sb-error-code``. (GoTrue answers older clients ``{"code":400,"error_code":...,"msg":...}``;
  the peer does not.) A scripted ``status(429)`` under ``/auth/v1`` gets GoTrue's
  ``over_request_rate_limit`` "Request rate limit reached".
* Access tokens: HS256, ``{"alg":"HS256","typ":"JWT"}``, claims as ``AccessTokenClaims``: ``iss``
  (``<url>/auth/v1``), ``sub``, ``aud: authenticated``, ``exp``, ``iat``, ``email``, ``phone``,
  ``app_metadata``, ``user_metadata``, ``role: authenticated``, ``aal: aal1``, ``amr``,
  ``session_id``, ``is_anonymous``. Session JSON as ``AccessTokenResponse``: ``access_token``,
  ``token_type: bearer``, ``expires_in``, ``expires_at``, ``refresh_token``, ``user``. Times are
  RFC 3339 in UTC with ``Z``, as Go writes ``time.Time``.

Guessed, not verified: the default body of a scripted fault other than a PostgREST 503
(``PGRST002``) or an Auth 429 (``{"message": <HTTP reason phrase>}`` / ``unexpected_failure``).

Faults (``peer.script(...)``) are consumed by the next request whose path starts with their
``path_prefix``, each once: ``status()`` answers without touching the database,
``lost_response()`` does the work (and commits it) then drops the connection with a TCP reset -
the "did my write happen?" case.
"""

from __future__ import annotations

import base64
import contextlib
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
from http import HTTPStatus
from typing import Any

from tests.http_peer import ConnectionBook, PeerHandler, PeerServer

__all__ = [
    "DEFAULT_JWT_SECRET",
    "Fault",
    "JwtError",
    "LostResponse",
    "RecordedRequest",
    "Status",
    "SupabasePeer",
    "decode_jwt",
    "lost_response",
    "rate_limited",
    "sign_jwt",
    "status",
]

DEFAULT_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters"
REST_PREFIX = "/rest/v1"
AUTH_PREFIX = "/auth/v1"
SCHEMA = "public"
API_VERSION_2024 = "2024-01-01"
PASSWORD_MIN_LENGTH = 6  # GoTrue's default
POOL_SIZE = 8

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
    """Why a token was refused: ``reason`` is parts, malformed, signature or expired."""

    def __init__(self, reason: str, parts: int = 3) -> None:
        super().__init__(reason)
        self.reason = reason
        self.parts = parts


def decode_jwt(token: str, secret: str) -> dict[str, Any]:
    """Verify an HS256 token (signature and ``exp``, no leeway) and return its claims."""
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
    expected = hmac.new(
        secret.encode(), (parts[0] + "." + parts[1]).encode("ascii"), hashlib.sha256
    ).digest()
    if header.get("alg") != "HS256" or not hmac.compare_digest(signature, expected):
        raise JwtError("signature")
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, (int, float)) or isinstance(exp, bool)):
        raise JwtError("malformed")
    if exp is not None and time.time() > exp:
        raise JwtError("expired")
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


# ---------------------------------------------------------------------------------- faults


@dataclass
class Fault:
    """A scripted misbehaviour, consumed by the next request whose path starts with
    ``path_prefix`` (any request when None)."""

    path_prefix: str | None = field(default=None, kw_only=True)

    def matches(self, request: RecordedRequest) -> bool:
        return self.path_prefix is None or request.path.startswith(self.path_prefix)


@dataclass
class Status(Fault):
    """Answer ``code`` at once; ``body`` (JSON-ready) defaults to the area's error."""

    code: int = 500
    body: Any = None

    def response(self, request: RecordedRequest) -> _Response:
        if self.body is None:
            return _default_fault_response(self.code, request)
        return _json_response(self.code, self.body)


@dataclass
class LostResponse(Fault):
    """Handle the request normally (a write commits), then reset the connection unanswered."""


def status(code: int, body: Any = None, path_prefix: str | None = None) -> Status:
    """Answer HTTP ``code`` (default body: PostgREST's or GoTrue's error for the path's area)."""
    return Status(code, body, path_prefix=path_prefix)


def rate_limited(path_prefix: str | None = AUTH_PREFIX) -> Status:
    """GoTrue's 429 ``over_request_rate_limit`` (for requests under ``path_prefix``)."""
    return Status(429, path_prefix=path_prefix)


def lost_response(path_prefix: str | None = None) -> LostResponse:
    """Do the work (a write commits), then drop the connection before answering."""
    return LostResponse(path_prefix=path_prefix)


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"HTTP {code}"


def _default_fault_response(code: int, request: RecordedRequest) -> _Response:
    if request.area == "auth":
        error_code, message = {
            429: ("over_request_rate_limit", "Request rate limit reached"),
        }.get(code, ("unexpected_failure", _reason(code)))
        return _auth_error_response(request, code, error_code, message)
    if request.area == "rest" and code == 503:
        error = _RestError(
            503, "PGRST002", "Could not query the database for the schema cache. Retrying."
        )
        return error.response()
    return _json_response(code, {"message": _reason(code)})


# ============================================================================== PostgREST


class _RestError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        hint: Any = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = list(headers or [])

    def response(self) -> _Response:
        payload = {
            "code": self.code,
            "details": self.details,
            "hint": self.hint,
            "message": self.message,
        }
        return _json_response(self.status, payload, self.headers)


def _unsupported(what: str) -> _RestError:
    return _RestError(400, "PGRST100", f"The Supabase test peer does not implement {what}")


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
    return prefixes.get(code[:2], 400)


def _pg_error(exc: Exception, authed: bool) -> _RestError:
    diag = getattr(exc, "diag", None)
    code = getattr(diag, "sqlstate", None) or ""
    message = getattr(diag, "message_primary", None) or str(exc).strip()
    if not code:
        return _RestError(
            503, "PGRST001", "Database client error. Retrying the connection.", str(exc).strip()
        )
    details = getattr(diag, "message_detail", None)
    hint = getattr(diag, "message_hint", None)
    status_code = _pg_status(code, message, authed)
    headers = [("WWW-Authenticate", "Bearer")] if status_code == 401 else []
    return _RestError(status_code, code, message, details, hint, headers)


# -- the query string groqgen sends (ApiRequest/QueryParams.hs, the part of it in use) ------------

_COLUMN = r"[A-Za-z_][A-Za-z0-9_]*"
_OPERATORS = {"eq": "=", "lt": "<", "lte": "<="}
_CONDITION_RE = re.compile(rf"({_COLUMN})\.(eq|lte|lt)\.")
_ORDER_RE = re.compile(rf"({_COLUMN})(?:\.(asc|desc))?")


@dataclass
class _Condition:
    column: str
    op: str
    value: str


@dataclass
class _Logic:
    op: str  # AND / OR
    children: list[_Condition | _Logic]


class _LogicTree:
    """``pLogicTree`` for ``or=(...)``: conditions and nested ``and(...)``/``or(...)``."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def parse(self) -> _Logic:
        tree = self.node()
        if self.i != len(self.s) or not isinstance(tree, _Logic):
            raise _unsupported(f"the logic tree {self.s[2:]}")
        return tree

    def node(self) -> _Condition | _Logic:
        for op in ("and", "or"):
            if self.s.startswith(op + "(", self.i):
                self.i += len(op) + 1
                children = [self.node()]
                while self.s.startswith(",", self.i):
                    self.i += 1
                    children.append(self.node())
                if not self.s.startswith(")", self.i):
                    raise _unsupported(f"the logic tree {self.s[2:]}")
                self.i += 1
                return _Logic(op.upper(), children)
        match = _CONDITION_RE.match(self.s, self.i)
        if not match:
            raise _unsupported(f"the condition {self.s[self.i :]!r} in a logic tree")
        self.i = match.end()
        return _Condition(match.group(1), match.group(2), self.value())

    def value(self) -> str:
        """A double-quoted value with backslash escapes (``pQuotedValue``), or bare text."""
        if not self.s.startswith('"', self.i):
            start = self.i
            while self.i < len(self.s) and self.s[self.i] not in ",)":
                self.i += 1
            return self.s[start : self.i]
        out = []
        self.i += 1
        while self.i < len(self.s):
            ch = self.s[self.i]
            self.i += 1
            if ch == '"':
                return "".join(out)
            if ch == "\\" and self.i < len(self.s):
                ch = self.s[self.i]
                self.i += 1
            out.append(ch)
        raise _unsupported(f"the unterminated value in the logic tree {self.s[2:]}")


@dataclass
class _Query:
    conditions: list[_Condition | _Logic] = field(default_factory=list)
    order: list[tuple[str, str | None]] = field(default_factory=list)
    limit: int | None = None

    def where(self, qualifier: str, params: list[Any]) -> str:
        if not self.conditions:
            return ""
        return " WHERE " + " AND ".join(_where_sql(c, qualifier, params) for c in self.conditions)

    def order_sql(self, qualifier: str) -> str:
        terms = [
            f"{qualifier}.{_ident(column)}" + (f" {direction.upper()}" if direction else "")
            for column, direction in self.order
        ]
        return (" ORDER BY " + ", ".join(terms)) if terms else ""

    def limit_sql(self) -> str:
        return "" if self.limit is None else f" LIMIT {int(self.limit)}"


def _parse_query(pairs: list[tuple[str, str]]) -> _Query:
    query = _Query()
    for key, value in pairs:
        if key == "select":
            if value not in ("", "*"):
                raise _unsupported(f"select={value} (only select=*)")
        elif key == "order":
            for term in value.split(","):
                match = _ORDER_RE.fullmatch(term)
                if not match:
                    raise _unsupported(f"order={value}")
                query.order.append((match.group(1), match.group(2)))
        elif key == "limit":
            if not value.isdigit():
                raise _unsupported(f"limit={value}")
            query.limit = int(value)
        elif key == "or":
            query.conditions.append(_LogicTree("or" + value).parse())
        elif re.fullmatch(_COLUMN, key):
            op, dot, operand = value.partition(".")
            if op not in ("eq", "lte") or not dot:
                raise _unsupported(f"the filter {key}={value} (only eq and lte)")
            query.conditions.append(_Condition(key, op, operand))
        else:
            raise _unsupported(f"the query parameter {key}")
    return query


# -- SQL rendering -------------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""').replace("%", "%%") + '"'


def _where_sql(node: _Condition | _Logic, qualifier: str, params: list[Any]) -> str:
    if isinstance(node, _Condition):
        params.append(node.value)
        return f"{qualifier}.{_ident(node.column)} {_OPERATORS[node.op]} %s"
    return "(" + f" {node.op} ".join(_where_sql(c, qualifier, params) for c in node.children) + ")"


# -- request context -----------------------------------------------------------------------------


@dataclass
class _Identity:
    role: str
    claims: dict[str, Any]

    @property
    def authed(self) -> bool:
        return self.role != "anon"


_PREFERENCES = {("return", "representation"), ("return", "minimal"), ("count", "exact")}


def _prefer(headers: dict[str, str]) -> dict[str, str]:
    prefs: dict[str, str] = {}
    for item in headers.get("prefer", "").split(","):
        key, eq, value = item.strip().partition("=")
        if eq:
            prefs.setdefault(key.strip().lower(), value.strip())
    for key, value in prefs.items():
        if (key, value) not in _PREFERENCES:
            raise _unsupported(f"Prefer: {key}={value}")
    return prefs


def _content_range(lower: int, upper: int, total: int | None) -> str:
    """``RangeQuery.contentRangeH``."""
    total_text = "*" if total is None else str(total)
    if total != 0 and lower <= upper:
        return f"{lower}-{upper}/{total_text}"
    return f"*/{total_text}"


def _range_status(page: int, total: int | None) -> int:
    """``RangeQuery.rangeStatusHeader`` for a range starting at 0."""
    return 206 if total is not None and page < total else 200


def _applied(prefs: dict[str, str], keys: tuple[str, ...]) -> list[tuple[str, str]]:
    values = [f"{k}={prefs[k]}" for k in keys if k in prefs]
    return [("Preference-Applied", ", ".join(values))] if values else []


def _canonical(request: RecordedRequest) -> str:
    pairs = urllib.parse.parse_qsl(request.raw_query, keep_blank_values=True)
    return urllib.parse.urlencode(sorted(pairs, key=lambda kv: kv[0]))


_JWT_MESSAGES = {
    "expired": "JWT expired",
    "signature": "JWSError JWSInvalidSignature",
    "malformed": "JWSError (CompactDecodeError Invalid base64url or JSON)",
}


class _Rest:
    """The PostgREST subset, over the peer's pool."""

    def __init__(self, peer: SupabasePeer) -> None:
        self.peer = peer

    def identity(self, request: RecordedRequest) -> _Identity:
        token = request.bearer
        if not token:
            return _Identity("anon", {})
        try:
            claims = decode_jwt(token, self.peer.jwt_secret)
            if self.peer._is_expired(token):
                raise JwtError("expired")
        except JwtError as exc:
            message = _JWT_MESSAGES.get(exc.reason) or (
                "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; "
                f"got {exc.parts})"
            )
            header = f'Bearer error="invalid_token", error_description={json.dumps(message)}'
            raise _RestError(
                401, "PGRST301", message, headers=[("WWW-Authenticate", header)]
            ) from exc
        role = claims.get("role") or "anon"
        return _Identity(str(role), claims)

    # -- entry point

    def handle(self, request: RecordedRequest) -> _Response:
        try:
            return self._handle(request)
        except _RestError as exc:
            return exc.response()

    def _handle(self, request: RecordedRequest) -> _Response:
        identity = self.identity(request)
        segments = [s for s in request.path[len(REST_PREFIX) :].split("/") if s]
        method = request.method
        header = "content-profile" if method in ("POST", "PATCH", "DELETE") else "accept-profile"
        profile = request.headers.get(header)
        if profile is not None and profile != SCHEMA:
            raise _RestError(406, "PGRST106", f"The schema must be one of the following: {SCHEMA}")
        accept = request.headers.get("accept", "").strip()
        if accept not in ("", "*/*", "application/json"):
            raise _unsupported(f"Accept: {accept}")
        if len(segments) == 2 and segments[0] == "rpc":
            if method != "POST" or request.raw_query:
                raise _unsupported(f"{method} /rpc/{segments[1]}?{request.raw_query}")
            return self._rpc(request, identity, segments[1], _prefer(request.headers))
        if len(segments) != 1:
            raise _unsupported(request.path)
        query = _parse_query(urllib.parse.parse_qsl(request.raw_query, keep_blank_values=True))
        prefs = _prefer(request.headers)
        if method in ("GET", "HEAD"):
            return self._read(request, identity, segments[0], query, prefs)
        if method == "POST":
            return self._insert(request, identity, segments[0], query, prefs)
        if method in ("PATCH", "DELETE"):
            return self._mutate(request, identity, segments[0], query, prefs)
        raise _unsupported(f"the {method} method")

    # -- transactions

    def _run(
        self,
        request: RecordedRequest,
        identity: _Identity,
        sql: str,
        params: list[Any],
        *,
        read_only: bool,
        check: Callable[[Any], None] | None = None,
    ) -> Any:
        """Run ``sql`` in one transaction as PostgREST does and return its one row;
        ``check(conn)`` runs first, in the same transaction."""
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
                    if check is not None:
                        check(conn)
                    row = conn.execute(sql, params).fetchone()
                except BaseException:
                    with contextlib.suppress(Exception):
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return row
        except psycopg.Error as exc:
            peer._bump("db.errors")
            raise _pg_error(exc, identity.authed) from exc

    @staticmethod
    def _known_columns(table: str, columns: list[str]) -> Callable[[Any], None]:
        """A check that every payload key is a column of ``table`` (PGRST204 if not)."""

        def check(conn: Any) -> None:
            row = conn.execute("select to_regclass(%s)::oid", [f"{SCHEMA}.{table}"]).fetchone()
            if row is None or row[0] is None:
                return  # the statement itself fails with 42P01
            known = {
                r[0]
                for r in conn.execute(
                    "select attname from pg_attribute where attrelid = %s and attnum > 0 "
                    "and not attisdropped",
                    [row[0]],
                ).fetchall()
            }
            for column in columns:
                if column not in known:
                    raise _RestError(
                        400,
                        "PGRST204",
                        f"Could not find the '{column}' column of '{table}' in the schema cache",
                    )

        return check

    @staticmethod
    def _payload(request: RecordedRequest) -> dict[str, Any]:
        try:
            payload = json.loads(request.body)
        except ValueError as exc:
            raise _RestError(400, "PGRST102", "Empty or invalid json") from exc
        if not isinstance(payload, dict):
            raise _unsupported("a JSON body other than one object (bulk writes)")
        return payload

    # -- GET / HEAD

    def _read(
        self,
        request: RecordedRequest,
        identity: _Identity,
        table: str,
        query: _Query,
        prefs: dict[str, str],
    ) -> _Response:
        target = f"{_ident(SCHEMA)}.{_ident(table)}"
        params: list[Any] = []
        source = (
            f"SELECT {target}.* FROM {target}{query.where(target, params)}"
            f"{query.order_sql(target)}{query.limit_sql()}"
        )
        count_cte, total_sql = "", "null::bigint"
        if prefs.get("count") == "exact":
            count_cte = (
                f", pgrst_source_count AS (SELECT 1 FROM {target}{query.where(target, params)})"
            )
            total_sql = "(SELECT pg_catalog.count(*) FROM pgrst_source_count)"
        sql = (
            f"WITH pgrst_source AS ({source}){count_cte} SELECT {total_sql} AS total_result_set, "
            "pg_catalog.count(_postgrest_t) AS page_total, "
            "coalesce(json_agg(_postgrest_t), '[]')::text AS body "
            "FROM (SELECT * FROM pgrst_source) _postgrest_t"
        )
        total, page, body = self._run(request, identity, sql, params, read_only=True)
        headers = [
            ("Content-Range", _content_range(0, page - 1, total)),
            (
                "Content-Location",
                "/" + table + ("?" + _canonical(request) if request.raw_query else ""),
            ),
            *_applied(prefs, ("count",)),
        ]
        return _Response(_range_status(page, total), body.encode(), headers)

    # -- POST / PATCH / DELETE

    @staticmethod
    def _mutation_sql(mutation: str, representation: bool) -> str:
        body = "coalesce(json_agg(_postgrest_t), '[]')::text" if representation else "''"
        return (
            f"WITH pgrst_source AS ({mutation}) SELECT pg_catalog.count(_postgrest_t) AS "
            f"page_total, {body} AS body FROM (SELECT * FROM pgrst_source) _postgrest_t"
        )

    def _insert(
        self,
        request: RecordedRequest,
        identity: _Identity,
        table: str,
        query: _Query,
        prefs: dict[str, str],
    ) -> _Response:
        if query.conditions or query.order or query.limit is not None:
            raise _unsupported("filters, order or limit on an insert")
        row = self._payload(request)
        columns = sorted(row)
        representation = prefs.get("return") == "representation"
        target = f"{_ident(SCHEMA)}.{_ident(table)}"
        returning = f" RETURNING {target}.*" if representation else " RETURNING 1"
        params: list[Any] = []
        if columns:
            params.append(json.dumps([row]))
            mutation = (
                f"INSERT INTO {target}({', '.join(_ident(c) for c in columns)}) "
                f"SELECT {', '.join(f'pgrst_body.{_ident(c)}' for c in columns)} "
                f"FROM json_populate_recordset(null::{target}, %s::json) pgrst_body{returning}"
            )
        else:
            mutation = f"INSERT INTO {target} DEFAULT VALUES{returning}"
        _page, body = self._run(
            request,
            identity,
            self._mutation_sql(mutation, representation),
            params,
            read_only=False,
            check=self._known_columns(table, columns),
        )
        headers = [("Content-Range", "*/*"), *_applied(prefs, ("return",))]
        if representation:
            return _Response(201, body.encode(), headers)
        return _Response(201, b"", headers, None)

    def _mutate(
        self,
        request: RecordedRequest,
        identity: _Identity,
        table: str,
        query: _Query,
        prefs: dict[str, str],
    ) -> _Response:
        is_delete = request.method == "DELETE"
        if query.order or query.limit is not None:
            raise _unsupported("order or limit on an update or delete (limited updates)")
        payload = {} if is_delete else self._payload(request)
        columns = sorted(payload)
        if not query.conditions and (is_delete or columns):
            # pg-safeupdate, as Supabase loads it for PostgREST
            verb = "DELETE" if is_delete else "UPDATE"
            raise _RestError(400, "21000", f"{verb} requires a WHERE clause")
        representation = prefs.get("return") == "representation"
        target = f"{_ident(SCHEMA)}.{_ident(table)}"
        returning = f" RETURNING {target}.*" if representation else " RETURNING 1"
        params: list[Any] = []
        if is_delete:
            mutation = f"DELETE FROM {target}{query.where(target, params)}{returning}"
        elif not columns:
            mutation = f"SELECT * FROM {target} WHERE false"
        else:
            params.append(json.dumps(payload))
            sets = ", ".join(f"{_ident(c)} = pgrst_body.{_ident(c)}" for c in columns)
            mutation = (
                f"UPDATE {target} SET {sets} FROM (SELECT * FROM json_populate_record("
                f"null::{target}, %s::json)) pgrst_body{query.where(target, params)}{returning}"
            )
        page, body = self._run(
            request,
            identity,
            self._mutation_sql(mutation, representation),
            params,
            read_only=False,
            check=None if is_delete else self._known_columns(table, columns),
        )
        content_range = "*/*" if is_delete else _content_range(0, page - 1, None)
        headers = [("Content-Range", content_range), *_applied(prefs, ("return",))]
        if representation:
            return _Response(200, body.encode(), headers)
        return _Response(204, b"", headers, None)

    # -- RPC

    def _rpc(
        self, request: RecordedRequest, identity: _Identity, name: str, prefs: dict[str, str]
    ) -> _Response:
        args = self._payload(request) if request.body.strip() else {}
        self.peer._bump(f"rpc.{name}")
        function = self._find_function(name, sorted(args))
        target = f"{_ident(SCHEMA)}.{_ident(name)}"
        inputs = [(n, t) for n, t in function["inputs"] if n in args]
        call_args = ", ".join(f"{_ident(n)} := _.{_ident(n)}" for n, _t in inputs)
        params: list[Any] = []
        from_args = ""
        if inputs:
            params.append(json.dumps({n: args[n] for n, _t in inputs}))
            record = ", ".join(f"{_ident(n)} {t}" for n, t in inputs)
            from_args = f" FROM json_to_record(%s::json) AS _({record})"
        if function["rows"]:
            call = (
                f"SELECT pgrst_call.*{from_args}, LATERAL {target}({call_args}) pgrst_call"
                if from_args
                else f"SELECT pgrst_call.* FROM {target}() pgrst_call"
            )
            body_sql = "coalesce(json_agg(_postgrest_t), '[]')::text"
        else:
            call = f"SELECT {target}({call_args}) AS pgrst_scalar{from_args}"
            body_sql = "coalesce(json_agg(_postgrest_t.pgrst_scalar)->0, 'null')::text"
        sql = (
            f"WITH pgrst_source AS ({call}) SELECT pg_catalog.count(_postgrest_t) AS page_total, "
            f"{body_sql} AS body FROM (SELECT * FROM pgrst_source) _postgrest_t"
        )
        read_only = function["volatility"] in ("s", "i")
        page, body = self._run(request, identity, sql, params, read_only=read_only)
        headers = [("Content-Range", _content_range(0, page - 1, None))]
        return _Response(200, body.encode(), headers)

    def _find_function(self, name: str, keys: list[str]) -> dict[str, Any]:
        """The one function ``public.name`` taking exactly ``keys`` (defaults may be left out)."""
        with self.peer._pool.connection() as conn:
            rows = conn.execute(
                """
                select p.provolatile, p.proretset, t.typtype, t.typname, p.pronargdefaults,
                       coalesce(p.proargnames, '{}'::text[]),
                       coalesce(p.proargmodes::text[], '{}'::text[]),
                       array(select format_type(u.t, null)
                             from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]))
                                  with ordinality as u(t, n) order by u.n)
                from pg_proc p
                join pg_namespace n on n.oid = p.pronamespace
                join pg_type t on t.oid = p.prorettype
                where n.nspname = %s and p.proname = %s and p.prokind = 'f'
                """,
                [SCHEMA, name],
            ).fetchall()
        candidates = []
        for volatility, retset, typtype, typname, ndefaults, names, modes, types in rows:
            modes = list(modes) or ["i"] * len(types)
            inputs = [
                (names[i] if i < len(names) else "", types[i])
                for i in range(len(types))
                if modes[i] in ("i", "b", "v")
            ]
            required = {n for n, _t in inputs[: len(inputs) - ndefaults]}
            if any(not n for n, _t in inputs):
                continue  # an unnamed parameter: not callable with named arguments
            if not set(keys) <= {n for n, _t in inputs} or not required <= set(keys):
                continue
            rows = typtype == "c" or typname == "record"
            if retset != rows or typname == "void":
                kind = f"setof {typname}" if retset else typname
                raise _unsupported(f"calling {SCHEMA}.{name}, which returns {kind}")
            candidates.append({"inputs": inputs, "volatility": volatility, "rows": rows})
        if len(candidates) > 1:
            raise _unsupported(f"overloaded functions ({SCHEMA}.{name})")
        if candidates:
            return candidates[0]
        func = f"{SCHEMA}.{name}"
        listed = ", ".join(keys)
        with_params = (
            f" with parameter{'s' if len(keys) > 1 else ''} {listed}"
            if keys
            else " without parameters"
        )
        raise _RestError(
            404,
            "PGRST202",
            f"Could not find the function {func}"
            f"{f'({listed})' if keys else ' without parameters'} in the schema cache",
            f"Searched for the function {func}{with_params} or with a single unnamed json/jsonb "
            "parameter, but no matches were found in the schema cache.",
        )


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


def _auth_error_response(
    request: RecordedRequest,
    status_code: int,
    code: str,
    message: str,
    reasons: list[str] | None = None,
) -> _Response:
    """GoTrue's ``HandleResponseError`` (API version 2024-01-01) for an ``HTTPError`` or a
    ``WeakPasswordError``."""
    headers: list[tuple[str, str]] = []
    if request.headers.get("x-supabase-api-version", "") >= API_VERSION_2024:
        headers.append(("X-Supabase-Api-Version", API_VERSION_2024))
    payload: dict[str, Any] = {"code": code, "message": message}
    if reasons is not None:
        payload["weak_password"] = {"reasons": reasons}
    else:
        headers.append(("x-sb-error-code", code))
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


@dataclass
class _RefreshToken:
    seq: int
    token: str
    session_id: uuid.UUID
    parent: str | None
    updated_at: float
    revoked: bool = False


@dataclass
class _UserExtra:
    confirmed_at: float
    last_sign_in_at: float | None = None
    identity_id: uuid.UUID = field(default_factory=uuid.uuid4)


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
            return _auth_error_response(request, exc.status, exc.code, exc.message, exc.reasons)
        if response.content_type == _JSON:
            response.content_type = "application/json"  # Go's sendJSON: no charset
        return response

    def _handle(self, request: RecordedRequest) -> _Response:
        route = request.path[len(AUTH_PREFIX) :].rstrip("/") or "/"
        method = request.method
        if route == "/signup" and method == "POST":
            self.peer._bump("auth.signup")
            return self.signup(request)
        if route == "/token" and method == "POST":
            grant = (request.query.get("grant_type") or [""])[0]
            if grant == "password":
                self.peer._bump("auth.token.password")
                return self.password_grant(request)
            if grant == "refresh_token":
                self.peer._bump("auth.token.refresh_token")
                return self.refresh_grant(request)
            raise _AuthError(
                400, "validation_failed", f"The Supabase test peer does not implement {grant=}"
            )
        if route == "/user" and method == "GET":
            self.peer._bump("auth.user")
            _claims, user, _session = self.authenticate(request)
            return _json_response(200, self.user_json(user))
        if route == "/logout" and method == "POST":
            self.peer._bump("auth.logout")
            return self.logout(request)
        if route in ("/signup", "/token", "/user", "/logout"):
            raise _AuthError(
                405, "validation_failed", f"The Supabase test peer does not implement {method}"
            )
        raise _AuthError(
            404, "validation_failed", f"The Supabase test peer does not implement {route}"
        )

    @staticmethod
    def _params(request: RecordedRequest) -> dict[str, Any]:
        return request.json if isinstance(request.json, dict) else {}

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
        if extra:
            data["email_confirmed_at"] = _go_time(extra.confirmed_at)
        data["phone"] = ""
        if extra:
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
                    "last_sign_in_at": _go_time(extra.confirmed_at),
                    "created_at": _go_time(extra.confirmed_at),
                    "updated_at": _go_time(extra.confirmed_at),
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

    def create_user(self, email: str, password: str, data: dict[str, Any]) -> dict[str, Any]:
        import psycopg

        user_id = uuid.uuid4()
        metadata = dict(data)
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
        with self.lock:
            self.passwords[user_id] = self._hash(password)
            self.extra[user_id] = _UserExtra(confirmed_at=time.time())
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
                parent,
                time.time(),
            )
            self.tokens[token.token] = token
            extra = self.extra.get(user_id)
            if extra is not None:
                extra.last_sign_in_at = time.time()
        return token

    def issue_session(self, user: dict[str, Any]) -> dict[str, Any]:
        session = _Session(uuid.uuid4(), user["id"], time.time())
        with self.lock:
            self.sessions[session.id] = session
        token = self._new_refresh_token(session.id, user["id"], None)
        return self.session_json(user, session, token.token)

    def session_json(
        self, user: dict[str, Any], session: _Session, refresh_token: str
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
            "amr": [{"method": "password", "timestamp": int(session.created_at)}],
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
        email = params.get("email")
        password = params.get("password") or ""
        if not password:
            raise _AuthError(400, "validation_failed", "Signup requires a valid password")
        if len(password) < PASSWORD_MIN_LENGTH:
            raise _AuthError(
                422,
                "weak_password",
                f"Password should be at least {PASSWORD_MIN_LENGTH} characters.",
                reasons=["length"],
            )
        if not isinstance(email, str) or not _EMAIL_RE.match(email):
            raise _AuthError(
                400, "validation_failed", "Unable to validate email address: invalid format"
            )
        email = email.lower()
        data = params.get("data") if isinstance(params.get("data"), dict) else {}
        with self.lock:  # one sign-up at a time: the e-mail check and the insert go together
            if self.find_user(email=email) is not None:
                raise _AuthError(422, "user_already_exists", "User already registered")
            user = self.create_user(email, password, data or {})
        return _json_response(200, self.issue_session(user))

    def password_grant(self, request: RecordedRequest) -> _Response:
        params = self._params(request)
        invalid = _AuthError(400, "invalid_credentials", "Invalid login credentials")
        user = self.find_user(email=str(params.get("email") or ""))
        if user is None:
            raise invalid
        with self.lock:
            stored = self.passwords.get(user["id"])
        password = str(params.get("password") or "")
        if stored is None or not hmac.compare_digest(self._hash(password, stored[0])[1], stored[1]):
            raise invalid
        return _json_response(200, self.issue_session(user))

    def refresh_grant(self, request: RecordedRequest) -> _Response:
        value = str(self._params(request).get("refresh_token") or "")
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
                    issued = active.token  # the answer to the previous refresh was lost
                elif now > token.updated_at + self.peer.refresh_token_reuse_interval:
                    for other in self.tokens.values():
                        if other.session_id == session.id and not other.revoked:
                            other.revoked = True
                            other.updated_at = now
                    self.peer._bump("auth.refresh_token_reuse")
                    raise _AuthError(
                        400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"
                    )
            if issued is None:
                token.revoked = True
                token.updated_at = now
                issued = self._new_refresh_token(session.id, session.user_id, token.token).token
        user = self.find_user(user_id=session.user_id)
        if user is None:
            raise _AuthError(
                400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        return _json_response(200, self.session_json(user, session, issued))

    def authenticate(
        self, request: RecordedRequest
    ) -> tuple[dict[str, Any], dict[str, Any], _Session | None]:
        """``requireAuthentication``: bearer, signature, user and session."""
        token = request.bearer
        if not token:
            raise _AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
        try:
            claims = decode_jwt(token, self.peer.jwt_secret)
            if self.peer._is_expired(token):
                raise JwtError("expired")
        except JwtError as exc:
            reason = {
                "expired": "token has invalid claims: token is expired",
                "parts": "token is malformed: token contains an invalid number of segments",
                "malformed": "token is malformed: could not JSON decode claim",
                "signature": "token signature is invalid: signature is invalid",
            }[exc.reason]
            raise _AuthError(
                403, "bad_jwt", "invalid JWT: unable to parse or verify signature, " + reason
            ) from exc
        try:
            user = self.find_user(user_id=uuid.UUID(str(claims.get("sub"))))
        except ValueError:
            user = None
        if user is None:
            raise _AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
        session = None
        if claims.get("session_id"):
            with self.lock:
                session = self.sessions.get(uuid.UUID(str(claims["session_id"])))
            if session is None:
                raise _AuthError(
                    403, "session_not_found", "Session from session_id claim in JWT does not exist"
                )
        return claims, user, session

    def logout(self, request: RecordedRequest) -> _Response:
        scope = (request.query.get("scope") or ["global"])[0]
        if scope != "global":
            raise _AuthError(
                400,
                "validation_failed",
                f"The Supabase test peer does not implement logout scope {scope!r}",
            )
        _claims, user, _session = self.authenticate(request)
        with self.lock:
            doomed = {s.id for s in self.sessions.values() if s.user_id == user["id"]}
            for sid in doomed:
                del self.sessions[sid]
            for key in [k for k, t in self.tokens.items() if t.session_id in doomed]:
                del self.tokens[key]
        return _Response(204, b"", [], None)


# ================================================================================== server


class _Server(PeerServer):
    peer: SupabasePeer


class _Handler(PeerHandler):
    server: _Server

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
        try:
            response, lost = self.peer._handle(request)
        except Exception as exc:  # a peer bug: answer 500 rather than hang the client
            response = _json_response(500, {"message": f"supabase peer error: {exc!r}"})
            lost = False
        if lost:
            self.reset()
            return
        try:
            self._send(request, response)
        except OSError:
            self.close_connection = True

    def _send(self, request: RecordedRequest, response: _Response) -> None:
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

    def reset(self) -> None:
        """Drop the connection now with a TCP reset, without an answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            return
        self.peer._mark_rst(self.connection)


class SupabasePeer(ConnectionBook):
    """A local Supabase project (the PostgREST and Auth requests groqgen makes) over a real
    PostgreSQL database.

    Use as a context manager, or ``start()``/``stop()``.

    Attributes:
        url: ``http://127.0.0.1:PORT`` - the project URL (``SUPABASE_URL``).
        anon_key, service_key: HS256 JWTs with ``role`` anon / service_role.
        requests: every request received, in arrival order (``RecordedRequest``).
        access_token_ttl: lifetime in seconds of access tokens issued from now on.
        refresh_token_reuse_interval: seconds a revoked refresh token may still be swapped
            (Supabase's default: 10).
    """

    def __init__(
        self,
        database_url: str,
        *,
        jwt_secret: str = DEFAULT_JWT_SECRET,
        access_token_ttl: int = 3600,
        refresh_token_reuse_interval: float = 0.0,
    ) -> None:
        self.database_url = database_url
        self.jwt_secret = jwt_secret
        self.access_token_ttl = access_token_ttl
        self.refresh_token_reuse_interval = refresh_token_reuse_interval
        self.project_ref = "peer" + secrets.token_hex(8)
        now = int(time.time())
        ten_years = 10 * 365 * 24 * 3600
        self.anon_key, self.service_key = (
            sign_jwt(
                {
                    "iss": "supabase",
                    "ref": self.project_ref,
                    "role": role,
                    "iat": now,
                    "exp": now + ten_years,
                },
                jwt_secret,
            )
            for role in ("anon", "service_role")
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
            max_size=POOL_SIZE,
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

    def expire_all_tokens(self) -> None:
        """Treat every access token issued so far as expired (PostgREST answers "JWT expired",
        GoTrue "token is expired"); tokens issued afterwards are unaffected. The API keys are not
        affected."""
        with self._lock:
            self._expired |= self._issued
            self._issued = set()

    # -- recording

    @property
    def counters(self) -> dict[str, int]:
        """A snapshot of the peer's counters (requests, rest, auth, faults, db.transactions,
        db.errors, auth.signup, auth.token.password, auth.token.refresh_token, auth.logout,
        auth.user, auth.refresh_token_reuse, rpc.<name>)."""
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

    def _bump(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1

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

    def _handle(self, request: RecordedRequest) -> tuple[_Response, bool]:
        """The response to ``request``, and whether it is to be lost (connection reset)."""
        with self._lock:
            self.requests.append(request)
            self._counters["requests"] += 1
            self._counters[request.area] += 1
            fault = next((f for f in self._faults if f.matches(request)), None)
            if fault is not None:
                self._faults.remove(fault)
                self._counters["faults"] += 1
        if isinstance(fault, Status):
            return fault.response(request), False
        key = request.headers.get("apikey")
        if not key:
            response = _json_response(
                401,
                {
                    "message": "No API key found in request",
                    "hint": "No `apikey` request header or url param was found.",
                },
            )
        elif key not in (self.anon_key, self.service_key):
            response = _json_response(
                401,
                {
                    "message": "Invalid API key",
                    "hint": "Double check your Supabase `anon` or `service_role` API key.",
                },
            )
        elif request.area == "rest":
            response = self._rest.handle(request)
        elif request.area == "auth":
            response = self._auth.handle(request)
        else:
            response = _json_response(404, {"message": "no Route matched with those values"})
        return response, isinstance(fault, LostResponse)
