"""Repositories: one per table, the same verbs on every store, sync and async.

Each verb is decided once, in :class:`Requests`: it validates its arguments (before any store
is touched), describes the work as a store operation and says how to read the answer. The
:class:`Repository` and :class:`AsyncRepository` families only hand that operation to their
store and return the result — their methods are one line each, so the two can never drift.

Example:
    >>> from groqgen import Client
    >>> with Client() as client:  # doctest: +SKIP
    ...     project = client.projects.create("Launch")
    ...     page = client.prompts.list(project_id=project.id, limit=20)
    ...     for prompt in page.items:
    ...         print(prompt.topic)
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from .errors import GroqgenError, NotFound, ValidationError
from .models import (
    ActivityLog,
    ActivityLogCreate,
    CodeGeneration,
    CodeReview,
    Profile,
    ProfileUpdate,
    Project,
    ProjectCreate,
    ProjectUpdate,
    Prompt,
    ResourceCounts,
    RowT,
    Table,
    TestGeneration,
    validate_input,
)
from .presentation import Rows, require_pandas, rows_html, to_pandas
from .prices import GROQ_PRICES, PriceTable
from .retry import RetryPolicy, async_retrying, retrying
from .stores import AsyncStore, Store, ops
from .usage import Reports, UsageReport, usage_operation
from .vocabularies import ActivityType, Coverage, PromptType, ReviewType, TestType, Tone

__all__ = [
    "ActivityLogsRepository",
    "AsyncActivityLogsRepository",
    "AsyncCodeGenerationsRepository",
    "AsyncCodeReviewsRepository",
    "AsyncProfilesRepository",
    "AsyncProjectsRepository",
    "AsyncPromptsRepository",
    "AsyncRepository",
    "AsyncTestsRepository",
    "CodeGenerationsRepository",
    "CodeReviewsRepository",
    "Page",
    "ProfilesRepository",
    "ProjectsRepository",
    "PromptsRepository",
    "Repository",
    "Requests",
    "Rows",
    "TestsRepository",
]

T = TypeVar("T")
MAX_LIMIT = 1000
ITER_PAGE_SIZE = 500


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Marks an update argument that was not given (so ``None`` can mean "clear it")."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows, newest first.

    ``next_cursor`` is an opaque token for the following page, or None on the last page.
    Iterating a page iterates its items.
    """

    items: list[T]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def _repr_html_(self) -> str:
        """An HTML table for notebooks (:func:`groqgen.presentation.rows_html`)."""
        return rows_html(self.items, more=self.next_cursor is not None)

    def to_pandas(self) -> Any:
        """The items as a ``pandas.DataFrame`` (needs pandas installed)."""
        return to_pandas(self.items)


def encode_cursor(cursor: ops.Cursor) -> str:
    """Turn a keyset position into an opaque, URL-safe token."""
    raw = f"{cursor.created_at.isoformat()}|{cursor.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> ops.Cursor:
    """Read a token made by :func:`encode_cursor`; ``ValidationError`` when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created_at, _, row_id = raw.partition("|")
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        moment.astimezone(timezone.utc)  # a date at the edge of the calendar overflows here
        return ops.Cursor(moment, uuid.UUID(row_id))
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(
            "invalid cursor: pass the next_cursor of a previous page unchanged",
            field="cursor",
        ) from None


def _uuid(value: Any, name: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(
            f"{name} is not a valid UUID: {str(value)[:60]!r}", field=name
        ) from None


def _limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    return limit


@dataclass(frozen=True)
class Call(Generic[T]):
    """A store operation and how to read its answer."""

    op: ops.Operation
    read: Callable[[Any], T] = field(default=lambda answer: answer)


class Requests(Generic[RowT]):
    """Everything a repository decides for one table, with no I/O."""

    def __init__(self, table: Table[RowT]) -> None:
        self.table = table

    def _model(self, row: dict[str, Any] | None, what: str) -> RowT:
        if row is None:
            raise NotFound(f"{what} not found (or not visible to the acting user)")
        return self.table.row.model_validate(row)

    def _scope(self, project_id: Any = None) -> ops.Scope:
        if project_id is None:
            return ops.Scope()
        if not self.table.project_scoped:
            raise ValidationError(
                f"{self.table.name} rows do not belong to projects; drop project_id",
                field="project_id",
            )
        return ops.Scope(project_id=_uuid(project_id, "project_id"))

    def _what(self, row_id: uuid.UUID) -> str:
        return f"{self.table.row.__name__} {row_id}"

    def get(self, row_id: Any) -> Call[RowT]:
        """Fetch one row by id."""
        key = _uuid(row_id, "id")
        return Call(
            ops.Get(self.table.name, key, self._scope()),
            lambda row: self._model(row, self._what(key)),
        )

    def list(self, project_id: Any, limit: Any, cursor: str | None) -> Call[Page[RowT]]:
        """One page, newest first; one extra row is read to learn whether another page exists."""
        scope, size = self._scope(project_id), _limit(limit)
        after = None if cursor is None else decode_cursor(cursor)

        def read(rows: list[dict[str, Any]]) -> Page[RowT]:
            items = [self.table.row.model_validate(row) for row in rows[:size]]
            more = len(rows) > size
            last = items[-1] if more else None
            token = None if last is None else encode_cursor(ops.Cursor(last.created_at, last.id))
            return Page(items, token)

        return Call(ops.Select(self.table.name, scope, size + 1, after), read)

    def count(self, project_id: Any) -> Call[int]:
        """Count the visible rows, optionally in one project."""
        return Call(ops.Count(self.table.name, self._scope(project_id)))

    def delete(self, row_id: Any, activity: dict[str, Any] | None = None) -> Call[None]:
        """Delete one row by id; NotFound when there was none to delete."""
        key = _uuid(row_id, "id")

        def read(row: dict[str, Any] | None) -> None:
            self._model(row, self._what(key))

        return Call(ops.Delete(self.table.name, key, self._scope(), activity), read)

    def create(self, values: dict[str, Any], activity: dict[str, Any] | None = None) -> Call[RowT]:
        """Validate ``values`` with the table's input model and insert them under a new id."""
        if self.table.create is None:
            raise TypeError(f"{self.table.name} rows are not created with create()")
        data = validate_input(self.table.create, **values).model_dump()
        row = {"id": uuid.uuid4(), **data}
        return Call(
            ops.Insert(self.table.name, row, activity),
            lambda stored: self._model(stored, self.table.row.__name__),
        )

    def update(
        self, row_id: uuid.UUID | None, values: dict[str, Any], activity: dict[str, Any] | None
    ) -> Call[RowT]:
        """Change the given columns of one row."""
        what = self._what(row_id) if row_id else self.table.row.__name__
        return Call(
            ops.Update(self.table.name, row_id, self._scope(), values, activity),
            lambda row: self._model(row, what),
        )


class ProjectRequests(Requests[Project]):
    """Projects log their creation, changes and deletion in the same transaction."""

    @staticmethod
    def _activity(
        kind: str, project_id: uuid.UUID, description: str, **meta: Any
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "activity_type": kind,
            "description": description,
            "project_id": project_id,
            "metadata": {"project_id": str(project_id), **meta},
        }

    def create_project(self, name: Any, description: Any) -> Call[Project]:
        """A new project, logged as ``project_created``."""
        data = validate_input(ProjectCreate, name=name, description=description)
        row_id = uuid.uuid4()
        activity = self._activity(
            "project_created", row_id, f"Created project {data.name!r}", name=data.name
        )
        return Call(
            ops.Insert("projects", {"id": row_id, **data.model_dump()}, activity),
            lambda stored: self._model(stored, "project"),
        )

    def update_project(self, row_id: Any, changes: dict[str, Any]) -> Call[Project]:
        """Change name and/or description, logged as ``project_updated``."""
        key = _uuid(row_id, "id")
        given = {k: v for k, v in changes.items() if v is not UNSET}
        if not given:
            raise ValidationError("nothing to update: pass name= and/or description=", field="name")
        data = validate_input(ProjectUpdate, **given)
        if "name" in given and data.name is None:
            raise ValidationError("name cannot be removed, only changed", field="name")
        values = data.model_dump(include=set(given))
        activity = self._activity(
            "project_updated", key, f"Updated project {key}", fields=sorted(values)
        )
        return self.update(key, values, activity)

    def delete_project(self, row_id: Any) -> Call[None]:
        """Delete a project, logged as ``project_deleted`` (the entry outlives the project)."""
        key = _uuid(row_id, "id")
        return self.delete(key, self._activity("project_deleted", key, f"Deleted project {key}"))

    def resource_counts(self, project_id: Any) -> Call[ResourceCounts]:
        """The four counts of one project, in one round trip; NotFound unless it is yours."""
        key = _uuid(project_id, "project_id")

        def read(row: dict[str, Any] | None) -> ResourceCounts:
            if row is None:
                raise NotFound(f"Project {key} not found (or not visible to the acting user)")
            return ResourceCounts.model_validate(row)

        return Call(ops.ResourceCounts(key, ops.Scope(project_id=key)), read)


class ProfileRequests(Requests[Profile]):
    """The acting user's own profile."""

    def me(self) -> Call[Profile]:
        """The acting user's profile."""

        def read(rows: list[dict[str, Any]]) -> Profile:
            return self._model(rows[0] if rows else None, "the acting user's profile")

        return Call(ops.Select("profiles", ops.Scope(requires_user=True), 1), read)

    def update_me(self, changes: dict[str, Any]) -> Call[Profile]:
        """Change the acting user's full name and/or avatar URL."""
        given = {k: v for k, v in changes.items() if v is not UNSET}
        if not given:
            raise ValidationError(
                "nothing to update: pass full_name= and/or avatar_url=", field="full_name"
            )
        values = validate_input(ProfileUpdate, **given).model_dump(include=set(given))
        return Call(
            ops.Update("profiles", None, ops.Scope(requires_user=True), values),
            lambda row: self._model(row, "the acting user's profile"),
        )


class ActivityRequests(Requests[ActivityLog]):
    """Reading and writing the activity log, and summing its generations' usage.

    ``prices``: the table usage reports are priced with (the client's).
    """

    def __init__(self, table: Table[ActivityLog], prices: PriceTable | None = None) -> None:
        super().__init__(table)
        self.prices = prices if prices is not None else GROQ_PRICES

    def usage(
        self,
        since: Any,
        until: Any,
        by: Sequence[str],
        tz: str | tzinfo | None,
        now: datetime | None,
    ) -> Call[UsageReport]:
        """A usage report (see :meth:`ActivityLogsRepository.usage`)."""
        op = usage_operation(since, until, by=by, tz=tz, now=now)
        return Call(op, lambda groups: UsageReport.from_groups(groups, op, self.prices))

    def log(
        self, activity_type: Any, description: Any, project_id: Any, metadata: Any
    ) -> Call[ActivityLog]:
        """Write one entry."""
        data = validate_input(
            ActivityLogCreate,
            activity_type=activity_type,
            description=description,
            project_id=project_id,
            metadata=metadata if metadata is not None else {},
        )
        return Call(
            ops.Insert("activity_logs", {"id": uuid.uuid4(), **data.model_dump()}),
            lambda stored: self._model(stored, "activity entry"),
        )


# ----------------------------------------------------------------------------------------------
# What each generation table is created with, written once for both flavours.
#
# The signatures are generic over what ``create`` returns — the row for a sync repository, an
# awaitable of it for an async one — so each table's fields are spelled out once, typed with
# the vocabularies' Literals (mypy refuses ``prompts.create(tone="poetic")`` or an unknown
# field). They are the table's input model in groqgen.models (``PromptCreate`` and its
# siblings); tests/test_repositories.py holds the two together.

CreatedT = TypeVar("CreatedT")


def _fields(arguments: dict[str, Any]) -> dict[str, Any]:
    """A ``create`` method's arguments as the values to validate: everything but ``self``."""
    return {name: value for name, value in arguments.items() if name != "self"}


class _Creates(Generic[CreatedT]):
    """A table whose rows are created with ``create``; each flavour supplies :meth:`_create`."""

    def _create(self, values: dict[str, Any]) -> CreatedT:
        raise NotImplementedError


class PromptsCreate(_Creates[CreatedT]):
    """``create`` for ``prompts``."""

    def create(
        self,
        *,
        topic: str,
        model: str,
        generated_prompt: str,
        prompt_type: PromptType = "writing",
        tone: Tone = "professional",
        length: int = 50,
        additional_context: str | None = None,
        project_id: UUID | str | None = None,
    ) -> CreatedT:
        """Store a generated prompt (its id is generated here); returns the stored row."""
        return self._create(_fields(locals()))


class CodeGenerationsCreate(_Creates[CreatedT]):
    """``create`` for ``code_generations``."""

    def create(
        self,
        *,
        description: str,
        language: str,
        model: str,
        generated_code: str,
        framework: str = "none",
        additional_context: str | None = None,
        project_id: UUID | str | None = None,
    ) -> CreatedT:
        """Store generated code (its id is generated here); returns the stored row."""
        return self._create(_fields(locals()))


class CodeReviewsCreate(_Creates[CreatedT]):
    """``create`` for ``code_reviews``."""

    def create(
        self,
        *,
        code: str,
        language: str,
        model: str,
        review_result: str,
        review_type: ReviewType = "general",
        project_id: UUID | str | None = None,
    ) -> CreatedT:
        """Store a code review (its id is generated here); returns the stored row."""
        return self._create(_fields(locals()))


class TestsCreate(_Creates[CreatedT]):
    """``create`` for ``tests``."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    def create(
        self,
        *,
        code: str,
        language: str,
        model: str,
        generated_tests: str,
        framework: str = "none",
        test_types: Sequence[TestType] = ("unit",),
        coverage: Coverage = "moderate",
        additional_context: str | None = None,
        project_id: UUID | str | None = None,
    ) -> CreatedT:
        """Store a generated test suite (its id is generated here); returns the stored row."""
        return self._create(_fields(locals()))


# ----------------------------------------------------------------------------------------------
# The sync and async families: I/O only.


_READS = (ops.Get, ops.Select, ops.Count, ops.ResourceCounts, ops.Usage)
StoreT = TypeVar("StoreT", Store, AsyncStore)


class _RepositoryBase(Generic[StoreT, RowT]):
    """A store and the requests of one table; the families below add only I/O.

    Reads that fail transiently (a 5xx, a dropped connection) are retried under the client's
    one retry policy; writes are not, so nothing is written twice.
    """

    def __init__(
        self, store: StoreT, requests: Requests[RowT], retry: RetryPolicy | None = None
    ) -> None:
        self._store: StoreT = store
        self._requests = requests
        self._retry = retry

    def _retries(self, op: ops.Operation, exc: GroqgenError) -> RetryPolicy | None:
        """The policy to retry ``op`` under after its first attempt failed with ``exc``, if any.

        The first attempt runs bare (no retry machinery on the fast path); only a transient
        failure of a read brings in the policy, which waits as it prescribes and then makes
        the attempts left (:func:`groqgen.retry.retrying` with ``failed=``).
        """
        policy = self._retry
        if policy is None or policy.max_retries < 1 or not isinstance(op, _READS):
            return None
        return policy if policy.retryable(exc) else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._requests.table.name}>"


class Repository(_RepositoryBase[Store, RowT]):
    """The verbs every table has, synchronously."""

    def _run(self, call: Call[T]) -> T:
        try:
            return call.read(self._store.execute(call.op))
        except GroqgenError as exc:
            policy = self._retries(call.op, exc)
            if policy is None:
                raise
            failure = exc
        for attempt in retrying(policy, failed=failure):
            with attempt:
                answer = self._store.execute(call.op)
        return call.read(answer)

    def _create(self, values: dict[str, Any]) -> RowT:
        return self._run(self._requests.create(values))

    def get(self, id: UUID | str) -> RowT:
        """The row with this id; ``NotFound`` when it is missing or not visible to you."""
        return self._run(self._requests.get(id))

    def list(
        self, *, project_id: UUID | str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[RowT]:
        """A page of rows, newest first; pass ``page.next_cursor`` to get the next one."""
        return self._run(self._requests.list(project_id, limit, cursor))

    def iter(self, *, project_id: UUID | str | None = None) -> Iterator[RowT]:
        """Every row, newest first, fetched page by page (constant memory)."""
        cursor = None
        while True:
            page = self.list(project_id=project_id, limit=ITER_PAGE_SIZE, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def count(self, *, project_id: UUID | str | None = None) -> int:
        """How many rows you can see, optionally in one project."""
        return self._run(self._requests.count(project_id))

    def to_pandas(self, *, project_id: UUID | str | None = None) -> Any:
        """Every row (optionally of one project) as a ``pandas.DataFrame``; needs pandas."""
        require_pandas()  # fail before fetching anything
        return to_pandas(self.iter(project_id=project_id))

    def delete(self, id: UUID | str) -> None:
        """Delete the row with this id; ``NotFound`` when there is none you may delete."""
        self._run(self._requests.delete(id))


class PromptsRepository(Repository[Prompt], PromptsCreate[Prompt]):
    """``client.prompts``."""


class CodeGenerationsRepository(Repository[CodeGeneration], CodeGenerationsCreate[CodeGeneration]):
    """``client.code_generations``."""


class CodeReviewsRepository(Repository[CodeReview], CodeReviewsCreate[CodeReview]):
    """``client.code_reviews``."""


class TestsRepository(Repository[TestGeneration], TestsCreate[TestGeneration]):
    """``client.tests``."""


class ProjectsRepository(Repository[Project]):
    """``client.projects``: creating, changing and deleting a project is logged atomically."""

    _requests: ProjectRequests

    def create(self, name: str, description: str | None = None) -> Project:
        """Create a project (logged as ``project_created``)."""
        return self._run(self._requests.create_project(name, description))

    def update(
        self, id: UUID | str, *, name: str = UNSET, description: str | None = UNSET
    ) -> Project:
        """Change a project's name and/or description (bumps ``updated_at``)."""
        return self._run(
            self._requests.update_project(id, {"name": name, "description": description})
        )

    def delete(self, id: UUID | str) -> None:
        """Delete a project (logged as ``project_deleted``); its rows stay, outside any project."""
        self._run(self._requests.delete_project(id))

    def resource_counts(self, project_id: UUID | str) -> ResourceCounts:
        """Prompt, code generation, code review and test counts of a project, in one round trip.

        ``NotFound`` when the project is missing or not the acting user's.
        """
        return self._run(self._requests.resource_counts(project_id))


class ProfilesRepository(Repository[Profile]):
    """``client.profiles``: your own profile."""

    _requests: ProfileRequests

    def me(self) -> Profile:
        """The acting user's profile."""
        return self._run(self._requests.me())

    def update_me(
        self, *, full_name: str | None = UNSET, avatar_url: str | None = UNSET
    ) -> Profile:
        """Change your full name and/or avatar URL (``None`` clears one)."""
        return self._run(
            self._requests.update_me({"full_name": full_name, "avatar_url": avatar_url})
        )


class ActivityLogsRepository(Repository[ActivityLog], Reports[UsageReport]):
    """``client.activity_logs``: what you did, newest first, and what it cost (``usage``)."""

    _requests: ActivityRequests

    def recent(self, limit: int = 10) -> Rows[ActivityLog]:
        """Your newest entries (a list that renders as a table in notebooks)."""
        return Rows(self.list(limit=limit).items)

    def log(
        self,
        activity_type: ActivityType,
        description: str,
        *,
        project_id: UUID | str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ActivityLog:
        """Write an entry; ``activity_type`` is one of the shared vocabulary."""
        return self._run(self._requests.log(activity_type, description, project_id, metadata))

    def _usage(
        self, since: Any, until: Any, by: Sequence[str], tz: str | tzinfo | None, now: Any
    ) -> UsageReport:
        return self._run(self._requests.usage(since, until, by, tz, now))


class AsyncRepository(_RepositoryBase[AsyncStore, RowT]):
    """The verbs every table has, for asyncio."""

    async def _run(self, call: Call[T]) -> T:
        try:
            return call.read(await self._store.execute(call.op))
        except GroqgenError as exc:
            policy = self._retries(call.op, exc)
            if policy is None:
                raise
            failure = exc
        async for attempt in async_retrying(policy, failed=failure):
            with attempt:
                answer = await self._store.execute(call.op)
        return call.read(answer)

    async def _create(self, values: dict[str, Any]) -> RowT:
        return await self._run(self._requests.create(values))

    async def get(self, id: UUID | str) -> RowT:
        """The row with this id; ``NotFound`` when it is missing or not visible to you."""
        return await self._run(self._requests.get(id))

    async def list(
        self, *, project_id: UUID | str | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[RowT]:
        """A page of rows, newest first; pass ``page.next_cursor`` to get the next one."""
        return await self._run(self._requests.list(project_id, limit, cursor))

    async def iter(self, *, project_id: UUID | str | None = None) -> AsyncIterator[RowT]:
        """Every row, newest first, fetched page by page (constant memory)."""
        cursor = None
        while True:
            page = await self.list(project_id=project_id, limit=ITER_PAGE_SIZE, cursor=cursor)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def count(self, *, project_id: UUID | str | None = None) -> int:
        """How many rows you can see, optionally in one project."""
        return await self._run(self._requests.count(project_id))

    async def to_pandas(self, *, project_id: UUID | str | None = None) -> Any:
        """Every row (optionally of one project) as a ``pandas.DataFrame``; needs pandas."""
        require_pandas()
        return to_pandas([row async for row in self.iter(project_id=project_id)])

    async def delete(self, id: UUID | str) -> None:
        """Delete the row with this id; ``NotFound`` when there is none you may delete."""
        await self._run(self._requests.delete(id))


class AsyncPromptsRepository(AsyncRepository[Prompt], PromptsCreate[Awaitable[Prompt]]):
    """``client.prompts`` for asyncio."""


class AsyncCodeGenerationsRepository(
    AsyncRepository[CodeGeneration], CodeGenerationsCreate[Awaitable[CodeGeneration]]
):
    """``client.code_generations`` for asyncio."""


class AsyncCodeReviewsRepository(
    AsyncRepository[CodeReview], CodeReviewsCreate[Awaitable[CodeReview]]
):
    """``client.code_reviews`` for asyncio."""


class AsyncTestsRepository(AsyncRepository[TestGeneration], TestsCreate[Awaitable[TestGeneration]]):
    """``client.tests`` for asyncio."""


class AsyncProjectsRepository(AsyncRepository[Project]):
    """``client.projects`` for asyncio."""

    _requests: ProjectRequests

    async def create(self, name: str, description: str | None = None) -> Project:
        """Create a project (logged as ``project_created``)."""
        return await self._run(self._requests.create_project(name, description))

    async def update(
        self, id: UUID | str, *, name: str = UNSET, description: str | None = UNSET
    ) -> Project:
        """Change a project's name and/or description (bumps ``updated_at``)."""
        return await self._run(
            self._requests.update_project(id, {"name": name, "description": description})
        )

    async def delete(self, id: UUID | str) -> None:
        """Delete a project (logged as ``project_deleted``); its rows stay, outside any project."""
        await self._run(self._requests.delete_project(id))

    async def resource_counts(self, project_id: UUID | str) -> ResourceCounts:
        """Prompt, code generation, code review and test counts of a project, in one round trip.

        ``NotFound`` when the project is missing or not the acting user's.
        """
        return await self._run(self._requests.resource_counts(project_id))


class AsyncProfilesRepository(AsyncRepository[Profile]):
    """``client.profiles`` for asyncio."""

    _requests: ProfileRequests

    async def me(self) -> Profile:
        """The acting user's profile."""
        return await self._run(self._requests.me())

    async def update_me(
        self, *, full_name: str | None = UNSET, avatar_url: str | None = UNSET
    ) -> Profile:
        """Change your full name and/or avatar URL (``None`` clears one)."""
        return await self._run(
            self._requests.update_me({"full_name": full_name, "avatar_url": avatar_url})
        )


class AsyncActivityLogsRepository(AsyncRepository[ActivityLog], Reports[Awaitable[UsageReport]]):
    """``client.activity_logs`` for asyncio (``await ....usage()`` too)."""

    _requests: ActivityRequests

    async def recent(self, limit: int = 10) -> Rows[ActivityLog]:
        """Your newest entries (a list that renders as a table in notebooks)."""
        return Rows((await self.list(limit=limit)).items)

    async def log(
        self,
        activity_type: ActivityType,
        description: str,
        *,
        project_id: UUID | str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ActivityLog:
        """Write an entry; ``activity_type`` is one of the shared vocabulary."""
        return await self._run(self._requests.log(activity_type, description, project_id, metadata))

    def _usage(
        self, since: Any, until: Any, by: Sequence[str], tz: str | tzinfo | None, now: Any
    ) -> Awaitable[UsageReport]:
        return self._run(self._requests.usage(since, until, by, tz, now))
