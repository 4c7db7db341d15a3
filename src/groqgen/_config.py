"""Settings: explicit arguments over environment variables over defaults, resolved once."""

from __future__ import annotations

import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigurationError

DEFAULT_MODEL = "llama-3.3-70b-versatile"
StoreKind = Literal["sqlite", "postgres", "supabase"]


def default_home() -> Path:
    """``GROQGEN_HOME``, else the platform's per-user data folder plus ``groqgen``."""
    explicit = os.environ.get("GROQGEN_HOME")
    if explicit:
        return Path(explicit).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "groqgen"


def redact_url(url: str) -> str:
    """The URL (or ``key=value`` connection string) with any password replaced by ``***``."""
    if "://" not in url:
        return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _pick(explicit: Any, env: str) -> Any:
    if explicit is not None:
        return explicit
    value = os.environ.get(env)
    return value if value not in (None, "") else None


@dataclass(frozen=True)
class Settings:
    """Everything a client needs to know, already resolved. ``repr`` hides secrets."""

    home: Path
    database_url: str | None = field(default=None, repr=False)
    user_id: uuid.UUID | None = None
    service: bool = False
    supabase_url: str | None = None
    supabase_key: str | None = field(default=None, repr=False)
    groq_api_key: str | None = field(default=None, repr=False)
    groq_base_url: str | None = None
    model: str = DEFAULT_MODEL
    timeout: float = 60.0
    max_retries: int = 3
    pool_size: int = 10

    @property
    def store_kind(self) -> StoreKind:
        """Which store these settings select: ``database_url`` over Supabase over SQLite."""
        if self.database_url:
            return "postgres"
        if self.supabase_url or self.supabase_key:
            return "supabase"
        return "sqlite"

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded store keeps its file."""
        return self.home / "groqgen.db"

    def describe_store(self) -> str:
        """A one-line description of the store, safe to print."""
        if self.store_kind == "postgres":
            who = "service_role" if self.service else f"user {self.user_id}"
            return f"postgres {redact_url(self.database_url or '')} as {who}"
        if self.store_kind == "supabase":
            return f"supabase {self.supabase_url}"
        return f"sqlite {self.sqlite_path}"


def resolve(
    *,
    home: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    user_id: uuid.UUID | str | None = None,
    service: bool = False,
    supabase_url: str | None = None,
    supabase_key: str | None = None,
    groq_api_key: str | None = None,
    groq_base_url: str | None = None,
    model: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    pool_size: int | None = None,
) -> Settings:
    """Resolve settings: explicit arguments over environment variables over defaults."""
    uid: uuid.UUID | None = None
    if user_id is not None:
        try:
            uid = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
        except ValueError:
            raise ConfigurationError(
                f"user_id is not a valid UUID: {str(user_id)[:60]!r}", setting="user_id"
            ) from None
    supabase = (_pick(supabase_url, "SUPABASE_URL"), _pick(supabase_key, "SUPABASE_KEY"))
    url = _pick(database_url, "GROQGEN_DATABASE_URL")
    if url is None and (supabase[0] is None) != (supabase[1] is None):
        missing = "SUPABASE_KEY (supabase_key=)" if supabase[1] is None else "SUPABASE_URL"
        raise ConfigurationError(
            f"the Supabase store needs both a URL and a key; set {missing}", setting=missing
        )
    if timeout is not None and timeout <= 0:
        raise ConfigurationError("timeout must be a positive number of seconds", setting="timeout")
    if max_retries is not None and max_retries < 0:
        raise ConfigurationError("max_retries must be 0 or more", setting="max_retries")
    if pool_size is not None and pool_size < 1:
        raise ConfigurationError("pool_size must be at least 1", setting="pool_size")
    return Settings(
        home=Path(home).expanduser() if home is not None else default_home(),
        database_url=url,
        user_id=uid,
        service=service,
        supabase_url=supabase[0],
        supabase_key=supabase[1],
        groq_api_key=_pick(groq_api_key, "GROQ_API_KEY"),
        groq_base_url=_pick(groq_base_url, "GROQ_BASE_URL"),
        model=_pick(model, "GROQGEN_MODEL") or DEFAULT_MODEL,
        timeout=60.0 if timeout is None else float(timeout),
        max_retries=3 if max_retries is None else int(max_retries),
        pool_size=10 if pool_size is None else int(pool_size),
    )
