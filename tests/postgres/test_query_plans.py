"""Every list the SDK runs reads straight off an index, at 100,000 rows per table.

Each query runs as the user under row-level security (as PostgREST or the direct store would)
with EXPLAIN (ANALYZE, FORMAT JSON): the plan must scan only indexes, sort nothing and throw
no row away in a filter — for a user whose rows are the newest and for one whose rows are old
(the case where the seed's separate created_at index walks most of the table).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from groqgen import migrations
from groqgen.stores import ops
from groqgen.stores.postgres import PostgresDialect
from tests.helpers import acting_as

pytestmark = pytest.mark.slow  # builds 100,000-row tables

ROWS = 100_000
USERS = 100
PROJECTS = USERS  # 1,000 rows per project and table: big enough to expose misestimates
GENERATION_TABLES = ["prompts", "code_generations", "code_reviews", "tests", "activity_logs"]
COLUMNS = {
    "prompts": "topic, prompt_type, tone, length, model, generated_prompt",
    "code_generations": "description, language, framework, model, generated_code",
    "code_reviews": "code, language, review_type, model, review_result",
    "tests": "code, language, framework, test_types, coverage, model, generated_tests",
    "activity_logs": "activity_type, description, metadata",
}
VALUES = {
    "prompts": "'topic ' || g, 'writing', 'casual', 50, 'm', 'text'",
    "code_generations": "'describe ' || g, 'python', 'none', 'm', 'print(1)'",
    "code_reviews": "'print(1)', 'python', 'general', 'm', 'fine'",
    "tests": "'def f(): pass', 'python', 'pytest', array['unit'], 'basic', 'm', 'def test(): pass'",
    "activity_logs": "'prompt_generation', 'did ' || g, '{}'::jsonb",
}
# User 0 owns the newest rows of every table; user 1's rows are all over 400 days old.
CREATED_AT = (
    f"case when g % {USERS} = 1 then now() - interval '400 days' - g * interval '1 second' "
    "else now() - g * interval '1 second' end"
)


def _uid(n: int) -> uuid.UUID:
    import hashlib

    return uuid.UUID(hashlib.md5(f"user{n}".encode()).hexdigest())


def _pid(n: int) -> uuid.UUID:
    import hashlib

    return uuid.UUID(hashlib.md5(f"project{n}".encode()).hexdigest())


@pytest.fixture(scope="module")
def big_db(make_database: Callable[[], str]) -> Iterator[Any]:
    url = make_database()
    migrations.apply(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into auth.users (id, email) select md5('user' || g)::uuid, "
            f"'u' || g || '@example.com' from generate_series(0, {USERS - 1}) g"
        )
        conn.execute(
            "insert into projects (id, name, user_id, created_at) "
            f"select md5('project' || g)::uuid, 'project ' || g, md5('user' || (g % {USERS}))::uuid, "
            f"{CREATED_AT} from generate_series(0, {ROWS - 1}) g"
        )
        for table in GENERATION_TABLES:
            conn.execute(
                f"insert into {table} (id, user_id, project_id, created_at, {COLUMNS[table]}) "
                f"select md5('{table}' || g)::uuid, md5('user' || (g % {USERS}))::uuid, "
                f"md5('project' || (g % {PROJECTS}))::uuid, {CREATED_AT}, {VALUES[table]} "
                f"from generate_series(0, {ROWS - 1}) g"
            )
        conn.execute("vacuum analyze")
        yield conn


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def _explain(conn: Any, user: uuid.UUID | None, role: str, sql: str) -> dict[str, Any]:
    with acting_as(conn, user, role):
        (doc,) = conn.execute(f"explain (analyze, format json) {sql}").fetchone()
    return (json.loads(doc) if isinstance(doc, str) else doc)[0]["Plan"]  # type: ignore[no-any-return]


def _assert_index_only_path(plan: dict[str, Any], table: str) -> None:
    nodes = list(_plan_nodes(plan))
    described = json.dumps(plan, indent=1)
    assert not [n for n in nodes if "Sort" in n["Node Type"]], f"sort in plan:\n{described}"
    scans = [n for n in nodes if n.get("Relation Name") == table]
    assert scans, described
    assert all(n["Node Type"] in ("Index Scan", "Index Only Scan") for n in scans), described
    removed = sum(n.get("Rows Removed by Filter", 0) for n in nodes)
    assert removed == 0, f"{removed} rows removed by filter:\n{described}"
    assert plan["Actual Rows"] > 0, "the query found nothing: the data set is wrong"


USERS_UNDER_TEST = {"recent": 0, "old": 1}
DIALECT = PostgresDialect()

# Each list exactly as the direct PostgreSQL store sends it: compiled by its dialect, the
# parameters bound on the client as the store binds them, run under row-level security as the
# user (or as the service role, which lists a project's rows for nobody in particular).
CASES = [
    pytest.param("activity_logs", "user", 10, who, id=f"recent-activity-{who}")
    for who in USERS_UNDER_TEST
] + [
    pytest.param(table, scope, 50, who, id=f"{table}-by-{scope}-{who}")
    for table in ["projects", *GENERATION_TABLES]
    for scope in (["user"] if table == "projects" else ["user", "project", "project-as-service"])
    for who in USERS_UNDER_TEST
]


def _sql(conn: Any, op: ops.Select, acting: uuid.UUID | None) -> str:
    (statement,) = DIALECT.plan(op, acting).statements
    return psycopg.ClientCursor(conn).mogrify(statement.sql, statement.params)


@pytest.mark.parametrize(("table", "scope", "limit", "who"), CASES)
def test_newest_first_and_next_page_read_only_the_index(
    big_db: Any, table: str, scope: str, limit: int, who: str
) -> None:
    n = USERS_UNDER_TEST[who]
    user = _uid(n)
    acting = None if scope.endswith("service") else user
    role = "service_role" if acting is None else "authenticated"
    where = ops.Scope(project_id=None if scope == "user" else _pid(n))

    first = _sql(big_db, ops.Select(table, where, limit), acting)
    _assert_index_only_path(_explain(big_db, acting, role, first), table)

    with acting_as(big_db, acting, role):
        page = big_db.cursor(row_factory=dict_row).execute(first).fetchall()
    assert len(page) == limit
    cursor = ops.Cursor(page[-1]["created_at"], page[-1]["id"])
    following = _sql(big_db, ops.Select(table, where, limit, after=cursor), acting)
    assert "(select '" in following  # the cursor travels through an InitPlan
    _assert_index_only_path(_explain(big_db, acting, role, following), table)


def test_the_data_set_is_as_large_as_promised(big_db: Any) -> None:
    for table in ["projects", *GENERATION_TABLES]:
        (count,) = big_db.execute(f"select count(*) from {table}").fetchone()
        assert count >= 100_000, table
