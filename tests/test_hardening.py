"""Hardening (issue 10): bad input refused before paying, secrets redacted, store calls that end."""

from __future__ import annotations

import base64
import datetime
import decimal
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from groqgen import ConfigurationError, RecordingFailed, ValidationError
from tests.conftest import StoreCase

# -- refuse before paying --------------------------------------------------------------------------


@pytest.fixture
def case(generator_case: StoreCase) -> StoreCase:
    return generator_case


NUL_INPUTS = [
    ("prompt", {"topic": "a\x00b"}, "topic"),
    ("prompt", {"topic": "t", "additional_context": "x\x00"}, "additional_context"),
    ("code", {"description": "d", "language": "py\x00thon"}, "language"),
    ("code", {"description": "d", "language": "python", "framework": "\x00"}, "framework"),
    ("review", {"code": "x = 1\x00", "language": "python"}, "code"),
    ("tests", {"code": "\x00", "language": "python"}, "code"),
]


@pytest.mark.parametrize(("kind", "inputs", "field"), NUL_INPUTS)
def test_a_nul_character_is_refused_before_groq_is_called(
    case: StoreCase, groq_peer: Any, kind: str, inputs: dict[str, Any], field: str
) -> None:
    first, *rest = inputs
    with pytest.raises(ValidationError) as info:
        getattr(case.client.generate, kind)(inputs[first], **{k: inputs[k] for k in rest})
    assert info.value.field == field
    assert "NUL" in str(info.value)
    assert groq_peer.requests == []


@pytest.mark.parametrize(
    ("kind", "inputs", "field"),
    [
        ("prompt", {"topic": b"bytes"}, "topic"),
        ("prompt", {"topic": 42}, "topic"),
        ("code", {"description": "d", "language": b"python"}, "language"),
        ("tests", {"code": "x", "language": "python", "test_types": None}, "test_types"),
        ("tests", {"code": "x", "language": "python", "test_types": "unit"}, "test_types"),
    ],
)
def test_text_that_is_not_a_str_and_a_missing_list_are_refused(
    case: StoreCase, groq_peer: Any, kind: str, inputs: dict[str, Any], field: str
) -> None:
    first, *rest = inputs
    with pytest.raises(ValidationError) as info:
        getattr(case.client.generate, kind)(inputs[first], **{k: inputs[k] for k in rest})
    assert info.value.field == field
    assert groq_peer.requests == []


def _deep(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


@pytest.mark.parametrize(
    ("metadata", "names"),
    [
        (_deep(10_000), "deeper than 32"),
        ({"blob": b"x"}, "metadata.blob is a bytes"),
        ({"tags": {"a", "b"}}, "metadata.tags is a set"),
        ({"price": decimal.Decimal("1.50")}, "metadata.price is a Decimal"),
        ({"ratio": float("nan")}, "metadata.ratio is nan"),
        ({"x": {"y": "a\x00b"}}, "metadata.x.y contains a NUL"),
        ({1: "numeric key"}, "valid string"),
    ],
)
def test_metadata_is_checked_for_depth_and_json_types(
    store_case: StoreCase, metadata: dict[Any, Any], names: str
) -> None:
    with pytest.raises(ValidationError) as info:
        store_case.client.activity_logs.log("login", "signed in", metadata=metadata)
    assert str(info.value.field).startswith("metadata")
    assert names in str(info.value)
    assert store_case.client.activity_logs.count() == 0


def test_metadata_datetimes_and_uuids_are_stored_as_text(store_case: StoreCase) -> None:
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    key = uuid.UUID(int=7)
    entry = store_case.client.activity_logs.log(
        "login", "signed in", metadata={"at": moment, "ids": (key,), "day": moment.date()}
    )
    stored = store_case.client.activity_logs.get(entry.id).metadata
    assert stored == {"at": moment.isoformat(), "ids": [str(key)], "day": "2026-01-02"}


@pytest.mark.parametrize(
    "raw",
    [
        "9999-12-31T23:59:59-23:59|00000000-0000-0000-0000-000000000001",
        "0001-01-01T00:00:00+23:59|00000000-0000-0000-0000-000000000001",
        "2026-01-01T00:00:00|00000000-0000-0000-0000-000000000001",
        "2026-01-01T00:00:00+00:00|not-a-uuid",
        "\xff\xfe",
    ],
)
def test_a_cursor_that_is_not_a_valid_position_is_a_validation_error(
    store_case: StoreCase, raw: str
) -> None:
    token = base64.urlsafe_b64encode(raw.encode("utf-8", "surrogatepass")).decode().rstrip("=")
    with pytest.raises(ValidationError, match="invalid cursor") as info:
        store_case.client.prompts.list(cursor=token)
    assert info.value.field == "cursor"


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"timeout": "5"}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"pool_size": "3"}, "pool_size"),
        ({"pool_size": 0}, "pool_size"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"service": "yes"}, "service"),
        ({"home": 3}, "home"),
        ({"model": 7}, "model"),
        ({"user_id": 12345}, "user_id"),
    ],
)
def test_every_client_setting_is_type_checked(
    tmp_path: Any, options: dict[str, Any], setting: str
) -> None:
    from groqgen import Client

    with pytest.raises(ConfigurationError) as info:
        Client(home=tmp_path, **options) if "home" not in options else Client(**options)
    assert info.value.setting == setting


# -- no secret anywhere --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:hunter2secret@db.example.com:5432/app",
        "postgresql://app@db.example.com/app?password=hunter2secret&sslmode=require",
        "postgresql://app@db.example.com/app?sslpassword=hunter2secret",
        "host=db.example.com user=app password=hunter2secret dbname=app",
        "host=db.example.com password='hunter2 secret' sslpassword=hunter2secret",
    ],
)
def test_a_database_password_never_shows_in_repr(url: str) -> None:
    from groqgen._config import redact_url, resolve

    settings = resolve(database_url=url, service=True, home="/nonexistent")
    for text in (redact_url(url), settings.describe_store(), repr(settings)):
        assert "hunter2" not in text
    assert "***" in redact_url(url)


# -- every store call ends ----------------------------------------------------------------------------


@pytest.fixture
def sqlite_locked(tmp_path: Any) -> Iterator[Any]:
    """An SQLite home whose database another connection holds the write lock on."""
    from groqgen import Client

    with Client(home=tmp_path) as client:
        client.profiles.me()  # create the file and the local profile
    holder = sqlite3.connect(tmp_path / "groqgen.db", isolation_level=None, timeout=0)
    holder.execute("begin immediate")
    try:
        yield tmp_path
    finally:
        holder.execute("rollback")
        holder.close()


def test_a_locked_sqlite_store_ends_in_time_and_parks_the_generation(
    sqlite_locked: Any, groq_peer: Any
) -> None:
    from groqgen import Client

    with Client(
        home=sqlite_locked,
        groq_api_key="k",
        groq_base_url=groq_peer.base_url,
        timeout=1,
        max_retries=1,
    ) as client:
        client.generate.policy.base, client.generate.policy.cap = 0.005, 0.02
        started = time.monotonic()
        with pytest.raises(RecordingFailed) as info:
            client.generate.prompt("release notes")
        elapsed = time.monotonic() - started
        assert elapsed < 2 * 1 * 2 + 1  # within twice timeout x attempts (2 attempts)
        assert info.value.result.values["generated_prompt"]
        assert len(client.outbox.pending()) == 1
    assert len(groq_peer.chat_requests) == 1


@pytest.mark.postgres
def test_a_locked_postgres_table_ends_in_time_and_parks_the_generation(
    make_database: Any, groq_peer: Any, tmp_path: Any
) -> None:
    import psycopg

    from groqgen import Client, migrations
    from tests.helpers import new_user

    url = make_database()
    migrations.apply(url)
    with psycopg.connect(url, autocommit=True) as admin:
        user_id = new_user(admin)
    holder = psycopg.connect(url)
    holder.execute("lock table public.prompts in access exclusive mode")
    released = threading.Event()
    try:
        with Client(
            database_url=url,
            user_id=user_id,
            home=tmp_path,
            groq_api_key="k",
            groq_base_url=groq_peer.base_url,
            timeout=1,
            max_retries=1,
        ) as client:
            client.generate.policy.base, client.generate.policy.cap = 0.005, 0.02
            started = time.monotonic()
            with pytest.raises(RecordingFailed) as info:
                client.generate.prompt("release notes")
            elapsed = time.monotonic() - started
            assert elapsed < 2 * 1 * 2 + 1
            assert info.value.code in ("55P03", "57014")
            assert len(client.outbox.pending()) == 1
            holder.rollback()
            released.set()
            assert client.outbox.flush().recorded == 1
            assert client.prompts.count() == 1
    finally:
        if not released.is_set():
            holder.rollback()
        holder.close()
    assert len(groq_peer.chat_requests) == 1
