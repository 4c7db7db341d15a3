"""Settings: explicit arguments over environment variables over defaults, resolved once."""

from __future__ import annotations

import math
import os
import re
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from .catalog import DEFAULT_MODEL, REASONING_EFFORTS
from .errors import ConfigurationError

__all__ = ["DEFAULT_MODEL", "Settings", "default_home", "redact_url", "resolve"]

KIND_NAMES = ("prompt", "code", "review", "tests")
ALL_KINDS = "*"
StoreKind = Literal["sqlite", "postgres", "supabase"]


def default_home() -> Path:
    """``GROQGEN_HOME``, else the platform's per-user data folder plus ``groqgen``.

    Only the path: nothing is created or checked here (``import groqgen`` and making a client
    touch no file). Whatever first uses the home goes through :func:`groqgen._files.ensure_home`,
    which creates it ``0700`` and refuses one that is not the user's alone.
    """
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


_SECRET_PAIR = re.compile(
    r"(?<![\w])((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]+)", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """The URL (or ``key=value`` connection string) with every password replaced by ``***``.

    Covers the userinfo password (``postgresql://user:secret@host``) and the ``password`` and
    ``sslpassword`` parameters, in a URL's query string or a ``key=value`` string.
    """
    if "://" not in url:
        return _SECRET_PAIR.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    if password is not None:
        netloc = parts.netloc.rsplit("@", 1)[-1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{netloc}")
    if parts.query:
        parts = parts._replace(query=_SECRET_PAIR.sub(r"\1***", parts.query))
    return urlunsplit(parts)


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
    reasoning_effort: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def effort_for(self, kind: str) -> str | None:
        """The configured reasoning effort for ``kind`` (None: the model's default)."""
        return self.reasoning_effort.get(kind) or self.reasoning_effort.get(ALL_KINDS)

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
    reasoning_effort: str | Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings: explicit arguments over environment variables over defaults."""
    _check_types(
        home=(home, (str, os.PathLike)),
        database_url=(database_url, (str,)),
        user_id=(user_id, (str, uuid.UUID)),
        service=(service, (bool,)),
        supabase_url=(supabase_url, (str,)),
        supabase_key=(supabase_key, (str,)),
        groq_base_url=(groq_base_url, (str,)),
        model=(model, (str,)),
    )
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
    timeout_seconds = _number(timeout, "GROQGEN_TIMEOUT", "timeout", 60.0)
    if not (math.isfinite(timeout_seconds) and timeout_seconds > 0):
        raise ConfigurationError(
            "timeout must be a positive, finite number of seconds (GROQGEN_TIMEOUT, timeout=)",
            setting="timeout",
        )
    retries = _whole(max_retries, "GROQGEN_MAX_RETRIES", "max_retries", 3)
    if retries < 0:
        raise ConfigurationError(
            "max_retries must be 0 or more (GROQGEN_MAX_RETRIES, max_retries=)",
            setting="max_retries",
        )
    pool = _whole(pool_size, None, "pool_size", 10)
    if pool < 1:
        raise ConfigurationError("pool_size must be at least 1", setting="pool_size")
    return Settings(
        home=Path(home).expanduser() if home is not None else default_home(),
        database_url=url,
        user_id=uid,
        service=service,
        supabase_url=supabase[0],
        supabase_key=supabase[1],
        groq_api_key=_api_key(_pick(groq_api_key, "GROQ_API_KEY")),
        groq_base_url=_pick(groq_base_url, "GROQ_BASE_URL"),
        model=_model(_pick(model, "GROQGEN_MODEL")),
        timeout=timeout_seconds,
        max_retries=retries,
        pool_size=pool,
        reasoning_effort=_efforts(_pick(reasoning_effort, "GROQGEN_REASONING_EFFORT")),
    )


def _check_types(**settings: tuple[Any, tuple[type, ...]]) -> None:
    """``ConfigurationError`` naming the first setting given a value of the wrong type."""
    for name, (value, types) in settings.items():
        if value is not None and not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in types)
            raise ConfigurationError(
                f"{name}= must be {expected}, not {type(value).__name__}", setting=name
            )


def _number(explicit: Any, env: str | None, setting: str, default: float) -> float:
    value = explicit if explicit is not None or env is None else _pick(None, env)
    if value is None:
        return default
    where = f"{setting}=" if explicit is not None else env
    # A variable is text; an argument must already be a number ("5" as an argument is a bug).
    fits = isinstance(value, (int, float)) if explicit is not None else isinstance(value, str)
    if isinstance(value, bool) or not fits:
        raise ConfigurationError(
            f"{where} must be a number of seconds, not {type(value).__name__} {str(value)[:40]!r}",
            setting=setting,
        )
    try:
        return float(value)
    except ValueError:
        raise ConfigurationError(
            f"{where} must be a number of seconds, not {str(value)[:40]!r}", setting=setting
        ) from None


def _whole(explicit: Any, env: str | None, setting: str, default: int) -> int:
    value = explicit if explicit is not None or env is None else _pick(None, env)
    if value is None:
        return default
    where = f"{setting}=" if explicit is not None else env
    if explicit is None and isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(
            f"{where} must be a whole number, not {str(value)[:40]!r}", setting=setting
        )
    return value


def _api_key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError("the Groq API key must be a string", setting="GROQ_API_KEY")
    key = value.strip()  # a pasted key often carries a newline or spaces
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise ConfigurationError(
            "the Groq API key contains spaces or control characters; copy it again from "
            "console.groq.com into GROQ_API_KEY",
            setting="GROQ_API_KEY",
        )
    return key or None


def _model(value: Any) -> str:
    if value is None:
        return DEFAULT_MODEL
    # 100: models.LIMITS["label"], the size of the column the model id is recorded in
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 100:
        raise ConfigurationError(
            "model must be a model id such as " + DEFAULT_MODEL, setting="GROQGEN_MODEL"
        )
    return value.strip()


def _efforts(value: Any) -> Mapping[str, str]:
    """``"low"``, ``"prompt=low,code=high"`` or ``{"prompt": "low", "*": "medium"}``."""
    if value is None:
        return MappingProxyType({})
    pairs: list[tuple[str, Any]]
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        pairs = [
            (p.split("=", 1)[0].strip(), p.split("=", 1)[1].strip()) if "=" in p else (ALL_KINDS, p)
            for p in parts
        ]
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise ConfigurationError(
            "reasoning_effort is an effort name or a mapping of kind to effort",
            setting="reasoning_effort",
        )
    efforts: dict[str, str] = {}
    for kind, effort in pairs:
        if kind not in (*KIND_NAMES, ALL_KINDS):
            raise ConfigurationError(
                f"reasoning_effort names an unknown kind {str(kind)[:40]!r}; "
                f"use {', '.join(KIND_NAMES)} (GROQGEN_REASONING_EFFORT, reasoning_effort=)",
                setting="reasoning_effort",
            )
        if effort not in REASONING_EFFORTS:
            raise ConfigurationError(
                f"reasoning_effort {str(effort)[:40]!r} is not one of "
                f"{', '.join(REASONING_EFFORTS)} (GROQGEN_REASONING_EFFORT, reasoning_effort=)",
                setting="reasoning_effort",
            )
        efforts[kind] = effort
    return MappingProxyType(efforts)
