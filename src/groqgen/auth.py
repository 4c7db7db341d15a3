"""Supabase Auth sessions: signed in once, kept fresh, shared safely between processes.

``client.auth`` wraps ``supabase_auth`` (the maintained successor of ``gotrue``) and fills in
what it leaves to the caller:

* the session lives in a file under ``GROQGEN_HOME``, written atomically with mode 0600, and
  is picked up by the next process (a CLI after a notebook, or the other way round);
* no timer thread: before each request groqgen reads the stored session and, when the access
  token expires within a minute, refreshes it — so a notebook left open for hours just works;
* refresh tokens rotate and a reused one is refused (Supabase may then revoke the whole
  session), so a refresh happens under an exclusive file lock and re-reads the file first:
  when another process refreshed meanwhile, its new token is used instead of spending the
  old refresh token a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from ._filelock import FileLock
from .errors import AuthenticationError, GroqgenError, RateLimited, ValidationError

__all__ = ["AsyncSupabaseAuth", "SupabaseAuth", "session_path"]

REFRESH_MARGIN = 60  # seconds before expiry at which a token is refreshed
STORAGE_KEY = "supabase.auth.token"


def session_path(home: Path, supabase_url: str) -> Path:
    """Where the session for this Supabase project is kept."""
    ref = hashlib.sha256(supabase_url.rstrip("/").encode()).hexdigest()[:12]
    return Path(home) / f"supabase-session-{ref}.json"


class _SessionFile:
    """One session, as ``supabase_auth`` stores it, in a 0600 file replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8") or None
        except FileNotFoundError:
            return None

    def write(self, value: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, value.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def refresh_lock(self) -> FileLock:
        """The lock held while refreshing (between processes too)."""
        return FileLock(self.path.with_suffix(".refresh.lock"))


def _sync_storage(session_file: _SessionFile) -> Any:
    from supabase_auth import SyncSupportedStorage

    class FileStorage(SyncSupportedStorage):
        def get_item(self, key: str) -> str | None:
            return session_file.read()

        def set_item(self, key: str, value: str) -> None:
            session_file.write(value)

        def remove_item(self, key: str) -> None:
            session_file.remove()

    return FileStorage()


def _async_storage(session_file: _SessionFile) -> Any:
    from supabase_auth import AsyncSupportedStorage

    class FileStorage(AsyncSupportedStorage):
        async def get_item(self, key: str) -> str | None:
            return session_file.read()

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


def _expiring(raw: str | None) -> tuple[dict[str, Any] | None, bool]:
    if not raw:
        return None, False
    session = json.loads(raw)
    expires_at = session.get("expires_at") or 0
    return session, expires_at - time.time() < REFRESH_MARGIN


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
        return response.user

    def sign_out(self) -> None:
        """Sign out everywhere and forget the stored session."""
        if self._file.read():
            self._call(self._gotrue.sign_out)
        self._file.remove()

    def user(self) -> Any:
        """The signed-in user, or None."""
        if not self._file.read():
            return None
        response = self._call(self._gotrue.get_user, self.access_token())
        return None if response is None else response.user

    def user_id(self) -> str | None:
        """The signed-in user's id from the stored session, without a request."""
        session, _ = _expiring(self._file.read())
        return None if session is None else session.get("user", {}).get("id")

    def access_token(self, *, rejected: str | None = None) -> str:
        """A valid access token, refreshed first when it expires soon (or was ``rejected``)."""
        session, expiring = _expiring(self._file.read())
        if session is None:
            raise AuthenticationError(
                "not signed in: call client.auth.sign_in_with_password(email, password)"
            )
        if not expiring and session["access_token"] != rejected:
            return str(session["access_token"])
        with self._file.refresh_lock():
            session, expiring = _expiring(self._file.read())  # another process may have refreshed
            if session is None:
                raise AuthenticationError("signed out meanwhile; sign in again")
            if not expiring and session["access_token"] != rejected:
                return str(session["access_token"])
            response = self._call(self._gotrue.refresh_session, session["refresh_token"])
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
        return response.user

    async def sign_out(self) -> None:
        """Sign out everywhere and forget the stored session."""
        if self._file.read():
            await self._call(self._gotrue.sign_out)
        self._file.remove()

    async def user(self) -> Any:
        """The signed-in user, or None."""
        if not self._file.read():
            return None
        response = await self._call(self._gotrue.get_user, await self.access_token())
        return None if response is None else response.user

    def user_id(self) -> str | None:
        """The signed-in user's id from the stored session, without a request."""
        session, _ = _expiring(self._file.read())
        return None if session is None else session.get("user", {}).get("id")

    async def access_token(self, *, rejected: str | None = None) -> str:
        """A valid access token, refreshed first when it expires soon (or was ``rejected``)."""
        session, expiring = _expiring(self._file.read())
        if session is None:
            raise AuthenticationError(
                "not signed in: call await client.auth.sign_in_with_password(email, password)"
            )
        if not expiring and session["access_token"] != rejected:
            return str(session["access_token"])
        lock = self._file.refresh_lock()
        await asyncio.to_thread(lock.acquire)  # wait for another process without blocking the loop
        try:
            session, expiring = _expiring(self._file.read())
            if session is None:
                raise AuthenticationError("signed out meanwhile; sign in again")
            if not expiring and session["access_token"] != rejected:
                return str(session["access_token"])
            response = await self._call(self._gotrue.refresh_session, session["refresh_token"])
            return str(response.session.access_token)
        finally:
            lock.release()
