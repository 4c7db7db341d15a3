"""The outbox: paid generations that could not be recorded yet, and what the journal survives.

Each behaviour runs on every store it applies to (SQLite, PostgreSQL, Supabase; sync and async)
with Groq played by tests/groq_peer.py. A store "goes down" by wrapping it: its Record
operations meet a fault (an error, a block, an interrupt) while everything else passes through.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import stat
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from groqgen import (
    AsyncClient,
    Client,
    ConfigurationError,
    NotFound,
    RecordingFailed,
    RecordingInterrupted,
    StoreError,
    ValidationError,
)
from groqgen._config import resolve
from groqgen.outbox import (
    JOURNAL,
    LOCAL_PROFILE,
    REJECTS,
    UNWRITABLE,
    store_identity,
)
from groqgen.stores import ops
from tests.conftest import PASSWORD, Blocking, StoreCase, _store_case
from tests.helpers import swap_generation_store

TOPIC = "release notes"


# -- a store that goes down -----------------------------------------------------------------------


def _down(op: ops.Record) -> None:
    raise StoreError("connection lost", transient=True)


class CutStore:
    """Wraps a store: while ``fault`` is set, every Record operation meets it first."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fault: Callable[[ops.Record], Any] | None = None
        self.records = 0

    def execute(self, op: Any) -> Any:
        if isinstance(op, ops.Record):
            self.records += 1
            if self.fault is not None:
                self.fault(op)
        return self.inner.execute(op)


class AsyncCutStore(CutStore):
    """:class:`CutStore` for async stores; ``fault`` may also be a coroutine function."""

    async def execute(self, op: Any) -> Any:  # type: ignore[override]
        if isinstance(op, ops.Record):
            self.records += 1
            if self.fault is not None:
                outcome = self.fault(op)
                if asyncio.iscoroutine(outcome):
                    await outcome
        return await self.inner.execute(op)


def _raw(client: Any) -> Any:
    """The client behind the test's sync face (``Blocking`` drives async clients)."""
    return getattr(client, "_target", client)


def cut(client: Any) -> CutStore:
    """Put a :class:`CutStore` between ``client``'s generator and its store."""
    generator = _raw(client).generate
    wrapper = (AsyncCutStore if isinstance(_raw(client), AsyncClient) else CutStore)(
        generator._store
    )
    swap_generation_store(_raw(client), wrapper)
    return wrapper


def park(client: Any, topic: str = TOPIC, **extra: Any) -> Any:
    """Generate a prompt while the store is down; returns its outbox entry."""
    store = _raw(client).generate._store
    assert isinstance(store, CutStore)
    fault, store.fault = store.fault, _down
    try:
        with pytest.raises(RecordingFailed) as info:
            client.generate.prompt(topic, **extra)
    finally:
        store.fault = fault
    return info.value.result


def journal(case_or_client: Any) -> Path:
    client = case_or_client.client if isinstance(case_or_client, StoreCase) else case_or_client
    return Path(_raw(client).outbox.path)


@pytest.fixture
def case(generator_case: StoreCase) -> Iterator[StoreCase]:
    cut(generator_case.client)
    yield generator_case


# -- a parked generation goes back only where it came from ----------------------------------------


@contextmanager
def _client(flavour: str, **options: Any) -> Iterator[Any]:
    """A client (async ones driven through ``Blocking``) with short back-off waits."""
    loop = asyncio.new_event_loop() if flavour == "async" else None
    client = (AsyncClient if loop else Client)(max_retries=1, timeout=5, **options)
    client.generate.policy.base, client.generate.policy.cap = 0.005, 0.02
    cut(client)
    try:
        yield Blocking(client, loop) if loop else client
    finally:
        if loop:
            loop.run_until_complete(client.close())
            loop.close()
        else:
            client.close()


def _users(url: str, count: int) -> list[uuid.UUID]:
    import psycopg

    from tests.helpers import new_user

    with psycopg.connect(url, autocommit=True) as conn:
        return [new_user(conn) for _ in range(count)]


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("mode", ["postgres-user", "supabase-service-user"])
def test_a_parked_generation_is_not_flushed_into_another_users_account(
    request: Any, tmp_path: Path, groq_peer: Any, mode: str, flavour: str
) -> None:
    url = request.getfixturevalue("migrated_url")
    a, b = _users(url, 2)
    groq = {"groq_api_key": "gsk_test_key", "groq_base_url": groq_peer.base_url}
    if mode == "postgres-user":
        store: dict[str, Any] = {"database_url": url, "pool_size": 2}
    else:
        peer = request.getfixturevalue("supabase_peer")
        store = {"supabase_url": peer.url, "supabase_key": peer.service_key}
    groq_peer.reply = "A's private prompt."
    with _client(flavour, home=tmp_path, user_id=a, **store, **groq) as as_a:
        parked = park(as_a)
    assert parked.user == str(a)

    with _client(flavour, home=tmp_path, user_id=b, **store, **groq) as as_b:
        assert as_b.outbox.pending() == []
        flushed = as_b.outbox.flush()
        assert (flushed.recorded, flushed.failed, flushed.left_for_others) == (0, [], 1)
        assert as_b.prompts.count() == 0
        assert [e.id for e in as_b.outbox.pending(all_accounts=True)] == [parked.id]

    with _client(flavour, home=tmp_path, user_id=a, **store, **groq) as as_a:
        assert as_a.outbox.flush().recorded == 1
        assert as_a.prompts.get(parked.id).generated_prompt == "A's private prompt."


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_parked_generation_stays_with_the_supabase_user_signed_in_when_it_was_made(
    request: Any, tmp_path: Path, groq_peer: Any, flavour: str
) -> None:
    peer = request.getfixturevalue("supabase_peer")
    options = {
        "supabase_url": peer.url,
        "supabase_key": peer.anon_key,
        "groq_api_key": "gsk_test_key",
        "groq_base_url": groq_peer.base_url,
    }
    emails = [f"{uuid.uuid4().hex[:12]}@example.com" for _ in range(2)]
    with _client(flavour, home=tmp_path, **options) as client:
        for email in emails:
            client.auth.sign_up(email, PASSWORD)
        client.auth.sign_in_with_password(emails[0], PASSWORD)
        a = client.profiles.me().id
        parked = park(client)
        assert parked.user == str(a)

        # B signs in on the same machine, in the same home, with the same client.
        client.auth.sign_in_with_password(emails[1], PASSWORD)
        assert client.outbox.pending() == []
        flushed = client.outbox.flush()
        assert (flushed.recorded, flushed.left_for_others) == (0, 1)
        assert client.prompts.count() == 0

        client.auth.sign_in_with_password(emails[0], PASSWORD)
        assert client.outbox.flush().recorded == 1
        assert client.prompts.get(parked.id).user_id == a


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "postgresql://app:hunter2@db.example.com:6543/shop?sslpassword=s3cret&password=hunter2",
            "postgresql://app@db.example.com:6543/shop",
        ),
        (
            "host=db.example.com port=6543 dbname=shop user=app password=hunter2 sslpassword=s3cret",
            "postgresql://app@db.example.com:6543/shop",
        ),
        (
            "postgresql://app@db.example.com/shop?password=hunter2",
            "postgresql://app@db.example.com:5432/shop",
        ),
    ],
)
def test_a_store_identity_names_no_secret(tmp_path: Path, dsn: str, expected: str) -> None:
    assert store_identity(resolve(home=tmp_path, database_url=dsn)) == expected
    supabase = resolve(home=tmp_path, supabase_url="HTTPS://Abc.Supabase.co/", supabase_key="k")
    assert store_identity(supabase) == "supabase:https://abc.supabase.co"


def test_an_outbox_entry_holds_no_password_from_the_database_url(
    request: Any, tmp_path: Path, groq_peer: Any
) -> None:
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(request.getfixturevalue("migrated_url"))
    url = (
        f"postgresql://{info.get('user', 'postgres')}:hunter2@{info.get('host', '127.0.0.1')}:"
        f"{info.get('port', 5432)}/{info['dbname']}?password=hunter2&sslpassword=s3cret"
    )
    [user] = _users(request.getfixturevalue("migrated_url"), 1)
    groq = {"groq_api_key": "gsk_test_key", "groq_base_url": groq_peer.base_url}
    with _client("sync", home=tmp_path, database_url=url, user_id=user, pool_size=1, **groq) as c:
        parked = park(c)
        text = journal(c).read_text()
    assert "hunter2" not in text and "s3cret" not in text
    assert parked.target == (
        f"postgresql://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:"
        f"{info.get('port', 5432)}/{info['dbname']}"
    )


def test_every_entry_names_its_store_and_user(case: StoreCase) -> None:
    parked = park(case.client)
    identity = _raw(case.client).outbox.identity()
    assert (parked.target, parked.user) == (identity.store, identity.user)
    sqlite = case.kind.startswith("sqlite")
    assert parked.user == (LOCAL_PROFILE if sqlite else str(case.user_id))


# -- discard ---------------------------------------------------------------------------------------


def test_discard_drops_an_entry_on_purpose_and_returns_it(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.reply = "Not wanted after all."
    parked = park(case.client)
    kept = park(case.client, "another topic")
    dropped = case.client.outbox.discard(str(parked.id))
    assert dropped.id == parked.id
    assert dropped.values["generated_prompt"] == "Not wanted after all."
    assert [e.id for e in case.client.outbox.pending()] == [kept.id]
    assert case.client.outbox.flush().recorded == 1
    assert case.client.prompts.count() == 1
    with pytest.raises(NotFound, match=str(parked.id)):
        case.client.outbox.discard(parked.id)
    with pytest.raises(ValidationError):
        case.client.outbox.discard("not-an-id")


# -- damage ----------------------------------------------------------------------------------------


def _line(good: dict[str, Any], **changes: Any) -> bytes:
    entry = {**good, **changes}
    return json.dumps({k: v for k, v in entry.items() if v is not ...}).encode()


DAMAGE: dict[str, tuple[Callable[[dict[str, Any]], bytes], str]] = {
    "garbage": (lambda good: b"{this is not json", "not JSON"),
    "null": (lambda good: b"null", "null, not an entry"),
    "array": (lambda good: b'[1, "two"]', "an array, not an entry"),
    "string": (lambda good: b'"pending"', "a string, not an entry"),
    "missing table": (lambda good: _line(good, table=...), "no table"),
    "unknown table": (lambda good: _line(good, table="profiles"), "unknown table 'profiles'"),
    "malformed uuid": (lambda good: _line(good, id="1234-not-a-uuid"), "id is not a UUID"),
    "naive timestamp": (lambda good: _line(good, at="2025-05-01T10:20:00"), "no time zone"),
    "invalid utf-8": (lambda good: b'{"event": "pending", "topic": "\xff\xfe"}', "not UTF-8"),
    "values not an object": (lambda good: _line(good, values=[1, 2]), "values is not an object"),
    "no event": (lambda good: _line(good, event=...), "no event"),
    "values of another entry": (
        lambda good: _line(good, id=str(uuid.uuid4())),
        "values carry another id",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_line_is_reported_set_aside_and_blocks_nothing(
    case: StoreCase, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = park(case.client, "first"), park(case.client, "second")
    path = journal(case)
    good_lines = path.read_bytes().splitlines()
    make, why = DAMAGE[damage]
    bad = make(json.loads(good_lines[0]))
    path.write_bytes(good_lines[0] + b"\n" + bad + b"\n" + good_lines[1] + b"\n")

    assert {e.id for e in case.client.outbox.pending()} == {first.id, second.id}
    [report] = [r.getMessage() for r in caplog.records if "outbox line" in r.getMessage()]
    assert "outbox line 2 " in report and why in report and REJECTS in report

    [reject] = case.client.outbox.rejects()
    assert (reject.line, why in reject.reason) == (2, True)
    assert reject.text == bad.decode("utf-8", "backslashreplace")
    rejects = path.with_name(REJECTS)
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    assert bad not in path.read_bytes().splitlines()  # set aside: reported once, not every read

    flushed = case.client.outbox.flush()
    assert (flushed.recorded, flushed.failed) == (2, [])
    assert case.client.prompts.count() == 2


def test_a_damaged_line_found_by_flush_is_in_its_result(case: StoreCase) -> None:
    parked = park(case.client)
    with open(journal(case), "ab") as f:
        f.write(b"null\n")
    flushed = case.client.outbox.flush()
    assert flushed.recorded == 1
    assert [(d.line, d.reason) for d in flushed.set_aside] == [(2, "null, not an entry object")]
    assert case.client.prompts.get(parked.id)


@pytest.mark.parametrize("complete", [False, True], ids=["half-written", "newline-missing"])
def test_an_append_after_a_torn_last_line_starts_on_a_new_line(
    case: StoreCase, complete: bool
) -> None:
    first = park(case.client, "first")
    path = journal(case)
    whole = path.read_bytes()
    torn_entry = dict(json.loads(whole), id=str(uuid.uuid4()))
    torn_entry["values"] = {**torn_entry["values"], "id": torn_entry["id"]}
    torn = json.dumps(torn_entry).encode()
    # A crash in the middle of an append: half a line, or all of it but its newline.
    path.write_bytes(whole + (torn if complete else torn[: len(torn) // 2]))

    second = park(case.client, "second")
    expected = {first.id, second.id} | ({uuid.UUID(torn_entry["id"])} if complete else set())
    assert {e.id for e in case.client.outbox.pending()} == expected
    rejects = case.client.outbox.rejects()
    assert [(r.line, r.reason) for r in rejects] == ([] if complete else [(2, "not JSON")])
    assert case.client.outbox.flush().recorded == len(expected)


# -- a full disk -------------------------------------------------------------------------------------


def _full_disk(monkeypatch: pytest.MonkeyPatch, *, short: bool) -> list[int]:
    """Make writes of outbox entries fail as on a full disk: after a short write, or at once."""
    real_write = os.write
    calls: list[int] = []

    def write(fd: int, data: Any) -> int:
        if b'"event":"pending"' not in bytes(data) and not calls:
            return real_write(fd, data)
        calls.append(len(data))
        if short and len(calls) == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])  # the disk took half of it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write)
    return calls


@pytest.mark.parametrize("short", [True, False], ids=["short-write", "failed-write"])
def test_an_outbox_that_cannot_be_written_is_reported_and_the_result_kept_on_the_exception(
    case: StoreCase, groq_peer: Any, monkeypatch: pytest.MonkeyPatch, short: bool
) -> None:
    earlier = park(case.client, "earlier")
    before = journal(case).read_bytes()
    groq_peer.reply = "Paid for, and the disk is full."
    store = _raw(case.client).generate._store
    store.fault = _down
    with monkeypatch.context() as disk:
        calls = _full_disk(disk, short=short)
        with pytest.raises(RecordingFailed) as info:
            case.client.generate.prompt("later")
    assert calls  # the fault was met
    assert info.value.code == UNWRITABLE
    assert "outbox" in str(info.value) and "could not be written" in str(info.value)
    assert "No space left on device" in str(info.value)
    assert info.value.result.values["generated_prompt"] == "Paid for, and the disk is full."
    assert journal(case).read_bytes() == before  # no half line left behind

    store.fault = None
    assert [e.id for e in case.client.outbox.pending()] == [earlier.id]
    assert case.client.outbox.flush().recorded == 1


# -- an entry the store always refuses ----------------------------------------------------------------


def test_an_entry_the_store_always_refuses_is_reported_and_blocks_no_other(case: StoreCase) -> None:
    project = case.client.projects.create("Short-lived")
    doomed = park(case.client, "for a project that goes away", project_id=project.id)
    fine = park(case.client, "fine")
    case.client.projects.delete(project.id)

    for _ in range(2):  # and again: it never blocks the others
        flushed = case.client.outbox.flush()
        [failure] = flushed.failed
        assert (failure.entry.id, failure.permanent) == (doomed.id, True)
        assert "project" in failure.error
    assert flushed.recorded == 0  # "fine" went in on the first flush
    assert case.client.prompts.get(fine.id)

    assert case.client.outbox.discard(doomed.id).id == doomed.id
    assert case.client.outbox.pending() == []
    assert case.client.outbox.flush().failed == []


# -- interrupts --------------------------------------------------------------------------------------


def test_ctrl_c_while_recording_keeps_the_paid_generation(case: StoreCase, groq_peer: Any) -> None:
    groq_peer.reply = "Paid for, then Ctrl-C."

    def interrupt(op: ops.Record) -> None:
        raise KeyboardInterrupt

    _raw(case.client).generate._store.fault = interrupt
    with pytest.raises(KeyboardInterrupt) as info:
        case.client.generate.prompt(TOPIC)
    assert isinstance(info.value, RecordingInterrupted)
    assert info.value.path == journal(case)
    [entry] = case.client.outbox.pending()
    assert entry.id == info.value.result.id
    assert entry.values["generated_prompt"] == "Paid for, then Ctrl-C."

    _raw(case.client).generate._store.fault = None
    assert case.client.outbox.flush().recorded == 1
    assert case.client.prompts.get(entry.id).generated_prompt == "Paid for, then Ctrl-C."
    assert case.client.activity_logs.count() == 1
    assert len(groq_peer.chat_requests) == 1


def test_cancelling_a_task_blocked_on_the_store_keeps_the_paid_generation(
    async_generator_case: StoreCase, groq_peer: Any
) -> None:
    case = async_generator_case
    client, loop = case.client._target, case.client._loop
    store = cut(case.client)
    blocked = asyncio.Event()
    groq_peer.reply = "Paid for, then cancelled."

    async def block(op: ops.Record) -> None:
        blocked.set()
        await asyncio.sleep(3600)  # a write that never ends

    store.fault = block

    async def generate_then_cancel() -> None:
        task = asyncio.ensure_future(client.generate.prompt(TOPIC))
        await asyncio.wait_for(blocked.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    loop.run_until_complete(generate_then_cancel())
    [entry] = case.client.outbox.pending()
    assert entry.values["generated_prompt"] == "Paid for, then cancelled."
    store.fault = None
    assert case.client.outbox.flush().recorded == 1
    assert case.client.prompts.count() == 1
    assert case.client.activity_logs.count() == 1


# -- a batch with the store down --------------------------------------------------------------------

TIMEOUT, RETRIES = 0.4, 1
ATTEMPTS = RETRIES + 1


@pytest.fixture(params=["sqlite-async", "postgres-async", "supabase-async"])
def short_case(request: Any, tmp_path: Path, groq_peer: Any) -> Iterator[StoreCase]:
    """An async client whose store calls each last at most TIMEOUT, tried ATTEMPTS times."""
    yield from _store_case(
        request,
        tmp_path,
        groq_api_key="gsk_test_key",
        groq_base_url=groq_peer.base_url,
        max_retries=RETRIES,
        timeout=TIMEOUT,
    )


def _timing_out(after: int, store: CutStore, cut_at: list[float]) -> Callable[..., Awaitable[None]]:
    """A fault: the first ``after`` records pass; then each waits TIMEOUT and times out."""

    async def fault(op: ops.Record) -> None:
        if store.records <= after:
            return
        if not cut_at:
            cut_at.append(time.monotonic())
        await asyncio.sleep(TIMEOUT)
        raise StoreError(
            "canceling statement due to statement timeout", code="57014", transient=True
        )

    return fault


def test_a_batch_with_the_store_cut_midway_ends_within_twice_timeout_times_attempts(
    short_case: StoreCase,
) -> None:
    case, total, recorded_first = short_case, 64, 16
    store = cut(case.client)
    cut_at: list[float] = []
    store.fault = _timing_out(recorded_first, store, cut_at)
    requests = [{"kind": "prompt", "topic": f"topic {i}"} for i in range(total)]

    items = case.client.generate.many(requests, concurrency=8, progress=False)
    elapsed = time.monotonic() - cut_at[0]

    # Measured: 0.9-1.0 s; waiting a full timeout per item would take about 4.9 s.
    bound = 2 * TIMEOUT * ATTEMPTS
    assert elapsed < bound + 1.0, f"{elapsed:.2f} s after the cut; bound {bound:.2f} s"
    ok = [item.result.id for item in items if item.ok]
    parked = [item.error.result.id for item in items if not item.ok]
    assert all(isinstance(item.error, RecordingFailed) for item in items if not item.ok)
    assert len(ok) >= recorded_first and len(ok) + len(parked) == total
    assert set(ok).isdisjoint(parked)
    pending = [e.id for e in case.client.outbox.pending()]
    assert sorted(pending) == sorted(parked)  # each parked exactly once

    store.fault = None
    assert case.client.outbox.flush().recorded == len(parked)
    assert case.client.prompts.count() == total
    assert case.client.activity_logs.count() == total
    assert case.client.outbox.flush().recorded == 0


def test_a_flush_with_the_store_down_does_not_wait_a_timeout_per_entry(
    short_case: StoreCase,
) -> None:
    case = short_case
    store = cut(case.client)
    parked = [park(case.client, f"topic {i}") for i in range(8)]
    store.fault = _timing_out(0, store, [])
    started = time.monotonic()
    flushed = case.client.outbox.flush()
    elapsed = time.monotonic() - started
    assert elapsed < 2 * TIMEOUT * ATTEMPTS + 1.0  # a timeout per entry: 6.4 s
    assert [f.entry.id for f in flushed.failed] == [p.id for p in parked]
    assert not any(f.permanent for f in flushed.failed)
    assert "not tried" in flushed.failed[-1].error
    assert len(case.client.outbox.pending()) == 8


def test_a_batch_whose_outbox_cannot_be_written_reports_it_per_item(
    async_generator_case: StoreCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = async_generator_case
    store = cut(case.client)
    store.fault = lambda op: _down(op) if store.records > 3 else None
    requests = [{"kind": "prompt", "topic": f"topic {i}"} for i in range(8)]
    with monkeypatch.context() as disk:
        _full_disk(disk, short=False)
        items = case.client.generate.many(requests, concurrency=1, progress=False)

    assert [item.ok for item in items] == [True] * 3 + [False] * 5
    for item in items[3:]:
        assert isinstance(item.error, RecordingFailed)
        assert item.error.code == UNWRITABLE
        assert item.error.result.values["generated_prompt"]
    assert case.client.prompts.count() == 3
    assert case.client.outbox.pending() == []


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def cli(
    tmp_path: Path,
    groq_peer: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., tuple[int, str, str]]:
    """Run ``groqgen ARGV...`` in-process on a SQLite home, Groq played by the peer."""
    from groqgen.cli import main

    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_key")
    monkeypatch.setenv("GROQ_BASE_URL", groq_peer.base_url)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*argv, "--home", str(tmp_path / "home")])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _record_fault(monkeypatch: pytest.MonkeyPatch, fault: Callable[[], None]) -> None:
    from groqgen.stores.sqlite import SQLiteStore

    execute = SQLiteStore.execute

    def faulty(self: Any, op: Any) -> Any:
        if isinstance(op, ops.Record):
            fault()
        return execute(self, op)

    monkeypatch.setattr(SQLiteStore, "execute", faulty)


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGINT to send to oneself on Windows")
def test_sigint_while_the_cli_records_keeps_the_generation_and_says_where(
    cli: Any, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    groq_peer.reply = "Paid for, then SIGINT."

    def sigint() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)  # waiting on the store; the signal ends the wait

    with monkeypatch.context() as broken:
        _record_fault(broken, sigint)
        code, _, err = cli("prompt", TOPIC)
    assert code == 130
    [line] = err.strip().splitlines()
    assert line.startswith("groqgen: error: interrupted; the paid generation ")
    assert str(Path(err.split(" outbox at ")[1].split(":")[0])).endswith(JOURNAL)
    code, out, _ = cli("outbox", "list", "--json")
    [entry] = json.loads(out)
    assert entry["id"] in line
    assert entry["values"]["generated_prompt"] == "Paid for, then SIGINT."
    code, out, _ = cli("outbox", "flush")
    assert (code, out) == (0, "recorded 1, failed 0\n")


def test_cli_outbox_drop_says_what_it_dropped(
    cli: Any, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    groq_peer.reply = "Paid-for prompt."
    with monkeypatch.context() as broken:
        _record_fault(broken, lambda: _down(None))  # type: ignore[arg-type]
        assert cli("prompt", TOPIC)[0] == 1
    _, out, _ = cli("outbox", "list", "--json")
    [entry] = json.loads(out)

    code, out, err = cli("outbox", "drop", entry["id"])
    assert code == 0, err
    assert out.startswith(f"dropped {entry['id']} (prompts, since ") and "Paid-for prompt." in out
    assert json.loads(cli("outbox", "list", "--json")[1]) == []

    code, _, err = cli("outbox", "drop", entry["id"])
    assert code == 1 and f"no outbox entry {entry['id']} is pending" in err
    assert cli("outbox", "drop", "nonsense")[0] == 2


def test_cli_outbox_list_reports_damaged_lines_and_still_lists(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as broken:
        _record_fault(broken, lambda: _down(None))  # type: ignore[arg-type]
        cli("prompt", TOPIC)
    with open(tmp_path / "home" / JOURNAL, "ab") as f:
        f.write(b"[]\n")
    code, out, err = cli("outbox", "list")
    assert code == 0
    assert len(out.strip().splitlines()) == 2  # the header and the good entry
    assert "line 2 (an array, not an entry object)" in err and REJECTS in err
    assert cli("outbox", "flush")[:2] == (0, "recorded 1, failed 0\n")


# -- the outbox is its owner's alone (issue 10) -------------------------------------------------------


def test_outbox_files_are_private_whatever_the_umask(
    generator_case: StoreCase, tmp_path: Path
) -> None:
    old = os.umask(0)
    try:
        client = _raw(generator_case.client)
        entry = client.generate._recorder.outbox.entry(
            ops.Record("prompts", {"id": uuid.uuid4()}, {"id": uuid.uuid4()}), "test"
        )
        client.generate._recorder.outbox.write(entry)
    finally:
        os.umask(old)
    home = client.settings.home
    assert stat.S_IMODE((home / JOURNAL).stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "outbox.lock").stat().st_mode) == 0o600


def test_a_planted_outbox_owned_by_another_user_is_refused(tmp_path: Path, other_user: Any) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    planted = home / JOURNAL
    planted.write_text("")
    os.chown(planted, other_user.uid, other_user.gid)
    with Client(home=home) as client:
        with pytest.raises(ConfigurationError):
            client.outbox.pending()
        entry = client.generate._recorder.outbox.entry(
            ops.Record("prompts", {"id": uuid.uuid4()}, {"id": uuid.uuid4()}), "test"
        )
        with pytest.raises(StoreError) as info:
            client.generate._recorder.outbox.write(entry)
        assert info.value.code == UNWRITABLE
    assert planted.read_text() == ""  # nothing of ours went into their file
