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

from groqgen import migrations
from tests.helpers import acting_as

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


def _explain(
    conn: Any, user: uuid.UUID | None, role: str, sql: str, params: list[Any]
) -> dict[str, Any]:
    with acting_as(conn, user, role):
        (doc,) = conn.execute(f"explain (analyze, format json) {sql}", params).fetchone()
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
NEWEST = "order by created_at desc, id desc limit {limit}"
# The cursor travels through an InitPlan, (select $n): its value is unknown when the plan is
# made, so the row estimate does not swing with where the cursor sits (a literal cursor older
# than most of the table made the planner expect ~10 rows and choose bitmap scan + sort).
# The direct PostgreSQL store sends keyset pages in exactly this form.
KEYSET = (
    "and (created_at, id) < ((select %s::timestamptz), (select %s::uuid)) "
    "order by created_at desc, id desc limit {limit}"
)
# How a list selects its rows. A user's rows: by user_id (row-level security adds the same
# predicate). A project's rows as a user: by project_id, with RLS adding "user_id = auth.uid()".
# A project's rows as the service role (no RLS): the owner predicate is spelled out, which the
# (project_id, user_id) foreign key makes equivalent to "project_id = X".
WHERE = {
    "user": "user_id = %s",
    "project": "project_id = %s",
    "project-as-service": "project_id = %s and user_id = "
    "(select p.user_id from public.projects p where p.id = %s)",
}

CASES = [
    pytest.param("activity_logs", "user", 10, who, id=f"recent-activity-{who}")
    for who in USERS_UNDER_TEST
] + [
    pytest.param(table, scope, 50, who, id=f"{table}-by-{scope}-{who}")
    for table in ["projects", *GENERATION_TABLES]
    for scope in (["user"] if table == "projects" else list(WHERE))
    for who in USERS_UNDER_TEST
]


@pytest.mark.parametrize(("table", "scope", "limit", "who"), CASES)
def test_newest_first_and_next_page_read_only_the_index(
    big_db: Any, table: str, scope: str, limit: int, who: str
) -> None:
    n = USERS_UNDER_TEST[who]
    user = _uid(n)
    params: list[Any] = [user] if scope == "user" else [_pid(n)] * WHERE[scope].count("%s")
    caller: uuid.UUID | None = None if scope.endswith("service") else user
    role = "service_role" if caller is None else "authenticated"
    where = WHERE[scope]

    first = f"select * from {table} where {where} {NEWEST.format(limit=limit)}"
    _assert_index_only_path(_explain(big_db, caller, role, first, params), table)

    with acting_as(big_db, caller, role):
        page = big_db.execute(
            f"select created_at, id from {table} where {where} {NEWEST.format(limit=limit)}",
            params,
        ).fetchall()
    assert len(page) == limit
    following = f"select * from {table} where {where} {KEYSET.format(limit=limit)}"
    _assert_index_only_path(_explain(big_db, caller, role, following, [*params, *page[-1]]), table)


def test_the_data_set_is_as_large_as_promised(big_db: Any) -> None:
    for table in ["projects", *GENERATION_TABLES]:
        (count,) = big_db.execute(f"select count(*) from {table}").fetchone()
        assert count >= 100_000, table
