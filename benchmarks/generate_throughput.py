"""Batch generation throughput: ``AsyncClient.generate.many`` against a script-style baseline.

Both sides make ``--n`` prompt generations (default 1,000) at ``--concurrency`` 32 against the
local Groq stand-in (``tests/groq_peer.py``, run in a child process so that it does not compete
with the client for the GIL, a fresh one for every run) answering after ``--latency`` seconds
(default 0.1), and record each generation on PostgreSQL under row-level security as a
signed-up user:

* groqgen: ``client.generate.many([{"kind": "prompt", ...}, ...], concurrency=32)``, which
  records row and activity entry in one transaction sent as one query
  (``public.record_generation``); once with the aiohttp-backed transport
  (``groq.DefaultAioHttpClient``) and once with plain httpx (``groq.DefaultAsyncHttpxClient``).
* baseline: the raw groq SDK with its fastest client (``AsyncGroq`` over
  ``groq.DefaultAioHttpClient``, ``max_retries=2``), then two inserts, ``prompts`` and
  ``activity_logs``, each its own transaction the way PostgREST runs it (``begin``; role and JWT
  claims with ``set_config``; ``insert``; ``commit``, one statement at a time) through a
  ``psycopg_pool.AsyncConnectionPool`` of autocommit connections (psycopg's defaults otherwise,
  so statements are prepared after 5 uses, as PostgREST prepares them); an ``asyncio.Semaphore``
  bounds the concurrency. Both sides send the same chat requests (the baseline's are built
  by groqgen's ``dry_run`` before the clock starts) and use the same pool size.

Two further runs bound what is possible on this machine: a trivial aiohttp client posting to
the peer (the peer's ceiling) and the raw groq SDK without any database.

Counted per generation: Groq chat requests (the peer's log), committed transactions
(``pg_stat_database.xact_commit`` of the benchmark database, read from a connection to another
database once the run's connections have closed, minus the transactions of connection
start-up), and, in a separate small run through a counting TCP proxy in front of PostgreSQL,
network round trips (client messages sent only after a server reply), queries and COMMITs.
Finally every recording run's user must own exactly ``--n`` prompts and ``--n`` activity
entries.

Targets: groqgen within 1.25x of the ideal ``n * latency / concurrency`` and at most 0.6x the
baseline's wall time.

    python benchmarks/generate_throughput.py [--n 1000] [--concurrency 32] [--latency 0.1] \\
        [--pool-size 10] [--repeat 1] [--db-rtt 0]

``--repeat R`` runs the three recording runs R times (order rotated each round) and judges the
targets on the median. ``--db-rtt MS`` puts a TCP proxy in a child process between the
recording runs and PostgreSQL that adds MS milliseconds to every round trip, as a database
across a network (a hosted Supabase database, its pooler) would. Needs ``groqgen[postgres]`` and a PostgreSQL server
(``GROQGEN_BENCH_SERVER_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``) on
which it creates, and afterwards drops, a database ``groqgen_bench_gen_<suffix>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shlex
import statistics
import struct
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

API_KEY = "gsk_benchmark"
HTTP_TIMEOUT = 30.0
PROXY_N = 96  # generations per round-trip counting run


# ------------------------------------------------------------------ the Groq peer, in a process


def _peer_main(conn: Any, latency: float) -> None:
    """Child process: serve a GroqPeer and answer commands over a pipe."""
    sys.path.insert(0, str(ROOT))
    from tests.groq_peer import GroqPeer

    with GroqPeer(latency=latency) as peer:
        conn.send(peer.base_url)
        while True:
            command = conn.recv()
            if command == "chat_requests":
                conn.send(len(peer.chat_requests))
            elif isinstance(command, tuple) and command[0] == "connections":
                # distinct client (address, port) pairs among chat requests since index
                conn.send(len({r.client for r in peer.chat_requests[command[1] :]}))
            elif command == "cpu":
                conn.send(time.process_time())
            elif command == "stop":
                conn.send(None)
                return


class PeerProcess:
    """``GroqPeer`` in a child process: ``base_url``, ``chat_requests()``, ``cpu()``."""

    def __init__(self, latency: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_peer_main, args=(child, latency), daemon=True)
        self.latency = latency
        self.base_url = ""

    def __enter__(self) -> PeerProcess:
        self._process.start()
        if not self._conn.poll(30):
            raise RuntimeError("the Groq peer process did not start")
        self.base_url = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._conn.send("stop")
            self._conn.poll(5)
        self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()

    def _ask(self, command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def chat_requests(self) -> int:
        return int(self._ask("chat_requests"))

    def cpu(self) -> float:
        return float(self._ask("cpu"))

    def connections(self, since: int) -> int:
        """TCP connections the chat requests after the first ``since`` came in on."""
        return int(self._ask(("connections", since)))


def fresh_peer(latency: float) -> PeerProcess:
    """A new peer process for every run.

    The peer works out ``x-ratelimit-remaining-requests`` by scanning every request it has
    recorded (``GroqPeer.count``) while holding its lock, so each answer costs time in
    proportion to the requests served before it: a peer shared by all runs got measurably
    slower from one run to the next (about +0.15 CPU-seconds per 1,000 requests served, for
    every further 1,000). Past 14,400 requests it would also announce an exhausted budget.
    """
    return PeerProcess(latency)


# ------------------------------------------------------------------------ machine CPU accounting


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds over all cores since boot, from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    ticks = [int(f) for f in fields[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds of every running ``postgres`` process (server and backends), by pid."""
    hz = os.sysconf("SC_CLK_TCK")
    usage: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name_end = stat.rfind(")")
        if stat[stat.find("(") + 1 : name_end] != "postgres":
            continue
        fields = stat[name_end + 2 :].split()
        usage[int(entry.name)] = (int(fields[11]) + int(fields[12])) / hz  # utime + stime
    return usage


@dataclass
class Run:
    name: str
    n: int
    key: str = ""
    wall: float = 0.0
    client_cpu: float = 0.0
    peer_cpu: float = 0.0
    pg_cpu: float = 0.0
    machine_busy: float = 0.0  # core-seconds used by everything on the machine
    loop_lag: tuple[float, float] = (0.0, 0.0)  # mean, p99 (ms)
    groq_requests: int = 0
    groq_connections: int = 0
    xacts_raw: int | None = None
    sessions: int | None = None
    xacts: float | None = None
    failures: int = 0
    rows: tuple[int, int] | None = None


class Meter:
    """Wall time, CPU by process group, event-loop lag and Groq requests between start and stop."""

    TICK = 0.005

    def __init__(self, run: Run, peer: PeerProcess) -> None:
        self.run = run
        self.peer = peer
        self._lags: list[float] = []
        self._ticker: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.TICK)
            self._lags.append(time.perf_counter() - before - self.TICK)

    def start(self) -> None:
        self._requests, self._peer_cpu = self.peer.chat_requests(), self.peer.cpu()
        self._pg = _postgres_cpu()
        self._busy = _machine_busy()[0]
        self._cpu = time.process_time()
        self._ticker = asyncio.ensure_future(self._tick())
        self._started = time.perf_counter()

    def stop(self) -> None:
        run = self.run
        run.wall = time.perf_counter() - self._started
        run.client_cpu = time.process_time() - self._cpu
        run.machine_busy = _machine_busy()[0] - self._busy
        pg = _postgres_cpu()
        run.pg_cpu = sum(cpu - self._pg.get(pid, 0.0) for pid, cpu in pg.items())
        if self._ticker is not None:
            self._ticker.cancel()
        lags = sorted(self._lags) or [0.0]
        run.loop_lag = (
            1000 * sum(lags) / len(lags),
            1000 * lags[min(len(lags) - 1, int(len(lags) * 0.99))],
        )
        run.peer_cpu = self.peer.cpu() - self._peer_cpu
        run.groq_requests = self.peer.chat_requests() - self._requests
        run.groq_connections = self.peer.connections(self._requests)


# ------------------------------------------------------------------------------ PostgreSQL side


class DatabaseStats:
    """Commit and session counters of one database, read from a connection to another one.

    The readings add nothing to the counters they read. Other backends publish their counters
    when they exit at the latest, so :meth:`settle` waits until the benchmark database has no
    client connection left before every reading.
    """

    def __init__(self, server_url: str, dbname: str) -> None:
        import psycopg

        self.dbname = dbname
        self.conn = psycopg.connect(server_url, autocommit=True)
        self.startup_xacts = 0.0

    def settle(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            (left,) = self.conn.execute(
                "select count(*) from pg_stat_activity where datname = %s "
                "and backend_type = 'client backend'",
                [self.dbname],
            ).fetchone()
            if left == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"connections to {self.dbname} did not close within {timeout} s")

    def read(self) -> tuple[int, int]:
        """(xact_commit, sessions) once every connection to the database has closed."""
        self.settle()
        self.conn.execute("select pg_stat_clear_snapshot()")
        xacts, sessions = self.conn.execute(
            "select xact_commit, sessions from pg_stat_database where datname = %s",
            [self.dbname],
        ).fetchone()
        return int(xacts), int(sessions)

    def calibrate(self, url: str) -> None:
        """Transactions a bare connection commits by itself (start-up reads the catalogs)."""
        import psycopg

        before, sessions_before = self.read()
        for _ in range(5):
            psycopg.connect(url, autocommit=True).close()
        after, sessions_after = self.read()
        self.startup_xacts = (after - before) / max(1, sessions_after - sessions_before)

    def close(self) -> None:
        self.conn.close()


async def with_xacts(run: Run, stats: DatabaseStats, body: Callable[[], Awaitable[None]]) -> None:
    xacts, sessions = stats.read()
    await body()  # closes its connections before returning
    xacts_after, sessions_after = stats.read()
    run.xacts_raw = xacts_after - xacts
    run.sessions = sessions_after - sessions
    run.xacts = run.xacts_raw - stats.startup_xacts * run.sessions


def count_rows(url: str, user: uuid.UUID) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        (prompts,) = conn.execute(
            "select count(*) from public.prompts where user_id = %s", [user]
        ).fetchone()
        (entries,) = conn.execute(
            "select count(*) from public.activity_logs where user_id = %s", [user]
        ).fetchone()
    return int(prompts), int(entries)


# --------------------------------------------------------------- the round-trip counting proxy


class _Leg:
    """What one PostgreSQL connection sent and received, message by message."""

    def __init__(self) -> None:
        self.ready = False  # start-up done (first ReadyForQuery seen)
        self.last: str | None = None
        self.answered = True  # the server has replied since the last counted client message
        self.client_buf = bytearray()
        self.server_buf = bytearray()
        self.started_client = False


@dataclass
class ProxyCounts:
    connections: int = 0
    startup_round_trips: int = 0
    round_trips: int = 0
    messages: dict[str, int] = field(default_factory=dict)
    commits: int = 0


class PgProxy:
    """A TCP proxy in front of PostgreSQL that counts round trips and protocol messages.

    A round trip is a client message (other than Terminate) that follows a server reply: the
    client had to wait for an answer before it could send it.
    Connect through it with ``sslmode=disable`` so that the stream is plain protocol v3.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.counts = ProxyCounts()
        self.server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def reset(self) -> None:
        self.counts = ProxyCounts()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        server_r, server_w = await asyncio.open_connection(*self.target)
        self.counts.connections += 1
        leg = _Leg()
        up = asyncio.ensure_future(self._pump(client_r, server_w, leg, "c"))
        down = asyncio.ensure_future(self._pump(server_r, client_w, leg, "s"))
        self._tasks.update((up, down))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
                self._tasks.discard(task)
            for writer in (client_w, server_w):
                with contextlib.suppress(Exception):
                    writer.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, leg: _Leg, side: str
    ) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            if side == "c" and leg.last != "c" and not leg.ready:
                self.counts.startup_round_trips += 1
            leg.last = side
            if side == "s":
                leg.answered = True
            self._parse(leg, side, data)
            writer.write(data)
            await writer.drain()

    def _parse(self, leg: _Leg, side: str, data: bytes) -> None:
        buf = leg.client_buf if side == "c" else leg.server_buf
        buf += data
        if side == "c" and not leg.started_client:  # StartupMessage: no type byte
            if len(buf) < 4:
                return
            (length,) = struct.unpack("!I", buf[:4])
            if len(buf) < length:
                return
            del buf[:length]
            leg.started_client = True
        while len(buf) >= 5:
            kind = chr(buf[0])
            (length,) = struct.unpack("!I", buf[1:5])
            if len(buf) < 1 + length:
                return
            payload = bytes(buf[5 : 1 + length])
            del buf[: 1 + length]
            if side == "c":
                if leg.ready:
                    self.counts.messages[kind] = self.counts.messages.get(kind, 0) + 1
                    if kind != "X" and leg.answered:  # X: Terminate, no answer expected
                        self.counts.round_trips += 1
                        leg.answered = False
            elif kind == "Z":
                leg.ready = True
            elif kind == "C" and payload.startswith(b"COMMIT"):
                self.counts.commits += 1


def _through(url: str, port: int) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    return make_conninfo(
        **{
            **conninfo_to_dict(url),
            "host": "127.0.0.1",
            "port": str(port),
            "sslmode": "disable",
            "gssencmode": "disable",
        }
    )


# ------------------------------------------------------------ simulated network latency to the DB


def _delay_main(conn: Any, host: str, port: int, rtt: float) -> None:
    """Child process: a TCP proxy that delays every chunk, each way, by half of ``rtt``."""

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    writer.close()
                    return
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(data)
                await writer.drain()

        delivery = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((time.monotonic() + rtt / 2, data))
                if not data:
                    break
            await delivery
        except (OSError, asyncio.CancelledError):
            delivery.cancel()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(host, port)
        await asyncio.gather(
            pump(client_r, server_w), pump(server_r, client_w), return_exceptions=True
        )

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        conn.send(int(server.sockets[0].getsockname()[1]))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop

    asyncio.run(serve())


class DelayProxy:
    """``_delay_main`` in a child process: ``port`` adds ``rtt`` to every round trip."""

    def __init__(self, host: str, port: int, rtt: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_delay_main, args=(child, host, port, rtt), daemon=True
        )
        self.port = 0

    def __enter__(self) -> DelayProxy:
        self._process.start()
        if not self._conn.poll(30):
            raise RuntimeError("the delay proxy process did not start")
        self.port = int(self._conn.recv())
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()


# ------------------------------------------------------------------------------------ the runs


def topics(n: int, tag: str) -> list[str]:
    return [f"release notes for feature {i} ({tag})" for i in range(n)]


async def trivial_client(
    meter: Meter | None, base_url: str, n: int, concurrency: int, body: dict[str, Any]
) -> int:
    """The peer's ceiling: bare aiohttp posts, nothing parsed beyond the JSON."""
    import aiohttp

    slots = asyncio.Semaphore(concurrency)
    failures = 0
    url = base_url + "/openai/v1/chat/completions"
    headers = {"authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

        async def one() -> None:
            nonlocal failures
            async with slots, session.post(url, json=body, headers=headers) as response:
                await response.json()
                failures += response.status != 200

        if meter:
            meter.start()
        await asyncio.gather(*(one() for _ in range(n)))
        if meter:
            meter.stop()
    return failures


async def raw_sdk_only(
    meter: Meter | None, base_url: str, params: list[dict[str, Any]], concurrency: int
) -> int:
    """The raw groq SDK over aiohttp, no database: the client-side floor of both contenders."""
    import groq

    client = groq.AsyncGroq(
        api_key=API_KEY, base_url=base_url, http_client=groq.DefaultAioHttpClient(), max_retries=2
    )
    slots = asyncio.Semaphore(concurrency)

    async def one(p: dict[str, Any]) -> None:
        async with slots:
            completion = await client.chat.completions.create(**p)
            assert completion.choices[0].message.content

    try:
        if meter:
            meter.start()
        await asyncio.gather(*(one(p) for p in params))
        if meter:
            meter.stop()
    finally:
        await client.close()
    return 0


async def groqgen_run(
    meter: Meter | None,
    url: str,
    user: uuid.UUID,
    base_url: str,
    http_client: Any,
    n: int,
    concurrency: int,
    pool_size: int,
    tag: str,
) -> int:
    """``generate.many``; the clock covers the call (pool start-up included), not close()."""
    import groqgen

    client = groqgen.AsyncClient(
        database_url=url,
        user_id=user,
        groq_api_key=API_KEY,
        groq_base_url=base_url,
        max_retries=2,
        timeout=HTTP_TIMEOUT,
        pool_size=pool_size,
        http_client=http_client,
    )
    requests = [{"kind": "prompt", "topic": t} for t in topics(n, tag)]
    try:
        if meter:
            meter.start()
        items = await client.generate.many(requests, concurrency=concurrency, progress=False)
        if meter:
            meter.stop()
    finally:
        await client.close()
        await http_client.aclose()
    failed = [item for item in items if not item.ok]
    if failed:
        print(f"  groqgen ({tag}): {len(failed)} failed, first: {failed[0].error!r}")
    return len(failed)


_CLAIMS_SQL = (
    "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)"
)
_INSERT_PROMPT = (
    "insert into public.prompts (topic, prompt_type, tone, length, additional_context, model, "
    "generated_prompt, user_id) values (%s, %s, %s, %s, %s, %s, %s, %s) returning *"
)
_INSERT_ACTIVITY = (
    "insert into public.activity_logs (user_id, activity_type, description, metadata) "
    "values (%s, %s, %s, %s)"
)


async def baseline_run(
    meter: Meter | None,
    url: str,
    user: uuid.UUID,
    base_url: str,
    params: list[dict[str, Any]],
    concurrency: int,
    pool_size: int,
    tag: str,
) -> int:
    """Script-style: raw SDK, then two PostgREST-style insert transactions."""
    import groq
    from psycopg.rows import dict_row
    from psycopg.types.json import Jsonb
    from psycopg_pool import AsyncConnectionPool

    claims = json.dumps({"sub": str(user), "role": "authenticated"})
    pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=pool_size,
        kwargs={"autocommit": True, "row_factory": dict_row},
        open=False,
    )
    client = groq.AsyncGroq(
        api_key=API_KEY, base_url=base_url, http_client=groq.DefaultAioHttpClient(), max_retries=2
    )
    slots = asyncio.Semaphore(concurrency)
    failures = 0

    async def insert(sql: str, values: list[Any]) -> Any:
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(_CLAIMS_SQL, [claims])
            cur = await conn.execute(sql, values)
            return await cur.fetchone() if cur.description else None

    async def one(topic: str, p: dict[str, Any]) -> None:
        nonlocal failures
        async with slots:
            try:
                started = time.perf_counter()
                completion = await client.chat.completions.create(**p)
                text = completion.choices[0].message.content or ""
                latency_ms = (time.perf_counter() - started) * 1000
                row = await insert(
                    _INSERT_PROMPT,
                    [topic, "writing", "professional", 50, None, p["model"], text, user],
                )
                usage = completion.usage
                await insert(
                    _INSERT_ACTIVITY,
                    [
                        user,
                        "prompt_generation",
                        f"Generated a writing prompt about {topic}",
                        Jsonb(
                            {
                                "model": completion.model,
                                "prompt_tokens": usage.prompt_tokens if usage else None,
                                "completion_tokens": usage.completion_tokens if usage else None,
                                "latency_ms": round(latency_ms, 1),
                                "record_id": str(row["id"]),
                            }
                        ),
                    ],
                )
            except Exception as exc:
                if failures == 0:
                    print(f"  baseline ({tag}): first failure {exc!r}")
                failures += 1

    try:
        if meter:
            meter.start()
        await pool.open()
        work = zip(topics(len(params), tag), params, strict=True)
        await asyncio.gather(*(one(t, p) for t, p in work))
        if meter:
            meter.stop()
    finally:
        await client.close()
        await pool.close()
    return failures


async def chat_parameters(url: str, user: uuid.UUID, n: int, tag: str) -> list[dict[str, Any]]:
    """The chat requests groqgen sends for these topics (dry run: no I/O)."""
    import groqgen

    client = groqgen.AsyncClient(database_url=url, user_id=user, groq_api_key=API_KEY)
    try:
        return [
            dict((await client.generate.prompt(t, dry_run=True)).parameters) for t in topics(n, tag)
        ]
    finally:
        await client.close()


# ------------------------------------------------------------------------------------- driver


@dataclass
class Config:
    n: int
    concurrency: int
    latency: float
    pool_size: int
    repeat: int = 1
    db_rtt: float = 0.0  # seconds added to every round trip to PostgreSQL

    @property
    def ideal(self) -> float:
        return self.n * self.latency / self.concurrency


def _missing_aiohttp(**_: Any) -> Any:
    raise RuntimeError("httpx-aiohttp is not installed")


async def bench(config: Config, url: str, dbname: str) -> dict[str, Any]:
    """Every run gets a Groq peer process of its own (see ``fresh_peer``)."""
    import groq
    from psycopg.conninfo import conninfo_to_dict

    import groqgen.stores.postgres  # noqa: F401 - everything imported before the clock starts
    from benchmarks._pg import SERVER_URL, new_user

    n, c, pool_size, latency = config.n, config.concurrency, config.pool_size, config.latency
    stats = DatabaseStats(SERVER_URL, dbname)
    stats.calibrate(url)
    runs: dict[str, Run] = {}
    info = conninfo_to_dict(url)
    host, port = str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432)
    delayed = contextlib.ExitStack()
    record_url = url  # where the contenders record (through the delay proxy with --db-rtt)
    if config.db_rtt > 0:
        record_url = _through(
            url, delayed.enter_context(DelayProxy(host, port, config.db_rtt)).port
        )

    params = await chat_parameters(url, new_user(url), n, "baseline")

    # 1. The peer's ceiling and the raw SDK's floor (no database).
    with fresh_peer(latency) as peer:
        run = runs["trivial"] = Run("trivial aiohttp client -> peer (no DB)", n)
        run.failures = await trivial_client(Meter(run, peer), peer.base_url, n, c, params[0])
    with fresh_peer(latency) as peer:
        run = runs["sdk"] = Run("raw groq SDK, aiohttp (no DB)", n)
        run.failures = await raw_sdk_only(Meter(run, peer), peer.base_url, params, c)

    # 2. groqgen with both transports, 3. the baseline; each as its own signed-up user.
    # Exactly what groqgen makes for itself: the aiohttp client by default, and the plain httpx
    # client it falls back to where httpx-aiohttp is missing.
    from groqgen.transport import make_async_http_client

    def aiohttp_client() -> Any:
        return make_async_http_client(30.0)

    def httpx_client() -> Any:
        real = groq.DefaultAioHttpClient
        try:
            groq.DefaultAioHttpClient = _missing_aiohttp  # as if httpx-aiohttp were not installed
            return make_async_http_client(30.0)
        finally:
            groq.DefaultAioHttpClient = real

    contenders: list[tuple[str, str, Callable[[Meter, str, uuid.UUID], Awaitable[int]]]] = [
        (
            "groqgen_aiohttp",
            "groqgen many(), aiohttp transport",
            lambda m, base, user: groqgen_run(
                m, record_url, user, base, aiohttp_client(), n, c, pool_size, "aiohttp"
            ),
        ),
        (
            "groqgen_httpx",
            "groqgen many(), httpx transport",
            lambda m, base, user: groqgen_run(
                m, record_url, user, base, httpx_client(), n, c, pool_size, "httpx"
            ),
        ),
        (
            "baseline",
            "baseline: raw SDK (aiohttp) + 2 PostgREST-style txns",
            lambda m, base, user: baseline_run(
                m, record_url, user, base, params, c, pool_size, "base"
            ),
        ),
    ]
    with delayed:
        for round_ in range(config.repeat):
            turn = round_ % len(contenders)  # rotate the order from one round to the next
            for key, name, call in contenders[turn:] + contenders[:turn]:
                user = new_user(url)
                label = f"{name} #{round_ + 1}" if config.repeat > 1 else name
                run = runs[f"{key}#{round_}"] = Run(label, n, key)
                with fresh_peer(latency) as peer:

                    async def body(
                        run: Run = run, call: Any = call, user: uuid.UUID = user, peer: Any = peer
                    ) -> None:
                        run.failures = await call(Meter(run, peer), peer.base_url, user)

                    await with_xacts(run, stats, body)
                run.rows = count_rows(url, user)
    stats.close()

    # 4. Round trips, through the counting proxy (a separate, small run per contender).
    proxy = PgProxy(host, port)
    proxied = _through(url, await proxy.start())
    proxy_n = min(PROXY_N, n)
    proxy_counts: dict[str, ProxyCounts] = {}
    try:
        with fresh_peer(latency) as peer:
            base = peer.base_url
            proxy_user = new_user(url)
            proxy.reset()
            await groqgen_run(
                None, proxied, proxy_user, base, aiohttp_client(), proxy_n, c, pool_size, "p"
            )
            proxy_counts["groqgen"] = proxy.counts
            proxy_user = new_user(url)
            proxy_params = await chat_parameters(url, proxy_user, proxy_n, "p-baseline")
            proxy.reset()
            await baseline_run(
                None, proxied, proxy_user, base, proxy_params, c, pool_size, "p-baseline"
            )
            proxy_counts["baseline"] = proxy.counts
    finally:
        await proxy.stop()
    return {"runs": runs, "proxy": proxy_counts, "proxy_n": proxy_n, "stats": stats}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def report(config: Config, result: dict[str, Any], command: str, elapsed: float) -> None:
    runs: dict[str, Run] = result["runs"]
    ideal = config.ideal
    print()
    print(f"command: {command}")
    print(
        f"n={config.n} generations, concurrency={config.concurrency}, peer latency="
        f"{config.latency * 1000:.0f} ms, pool_size={config.pool_size} (both groqgen and the "
        f"baseline), ideal = {config.n} x {config.latency} / {config.concurrency} = {ideal:.3f} s"
    )
    if config.db_rtt:
        print(
            f"database round trip: +{config.db_rtt * 1000:g} ms for the recording runs (delaying "
            "proxy); the counting proxy runs below connect directly"
        )
    else:
        print("database round trip: direct connection to PostgreSQL on this machine")
    print(
        f"machine: {os.cpu_count()} cores shared by client, peer process and PostgreSQL; "
        f"Python {sys.version.split()[0]}"
    )
    print()
    header = (
        f"{'run':52} {'wall s':>7} {'/ideal':>7} {'gen/s':>6} {'fail':>4} "
        f"{'cli cpu':>7} {'peer cpu':>8} {'pg cpu':>6} {'all cpu':>7} {'lag ms':>11} "
        f"{'groq/gen':>8} {'conns':>5} {'txn/gen':>7}"
    )
    print(header)
    print("-" * len(header))
    for run in runs.values():
        txn = None if run.xacts is None else run.xacts / run.n
        lag = f"{run.loop_lag[0]:.1f}/{run.loop_lag[1]:.1f}"
        print(
            f"{run.name:52} {run.wall:7.3f} {run.wall / ideal:7.2f} {run.n / run.wall:6.0f} "
            f"{run.failures:4d} {run.client_cpu:7.2f} {run.peer_cpu:8.2f} {run.pg_cpu:6.2f} "
            f"{run.machine_busy:7.2f} {lag:>11} {run.groq_requests / run.n:8.3f} "
            f"{run.groq_connections:5d} {_fmt(txn, '7.3f')}"
        )
    print()
    print(
        "cpu columns: CPU seconds used while the clock ran by the client process, the peer "
        "process, all postgres processes, and the whole machine (ceiling: "
        f"{os.cpu_count()} x wall). lag ms: event-loop lag of a {Meter.TICK * 1000:.0f} ms "
        "ticker in the client, mean/p99. conns: TCP connections the peer saw the run's chat "
        "requests arrive on."
    )
    print(
        "the clock covers generate.many() / the gather of all generations, pool start-up "
        "included, client close excluded."
    )
    stats = result["stats"]
    print(
        f"txn/gen: pg_stat_database.xact_commit delta of the benchmark database, minus "
        f"{stats.startup_xacts:.2f} start-up transaction(s) per new session:"
    )
    for run in runs.values():
        if run.xacts_raw is not None:
            print(
                f"  {run.name:52} xact_commit +{run.xacts_raw}, sessions +{run.sessions} "
                f"-> {run.xacts:.0f} transactions / {run.n} generations"
            )
    print()

    def wall(key: str) -> float:
        return statistics.median(run.wall for run in runs.values() if run.key == key)

    baseline = wall("baseline")
    which = f"median of {config.repeat} runs" if config.repeat > 1 else "wall time"
    print(f"targets ({which}; baseline {baseline:.3f} s = {baseline / ideal:.2f}x ideal):")
    for key, name in (("groqgen_aiohttp", "groqgen, aiohttp"), ("groqgen_httpx", "groqgen, httpx")):
        ratio, versus = wall(key) / ideal, wall(key) / baseline
        print(
            f"  {name:17} {wall(key):6.3f} s = {ratio:5.2f}x ideal (target <= 1.25: "
            f"{'met' if ratio <= 1.25 else 'MISSED'});  {versus:5.2f}x baseline "
            f"(target <= 0.6: {'met' if versus <= 0.6 else 'MISSED'})"
        )
    print(f"  (the best any client can do, the ideal, is {ideal / baseline:.2f}x this baseline)")
    trivial = runs["trivial"].wall
    waves = -(-config.n // config.concurrency) * config.latency
    print(
        f"  the peer itself, with a trivial client: {trivial / ideal:.2f}x ideal, "
        f"{trivial / waves:.2f}x the {waves:.2f} s that ceil(n / concurrency) waves of "
        f"{config.latency * 1000:.0f} ms take ("
        f"{'not a bottleneck' if trivial <= 1.1 * ideal else 'LIMITS throughput'} "
        "at this concurrency)"
    )
    print()
    print(f"rows recorded (prompts, activity_logs) per user, expected ({config.n}, {config.n}):")
    for run in runs.values():
        if run.rows is None:
            continue
        ok = run.rows == (config.n, config.n)
        print(f"  {run.name:52} {run.rows}  {'ok' if ok else 'MISMATCH'}")
    print()
    proxy_n = result["proxy_n"]
    print(
        f"PostgreSQL wire, counted by a TCP proxy over {proxy_n} more generations each "
        "(connection start-up excluded):"
    )
    for key, counts in result["proxy"].items():
        messages = ", ".join(f"{k}:{v / proxy_n:.2f}" for k, v in sorted(counts.messages.items()))
        print(
            f"  {key:9} round trips/gen {counts.round_trips / proxy_n:5.2f}   "
            f"COMMITs/gen {counts.commits / proxy_n:5.2f}   client messages/gen {{{messages}}}   "
            f"connections {counts.connections} (start-up round trips {counts.startup_round_trips})"
        )
    print(
        "  (client messages: Q simple query; P/B/D/E/S parse/bind/describe/execute/sync; "
        "X terminate. Round trips above a whole number are one-off: psycopg preparing a "
        "statement on a connection for the first time costs an extra Parse/Sync round trip.)"
    )
    print()
    print(f"total benchmark time {elapsed:.1f} s")


def main() -> None:
    from benchmarks._pg import migrated_database

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the three recording runs (rotated order)"
    )
    parser.add_argument(
        "--db-rtt",
        type=float,
        default=0.0,
        help="milliseconds added to every PostgreSQL round trip of the recording runs "
        "(a delaying TCP proxy in a child process; 0: connect directly)",
    )
    args = parser.parse_args()
    config = Config(
        args.n, args.concurrency, args.latency, args.pool_size, args.repeat, args.db_rtt / 1000
    )
    command = shlex.join(["python", "benchmarks/generate_throughput.py", *sys.argv[1:]])
    started = time.perf_counter()
    with migrated_database("groqgen_bench_gen") as url:
        from psycopg.conninfo import conninfo_to_dict

        dbname = str(conninfo_to_dict(url)["dbname"])
        result = asyncio.run(bench(config, url, dbname))
    report(config, result, command, time.perf_counter() - started)


if __name__ == "__main__":
    main()
