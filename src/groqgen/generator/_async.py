"""``client.generate`` for :class:`~groqgen.AsyncClient`: the same steps, awaited, plus batches."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..catalog import GroqModel
from ..errors import GenerationError, GroqgenError, ValidationError
from ..generation import Completion, DryRun, Generation
from ..models import TABLES, CodeGeneration, CodeReview, Prompt, TestGeneration
from ..observe import Observer
from ..outbox import AsyncRecorder, Outbox, StoreWatch
from ..presentation import Progress
from ..retry import RetryPolicy, async_retrying
from ..transport import make_async_http_client, translate_groq_error
from ._core import BatchItem, GeneratorCore, StreamCore
from ._reading import completion_from
from ._surface import Kinds

if TYPE_CHECKING:
    from .._config import Settings
    from ..stores import AsyncStore
    from ..templates import Template

__all__ = ["AsyncGenerator", "AsyncStream", "AsyncStreamFactory"]

RowT = TypeVar("RowT")


class AsyncGenerator(
    GeneratorCore,
    Kinds[
        Awaitable[Prompt],
        Awaitable[CodeGeneration],
        Awaitable[CodeReview],
        Awaitable[TestGeneration],
        Awaitable[DryRun],
    ],
):
    """``client.generate`` for :class:`~groqgen.AsyncClient`.

    Every kind is awaitable (``await client.generate.prompt(...)`` is a :class:`Prompt`), plus
    :meth:`many` for batches.
    """

    def __init__(
        self,
        settings: Settings,
        store: AsyncStore,
        outbox: Outbox,
        *,
        templates: Mapping[str, Template] | None,
        http_client: Any,
        policy: RetryPolicy,
        observer: Observer | None = None,
    ) -> None:
        super().__init__(
            settings, templates=templates, http_client=http_client, policy=policy, observer=observer
        )
        self._store = store
        self._recorder = AsyncRecorder(outbox, store, policy, self.observer)
        self.stream = AsyncStreamFactory(self)

    def _groq_class(self) -> Any:
        import groq

        return groq.AsyncGroq

    def _new_http_client(self) -> Any:
        return make_async_http_client(self._settings.timeout)

    def _call(self, kind: str, inputs: dict[str, Any], dry_run: bool) -> Any:
        return self._generate(kind, inputs, dry_run)

    async def many(
        self, requests: Iterable[Any], *, concurrency: int = 8, progress: bool | None = None
    ) -> list[BatchItem]:
        """Run a batch with at most ``concurrency`` generations at once.

        ``requests`` are :class:`~groqgen.generation.PromptRequest` (and the other request
        models) or mappings with ``kind=``. Every request is validated before the first one is
        sent. Results come back in input order, each with its row or its error; one failure
        does not stop the batch. When Groq signals a rate limit, the whole batch waits. Once a
        recording failed for want of the store (after its retries), the rest of the batch's
        generations go straight to the outbox, each item's error a ``RecordingFailed`` carrying
        its result, instead of each waiting a full timeout per attempt. A progress bar is shown
        when a terminal or notebook is attached (``progress=`` forces it on or off).
        """
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(
                "concurrency must be a whole number of at least 1", field="concurrency"
            )
        items = list(requests)
        prepared = [self._as_request(item) for item in items]
        generations = [self._prepare(kind, inputs) for kind, inputs in prepared]
        await self._check(generations)
        results: list[BatchItem | None] = [None] * len(items)
        slots = asyncio.Semaphore(concurrency)
        bar = Progress(len(items), progress, label="generating", unit="gen")
        watch = StoreWatch()  # once the store is known down, the rest goes to the outbox

        async def run(index: int, generation: Generation) -> None:
            async with slots:
                try:
                    row = await self._produce(generation, watch)
                    results[index] = BatchItem(items[index], result=row)
                except GroqgenError as exc:
                    results[index] = BatchItem(items[index], error=exc)
                bar.advance(failed=results[index] is not None and not results[index].ok)  # type: ignore[union-attr]

        try:
            await asyncio.gather(*(run(i, g) for i, g in enumerate(generations)))
        finally:
            bar.close()
        return [r for r in results if r is not None]

    async def _generate(self, kind: str, inputs: Mapping[str, Any], dry_run: bool) -> Any:
        generation = self._prepare(kind, inputs)
        if dry_run:
            return generation.chat
        await self._check([generation])
        return await self._produce(generation)

    async def _produce(self, generation: Generation, watch: StoreWatch | None = None) -> Any:
        """Complete and record one checked generation, inside its span."""
        with self.observer.generating(generation.chat):
            return await self._record(generation, await self._complete(generation), watch)

    async def _check(self, generations: Sequence[Generation]) -> None:
        for check, error in self._checks(generations):
            self._checked(check, await self._store.execute(check), error)

    async def _complete(self, generation: Generation) -> Completion:
        client = self._client()
        try:
            with self.observer.groq_call(generation.chat):
                async for attempt in async_retrying(self.policy, gate=self.gate):
                    with attempt:
                        await asyncio.sleep(self.gate.delay())
                        started = time.perf_counter()
                        raw = await client.chat.completions.with_raw_response.create(
                            **generation.chat.parameters
                        )
                        completion = completion_from(await raw.parse(), raw.headers, started)
        except Exception as exc:
            raise await self._failure(exc, generation) from exc
        self.observer.completed(completion)
        return completion

    async def _failure(self, exc: BaseException, generation: Generation) -> GroqgenError:
        error = translate_groq_error(exc)
        model_error = self._model_error(error)
        if model_error is None:
            return error
        try:
            served: list[GroqModel] | None = await self.models()
        except GroqgenError:
            served = None
        return self._with_models(model_error, generation.chat.model, served)

    async def models(self) -> list[GroqModel]:
        """The models Groq serves now, by id (asked once per client, then remembered)."""
        if self._models is None:
            try:
                async for attempt in async_retrying(self.policy, gate=self.gate):
                    with attempt:
                        page = await self._client().models.list()
            except Exception as exc:
                raise translate_groq_error(exc) from exc
            self._models = self._served(page)
        return self._models

    async def _record(
        self, generation: Generation, completion: Completion, watch: StoreWatch | None = None
    ) -> Any:
        generation.check(completion)
        row = await self._recorder.record(generation.record(completion), watch)
        return TABLES[generation.kind.table].row.model_validate(row)

    async def close(self) -> None:
        """Close the HTTP client if groqgen made it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()


class AsyncStreamFactory(
    Kinds[
        "AsyncStream[Prompt]",
        "AsyncStream[CodeGeneration]",
        "AsyncStream[CodeReview]",
        "AsyncStream[TestGeneration]",
        DryRun,
    ]
):
    """``client.generate.stream`` for asyncio: ``async with`` what these return."""

    def __init__(self, generator: AsyncGenerator) -> None:
        self._generator = generator

    def _call(self, kind: str, inputs: dict[str, Any], dry_run: bool) -> Any:
        generation = self._generator._prepare(kind, inputs)
        return generation.chat if dry_run else AsyncStream[Any](self._generator, generation)


class AsyncStream(StreamCore[RowT], Generic[RowT]):
    """:class:`~groqgen.generator.Stream` for asyncio: ``async with`` it, ``async for`` deltas."""

    def __init__(self, generator: AsyncGenerator, generation: Generation) -> None:
        super().__init__(generation)
        self._generator = generator

    async def __aenter__(self) -> AsyncStream[RowT]:
        generator, generation = self._generator, self._state.generation
        await generator._check([generation])
        client = generator._client()
        parameters = {**generation.chat.parameters, "stream": True}
        self._span = generator.observer.generation(generation.chat, stream=True)
        try:
            with self._span.active(), generator.observer.groq_call(generation.chat):
                async for attempt in async_retrying(generator.policy, gate=generator.gate):
                    with attempt:
                        await asyncio.sleep(generator.gate.delay())
                        raw = await client.chat.completions.with_raw_response.create(**parameters)
                        self._state.request_id = raw.headers.get("x-request-id")
                        self._response = await raw.parse()
        except Exception as exc:
            error = await generator._failure(exc, generation)
            self._failed(error)
            raise error from exc
        return self

    async def __aiter__(self) -> AsyncIterator[str]:
        if self._response is None:
            raise GenerationError("use the stream in an async with block")
        generator, generation = self._generator, self._state.generation
        try:
            async for chunk in self._response:
                delta = self._state.feed(chunk)
                if delta:
                    yield delta
        except GroqgenError as exc:
            self._failed(exc)
            raise
        except Exception as exc:
            error = await generator._failure(exc, generation)
            self._failed(error)
            raise error from exc
        with self._finishing(generator.observer) as completion:
            self._result = await generator._record(generation, completion)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._ended(exc)
        if self._response is not None:
            await self._response.close()
