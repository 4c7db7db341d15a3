"""Supabase Auth sessions: signed in once, kept fresh, shared safely between processes.

``client.auth`` wraps ``supabase_auth`` (the maintained successor of ``gotrue``) and fills in
what it leaves to the caller:

* the session lives in a file under ``GROQGEN_HOME``, written atomically with mode 0600 (see
  :mod:`groqgen._files`), and is picked up by the next process (a CLI after a notebook, or the
  other way round); a session file another user owns or can write is refused;
* a damaged session file (not UTF-8, not JSON, not a session) is reported in one sentence
  (:class:`~groqgen.AuthenticationError`: sign in again), set aside beside it under a new name
  for a look, and never blocks ``sign_out``;
* no timer thread: before each request groqgen reads the stored session and, when the access
  token expires within its refresh margin (a tenth of the token's lifetime, at least a few
  seconds and at most a minute), refreshes it — so a notebook left open for hours just works,
  and a short-lived token is not refreshed on every request;
* refresh tokens rotate and a reused one is refused (Supabase may then revoke the whole
  session), so a refresh happens under an exclusive file lock and re-reads the file first:
  when another process refreshed meanwhile, its new token is used instead of spending the
  old refresh token a second time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

from ._filelock import FileLock
from ._files import ensure_home, existing_home, open_private, replace_private, set_aside
from .errors import AuthenticationError, GroqgenError, RateLimited, ValidationError
from .observe import note_auth

__all__ = ["AsyncSupabaseAuth", "SupabaseAuth", "session_path"]

REFRESH_MARGIN = 60  # the most seconds before expiry at which a token is refreshed
MIN_REFRESH_MARGIN = 5  # the fewest (unless the token lives less than twice as long)
REFRESH_FRACTION = 0.1  # of the token's lifetime
DAMAGED = "the saved Supabase session is damaged; sign in again"
STORAGE_KEY = "supabase.auth.token"


def session_path(home: Path, supabase_url: str) -> Path:
    """Where the session for this Supabase project is kept."""
    ref = hashlib.sha256(supabase_url.rstrip("/").encode()).hexdigest()[:12]
    return Path(home) / f"supabase-session-{ref}.json"


class _DamagedSession(AuthenticationError):
    """The session file is not a session; it has been set aside."""


class _SessionFile:
    """One session, as ``supabase_auth`` stores it, in a 0600 file replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any] | None:
        """The stored session, checked; None when there is none.

        Raises:
            AuthenticationError: the file is damaged (it is set aside first).
            ConfigurationError: the home or the file is not the user's alone.
        """
        home = existing_home(self.path.parent)
        if home is None:
            return None
        path = home / self.path.name
        try:
            fd = open_private(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        with open(fd, "rb") as handle:
            data = handle.read()
            identity = _identity(os.fstat(handle.fileno()))
        session = _parse_session(data)
        if session is None:
            self._set_aside(path, identity)
        return session

    def _set_aside(self, path: Path, identity: tuple[int, int]) -> None:
        kept = ""
        # Only the file that was read: another process may have signed in meanwhile.
        with contextlib.suppress(OSError):
            if _identity(os.lstat(path)) == identity:
                kept = f" (the damaged file is kept as {set_aside(path, 'damaged').name})"
        raise _DamagedSession(DAMAGED + kept)

    def write(self, value: str) -> None:
        replace_private(ensure_home(self.path.parent) / self.path.name, value.encode())

    def remove(self) -> None:
        home = existing_home(self.path.parent)
        if home is not None:
            with contextlib.suppress(FileNotFoundError):
                (home / self.path.name).unlink()

    def refresh_lock(self) -> FileLock:
        """The lock held while refreshing (between processes too)."""
        return FileLock(self.path.with_suffix(".refresh.lock"))


def _identity(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def _parse_session(data: bytes) -> dict[str, Any] | None:
    """The session in a session file's bytes, or None when they do not hold one.

    Checks what groqgen relies on: the tokens, a numeric ``expires_at``, the user's UUID.
    """
    try:
        session = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(session, dict):
        return None
    tokens = (session.get("access_token"), session.get("refresh_token"))
    if not all(isinstance(token, str) and token for token in tokens):
        return None
    if _number(session.get("expires_at")) is None:
        return None
    user = session.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return None
    try:
        uuid.UUID(user["id"])
    except ValueError:
        return None
    return session


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _session_text(session: dict[str, Any] | None) -> str | None:
    """What ``supabase_auth`` reads from its storage."""
    return None if session is None else json.dumps(session)


def _sync_storage(session_file: _SessionFile) -> Any:
    from supabase_auth import SyncSupportedStorage

    class FileStorage(SyncSupportedStorage):
        def get_item(self, key: str) -> str | None:
            return _session_text(session_file.read())

        def set_item(self, key: str, value: str) -> None:
            session_file.write(value)

        def remove_item(self, key: str) -> None:
            session_file.remove()

    return FileStorage()


def _async_storage(session_file: _SessionFile) -> Any:
    from supabase_auth import AsyncSupportedStorage

    class FileStorage(AsyncSupportedStorage):
        async def get_item(self, key: str) -> str | None:
            return _session_text(session_file.read())

        async def set_item(self, key: str, value: str) -> None:
            session_file.write(value)

        async def remove_item(self, key: str) -> None:
            session_file.remove()

    return FileStorage()


def translate_auth_error(exc: BaseException) -> GroqgenError:
    """Map a ``supabase_auth`` error to groqgen's error types."""
    from supabase_auth import errors

    if isinstance(exc, GroqgenError):
        return exc
    code = getattr(exc, "code", None) or ""
    status = getattr(exc, "status", None)
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, errors.AuthWeakPasswordError):
        return ValidationError(f"the password is too weak: {message}", field="password")
    if status == 429 or code in ("over_request_rate_limit", "over_email_send_rate_limit"):
        return RateLimited(f"Supabase Auth rate limit: {message}; wait and try again")
    if code in ("user_already_exists", "email_exists"):
        return ValidationError(f"{message}; sign in instead", field="email")
    if code in ("email_address_invalid", "validation_failed"):
        return ValidationError(message, field="email")
    if isinstance(exc, errors.AuthSessionMissingError):
        return AuthenticationError("not signed in: call client.auth.sign_in_with_password first")
    if code.startswith("refresh_token") or code in ("session_not_found", "session_expired"):
        return AuthenticationError(
            f"the Supabase session cannot be refreshed ({code or message}); sign in again"
        )
    if isinstance(exc, errors.AuthError):
        return AuthenticationError(f"Supabase Auth refused: {message}")
    return AuthenticationError(f"Supabase Auth failed: {type(exc).__name__}: {message}")


def _now() -> float:
    """Seconds since the epoch: the clock every expiry comparison here reads.

    The one seam for time in this module: a test replaying a recorded session replaces it
    with the instant of the recording, so the recorded tokens never look expired.
    """
    return time.time()


def token_lifetime(session: dict[str, Any]) -> float | None:
    """How long the session's access token lives, in seconds, when known.

    From ``expires_in`` (what Supabase Auth said when it issued the token), else from the
    token's own ``iat`` and ``exp`` claims.
    """
    given = _number(session.get("expires_in"))
    if given is not None and given > 0:
        return given
    claims = _claims(session.get("access_token"))
    issued, expires = _number(claims.get("iat")), _number(claims.get("exp"))
    if issued is None or expires is None or expires <= issued:
        return None
    return expires - issued


def _claims(token: Any) -> dict[str, Any]:
    """A JWT's claims, unverified (only to read its lifetime); empty when it is not a JWT."""
    if not isinstance(token, str) or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return {}
    return claims if isinstance(claims, dict) else {}


def refresh_margin(lifetime: float | None) -> float:
    """Seconds before expiry from which a token with this lifetime is refreshed.

    A tenth of the lifetime, at least :data:`MIN_REFRESH_MARGIN` and at most
    :data:`REFRESH_MARGIN` (a one-hour token: a minute; a 30-second token: 5 s), and never more
    than half the lifetime, so that a token just issued is used before it is refreshed. Unknown
    lifetime: :data:`REFRESH_MARGIN`.

    Example:
        >>> refresh_margin(3600), refresh_margin(120), refresh_margin(30), refresh_margin(4)
        (60.0, 12.0, 5.0, 2.0)
    """
    if lifetime is None:
        return float(REFRESH_MARGIN)
    margin = min(max(lifetime * REFRESH_FRACTION, MIN_REFRESH_MARGIN), REFRESH_MARGIN)
    return float(min(margin, lifetime / 2))


def _expiring(session: dict[str, Any] | None) -> bool:
    """Whether the session's access token expires within its refresh margin."""
    if session is None:
        return False
    remaining = float(session["expires_at"]) - _now()
    return remaining < refresh_margin(token_lifetime(session))


def _readable(session_file: _SessionFile) -> bool:
    """Whether a session is stored and readable; a damaged one is set aside, and is not."""
    try:
        return session_file.read() is not None
    except _DamagedSession:
        return False


class SupabaseAuth:
    """``client.auth`` for a Supabase client: sign up, sign in, sign out, who am I."""

    def __init__(self, supabase_url: str, key: str, home: Path, http_client: Any) -> None:
        from supabase_auth import SyncGoTrueClient

        self._file = _SessionFile(session_path(home, supabase_url))
        self._gotrue = SyncGoTrueClient(
            url=supabase_url.rstrip("/") + "/auth/v1",
            headers={"apikey": key},
            storage_key=STORAGE_KEY,
            storage=_sync_storage(self._file),
            auto_refresh_token=False,  # refreshed on demand, under a file lock
            persist_session=True,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return f"SupabaseAuth(session file {str(self._file.path)!r})"

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except Exception as exc:
            raise translate_auth_error(exc) from exc

    def sign_up(self, email: str, password: str, full_name: str | None = None) -> Any:
        """Create an account (the profile is made by the database's sign-up trigger)."""
        options = {"data": {"full_name": full_name}} if full_name else {}
        response = self._call(
            self._gotrue.sign_up, {"email": email, "password": password, "options": options}
        )
        return response.user

    def sign_in_with_password(self, email: str, password: str) -> Any:
        """Sign in; the session is kept in the session file and refreshed as needed."""
        response = self._call(
            self._gotrue.sign_in_with_password, {"email": email, "password": password}
        )
        note_auth("signed in", response.user)
        return response.user

    def sign_out(self) -> None:
        """Sign out everywhere and forget the stored session.

        A damaged session file cannot sign anyone out on the server: it is set aside, and
        signing out still succeeds here.
        """
        user = None
        if _readable(self._file):
            user = self.user_id()
            self._call(self._gotrue.sign_out)
        self._file.remove()
        note_auth("signed out", user)

    def user(self) -> Any:
        """The signed-in user, or None."""
        if self._file.read() is None:
            return None
        response = self._call(self._gotrue.get_user, self.access_token())
        return None if response is None else response.user

    def user_id(self) -> str | None:
        """The signed-in user's id from the stored session, without a request."""
        session = self._file.read()
        return None if session is None else str(session["user"]["id"])

    def access_token(self, *, rejected: str | None = None) -> str:
        """A valid access token, refreshed first when it expires soon (or was ``rejected``)."""
        session = self._file.read()
        if session is None:
            raise AuthenticationError(
                "not signed in: call client.auth.sign_in_with_password(email, password)"
            )
        if not _expiring(session) and session["access_token"] != rejected:
            return str(session["access_token"])
        with self._file.refresh_lock():
            session = self._file.read()  # another process may have refreshed meanwhile
            if session is None:
                raise AuthenticationError("signed out meanwhile; sign in again")
            if not _expiring(session) and session["access_token"] != rejected:
                return str(session["access_token"])
            response = self._call(self._gotrue.refresh_session, session["refresh_token"])
            note_auth("refreshed the access token of", session["user"]["id"])
            return str(response.session.access_token)


class AsyncSupabaseAuth:
    """``client.auth`` for an :class:`~groqgen.AsyncClient` on Supabase."""

    def __init__(self, supabase_url: str, key: str, home: Path, http_client: Any) -> None:
        from supabase_auth import AsyncGoTrueClient

        self._file = _SessionFile(session_path(home, supabase_url))
        self._gotrue = AsyncGoTrueClient(
            url=supabase_url.rstrip("/") + "/auth/v1",
            headers={"apikey": key},
            storage_key=STORAGE_KEY,
            storage=_async_storage(self._file),
            auto_refresh_token=False,
            persist_session=True,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return f"AsyncSupabaseAuth(session file {str(self._file.path)!r})"

    async def _call(self, method: Any, *args: Any) -> Any:
        try:
            return await method(*args)
        except Exception as exc:
            raise translate_auth_error(exc) from exc

    async def sign_up(self, email: str, password: str, full_name: str | None = None) -> Any:
        """Create an account (the profile is made by the database's sign-up trigger)."""
        options = {"data": {"full_name": full_name}} if full_name else {}
        response = await self._call(
            self._gotrue.sign_up, {"email": email, "password": password, "options": options}
        )
        return response.user

    async def sign_in_with_password(self, email: str, password: str) -> Any:
        """Sign in; the session is kept in the session file and refreshed as needed."""
        response = await self._call(
            self._gotrue.sign_in_with_password, {"email": email, "password": password}
        )
        note_auth("signed in", response.user)
        return response.user

    async def sign_out(self) -> None:
        """Sign out everywhere and forget the stored session.

        A damaged session file cannot sign anyone out on the server: it is set aside, and
        signing out still succeeds here.
        """
        user = None
        if _readable(self._file):
            user = self.user_id()
            await self._call(self._gotrue.sign_out)
        self._file.remove()
        note_auth("signed out", user)

    async def user(self) -> Any:
        """The signed-in user, or None."""
        if self._file.read() is None:
            return None
        response = await self._call(self._gotrue.get_user, await self.access_token())
        return None if response is None else response.user

    def user_id(self) -> str | None:
        """The signed-in user's id from the stored session, without a request."""
        session = self._file.read()
        return None if session is None else str(session["user"]["id"])

    async def access_token(self, *, rejected: str | None = None) -> str:
        """A valid access token, refreshed first when it expires soon (or was ``rejected``)."""
        session = self._file.read()
        if session is None:
            raise AuthenticationError(
                "not signed in: call await client.auth.sign_in_with_password(email, password)"
            )
        if not _expiring(session) and session["access_token"] != rejected:
            return str(session["access_token"])
        lock = self._file.refresh_lock()
        await asyncio.to_thread(lock.acquire)  # wait for another process without blocking the loop
        try:
            session = self._file.read()
            if session is None:
                raise AuthenticationError("signed out meanwhile; sign in again")
            if not _expiring(session) and session["access_token"] != rejected:
                return str(session["access_token"])
            response = await self._call(self._gotrue.refresh_session, session["refresh_token"])
            note_auth("refreshed the access token of", session["user"]["id"])
            return str(response.session.access_token)
        finally:
            lock.release()
