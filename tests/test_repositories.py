"""The repository verbs, one behaviour suite over every store: {SQLite, PostgreSQL} x {sync, async}."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from groqgen import NotFound, PermissionDenied, ValidationError
from groqgen.models import TABLES, ResourceCounts
from tests.conftest import StoreCase

PROMPT = {
    "topic": "release notes",
    "prompt_type": "writing",
    "tone": "casual",
    "length": 40,
    "model": "llama-3.3-70b-versatile",
    "generated_prompt": "Write release notes for version 2.",
}
NEW_ROWS: dict[str, dict[str, Any]] = {
    "prompts": PROMPT,
    "code_generations": {
        "description": "fizzbuzz",
        "language": "python",
        "framework": "none",
        "model": "m",
        "generated_code": "print(1)",
    },
    "code_reviews": {
        "code": "print(1)",
        "language": "python",
        "review_type": "security",
        "model": "m",
        "review_result": "## Summary",
    },
    "tests": {
        "code": "def f(): pass",
        "language": "python",
        "framework": "pytest",
        "test_types": ["unit", "edge"],
        "coverage": "basic",
        "model": "m",
        "generated_tests": "def test_f(): f()",
    },
}
GENERATION_TABLES = list(NEW_ROWS)


@pytest.fixture
def case(store_case: StoreCase) -> StoreCase:
    return store_case


# Profiles ---------------------------------------------------------------------------------------


def test_me_is_the_acting_users_profile(case: StoreCase) -> None:
    me = case.client.profiles.me()
    assert me.id == case.user_id
    assert case.client.profiles.get(me.id) == me


def test_update_me_changes_only_what_was_given(case: StoreCase) -> None:
    before = case.client.profiles.update_me(full_name="Ada", avatar_url="https://a.io/ada.png")
    after = case.client.profiles.update_me(full_name="Ada Lovelace")
    assert (after.full_name, after.avatar_url) == ("Ada Lovelace", "https://a.io/ada.png")
    assert after.updated_at >= before.updated_at
    assert case.client.profiles.update_me(avatar_url=None).avatar_url is None


def test_update_me_with_nothing_to_change_is_refused(case: StoreCase) -> None:
    with pytest.raises(ValidationError, match="nothing to update"):
        case.client.profiles.update_me()


# Projects ---------------------------------------------------------------------------------------


def test_create_get_and_list_a_project(case: StoreCase) -> None:
    project = case.client.projects.create("Launch", description="Release plan")
    assert (project.name, project.description, project.user_id) == (
        "Launch",
        "Release plan",
        case.user_id,
    )
    assert case.client.projects.get(project.id) == project
    assert [p.id for p in case.client.projects.list().items] == [project.id]


def test_creating_a_project_logs_it_in_the_same_transaction(case: StoreCase) -> None:
    project = case.client.projects.create("Launch")
    (entry,) = case.client.activity_logs.recent()
    assert (entry.activity_type, entry.project_id) == ("project_created", project.id)
    assert entry.metadata["project_id"] == str(project.id)


def test_updating_a_project_bumps_updated_at_and_logs_it(case: StoreCase) -> None:
    project = case.client.projects.create("Launch", description="old")
    updated = case.client.projects.update(project.id, name="Launch v2")
    assert (updated.name, updated.description) == ("Launch v2", "old")
    assert updated.updated_at > project.updated_at
    assert case.client.projects.update(project.id, description=None).description is None
    kinds = [e.activity_type for e in case.client.activity_logs.recent()]
    assert kinds == ["project_updated", "project_updated", "project_created"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [({}, "nothing to update"), ({"name": None}, "cannot be removed"), ({"name": ""}, "name")],
)
def test_bad_project_updates_are_refused(
    case: StoreCase, changes: dict[str, Any], message: str
) -> None:
    project = case.client.projects.create("Launch")
    with pytest.raises(ValidationError, match=message):
        case.client.projects.update(project.id, **changes)


def test_deleting_a_project_logs_it_and_keeps_its_rows(case: StoreCase) -> None:
    project = case.client.projects.create("Launch")
    prompt = case.client.prompts.create(**PROMPT, project_id=project.id)
    case.client.projects.delete(project.id)
    with pytest.raises(NotFound):
        case.client.projects.get(project.id)
    assert case.client.prompts.get(prompt.id).project_id is None
    entry = case.client.activity_logs.recent()[0]
    assert (entry.activity_type, entry.project_id) == ("project_deleted", None)
    assert entry.metadata["project_id"] == str(project.id)


def test_resource_counts_in_one_call(case: StoreCase) -> None:
    project = case.client.projects.create("Launch")
    for table, n in {"prompts": 3, "code_generations": 2, "code_reviews": 1}.items():
        for _ in range(n):
            getattr(case.client, table).create(**NEW_ROWS[table], project_id=project.id)
    case.client.prompts.create(**PROMPT)  # outside the project
    counts = case.client.projects.resource_counts(project.id)
    assert counts == ResourceCounts(
        prompt_count=3, code_generation_count=2, code_review_count=1, test_count=0
    )


# Every generation table ---------------------------------------------------------------------------


@pytest.mark.parametrize("table", GENERATION_TABLES)
def test_create_then_get_count_list_and_delete(case: StoreCase, table: str) -> None:
    repo = getattr(case.client, table)
    row = repo.create(**NEW_ROWS[table])
    assert isinstance(row, TABLES[table].row)
    assert row.user_id == case.user_id
    for column, value in NEW_ROWS[table].items():
        assert getattr(row, column) == value
    assert repo.get(row.id) == row
    assert repo.count() == 1
    assert repo.list().items == [row]
    repo.delete(row.id)
    assert repo.count() == 0
    with pytest.raises(NotFound):
        repo.get(row.id)
    with pytest.raises(NotFound):
        repo.delete(row.id)


@pytest.mark.parametrize("table", GENERATION_TABLES)
def test_list_and_count_by_project(case: StoreCase, table: str) -> None:
    repo = getattr(case.client, table)
    project = case.client.projects.create("P")
    inside = [repo.create(**NEW_ROWS[table], project_id=project.id) for _ in range(3)]
    repo.create(**NEW_ROWS[table])
    assert repo.count(project_id=project.id) == 3
    assert repo.count() == 4
    assert {r.id for r in repo.list(project_id=project.id).items} == {r.id for r in inside}


def test_a_missing_project_is_refused(case: StoreCase) -> None:
    with pytest.raises(PermissionDenied, match="project"):
        case.client.prompts.create(**PROMPT, project_id=uuid.uuid4())


def test_activity_log_and_recent(case: StoreCase) -> None:
    entry = case.client.activity_logs.log("login", "Signed in", metadata={"via": "cli"})
    assert (entry.activity_type, entry.metadata, entry.user_id) == (
        "login",
        {"via": "cli"},
        case.user_id,
    )
    assert case.client.activity_logs.recent(limit=5) == [entry]


def test_get_of_an_unknown_id_is_not_found(case: StoreCase) -> None:
    with pytest.raises(NotFound, match="Prompt"):
        case.client.prompts.get(uuid.uuid4())


# Pagination ---------------------------------------------------------------------------------------


def _raw_prompts(case: StoreCase, moments: list[datetime]) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in moments]
    case.raw(
        "prompts",
        [
            {"id": i, "user_id": case.user_id, "created_at": at, **PROMPT}
            for i, at in zip(ids, moments, strict=True)
        ],
    )
    return ids


def _newest_first(ids: list[uuid.UUID], moments: list[datetime]) -> list[uuid.UUID]:
    return [i for _, i in sorted(zip(moments, ids, strict=True), reverse=True)]


def _all_pages(repo: Any, limit: int, **filters: Any) -> list[list[uuid.UUID]]:
    pages, cursor = [], None
    while True:
        page = repo.list(limit=limit, cursor=cursor, **filters)
        pages.append([row.id for row in page.items])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_pages_run_newest_first_across_page_boundaries(case: StoreCase) -> None:
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    moments = [base + timedelta(minutes=m) for m in (5, 1, 9, 3, 7, 2, 8)]
    ids = _raw_prompts(case, moments)
    pages = _all_pages(case.client.prompts, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == _newest_first(ids, moments)


def test_rows_with_equal_created_at_are_neither_lost_nor_repeated(case: StoreCase) -> None:
    same = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    moments = [same] * 7 + [same + timedelta(seconds=1)] * 2
    ids = _raw_prompts(case, moments)
    pages = _all_pages(case.client.prompts, 2)
    seen = [i for p in pages for i in p]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen)) == 9
    assert seen[:2] == sorted(ids[7:], reverse=True)  # the later second first, then id desc
    assert seen[2:] == sorted(ids[:7], reverse=True)


def test_a_page_that_fills_exactly_has_no_next_cursor(case: StoreCase) -> None:
    _raw_prompts(
        case, [datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=s) for s in range(4)]
    )
    assert [len(p) for p in _all_pages(case.client.prompts, 2)] == [2, 2]
    assert case.client.prompts.list(limit=4).next_cursor is None


def test_iter_walks_every_page(case: StoreCase, monkeypatch: pytest.MonkeyPatch) -> None:
    import groqgen.repositories

    monkeypatch.setattr(groqgen.repositories, "ITER_PAGE_SIZE", 2)
    moments = [datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=s) for s in range(5)]
    ids = _raw_prompts(case, moments)
    assert [row.id for row in case.client.prompts.iter()] == _newest_first(ids, moments)


# Bad input never reaches the store ------------------------------------------------------------------


class _CountingStore:
    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def execute(self, op: Any) -> Any:
        self.calls += 1
        return self.inner.execute(op)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.prompts.create(**{**PROMPT, "prompt_type": "poetry"}), "prompt_type"),
        (lambda c: c.prompts.create(**{**PROMPT, "length": 7}), "length"),
        (lambda c: c.prompts.create(**{**PROMPT, "tone": "sarcastic"}), "tone"),
        (
            lambda c: c.tests.create(**{**NEW_ROWS["tests"], "test_types": ["smoke"]}),
            "test_types.0",
        ),
        (lambda c: c.projects.create(""), "name"),
        (lambda c: c.prompts.list(cursor="not-a-cursor"), "cursor"),
        (lambda c: c.prompts.list(cursor="MjAyNnxub3BlCg"), "cursor"),
        (lambda c: c.prompts.list(limit=0), "limit"),
        (lambda c: c.prompts.list(limit=1001), "limit"),
        (lambda c: c.prompts.get("42"), "id"),
        (lambda c: c.prompts.list(project_id="nope"), "project_id"),
        (lambda c: c.projects.list(project_id=uuid.uuid4()), "project_id"),
        (lambda c: c.activity_logs.log("hacked", "x"), "activity_type"),
        (lambda c: c.projects.resource_counts("x"), "project_id"),
    ],
)
def test_bad_input_is_refused_before_the_store_is_touched(
    case: StoreCase, call: Any, field: str
) -> None:
    client = case.client
    target = client._target if hasattr(client, "_target") else client
    repositories = [getattr(target, name) for name in TABLES]
    spy = _CountingStore(repositories[0]._store)
    for repo in repositories:
        repo._store = spy
    with pytest.raises(ValidationError) as info:
        call(client)
    assert info.value.field == field
    assert spy.calls == 0


# The typed surface: each table's create() is its input model ---------------------------------------


def _creates() -> list[tuple[Any, Any]]:
    from groqgen import repositories as r

    return [
        (repository, TABLES[table].create)
        for table, flavours in {
            "prompts": (r.PromptsRepository, r.AsyncPromptsRepository),
            "code_generations": (r.CodeGenerationsRepository, r.AsyncCodeGenerationsRepository),
            "code_reviews": (r.CodeReviewsRepository, r.AsyncCodeReviewsRepository),
            "tests": (r.TestsRepository, r.AsyncTestsRepository),
        }.items()
        for repository in flavours
    ]


@pytest.mark.parametrize(("repository", "model"), _creates(), ids=lambda v: v.__name__)
def test_create_takes_exactly_the_fields_of_the_tables_input_model(
    repository: Any, model: Any
) -> None:
    import inspect
    import typing

    parameters = dict(inspect.signature(repository.create).parameters)
    parameters.pop("self")
    assert set(parameters) == set(model.model_fields)
    hints = typing.get_type_hints(repository.create)
    for name, field in model.model_fields.items():
        parameter = parameters[name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        if field.is_required():
            assert parameter.default is inspect.Parameter.empty, name
        else:
            default = field.get_default(call_default_factory=True)
            expected = tuple(default) if isinstance(default, list) else default
            assert parameter.default == expected, name
        if typing.get_origin(field.annotation) is typing.Literal:  # a vocabulary
            assert hints[name] == field.annotation, name
        if typing.get_origin(field.annotation) is list:  # a list of a vocabulary's values
            assert typing.get_args(hints[name]) == typing.get_args(field.annotation), name
