"""``Client`` and ``AsyncClient``: the objects users hold.

Both resolve their settings the same way (explicit arguments over environment variables over
defaults; ``database_url`` over Supabase over the embedded SQLite file), open the store those
settings select, and expose one repository per table. They differ only in whether the store
and the repositories do their I/O synchronously or with asyncio. The sync client uses no event
loop at all, so it works inside Jupyter, where one is already running.

Example:
    >>> from groqgen import Client
    >>> with Client() as client:  # doctest: +SKIP
    ...     project = client.projects.create("Launch", description="Release plan")
    ...     client.projects.resource_counts(project.id)
    ResourceCounts(prompt_count=0, code_generation_count=0, code_review_count=0, test_count=0)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from ._config import Settings, resolve
from .catalog import GroqModel, ReasoningEffort
from .errors import ConfigurationError
from .generator import AsyncGenerator, AsyncOutboxClient, Generator, OutboxClient
from .models import (
    TABLES,
    CodeGeneration,
    CodeReview,
    Prompt,
    TestGeneration,
)
from .outbox import LOCAL_PROFILE, SERVICE_ROLE, Outbox, store_identity
from .repositories import (
    ActivityLogsRepository,
    ActivityRequests,
    AsyncActivityLogsRepository,
    AsyncCreatableRepository,
    AsyncProfilesRepository,
    AsyncProjectsRepository,
    CreatableRepository,
    ProfileRequests,
    ProfilesRepository,
    ProjectRequests,
    ProjectsRepository,
    Requests,
)
from .templates import Template

__all__ = ["AsyncClient", "Client"]

# table -> (what its repository decides, sync repository, async repository)
_REPOSITORIES: dict[str, tuple[type[Requests[Any]], type[Any], type[Any]]] = {
    "profiles": (ProfileRequests, ProfilesRepository, AsyncProfilesRepository),
    "projects": (ProjectRequests, ProjectsRepository, AsyncProjectsRepository),
    "prompts": (Requests, CreatableRepository, AsyncCreatableRepository),
    "code_generations": (Requests, CreatableRepository, AsyncCreatableRepository),
    "code_reviews": (Requests, CreatableRepository, AsyncCreatableRepository),
    "tests": (Requests, CreatableRepository, AsyncCreatableRepository),
    "activity_logs": (ActivityRequests, ActivityLogsRepository, AsyncActivityLogsRepository),
}


class _NoAuth:
    """``client.auth`` where there is nothing to sign in to."""

    def __init__(self, store_kind: str) -> None:
        self._store_kind = store_kind

    def __repr__(self) -> str:
        return f"<no sign-in for the {self._store_kind} store>"

    def __getattr__(self, name: str) -> Any:
        raise ConfigurationError(
            f"client.auth is for Supabase projects with the anon key; this client uses the "
            f"{self._store_kind} store (set SUPABASE_URL and SUPABASE_KEY to use Supabase)",
            setting="SUPABASE_URL",
        )


class _ClientBase:
    """Settings, store selection and repository wiring shared by both clients."""

    _asynchronous = False
    generate: Any
    outbox: Any

    def __init__(
        self,
        *,
        database_url: str | None = None,
        user_id: uuid.UUID | str | None = None,
        service: bool = False,
        supabase_url: str | None = None,
        supabase_key: str | None = None,
        home: str | os.PathLike[str] | None = None,
        groq_api_key: str | None = None,
        groq_base_url: str | None = None,
        model: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        pool_size: int | None = None,
        reasoning_effort: ReasoningEffort | Mapping[str, ReasoningEffort] | None = None,
        templates: Mapping[str, Template] | None = None,
        http_client: Any = None,
    ) -> None:
        self.settings: Settings = resolve(
            home=home,
            database_url=database_url,
            user_id=user_id,
            service=service,
            supabase_url=supabase_url,
            supabase_key=supabase_key,
            groq_api_key=groq_api_key,
            groq_base_url=groq_base_url,
            model=model,
            timeout=timeout,
            max_retries=max_retries,
            pool_size=pool_size,
            reasoning_effort=reasoning_effort,
        )
        self._http = http_client
        self._owns_http = False
        self.auth: Any = _NoAuth(self.settings.store_kind)
        self._store = self._open_store(self.settings)
        from .transport import RetryPolicy

        retry = RetryPolicy(self.settings.max_retries)  # one policy: reads, writes and Groq
        for name, (requests, sync_repository, async_repository) in _REPOSITORIES.items():
            repository = async_repository if self._asynchronous else sync_repository
            setattr(self, name, repository(self._store, requests(TABLES[name]), retry))
        outbox = Outbox(self.settings.home, store_identity(self.settings), self._outbox_user)
        options: dict[str, Any] = {
            "templates": templates,
            "http_client": self._http,
            "policy": retry,
        }
        if self._asynchronous:
            generator = AsyncGenerator(self.settings, self._store, outbox, **options)
            self.generate, self.outbox = generator, AsyncOutboxClient(outbox, generator)
        else:
            sync_generator = Generator(self.settings, self._store, outbox, **options)
            self.generate, self.outbox = sync_generator, OutboxClient(outbox, sync_generator)

    def _open_supabase(self, settings: Settings) -> Any:
        from .stores import supabase
        from .transport import make_http_client

        url, key = settings.supabase_url or "", settings.supabase_key or ""
        if self._http is None:  # one httpx client for PostgREST, Supabase Auth and Groq
            self._http = make_http_client(settings.timeout, asynchronous=self._asynchronous)
            self._owns_http = True
        service = supabase.is_service_key(key)
        if not service and settings.user_id is not None:
            raise ConfigurationError(
                "user_id= needs the service-role key; with the anon key, sign in instead "
                "(client.auth.sign_in_with_password)",
                setting="SUPABASE_KEY",
            )
        auth: Any = None
        if not service:
            from .auth import AsyncSupabaseAuth, SupabaseAuth

            auth_class = AsyncSupabaseAuth if self._asynchronous else SupabaseAuth
            auth = auth_class(url, key, settings.home, self._http)
            self.auth = auth
        store_class = supabase.AsyncSupabaseStore if self._asynchronous else supabase.SupabaseStore
        return store_class(url, key, auth=auth, user_id=settings.user_id, http_client=self._http)

    def _outbox_user(self) -> str | None:
        """Who this client's parked generations belong to, now.

        Asked at each use: a Supabase user may sign in and out while the client lives (see
        :class:`~groqgen.outbox.Identity`).
        """
        settings = self.settings
        if settings.store_kind == "sqlite":
            return LOCAL_PROFILE
        if settings.user_id is not None:  # PostgreSQL or a Supabase service key, as this user
            return str(settings.user_id)
        if isinstance(self.auth, _NoAuth):  # the service role, for every user
            return SERVICE_ROLE
        signed_in = self.auth.user_id()
        return None if signed_in is None else str(uuid.UUID(str(signed_in)))

    def _open_store(self, settings: Settings) -> Any:
        kind = settings.store_kind
        if kind == "sqlite" and (settings.user_id is not None or settings.service):
            raise ConfigurationError(
                "user_id= and service= choose who acts on a PostgreSQL database or Supabase "
                "project; set database_url or SUPABASE_URL/SUPABASE_KEY too, or drop them",
                setting="database_url",
            )
        if kind == "supabase":
            return self._open_supabase(settings)
        if kind == "postgres":
            from .stores import postgres

            store_class = (
                postgres.AsyncPostgresStore if self._asynchronous else postgres.PostgresStore
            )
            return store_class(
                settings.database_url or "",
                user_id=settings.user_id,
                service=settings.service,
                pool_size=settings.pool_size,
                timeout=settings.timeout,
            )
        from .stores import sqlite

        sqlite_class = sqlite.AsyncSQLiteStore if self._asynchronous else sqlite.SQLiteStore
        return sqlite_class(settings.sqlite_path, timeout=settings.timeout)

    @property
    def model(self) -> str:
        """The model generations use unless a call names another (``GROQGEN_MODEL``)."""
        return self.settings.model

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(store={self.settings.describe_store()!r}, "
            f"model={self.settings.model!r})"
        )


class Client(_ClientBase):
    """The synchronous groqgen client.

    ``Client()`` keeps everything in an embedded SQLite file under ``GROQGEN_HOME``;
    ``Client(database_url=..., user_id=...)`` works on a PostgreSQL database as that user under
    row-level security; ``Client(database_url=..., service=True)`` as the service role.
    Use it as a context manager, or call :meth:`close`, to release connections.

    Attributes:
        profiles: Your profile (``me``, ``update_me``).
        projects: Projects (``create``, ``update``, ``delete``, ``resource_counts``, ...).
        prompts: Generated prompts.
        code_generations: Generated code.
        code_reviews: Code reviews.
        tests: Generated test suites.
        activity_logs: Your activity log (``recent``, ``log``, ...).
        generate: Generate and record prompts, code, reviews and tests (``stream`` too).
        outbox: Generations paid for but not recorded yet (``pending``, ``flush``, ``discard``).
    """

    profiles: ProfilesRepository
    projects: ProjectsRepository
    prompts: CreatableRepository[Prompt]
    code_generations: CreatableRepository[CodeGeneration]
    code_reviews: CreatableRepository[CodeReview]
    tests: CreatableRepository[TestGeneration]
    activity_logs: ActivityLogsRepository
    generate: Generator
    outbox: OutboxClient

    def models(self) -> list[GroqModel]:
        """The models Groq serves now, by id, from its ``/models`` endpoint.

        Asked once per client and remembered. Example::

            for m in client.models():
                print(m.id, m.context_window, m.max_completion_tokens)
        """
        return self.generate.models()

    def close(self) -> None:
        """Release the store's connections (and files) and the HTTP client groqgen made."""
        self.generate.close()
        self._store.close()
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_ClientBase):
    """The asyncio groqgen client: the same surface as :class:`Client`, every method awaitable.

    Attributes:
        profiles: Your profile (``me``, ``update_me``).
        projects: Projects (``create``, ``update``, ``delete``, ``resource_counts``, ...).
        prompts: Generated prompts.
        code_generations: Generated code.
        code_reviews: Code reviews.
        tests: Generated test suites.
        activity_logs: Your activity log (``recent``, ``log``, ...).
        generate: Generate and record, plus ``many`` for batches.
        outbox: Generations paid for but not recorded yet (``pending``, ``flush``, ``discard``).
    """

    _asynchronous = True

    profiles: AsyncProfilesRepository
    projects: AsyncProjectsRepository
    prompts: AsyncCreatableRepository[Prompt]
    code_generations: AsyncCreatableRepository[CodeGeneration]
    code_reviews: AsyncCreatableRepository[CodeReview]
    tests: AsyncCreatableRepository[TestGeneration]
    activity_logs: AsyncActivityLogsRepository
    generate: AsyncGenerator
    outbox: AsyncOutboxClient

    async def models(self) -> list[GroqModel]:
        """The models Groq serves now, by id (see :meth:`Client.models`)."""
        return await self.generate.models()

    async def close(self) -> None:
        """Release the store's connections (and files) and the HTTP client groqgen made."""
        await self.generate.close()
        await self._store.close()
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
