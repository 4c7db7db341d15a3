"""The PostgreSQL migrations that ship with groqgen, and the runner that applies them.

The runner also adopts, in place, a database that the Groq Prompt Generator web app built
from its seed schema.

Ways in:

* :func:`apply` connects to a database and applies whatever has not run yet, recording each
  migration in ``groqgen.schema_migrations``. A database that holds the web app's tables is
  adopted in place (below). Running it again is a no-op. ``groqgen db migrate`` wraps it, and
  :func:`plan` (``groqgen db migrate --dry-run``) shows what it would do.
* :func:`check` (``groqgen db check``) reports the database's state, pending migrations, what
  differs from a fresh install and every legacy row that breaks one of groqgen's rules;
  :func:`repair` (``groqgen db repair``) fixes those rows, keeping what it changed.
* :func:`sql` returns every migration as one script for the Supabase SQL editor or a file in
  ``supabase/migrations``; ``sql(adopt=True)`` the adoption as one script. ``groqgen db sql``
  prints them.

Adoption takes the place of migration 0002 (the one that creates the tables) and ends with
0002 recorded, so every later migration applies to an adopted database as to a fresh one:

1. the indexes a fresh install has are built ``CONCURRENTLY``: writers are not blocked;
2. one short transaction locks the seven tables (a bounded wait, retried), adds every rule
   ``NOT VALID``, replaces every policy and installs 0002's functions, triggers and grants,
   taken from the shipped 0002 file itself;
3. each rule is validated in its own transaction, a scan that does not block writes; a rule
   that existing rows break stays ``NOT VALID`` (enforced for every new write) and is
   reported by :func:`check`;
4. users without a profile get one, the seed's single-column indexes are dropped
   ``CONCURRENTLY``, the tables are analysed, and 0002 is recorded.

An interruption leaves the database as it was (step 2 is one transaction) or in a state the
next :func:`apply` completes.

Example:
    >>> from groqgen import migrations
    >>> migrations.available()[0].version
    '0001'
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

from ..errors import ConfigurationError, MigrationError, StoreError
from ..vocabularies import TABLE_NAMES

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "Change",
    "CheckReport",
    "Migration",
    "MigrationPlan",
    "RepairReport",
    "Step",
    "Violation",
    "applied",
    "apply",
    "available",
    "check",
    "plan",
    "repair",
    "schema_missing",
    "sql",
    "unvalidated",
]

# pg_advisory_lock key: the first 8 bytes of sha256("groqgen.migrations"), as a signed bigint.
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"groqgen.migrations").digest()[:8], "big", signed=True)
_FILENAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

_HISTORY_DDL = """
create schema if not exists groqgen;
create table if not exists groqgen.schema_migrations (
  version text primary key,
  name text not null,
  checksum text not null,
  applied_at timestamp with time zone not null default now()
);
revoke all on groqgen.schema_migrations from public;
"""

# What `groqgen db repair` changed: enough to undo each change by hand.
_REPAIR_LOG_DDL = """
create table if not exists groqgen.repair_log (
  id bigint generated always as identity primary key,
  repaired_at timestamp with time zone not null default now(),
  table_name text not null,
  row_id uuid not null,
  column_name text not null,
  rule text not null,
  before jsonb,
  after jsonb
);
revoke all on groqgen.repair_log from public;
"""

_TABLES = TABLE_NAMES
# The order in which adoption locks the tables. A write locks the row's table, then its
# parents (the foreign-key checks); groqgen's record_generation locks the generation's table,
# then activity_logs. Taken in the same order, neither can deadlock with the switch. (A
# transaction that runs the other way round, a project deleted with its rows, meets the
# switch's bounded wait instead: the switch lets go and tries again.)
_LOCK_ORDER = (
    "prompts",
    "code_generations",
    "code_reviews",
    "tests",
    "activity_logs",
    "projects",
    "profiles",
)
_ADOPTED = "0002"  # the migration that adoption takes the place of

LOCK_WAIT_MS = 200
"""How long adoption's switch waits for the tables' locks, in all, before it lets go of
everything and tries again: the longest a web-app write queues behind a waiting switch. It is
below PostgreSQL's one-second deadlock check, so the switch gives up before a write waiting on
it could be cancelled as a deadlock victim."""

LOCK_ATTEMPTS = 50
"""How often the switch tries to lock the tables (with growing pauses) before giving up."""

_PLACEHOLDER = "unspecified"  # what `db repair` writes into a blank required label or text


@dataclass(frozen=True)
class Migration:
    """One shipped migration: ``version`` (``"0001"``), ``name``, its SQL and a checksum."""

    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """The sha256 of the SQL (line endings normalised), as hex."""
        return hashlib.sha256(self.sql.replace("\r\n", "\n").encode()).hexdigest()

    @property
    def label(self) -> str:
        """``"0002_schema"``."""
        return f"{self.version}_{self.name}"


def available() -> list[Migration]:
    """Every migration shipped with this version of groqgen, oldest first."""
    found = []
    for entry in resources.files(__package__).joinpath("postgres").iterdir():
        match = _FILENAME.match(entry.name)
        if match:
            found.append(
                Migration(match["version"], match["name"], entry.read_text(encoding="utf-8"))
            )
    return sorted(found, key=lambda m: m.version)


def _record_sql(migration: Migration) -> str:
    return (
        "insert into groqgen.schema_migrations (version, name, checksum) values "
        f"('{migration.version}', '{migration.name}', '{migration.checksum}') "
        "on conflict (version) do nothing;"
    )


def sql(*, adopt: bool = False) -> str:
    """Every migration as one SQL script, with the bookkeeping :func:`apply` relies on.

    Paste it into the Supabase SQL editor (or save it under ``supabase/migrations``) for a new
    project; a later :func:`apply` against the same database then finds everything recorded.

    With ``adopt=True``: the adoption of a database that holds the web app's tables, as one
    transaction, for those who cannot reach the database directly. Applying it is the same as
    :func:`apply`, except that it builds indexes and checks rules while holding the tables
    (no ``CONCURRENTLY`` inside a transaction): the web app waits until it commits. On a
    database that does not hold the web app's tables, it stops with a message before changing
    anything.
    """
    if adopt:
        return _adoption_script()
    parts = [
        "-- groqgen database schema: every migration, in order.",
        "-- Generated by groqgen.migrations.sql(); apply once to a new database.",
        "begin;",
        _HISTORY_DDL.strip(),
    ]
    for migration in available():
        parts.append(f"\n-- >>> migration {migration.label}\n")
        parts.append(migration.sql.strip())
        parts.append(_record_sql(migration))
    parts.append("commit;")
    return "\n".join(parts) + "\n"


# -- the adoption's pieces: SQL decided without a database -------------------------------------


def _adopt_sql(name: str) -> str:
    return resources.files(__package__).joinpath("adopt").joinpath(name).read_text("utf-8")


def _by_version(version: str) -> Migration:
    return next(m for m in available() if m.version == version)


_SECTION = re.compile(r"^-- (?P<title>[^-].*?) -{3,}$", re.MULTILINE)
_INDEX = re.compile(r"^create (?:unique )?index .*?;$", re.MULTILINE)
_STATISTICS = re.compile(r"^create statistics .*?;$", re.MULTILINE)
_TRIGGER = re.compile(r"^create trigger ", re.MULTILINE)


def _sections(text: str) -> list[tuple[str, str]]:
    """A migration cut at its section headers (``-- Tables ------``), in order.

    The text before the first header is titled ``""``.
    """
    headers = list(_SECTION.finditer(text))
    if not headers:
        return [("", text)]
    parts = [("", text[: headers[0].start()])]
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        end = following.start() if following is not None else len(text)
        parts.append((header["title"], text[header.start() : end]))
    return parts


def _schema_sections() -> list[tuple[str, str]]:
    sections = _sections(_by_version(_ADOPTED).sql)
    titles = [title for title, _text in sections]
    if "Tables" not in titles or not any(t.startswith("Indexes") for t in titles):
        raise MigrationError(  # pragma: no cover - 0002 is frozen; a test pins its sections
            "0002_schema.sql has no 'Tables' or 'Indexes' section to adopt around"
        )
    return sections


def _index_statements() -> list[str]:
    """Every index a fresh install has on the seven tables, as ``create index`` statements."""
    statements = _INDEX.findall(_adopt_sql("indexes.sql"))
    for title, text in _schema_sections():
        if title.startswith("Indexes"):
            statements += _INDEX.findall(text)
    return statements


def _concurrently(statement: str) -> str:
    return re.sub(
        r"^create (unique )?index ", r"create \1index concurrently if not exists ", statement
    )


def _if_not_exists(statement: str) -> str:
    return re.sub(r"^create (unique )?index ", r"create \1index if not exists ", statement)


def _switch_sql() -> str:
    """Migration 0002 as it applies to tables that exist.

    Its tables section is replaced by ``adopt/reshape.sql``, its indexes (built beforehand)
    are left out, its statistics and triggers made idempotent; everything else — functions,
    policies, grants — is as shipped.
    """
    parts = []
    for title, text in _schema_sections():
        if title == "Tables":
            parts.append(_adopt_sql("reshape.sql"))
        elif title.startswith("Indexes"):
            parts.append("-- Statistics (from 0002's indexes section; the indexes exist already)")
            parts += [
                s.replace("create statistics ", "create statistics if not exists ", 1)
                for s in _STATISTICS.findall(text)
            ]
        else:
            parts.append(_TRIGGER.sub("create or replace trigger ", text))
    return "\n".join(part.strip("\n") for part in parts) + "\n"


def _lock_tables(*, wait_ms: int | None) -> str:
    """Lock the seven tables in ``_LOCK_ORDER``.

    With ``wait_ms``, give up after that long per table and in all (the session's statement
    timeout comes back afterwards).
    """
    tables = ", ".join(f"public.{t}" for t in _LOCK_ORDER)
    lock = f"lock table {tables} in access exclusive mode;"
    if wait_ms is None:
        return lock
    return "\n".join(
        [
            f"select set_config('lock_timeout', '{wait_ms}ms', true);",
            f"select set_config('statement_timeout', '{wait_ms}ms', true);",
            lock,
            "set local statement_timeout to default;",
        ]
    )


_INVALID_INDEXES = """
select quote_ident(n.nspname) || '.' || quote_ident(ic.relname) as index_name
from pg_catalog.pg_index i
join pg_catalog.pg_class ic on ic.oid = i.indexrelid
join pg_catalog.pg_class t on t.oid = i.indrelid
join pg_catalog.pg_namespace n on n.oid = t.relnamespace
where n.nspname = 'public' and t.relname = any(%s) and not i.indisvalid
order by 1
"""

_UNVALIDATED = """
select k.conname
from pg_catalog.pg_constraint k
join pg_catalog.pg_class c on c.oid = k.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relname = any(%s) and not k.convalidated
"""


def _query(name: str) -> str:
    """An ``adopt/`` query without its leading comment, to embed in a larger statement."""
    lines = _adopt_sql(name).splitlines()
    while lines and (not lines[0].strip() or lines[0].startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


def _adoption_script() -> str:
    """The whole adoption, and every migration after it, as one transaction."""
    rule_names = ", ".join(f"'{r.name}'" for r in _rules())
    seven = "array[" + ", ".join(f"'{t}'" for t in _TABLES) + "]"
    first, schema = _by_version("0001"), _by_version(_ADOPTED)
    parts = [
        "-- groqgen: adopt the Groq Prompt Generator web app's tables in place.",
        "-- Generated by groqgen.migrations.sql(adopt=True). One transaction: everything or",
        "-- nothing. The web app waits while it runs; on big tables prefer `groqgen db migrate`,",
        "-- which holds the tables only for one short switch.",
        "begin;",
        f"select pg_advisory_xact_lock({_LOCK_KEY});",
        _HISTORY_DDL.strip(),
        "",
        "-- Only a database that holds the web app's tables and is not adopted yet.",
        "do $guard$",
        "declare",
        "  problems text;",
        "begin",
        f"  if exists (select 1 from groqgen.schema_migrations where version = '{_ADOPTED}') then",
        "    raise exception 'groqgen: this database has groqgen''s schema already; "
        "run groqgen db migrate or groqgen db check instead';",
        "  end if;",
        "  select string_agg(d.table_name || '.' || d.column_name || ' ' || d.difference, '; ')",
        "    into problems",
        f"    from ({_query('web_app_schema.sql')}) as d;",
        "  if problems is not null then",
        "    raise exception 'groqgen: these are not the web app''s tables (%); "
        "a new database takes groqgen db sql instead', problems;",
        "  end if;",
        "end",
        "$guard$;",
        f"\n-- >>> migration {first.label}\n",
        first.sql.strip(),
        _record_sql(first),
        f"\n-- >>> adoption of the web app's tables, in place of {schema.label}\n",
        _lock_tables(wait_ms=None),
        "do $invalid$",
        "declare found record;",
        "begin",
        f"  for found in {_INVALID_INDEXES.strip().replace('%s', seven)}",
        "  loop",
        "    execute 'drop index ' || found.index_name;",
        "  end loop;",
        "end",
        "$invalid$;",
        *(_if_not_exists(s) for s in _index_statements()),
        _switch_sql().strip(),
        _query("profiles.sql") + ";",
        "",
        "-- Check each rule against the existing rows; one that they break stays NOT VALID.",
        "do $validate$",
        "declare rule record;",
        "begin",
        "  for rule in select k.conrelid::regclass as table_name, k.conname",
        "    from pg_catalog.pg_constraint k",
        f"    where not k.convalidated and k.conname in ({rule_names})",
        "  loop",
        "    begin",
        "      execute format('alter table %s validate constraint %I', rule.table_name, "
        "rule.conname);",
        "    exception when check_violation or foreign_key_violation then",
        "      raise notice 'groqgen: % holds for new writes; existing rows break it "
        "(groqgen db check lists them)', rule.conname;",
        "    end;",
        "  end loop;",
        "end",
        "$validate$;",
        "",
        "do $seed_indexes$",
        "declare found record;",
        "begin",
        f"  for found in {_query('seed_indexes.sql')}",
        "  loop",
        "    execute 'drop index ' || found.index_name;",
        "  end loop;",
        "end",
        "$seed_indexes$;",
        f"analyze {', '.join(f'public.{t}' for t in _TABLES)};",
        _record_sql(schema),
    ]
    for migration in available():
        if migration.version > _ADOPTED:
            parts.append(f"\n-- >>> migration {migration.label}\n")
            parts.append(migration.sql.strip())
            parts.append(_record_sql(migration))
    parts.append("commit;")
    return "\n".join(parts) + "\n"


# -- rules: what adoption adds NOT VALID, how to find the rows that break it, how to fix them --

_RULE = re.compile(
    r"^\s*\('(?P<table>\w+)', '(?P<name>\w+)', '(?P<definition>(?:CHECK|FOREIGN KEY) [^']*)'\)",
    re.MULTILINE,
)
_KEY = re.compile(
    r"^FOREIGN KEY \((?P<columns>[^)]*)\) REFERENCES (?P<target>[\w.]+)\((?P<refs>[^)]*)\)"
)
_BETWEEN_CHARS = re.compile(r"^char_length\((?P<c>\w+)\) between 1 and (?P<n>\d+)$")
_AT_MOST_CHARS = re.compile(r"^char_length\((?P<c>\w+)\) <= (?P<n>\d+)$")
_RANGE = re.compile(r"^(?P<c>\w+) between (?P<lo>\d+) and (?P<hi>\d+)$")
_LABELS = re.compile(r"^groqgen\.labels_ok\((?P<c>\w+)\)$")
_JSON_BYTES = re.compile(r"^octet_length\((?P<c>\w+)::text\) <= (?P<n>\d+)$")


@dataclass(frozen=True)
class _Fix:
    column: str
    value: str  # SQL computing the new value from the row, aliased ``t``


@dataclass(frozen=True)
class _Rule:
    """One of groqgen's constraints that adoption adds NOT VALID (``adopt/reshape.sql``)."""

    table: str
    name: str
    definition: str

    @property
    def _check(self) -> str | None:
        if not self.definition.startswith("CHECK ("):
            return None
        return self.definition[len("CHECK (") : -1]

    @property
    def _key(self) -> tuple[list[str], str, list[str]]:
        found = _KEY.match(self.definition)
        assert found is not None, self.definition
        columns, refs = (
            [c.strip() for c in found[part].split(",")] for part in ("columns", "refs")
        )
        return columns, found["target"], refs

    def broken(self) -> str:
        """A condition on the table's row (aliased ``t``) that holds when the row breaks it."""
        check = self._check
        if check is not None:
            # The check spelled out, so that it also runs where groqgen's helper functions do
            # not exist yet (a database not adopted yet).
            labels = _LABELS.match(check)
            if labels:
                check = _labels_ok_body().replace("items", f"t.{labels['c']}")
            return f"({check}) is false"
        columns, target, refs = self._key
        present = " and ".join(f"t.{c} is not null" for c in columns)
        match = " and ".join(f"x.{r} = t.{c}" for c, r in zip(columns, refs, strict=True))
        return f"{present} and not exists (select 1 from {target} x where {match})"

    @property
    def description(self) -> str:
        """The rule in words."""
        check = self._check
        if check is None:
            columns, target, _refs = self._key
            if target == "public.projects":
                return "project_id must name a project of the row's owner (or be null)"
            if target == "auth.users":
                return "a profile's user must exist in auth.users"
            return f"{columns[0]} must name an existing profile"
        for pattern, words in (
            (_BETWEEN_CHARS, "{c} must be 1 to {n} characters"),
            (_AT_MOST_CHARS, "{c} may be at most {n} characters"),
            (_RANGE, "{c} must be {lo} to {hi}"),
            (_LABELS, "{c}: at most 20 labels, each 1 to 100 characters and not blank"),
            (_JSON_BYTES, "{c} may be at most {n} bytes of JSON"),
        ):
            found = pattern.match(check)
            if found:
                values = {
                    k: f"{int(v):,}" if v.isdigit() else v for k, v in found.groupdict().items()
                }
                return words.format(**values)
        return self.definition  # pragma: no cover - every shipped rule has words (tested)

    @property
    def fix(self) -> _Fix | None:
        """How ``db repair`` mends a row that breaks the rule; None: it cannot."""
        check = self._check
        if check is None:
            _columns, target, _refs = self._key
            if target == "public.projects":
                return _Fix("project_id", "null::uuid")  # detach the row from the project
            return None  # an owner that does not exist: a person decides
        if found := _BETWEEN_CHARS.match(check):
            c, n = found["c"], found["n"]
            return _Fix(
                c,
                f"case when char_length(t.{c}) < 1 then '{_PLACEHOLDER}' else left(t.{c}, {n}) end",
            )
        if found := _AT_MOST_CHARS.match(check):
            c, n = found["c"], found["n"]
            if c == "email":  # unique: a shortened address could be somebody else's
                return _Fix(c, "t.id::text || '@users.invalid'")
            return _Fix(c, f"left(t.{c}, {n})")
        if found := _RANGE.match(check):
            c = found["c"]
            return _Fix(c, f"greatest({found['lo']}, least({found['hi']}, t.{c}))")
        if found := _LABELS.match(check):
            c = found["c"]
            return _Fix(
                c,
                f"array(select left(btrim(u.label), 100) from unnest(t.{c}) with ordinality "
                "as u(label, n) where btrim(u.label) <> '' order by u.n limit 20)",
            )
        if found := _JSON_BYTES.match(check):
            return _Fix(
                found["c"],
                "jsonb_build_object('groqgen_repair', 'the metadata was over "
                f"{found['n']} bytes; the original is in groqgen.repair_log')",
            )
        return None  # pragma: no cover - every shipped rule has a fix or a reason (tested)


@functools.cache
def _labels_ok_body() -> str:
    """The body of 0002's ``groqgen.labels_ok(items)``, as one scalar subquery."""
    found = re.search(
        r"function groqgen\.labels_ok\(items varchar\[\]\).*?as \$\$(?P<body>.*?)\$\$;",
        _by_version(_ADOPTED).sql,
        re.DOTALL,
    )
    assert found is not None, "0002_schema.sql defines groqgen.labels_ok"
    return "(" + " ".join(found["body"].split()) + ")"


@functools.cache
def _rules() -> tuple[_Rule, ...]:
    """Groqgen's rules on the seven tables, as ``adopt/reshape.sql`` adds them."""
    return tuple(
        _Rule(m["table"], m["name"], m["definition"])
        for m in _RULE.finditer(_adopt_sql("reshape.sql"))
    )


_PROFILE_RULE = "profiles_for_every_user"
_USERS_WITHOUT_PROFILE = (
    "select u.id from auth.users u where not exists "
    "(select 1 from public.profiles p where p.id = u.id)"
)


# -- reports -------------------------------------------------------------------------------------


class _Report:
    """A dataclass that prints as JSON: ``to_dict()``."""

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready values."""
        return asdict(cast(Any, self))


@dataclass(frozen=True)
class Violation(_Report):
    """Existing rows that break one of groqgen's rules.

    ``rule`` is the constraint's name (``prompts_length_check``), ``description`` the rule in
    words, ``count`` how many rows break it and ``ids`` their ids (at most ``max_ids`` of them,
    in id order). ``repairable``: whether ``groqgen db repair`` can fix them.
    """

    table: str
    rule: str
    description: str
    count: int
    ids: list[str]
    repairable: bool


STATES = ("empty", "web-app", "groqgen", "drifted", "unrecognised")
"""What :func:`check` can find: no groqgen tables at all; the web app's tables, not adopted yet;
groqgen's schema; groqgen's schema with differences from a fresh install; anything else."""


@dataclass(frozen=True)
class CheckReport(_Report):
    """What :func:`check` found.

    Attributes:
        state: one of :data:`STATES`.
        version: the newest migration recorded (``"0004"``), or None.
        pending: shipped migrations not applied yet.
        drift: what differs from a fresh install at ``version`` (one line each); None when it
            could not be compared (``notes`` says why).
        violations: legacy rows that break groqgen's rules, one entry per rule.
        notes: anything else worth knowing, one sentence each.
    """

    state: str
    version: str | None
    pending: list[str]
    drift: list[str] | None
    violations: list[Violation]
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing to do: groqgen's schema, current, no drift, no legacy violation."""
        return (
            self.state == "groqgen"
            and not self.pending
            and not self.drift
            and not any(v.count for v in self.violations)
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready values."""
        return {**asdict(self), "clean": self.clean}


@dataclass(frozen=True)
class Step(_Report):
    """One thing :func:`apply` would do: which migration, what, and the SQL it runs."""

    migration: str
    action: str
    sql: str


@dataclass(frozen=True)
class MigrationPlan(_Report):
    """What :func:`apply` would do, as :func:`plan` finds it.

    The database's ``state``, each of the ``steps`` in order, and the legacy rows each new
    rule would leave unvalidated (``violations``).
    """

    state: str
    steps: list[Step]
    violations: list[Violation]


@dataclass(frozen=True)
class Change(_Report):
    """One value ``groqgen db repair`` changed (or would change).

    ``before`` and ``after`` are JSON values; the same is kept in ``groqgen.repair_log``.
    """

    table: str
    id: str
    column: str
    rule: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RepairReport(_Report):
    """What :func:`repair` did (or, with ``dry_run``, would do).

    Attributes:
        dry_run: nothing was changed.
        changes: every value changed.
        validated: the rules validated afterwards (none on a dry run).
        unrepaired: rows no documented fix applies to (their owner does not exist, or a
            profile's email is taken): a person decides.
    """

    dry_run: bool
    changes: list[Change]
    validated: list[str]
    unrepaired: list[Violation]


# -- connecting, history, state ------------------------------------------------------------------


def _connect(database_url: str, dbname: str | None = None) -> psycopg.Connection[Any]:
    try:
        import psycopg
    except ImportError:
        raise ConfigurationError(
            "applying migrations needs psycopg; install it with: pip install 'groqgen[postgres]'",
            setting="groqgen[postgres]",
        ) from None
    extra: dict[str, Any] = {"dbname": dbname} if dbname else {}
    try:
        return psycopg.connect(
            database_url,
            autocommit=True,
            connect_timeout=10,
            application_name="groqgen migrations",
            **extra,
        )
    except psycopg.ProgrammingError as exc:  # malformed URL
        raise ConfigurationError(
            f"the database URL is not valid ({type(exc).__name__}); expected "
            "postgresql://user:password@host:port/dbname",
            setting="database_url",
        ) from None
    except psycopg.OperationalError as exc:
        raise ConfigurationError(
            f"cannot connect to the database: {_first_line(exc)}", setting="database_url"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _history(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, str]]:
    exists = conn.execute("select to_regclass('groqgen.schema_migrations') is not null").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("select version, name, checksum from groqgen.schema_migrations").fetchall()
    return {version: (name, checksum) for version, name, checksum in rows}


def _check_history(recorded: dict[str, tuple[str, str]], shipped: list[Migration]) -> None:
    by_version = {m.version: m for m in shipped}
    for version, (name, checksum) in sorted(recorded.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version}_{name}, which this groqgen does not ship; "
                "upgrade groqgen to the version that created this database"
            )
        if checksum != migration.checksum:
            raise MigrationError(
                f"migration {version}_{name} was applied from a different file than the one "
                "this groqgen ships (checksum mismatch); the database was changed by another "
                "version of groqgen or by hand: compare it with `groqgen db sql` before going on"
            )


@dataclass(frozen=True)
class _State:
    name: str
    version: str | None
    differences: list[str]


def _state(conn: psycopg.Connection[Any], recorded: dict[str, tuple[str, str]]) -> _State:
    version = max(recorded) if recorded else None
    if _ADOPTED in recorded:
        return _State("groqgen", version, [])
    rows = conn.execute(_adopt_sql("web_app_schema.sql")).fetchall()
    missing_tables = sorted({t for t, _c, d in rows if d == "table missing"})
    if len(missing_tables) == len(_TABLES):
        return _State("empty", version, [])
    if not rows:
        return _State("web-app", version, [])
    differences = [f"table {t} is missing" for t in missing_tables]
    differences += [f"{t}.{c} {d}" for t, c, d in rows if d != "table missing"]
    return _State("unrecognised", version, differences)


def _refuse(state: _State) -> MigrationError:
    shown = "; ".join(state.differences[:5])
    more = f" (and {len(state.differences) - 5} more)" if len(state.differences) > 5 else ""
    return MigrationError(
        "the database has tables named like the web app's but not its schema "
        f"({shown}{more}); groqgen creates its tables in an empty database or adopts the web "
        "app's exactly as DATABASE.md creates them: change these by hand first"
    )


def applied(database_url: str) -> list[str]:
    """Return the versions recorded as applied in the database, oldest first."""
    with _connect(database_url) as conn:
        return sorted(_history(conn))


def unvalidated(database_url: str) -> list[str]:
    """The names of groqgen's rules that existing rows break.

    Each one holds for every new write but is ``NOT VALID`` in the database: rows written
    before adoption break it. :func:`check` lists those rows and :func:`repair` fixes them.
    Reads the catalog only.
    """
    with _connect(database_url) as conn:
        found = set(_scalars(conn, _UNVALIDATED, [list(_TABLES)]))
    return [r.name for r in _rules() if r.name in found]


# -- applying ------------------------------------------------------------------------------------


def _lock(conn: psycopg.Connection[Any]) -> None:
    """Take the advisory lock that serialises migration runs.

    Polled rather than waited for: a session blocked in ``pg_advisory_lock`` is a running
    transaction, which another run's ``CREATE INDEX CONCURRENTLY`` waits for: a deadlock.
    """
    while True:
        row = conn.execute("select pg_try_advisory_lock(%s)", [_LOCK_KEY]).fetchone()
        if row and row[0]:
            return
        time.sleep(0.2 + 0.2 * random.random())


def _say(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        progress(text)


def apply(database_url: str, *, progress: Callable[[str], None] | None = None) -> list[str]:
    """Apply every pending migration to the database at ``database_url``.

    Each migration runs in its own transaction together with the row that records it, so a
    failure leaves the database as it was before that migration. Concurrent runs are
    serialised by an advisory lock; the second finds nothing left to do. A database whose
    recorded history does not match the shipped files is refused with :class:`MigrationError`.

    A database that holds the web app's tables (``DATABASE.md``) is adopted in place instead
    of migration 0002 (see the module's description): every row is kept, every rule holds for
    new writes at once, and rows that break a rule are left for :func:`check` to report. The
    tables are locked against writes only for the one short transaction that switches them
    over; indexes are built and rules checked without blocking writers.

    Args:
        database_url: ``postgresql://user:password@host:port/dbname`` of a role that may
            create schemas, tables and functions (``postgres`` on Supabase).
        progress: called with one line per step, for a person watching.

    Returns:
        The versions applied by this call (an empty list when the database was current).

    Example:
        >>> applied = migrations.apply("postgresql://postgres@127.0.0.1/app")  # doctest: +SKIP
    """
    shipped = available()
    done: list[str] = []
    with _connect(database_url) as conn:
        import psycopg  # present: _connect said so in one sentence otherwise

        _lock(conn)
        try:
            recorded = _history(conn)
            _check_history(recorded, shipped)
            state = _state(conn, recorded)
            for migration in shipped:
                if migration.version in recorded:
                    continue
                if migration.version == _ADOPTED and state.name == "web-app":
                    _adopt(conn, progress)
                elif migration.version == _ADOPTED and state.name == "unrecognised":
                    # 0002 meets tables of the same names: it fails and rolls back; say why.
                    try:
                        _apply_one(conn, migration)
                    except MigrationError as exc:
                        raise MigrationError(f"{exc}; {_refuse(state)}", code=exc.code) from exc
                else:
                    _apply_one(conn, migration)
                _say(progress, f"applied {migration.label}")
                done.append(migration.version)
        except psycopg.Error as exc:
            raise StoreError(f"reading the migration history failed: {_first_line(exc)}") from exc
        finally:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", [_LOCK_KEY])
    return done


def _apply_one(conn: psycopg.Connection[Any], migration: Migration) -> None:
    import psycopg

    try:
        with conn.transaction():
            conn.execute(_HISTORY_DDL)
            conn.execute(migration.sql)
            conn.execute(
                "insert into groqgen.schema_migrations (version, name, checksum) "
                "values (%s, %s, %s)",
                [migration.version, migration.name, migration.checksum],
            )
    except psycopg.Error as exc:
        raise MigrationError(
            f"migration {migration.label} failed and was rolled back: {_first_line(exc)}",
            code=exc.sqlstate,
        ) from exc


def _adopt(conn: psycopg.Connection[Any], progress: Callable[[str], None] | None) -> None:
    """Adopt the web app's tables in place of migration 0002 (the module's steps 1 to 4)."""
    import psycopg

    schema = _by_version(_ADOPTED)
    step = "building indexes"
    try:
        _say(progress, f"{schema.label}: adopting the web app's tables in place")
        for index in _scalars(conn, _INVALID_INDEXES, [list(_TABLES)]):
            _say(progress, f"dropping the unfinished index {index}")
            conn.execute(f"drop index concurrently if exists {index}")
        for statement in _index_statements():
            _say(progress, f"building {_index_name(statement)} concurrently")
            conn.execute(_concurrently(statement))
        step = "switching the tables over"
        _say(progress, "switching the tables over (one short transaction)")
        _switch(conn, progress)
        step = "finishing"
        _finish(conn, progress)
    except psycopg.Error as exc:
        state = (
            "was rolled back; the tables are as they were"
            if step == "switching the tables over"
            else "stopped"
        )
        raise MigrationError(
            f"adopting the web app's tables failed while {step} and {state}: "
            f"{_first_line(exc)}; what was done is kept, and the next `groqgen db migrate` "
            "completes it",
            code=exc.sqlstate,
        ) from exc


def _index_name(statement: str) -> str:
    found = re.search(r"index (?:concurrently )?(?:if not exists )?(\w+)", statement)
    return found[1] if found else statement


def _scalars(conn: psycopg.Connection[Any], query: str, params: Any = None) -> list[Any]:
    return [row[0] for row in conn.execute(query, params).fetchall()]


def _switch(conn: psycopg.Connection[Any], progress: Callable[[str], None] | None) -> None:
    """The switch: one query message, so one implicit transaction with no round trip inside.

    Waiting for the locks is bounded (:data:`LOCK_WAIT_MS`); when the wait runs out the
    transaction lets go of everything, so no web-app write queues behind it for longer, and
    tries again after a pause, up to :data:`LOCK_ATTEMPTS` times.
    """
    import psycopg

    script = _lock_tables(wait_ms=LOCK_WAIT_MS) + "\n" + _switch_sql()
    busy = (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)
    for attempt in range(LOCK_ATTEMPTS):
        try:
            conn.execute(script)
            return
        except (*busy, psycopg.errors.DeadlockDetected) as exc:
            if attempt == LOCK_ATTEMPTS - 1:
                raise MigrationError(
                    f"could not lock the web app's tables for the switch in {LOCK_ATTEMPTS} "
                    f"tries ({_first_line(exc)}): other sessions keep them busy; nothing was "
                    "switched — run `groqgen db migrate` again when they are done",
                    code=exc.sqlstate,
                ) from exc
            _say(progress, f"the tables are busy ({_first_line(exc)}); trying the switch again")
            time.sleep(min(2.0, 0.05 * 2 ** min(attempt, 6)) * (0.5 + random.random()))


def _finish(conn: psycopg.Connection[Any], progress: Callable[[str], None] | None) -> None:
    import psycopg

    schema = _by_version(_ADOPTED)
    made = conn.execute(_adopt_sql("profiles.sql")).rowcount
    _say(progress, f"created {made} missing profile{'s' if made != 1 else ''}")
    unvalidated = set(_scalars(conn, _UNVALIDATED, [list(_TABLES)]))
    for rule in _rules():
        if rule.name not in unvalidated:
            continue
        try:
            conn.execute(f"alter table public.{rule.table} validate constraint {rule.name}")
            _say(progress, f"validated {rule.name}")
        except (psycopg.errors.CheckViolation, psycopg.errors.ForeignKeyViolation):
            _say(progress, f"{rule.name}: existing rows break it; enforced for new writes")
    for index in _scalars(conn, _adopt_sql("seed_indexes.sql")):
        _say(progress, f"dropping the web app's index {index} concurrently")
        conn.execute(f"drop index concurrently if exists {index}")
    _say(progress, "analysing the tables")
    conn.execute(f"analyze {', '.join(f'public.{t}' for t in _TABLES)}")
    with conn.transaction():
        conn.execute(_HISTORY_DDL)
        conn.execute(_record_sql(schema))


# -- what apply would do ------------------------------------------------------------------------


def plan(database_url: str, *, max_ids: int = 1000) -> MigrationPlan:
    """What :func:`apply` would do to the database, changing nothing.

    Each step names its migration, says what it does and carries its SQL. On a database that
    holds the web app's tables, ``violations`` lists for each new rule the existing rows that
    break it: the rule will be enforced for new writes but left unvalidated, and
    :func:`check` will report those rows.
    """
    shipped = available()
    steps: list[Step] = []
    violations: list[Violation] = []
    with _connect(database_url) as conn:
        recorded = _history(conn)
        _check_history(recorded, shipped)
        state = _state(conn, recorded)
        if state.name == "unrecognised":
            raise _refuse(state)
        for migration in shipped:
            if migration.version in recorded:
                continue
            if migration.version != _ADOPTED or state.name != "web-app":
                steps.append(Step(migration.label, f"apply {migration.label}", migration.sql))
                continue
            violations = _violations(conn, list(_rules()), max_ids, profiles=False)
            steps += _adoption_steps(conn, migration, violations)
    return MigrationPlan(state.name, steps, violations)


def _adoption_steps(
    conn: psycopg.Connection[Any], schema: Migration, violations: list[Violation]
) -> list[Step]:
    label = schema.label
    steps = [
        Step(label, f"drop the unfinished index {index}", f"drop index concurrently {index};")
        for index in _scalars(conn, _INVALID_INDEXES, [list(_TABLES)])
    ]
    steps += [
        Step(label, f"build {_index_name(s)} without blocking writes", _concurrently(s))
        for s in _index_statements()
    ]
    steps.append(
        Step(
            label,
            "switch the tables over in one short transaction: rules NOT VALID, policies "
            "replaced, functions, triggers and grants of 0002",
            _lock_tables(wait_ms=LOCK_WAIT_MS) + "\n" + _switch_sql(),
        )
    )
    users = len(conn.execute(_USERS_WITHOUT_PROFILE).fetchall())
    steps.append(
        Step(
            label,
            f"create the profile of {users} user(s) who have none",
            _adopt_sql("profiles.sql"),
        )
    )
    broken = {v.rule: v.count for v in violations if v.count}
    for rule in _rules():
        count = broken.get(rule.name)
        action = (
            f"leave {rule.name} unvalidated: {count} existing row(s) break it"
            if count
            else f"validate {rule.name}"
        )
        steps.append(
            Step(label, action, f"alter table public.{rule.table} validate constraint {rule.name};")
        )
    steps += [
        Step(label, f"drop the web app's index {index}", f"drop index concurrently {index};")
        for index in _scalars(conn, _adopt_sql("seed_indexes.sql"))
    ]
    steps.append(
        Step(label, "analyse the tables", f"analyze {', '.join(f'public.{t}' for t in _TABLES)};")
    )
    steps.append(Step(label, f"record {label}", _record_sql(schema)))
    return steps


# -- legacy violations --------------------------------------------------------------------------


def _violations(
    conn: psycopg.Connection[Any], rules: Iterable[_Rule], max_ids: int, *, profiles: bool
) -> list[Violation]:
    """The rows that break each of ``rules`` (one scan per table for the CHECK rules)."""
    found: list[Violation] = []
    by_table: dict[str, list[_Rule]] = {}
    for rule in rules:
        by_table.setdefault(rule.table, []).append(rule)
    limit = max(0, max_ids)
    for table in _TABLES:
        selected = by_table.get(table, [])
        if not selected:
            continue
        columns = []
        for rule in selected:
            condition = rule.broken()
            columns.append(f"count(*) filter (where {condition})")
            columns.append(
                f"(array_agg(t.id::text order by t.id) filter (where {condition}))[1:{limit}]"
            )
        row = conn.execute(f"select {', '.join(columns)} from public.{table} t").fetchone()
        assert row is not None
        for index, rule in enumerate(selected):
            count, ids = row[2 * index], row[2 * index + 1]
            found.append(
                Violation(
                    table, rule.name, rule.description, count, list(ids or []), rule.fix is not None
                )
            )
    if profiles:
        ids = _scalars(conn, f"select id::text from ({_USERS_WITHOUT_PROFILE}) u order by 1")
        found.append(
            Violation(
                "profiles",
                _PROFILE_RULE,
                "every user in auth.users has a profile",
                len(ids),
                ids[:limit],
                True,
            )
        )
    return found


# -- check ---------------------------------------------------------------------------------------


def check(database_url: str, *, max_ids: int = 1000, compare: bool = True) -> CheckReport:
    """Report the database's state, pending migrations, drift and legacy violations.

    Changes nothing. ``state`` is ``empty``, ``web-app`` (the web app's tables, not adopted
    yet), ``groqgen`` or ``drifted`` (groqgen's schema with differences from a fresh install,
    listed in ``drift``), or ``unrecognised``. ``violations`` holds, for every rule existing
    rows break, its table, name, count and the rows' ids (up to ``max_ids`` each).

    Drift is found by comparing catalogs (policies, grants, triggers, functions, indexes,
    constraints, columns) with a fresh install made for the purpose in a scratch database on
    the same server, dropped afterwards; with ``compare=False``, or when the role may not
    create databases, ``drift`` is None and ``notes`` says so.

    Example:
        >>> report = migrations.check("postgresql://postgres@127.0.0.1/app")  # doctest: +SKIP
        >>> report.state, report.clean  # doctest: +SKIP
        ('groqgen', True)
    """
    shipped = available()
    notes: list[str] = []
    with _connect(database_url) as conn:
        recorded = _history(conn)
        try:
            _check_history(recorded, shipped)
        except MigrationError as exc:
            return CheckReport("unrecognised", max(recorded), [], None, [], [str(exc)])
        state = _state(conn, recorded)
        pending = [m.version for m in shipped if m.version not in recorded]
        violations: list[Violation] = []
        drift: list[str] | None = None
        if state.name == "unrecognised":
            notes.append(str(_refuse(state)))
        elif state.name == "web-app":
            violations = _violations(conn, _rules(), max_ids, profiles=True)
            if conn.execute(
                "select to_regprocedure('public.record_generation(text, jsonb, jsonb)')"
            ).fetchone() != (None,):
                notes.append("an adoption was interrupted: `groqgen db migrate` completes it")
            else:
                notes.append("`groqgen db migrate` adopts these tables in place")
        elif state.name == "groqgen":
            unvalidated = set(_scalars(conn, _UNVALIDATED, [list(_TABLES)]))
            rules = [r for r in _rules() if r.name in unvalidated]
            violations = _violations(conn, rules, max_ids, profiles=True)
            if compare:
                drift, note = _drift(conn, database_url, set(recorded))
                if note:
                    notes.append(note)
            else:
                notes.append("not compared with a fresh install (compare=False)")
        violations = [v for v in violations if v.count]
    name = "drifted" if drift else state.name
    return CheckReport(name, state.version, pending, drift, violations, notes)


# -- drift: this database's catalog against a fresh install's -------------------------------------

_ROLES = ("PUBLIC", "anon", "authenticated", "service_role")

# Each query answers (object, definition) pairs; %(tables)s, %(functions)s and %(roles)s are
# bound by _catalog().
_CATALOG = (
    """
    select 'table ' || c.relname,
           concat_ws(' ', 'kind', c.relkind, 'row level security', c.relrowsecurity,
                     'forced', c.relforcerowsecurity)
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relname = any(%(tables)s)
    """,
    """
    select 'column ' || c.relname || '.' || a.attname,
           concat_ws(' ', format_type(a.atttypid, a.atttypmod),
                     case when a.attnotnull then 'not null' end,
                     'default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid))
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where n.nspname = 'public' and c.relname = any(%(tables)s)
      and a.attnum > 0 and not a.attisdropped
    """,
    # NOT VALID is left out: a rule that legacy rows break is a violation, not drift.
    """
    select 'constraint ' || k.conname || ' on ' || c.relname,
           regexp_replace(pg_catalog.pg_get_constraintdef(k.oid), ' NOT VALID$', '')
    from pg_catalog.pg_constraint k
    join pg_catalog.pg_class c on c.oid = k.conrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relname = any(%(tables)s)
    """,
    """
    select 'index ' || ic.relname || ' on ' || c.relname,
           pg_catalog.pg_get_indexdef(i.indexrelid)
           || case when i.indisvalid then '' else ' (invalid)' end
    from pg_catalog.pg_index i
    join pg_catalog.pg_class ic on ic.oid = i.indexrelid
    join pg_catalog.pg_class c on c.oid = i.indrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relname = any(%(tables)s)
    """,
    """
    select 'policy "' || p.policyname || '" on ' || p.tablename,
           concat_ws(' ', p.permissive, p.cmd, 'to', array_to_string(p.roles, ','),
                     'using', p.qual, 'with check', p.with_check)
    from pg_catalog.pg_policies p
    where p.schemaname = 'public' and p.tablename = any(%(tables)s)
    """,
    """
    select 'trigger ' || t.tgname || ' on ' || n.nspname || '.' || c.relname,
           pg_catalog.pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text
    from pg_catalog.pg_trigger t
    join pg_catalog.pg_class c on c.oid = t.tgrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where not t.tgisinternal
      and ((n.nspname = 'public' and c.relname = any(%(tables)s))
           or (n.nspname = 'auth' and c.relname = 'users'))
    """,
    """
    select 'statistics ' || s.stxname || ' on ' || c.relname,
           s.stxkind::text || ' on ' ||
           (select string_agg(a.attname, ', ' order by a.attnum)
            from pg_catalog.pg_attribute a
            where a.attrelid = s.stxrelid and a.attnum = any(s.stxkeys))
    from pg_catalog.pg_statistic_ext s
    join pg_catalog.pg_class c on c.oid = s.stxrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relname = any(%(tables)s)
    """,
    # Functions in schema groqgen, and those in public named as one of groqgen's: a function
    # of the user's own in public is none of groqgen's business.
    """
    select 'function ' || p.oid::regprocedure::text,
           concat_ws(' ', l.lanname, p.prokind, 'returns',
                     pg_catalog.pg_get_function_result(p.oid), 'security',
                     case when p.prosecdef then 'definer' else 'invoker' end,
                     'volatility', p.provolatile, 'config', p.proconfig::text,
                     'body md5', md5(p.prosrc))
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    join pg_catalog.pg_language l on l.oid = p.prolang
    where (n.nspname = 'groqgen' or (n.nspname = 'public' and p.proname = any(%(functions)s)))
      and not exists (select 1 from pg_catalog.pg_depend d
                      where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid
                        and d.deptype = 'e')
    """,
    """
    select 'grant ' || g.privilege_type || ' on ' || g.object || ' to '
           || case when g.grantee = 0 then 'PUBLIC' else g.grantee::regrole::text end,
           'granted'
    from (
      select 'table ' || c.relname as object, a.grantee, a.privilege_type
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace,
      lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
      where n.nspname = 'public' and c.relname = any(%(tables)s)
      union all
      select 'function ' || p.oid::regprocedure::text, a.grantee, a.privilege_type
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace,
      lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      where n.nspname = 'groqgen' or (n.nspname = 'public' and p.proname = any(%(functions)s))
      union all
      select 'schema groqgen', a.grantee, a.privilege_type
      from pg_catalog.pg_namespace n,
      lateral aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
      where n.nspname = 'groqgen'
    ) g
    where g.grantee = 0 or g.grantee::regrole::text = any(%(roles)s)
    """,
)


@functools.cache
def _function_names() -> frozenset[str]:
    """The functions groqgen's migrations create in schema public."""
    names: set[str] = set()
    for migration in available():
        names.update(re.findall(r"create (?:or replace )?function public\.(\w+)", migration.sql))
    return frozenset(names)


def _catalog(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """What a database holds of groqgen's schema, as ``{object: definition}``.

    Comparable between databases on any server: no oids, no owners.
    """
    params = {
        "tables": list(_TABLES),
        "functions": sorted(_function_names()),
        "roles": list(_ROLES),
    }
    found: dict[str, str] = {}
    for query in _CATALOG:
        for label, definition in conn.execute(query, params).fetchall():
            found[str(label)] = str(definition)
    return found


def _differences(found: dict[str, str], fresh: dict[str, str]) -> list[str]:
    lines = []
    for label in sorted(found.keys() | fresh.keys()):
        if label not in fresh:
            lines.append(f"{label}: not in a fresh install")
        elif label not in found:
            lines.append(f"{label}: missing")
        elif found[label] != fresh[label]:
            lines.append(f"{label}: differs from a fresh install ({found[label]})")
    return lines


def _drift(
    conn: psycopg.Connection[Any], database_url: str, versions: set[str]
) -> tuple[list[str] | None, str | None]:
    """The differences from a fresh install at the same migrations.

    The fresh install is made in a scratch database on the same server; (None, why) when
    none could be made.
    """
    import psycopg

    name = f"groqgen_reference_{secrets.token_hex(6)}"
    try:
        conn.execute(f'create database "{name}"')
    except psycopg.Error as exc:
        return None, (
            "not compared with a fresh install: a scratch database could not be created "
            f"({_first_line(exc)})"
        )
    try:
        try:
            scratch = _connect(database_url, dbname=name)
        except ConfigurationError as exc:
            return None, f"not compared with a fresh install: {exc}"
        with scratch:
            try:
                for migration in available():
                    if migration.version in versions:
                        _apply_one(scratch, migration)
            except MigrationError as exc:
                return None, f"not compared with a fresh install: {exc}"
            fresh = _catalog(scratch)
        return _differences(_catalog(conn), fresh), None
    finally:
        conn.execute(f'drop database if exists "{name}" with (force)')


# -- repair --------------------------------------------------------------------------------------


def repair(database_url: str, *, dry_run: bool = False) -> RepairReport:
    """Fix the legacy rows that break groqgen's rules, then validate the rules.

    Only on an adopted database (:func:`check` says ``groqgen``). Each fix is documented
    and recorded — table, row id, column, rule, value before and after — in the report and in
    ``groqgen.repair_log``, so that it can be undone by hand:

    * a row in another user's project, or in a project that does not exist: detached
      (``project_id`` set to null);
    * ``length`` out of 10..100: set to the nearest bound;
    * a text over its limit: cut to the limit (an over-long email becomes the reserved
      ``<id>@users.invalid``); a blank required label or text: ``'unspecified'``;
    * ``test_types``: blank labels removed, long ones cut to 100 characters, the first 20 kept;
    * ``metadata`` over 64 KiB: replaced by a note (the original is in the log);
    * a user without a profile: the profile the sign-up trigger would have made (with the
      reserved email if theirs is taken).

    Rows whose owner does not exist are not touched: they are returned in ``unrepaired``.
    With ``dry_run=True`` nothing changes and the report lists what would.
    """
    import psycopg

    changes: list[Change] = []
    validated: list[str] = []
    unrepaired: list[Violation] = []
    with _connect(database_url) as conn:
        _lock(conn)
        try:
            recorded = _history(conn)
            _check_history(recorded, available())
            if _ADOPTED not in recorded:
                raise MigrationError(
                    "db repair works on a database that has groqgen's schema; run "
                    "`groqgen db migrate` first (`groqgen db check` shows the state)"
                )
            unvalidated = set(_scalars(conn, _UNVALIDATED, [list(_TABLES)]))
            rules = [r for r in _rules() if r.name in unvalidated]
            broken = {v.rule: v for v in _violations(conn, rules, 1000, profiles=True)}
            if not dry_run:
                conn.execute(_REPAIR_LOG_DDL)
            for rule in rules:
                fix = rule.fix
                if not broken[rule.name].count:
                    continue
                if fix is None:
                    unrepaired.append(broken[rule.name])
                else:
                    changes += _repair_rule(conn, rule, fix, dry_run=dry_run)
            if broken[_PROFILE_RULE].count:
                changes += _repair_profiles(conn, dry_run=dry_run)
            if not dry_run:
                for rule in rules:
                    try:
                        conn.execute(
                            f"alter table public.{rule.table} validate constraint {rule.name}"
                        )
                        validated.append(rule.name)
                    except (psycopg.errors.CheckViolation, psycopg.errors.ForeignKeyViolation):
                        pass  # an unrepaired row; reported above
        except psycopg.Error as exc:
            raise StoreError(f"db repair failed: {_first_line(exc)}", code=exc.sqlstate) from exc
        finally:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", [_LOCK_KEY])
    return RepairReport(dry_run, changes, validated, unrepaired)


def _repair_rule(
    conn: psycopg.Connection[Any], rule: _Rule, fix: _Fix, *, dry_run: bool
) -> list[Change]:
    table, column = rule.table, fix.column
    if dry_run:
        query = (
            f"select t.id::text, to_jsonb(t.{column}), to_jsonb({fix.value}) "
            f"from public.{table} t where {rule.broken()} order by t.id"
        )
    else:
        # Old and new values of every row changed, into the log in the same transaction.
        query = f"""
            with broken as (
              select t.id, t.{column} as before from public.{table} t
              where {rule.broken()} for update
            ), fixed as (
              update public.{table} t set {column} = {fix.value}
              from broken where t.id = broken.id
              returning t.id, t.{column} as after
            ), logged as (
              insert into groqgen.repair_log (table_name, row_id, column_name, rule, before, after)
              select %(table)s, b.id, %(column)s, %(rule)s, to_jsonb(b.before), to_jsonb(f.after)
              from broken b join fixed f on f.id = b.id
              returning row_id, before, after
            )
            select row_id::text, before, after from logged order by row_id
        """
    with conn.transaction():
        rows = conn.execute(
            query, {"table": table, "column": column, "rule": rule.name} if not dry_run else None
        ).fetchall()
    return [
        Change(table, row_id, column, rule.name, before, after) for row_id, before, after in rows
    ]


def _repair_profiles(conn: psycopg.Connection[Any], *, dry_run: bool) -> list[Change]:
    # As the sign-up trigger makes them; a taken email gives way to the reserved address.
    values = (
        "select u.id, case when exists (select 1 from public.profiles p "
        "where p.email = coalesce(left(u.email, 320), u.id::text || '@users.invalid')) "
        "then u.id::text || '@users.invalid' "
        "else coalesce(left(u.email, 320), u.id::text || '@users.invalid') end as email, "
        "left(nullif(btrim(coalesce(u.raw_user_meta_data ->> 'full_name', "
        "u.raw_user_meta_data ->> 'name', '')), ''), 200) as full_name, "
        "left(nullif(btrim(coalesce(u.raw_user_meta_data ->> 'avatar_url', '')), ''), 2048) "
        "as avatar_url from auth.users u where not exists "
        "(select 1 from public.profiles p where p.id = u.id)"
    )
    if dry_run:
        query = f"select v.id::text, to_jsonb(v) from ({values}) v order by v.id"
    else:
        query = f"""
            with made as (
              insert into public.profiles (id, email, full_name, avatar_url)
              {values}
              on conflict do nothing
              returning *
            ), logged as (
              insert into groqgen.repair_log (table_name, row_id, column_name, rule, before, after)
              select 'profiles', m.id, 'id', '{_PROFILE_RULE}', null, to_jsonb(m) from made m
              returning row_id, after
            )
            select row_id::text, after from logged order by row_id
        """
    with conn.transaction():
        rows = conn.execute(query).fetchall()
    return [Change("profiles", row_id, "id", _PROFILE_RULE, None, after) for row_id, after in rows]


# -- the stores' word for a database groqgen has not set up -------------------------------------

_MISSING = re.compile(r"(?:function|relation|table) [\"']?(?:public\.)?(?P<name>\w+)")


def schema_missing(message: str, *, supabase: bool = False) -> MigrationError | None:
    """The one-sentence error for a store call that met a database without groqgen's schema.

    ``message`` is the database's (``function public.record_generation(...) does not exist``)
    or PostgREST's (``Could not find the function public.record_generation(...) in the schema
    cache``). Returns None when the missing object is not one of groqgen's.
    """
    found = _MISSING.search(message)
    if found is None:
        return None
    name = found["name"]
    if name in _function_names():
        what = f"the function {name} is missing"
    elif name in _TABLES:
        what = f"the table {name} is missing"
    else:
        return None
    if supabase:
        return MigrationError(
            f"this Supabase project does not have groqgen's schema yet ({what}): if it holds "
            "the web app's tables, paste the output of `groqgen db sql --adopt` into the SQL "
            "editor (`groqgen db sql` for a new project), or run `groqgen db migrate` with its "
            "connection string as --database-url"
        )
    return MigrationError(
        f"this database does not have groqgen's schema yet ({what}): run `groqgen db migrate`, "
        "which adopts the web app's tables in place if they are there (`groqgen db check` "
        "shows the database's state)"
    )
