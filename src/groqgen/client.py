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
from collections.abc import Awaitable, Mapping, Sequence
from datetime import tzinfo
from types import TracebackType
from typing import Any

from ._config import Settings, resolve
from .batches import AsyncBatches, Batches
from .catalog import GroqModel, ReasoningEffort
from .errors import ConfigurationError
from .generator import AsyncGenerator, Generator
from .models import TABLES
from .observe import GenerationHook, Observer
from .outbox import (
    LOCAL_PROFILE,
    SERVICE_ROLE,
    AsyncOutboxClient,
    Outbox,
    OutboxClient,
    store_identity,
)
from .prices import PriceTable, resolve_prices
from .repositories import (
    ActivityLogsRepository,
    ActivityRequests,
    AsyncActivityLogsRepository,
    AsyncCodeGenerationsRepository,
    AsyncCodeReviewsRepository,
    AsyncProfilesRepository,
    AsyncProjectsRepository,
    AsyncPromptsRepository,
    AsyncTestsRepository,
    CodeGenerationsRepository,
    CodeReviewsRepository,
    ProfileRequests,
    ProfilesRepository,
    ProjectRequests,
    ProjectsRepository,
    PromptsRepository,
    Requests,
    TestsRepository,
)
from .retry import RetryPolicy
from .stores import AsyncStore, Store
from .templates import Template
from .usage import Reports, UsageReport

__all__ = ["AsyncClient", "Client"]


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
    """Settings, the store choice and every decision both clients share.

    Each flavour names its own collaborators (store, sign-in, repositories, generator, outbox)
    in :meth:`_connect`; nothing here asks which flavour it is.
    """

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
        prices: PriceTable | Mapping[str, Any] | None = None,
        on_generation: GenerationHook | Sequence[GenerationHook] | None = None,
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
        self._check_store_choice()
        self._http = http_client
        self._owns_http = False
        self.auth: Any = _NoAuth(self.settings.store_kind)
        self._policy = RetryPolicy(self.settings.max_retries)  # one policy: reads, writes, Groq
        self.prices: PriceTable = resolve_prices(prices)
        self._observer = Observer.with_hooks(on_generation, self.prices)
        self._outbox = Outbox(self.settings.home, store_identity(self.settings), self._outbox_user)
        self._connect(templates)

    def _connect(self, templates: Mapping[str, Template] | None) -> None:
        raise NotImplementedError

    def _check_store_choice(self) -> None:
        settings = self.settings
        if settings.store_kind == "sqlite" and (settings.user_id is not None or settings.service):
            raise ConfigurationError(
                "user_id= and service= choose who acts on a PostgreSQL database or Supabase "
                "project; set database_url or SUPABASE_URL/SUPABASE_KEY too, or drop them",
                setting="database_url",
            )

    def _supabase_service(self) -> bool:
        """Whether the Supabase key is the service role's (else: the anon key, sign in)."""
        from .stores.supabase import is_service_key

        service = is_service_key(self.settings.supabase_key or "")
        if not service and self.settings.user_id is not None:
            raise ConfigurationError(
                "user_id= needs the service-role key; with the anon key, sign in instead "
                "(client.auth.sign_in_with_password)",
                setting="SUPABASE_KEY",
            )
        return service

    def _shared_http(self, make: Any) -> Any:
        """The caller's httpx client, else one made here for PostgREST, Auth and Groq alike."""
        if self._http is None:
            self._http = make(self.settings.timeout)
            self._owns_http = True
        return self._http

    def _postgres_options(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "user_id": settings.user_id,
            "service": settings.service,
            "pool_size": settings.pool_size,
            "timeout": settings.timeout,
        }

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

    @property
    def model(self) -> str:
        """The model generations use unless a call names another (``GROQGEN_MODEL``)."""
        return self.settings.model

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(store={self.settings.describe_store()!r}, "
            f"model={self.settings.model!r})"
        )


class Client(_ClientBase, Reports[UsageReport]):
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
        batches: Groq's Batch API at half price (``submit``, ``collect``, ``get``, ``cancel``, ...).
        prices: The price table usage reports and generation events use (``prices=``, else
            ``GROQGEN_PRICES``, else :data:`groqgen.prices.GROQ_PRICES`).

    ``on_generation=`` takes a callable (or a list of them) called with a
    :class:`~groqgen.observe.GenerationEvent` after each recorded generation; a hook that raises
    is logged and changes nothing. :meth:`usage` sums what the generations cost.
    """

    profiles: ProfilesRepository
    projects: ProjectsRepository
    prompts: PromptsRepository
    code_generations: CodeGenerationsRepository
    code_reviews: CodeReviewsRepository
    tests: TestsRepository
    activity_logs: ActivityLogsRepository
    generate: Generator
    outbox: OutboxClient
    batches: Batches

    def _connect(self, templates: Mapping[str, Template] | None) -> None:
        store = self._store = self._open_store()
        retry = self._policy
        self.profiles = ProfilesRepository(store, ProfileRequests(TABLES["profiles"]), retry)
        self.projects = ProjectsRepository(store, ProjectRequests(TABLES["projects"]), retry)
        self.prompts = PromptsRepository(store, Requests(TABLES["prompts"]), retry)
        self.code_generations = CodeGenerationsRepository(
            store, Requests(TABLES["code_generations"]), retry
        )
        self.code_reviews = CodeReviewsRepository(store, Requests(TABLES["code_reviews"]), retry)
        self.tests = TestsRepository(store, Requests(TABLES["tests"]), retry)
        self.activity_logs = ActivityLogsRepository(
            store, ActivityRequests(TABLES["activity_logs"], self.prices), retry
        )
        self.generate = Generator(
            self.settings,
            store,
            self._outbox,
            templates=templates,
            http_client=self._http,
            policy=retry,
            observer=self._observer,
        )
        self.outbox = OutboxClient(self._outbox, store, retry)
        self.batches = Batches(self.generate, self._outbox)

    def _open_store(self) -> Store:
        settings = self.settings
        if settings.store_kind == "postgres":
            from .stores.postgres import PostgresStore

            return PostgresStore(settings.database_url or "", **self._postgres_options())
        if settings.store_kind == "supabase":
            from .auth import SupabaseAuth
            from .stores.supabase import SupabaseStore
            from .transport import make_http_client

            url, key = settings.supabase_url or "", settings.supabase_key or ""
            http = self._shared_http(make_http_client)
            auth = None if self._supabase_service() else SupabaseAuth(url, key, settings.home, http)
            if auth is not None:
                self.auth = auth
            return SupabaseStore(url, key, auth=auth, user_id=settings.user_id, http_client=http)
        from .stores.sqlite import SQLiteStore

        return SQLiteStore(settings.sqlite_path, timeout=settings.timeout)

    def models(self) -> list[GroqModel]:
        """The models Groq serves now, by id, from its ``/models`` endpoint.

        Asked once per client and remembered. Example::

            for m in client.models():
                print(m.id, m.context_window, m.max_completion_tokens)
        """
        return self.generate.models()

    def _usage(
        self, since: Any, until: Any, by: Sequence[str], tz: str | tzinfo | None, now: Any
    ) -> UsageReport:
        return self.activity_logs._usage(since, until, by, tz, now)

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


class AsyncClient(_ClientBase, Reports[Awaitable[UsageReport]]):
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
        batches: Groq's Batch API at half price (``submit``, ``collect``, ``get``, ``cancel``, ...).
    """

    profiles: AsyncProfilesRepository
    projects: AsyncProjectsRepository
    prompts: AsyncPromptsRepository
    code_generations: AsyncCodeGenerationsRepository
    code_reviews: AsyncCodeReviewsRepository
    tests: AsyncTestsRepository
    activity_logs: AsyncActivityLogsRepository
    generate: AsyncGenerator
    outbox: AsyncOutboxClient
    batches: AsyncBatches

    def _connect(self, templates: Mapping[str, Template] | None) -> None:
        store = self._store = self._open_store()
        retry = self._policy
        self.profiles = AsyncProfilesRepository(store, ProfileRequests(TABLES["profiles"]), retry)
        self.projects = AsyncProjectsRepository(store, ProjectRequests(TABLES["projects"]), retry)
        self.prompts = AsyncPromptsRepository(store, Requests(TABLES["prompts"]), retry)
        self.code_generations = AsyncCodeGenerationsRepository(
            store, Requests(TABLES["code_generations"]), retry
        )
        self.code_reviews = AsyncCodeReviewsRepository(
            store, Requests(TABLES["code_reviews"]), retry
        )
        self.tests = AsyncTestsRepository(store, Requests(TABLES["tests"]), retry)
        self.activity_logs = AsyncActivityLogsRepository(
            store, ActivityRequests(TABLES["activity_logs"], self.prices), retry
        )
        self.generate = AsyncGenerator(
            self.settings,
            store,
            self._outbox,
            templates=templates,
            http_client=self._http,
            policy=retry,
            observer=self._observer,
        )
        self.outbox = AsyncOutboxClient(self._outbox, store, retry)
        self.batches = AsyncBatches(self.generate, self._outbox)

    def _open_store(self) -> AsyncStore:
        settings = self.settings
        if settings.store_kind == "postgres":
            from .stores.postgres import AsyncPostgresStore

            return AsyncPostgresStore(settings.database_url or "", **self._postgres_options())
        if settings.store_kind == "supabase":
            from .auth import AsyncSupabaseAuth
            from .stores.supabase import AsyncSupabaseStore
            from .transport import make_async_http_client

            url, key = settings.supabase_url or "", settings.supabase_key or ""
            http = self._shared_http(make_async_http_client)
            auth = (
                None
                if self._supabase_service()
                else AsyncSupabaseAuth(url, key, settings.home, http)
            )
            if auth is not None:
                self.auth = auth
            return AsyncSupabaseStore(
                url, key, auth=auth, user_id=settings.user_id, http_client=http
            )
        from .stores.sqlite import AsyncSQLiteStore

        return AsyncSQLiteStore(settings.sqlite_path, timeout=settings.timeout)

    async def models(self) -> list[GroqModel]:
        """The models Groq serves now, by id (see :meth:`Client.models`)."""
        return await self.generate.models()

    def _usage(
        self, since: Any, until: Any, by: Sequence[str], tz: str | tzinfo | None, now: Any
    ) -> Awaitable[UsageReport]:
        return self.activity_logs._usage(since, until, by, tz, now)

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
