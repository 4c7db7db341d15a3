"""``client.generate`` for :class:`~groqgen.Client`: the I/O of each step, synchronously."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..catalog import GroqModel
from ..errors import GenerationError, GroqgenError
from ..generation import Completion, DryRun, Generation
from ..models import TABLES, CodeGeneration, CodeReview, Prompt, TestGeneration
from ..observe import Observer
from ..outbox import Outbox, Recorder, StoreWatch
from ..retry import RetryPolicy, retrying
from ..transport import make_http_client, translate_groq_error
from ._core import GeneratorCore, StreamCore
from ._reading import completion_from
from ._surface import Kinds

if TYPE_CHECKING:
    from .._config import Settings
    from ..stores import Store
    from ..templates import Template

__all__ = ["Generator", "Stream", "StreamFactory"]

RowT = TypeVar("RowT")


class Generator(GeneratorCore, Kinds[Prompt, CodeGeneration, CodeReview, TestGeneration, DryRun]):
    """``client.generate`` for :class:`~groqgen.Client`.

    Each call validates, makes one Groq chat completion (retried on 429, 5xx, connection
    errors and timeouts), records the row and its activity entry in one round trip, and
    returns the stored row. ``stream`` has the same four kinds, streamed.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
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
        self._recorder = Recorder(outbox, store, policy, self.observer)
        self.stream = StreamFactory(self)

    def _groq_class(self) -> Any:
        import groq

        return groq.Groq

    def _new_http_client(self) -> Any:
        return make_http_client(self._settings.timeout)

    def _call(self, kind: str, inputs: dict[str, Any], dry_run: bool) -> Any:
        generation = self._prepare(kind, inputs)
        if dry_run:
            return generation.chat
        self._check([generation])
        with self.observer.generating(generation.chat):
            return self._record(generation, self._complete(generation))

    def _check(self, generations: Sequence[Generation]) -> None:
        for check, error in self._checks(generations):
            self._checked(check, self._store.execute(check), error)

    def _complete(self, generation: Generation) -> Completion:
        client = self._client()
        try:
            with self.observer.groq_call(generation.chat):
                for attempt in retrying(self.policy, gate=self.gate):
                    with attempt:
                        time.sleep(self.gate.delay())
                        started = time.perf_counter()
                        raw = client.chat.completions.with_raw_response.create(
                            **generation.chat.parameters
                        )
                        completion = completion_from(raw.parse(), raw.headers, started)
        except Exception as exc:
            raise self._failure(exc, generation) from exc
        self.observer.completed(completion)
        return completion

    def _failure(self, exc: BaseException, generation: Generation) -> GroqgenError:
        error = translate_groq_error(exc)
        model_error = self._model_error(error)
        if model_error is None:
            return error
        try:
            served: list[GroqModel] | None = self.models()
        except GroqgenError:
            served = None
        return self._with_models(model_error, generation.chat.model, served)

    def models(self) -> list[GroqModel]:
        """The models Groq serves now, by id (asked once per client, then remembered)."""
        if self._models is None:
            try:
                for attempt in retrying(self.policy, gate=self.gate):
                    with attempt:
                        page = self._client().models.list()
            except Exception as exc:
                raise translate_groq_error(exc) from exc
            self._models = self._served(page)
        return self._models

    def _record(
        self, generation: Generation, completion: Completion, watch: StoreWatch | None = None
    ) -> Any:
        generation.check(completion)
        row = self._recorder.record(generation.record(completion), watch)
        return TABLES[generation.kind.table].row.model_validate(row)

    def close(self) -> None:
        """Close the HTTP client if groqgen made it."""
        if self._owns_http and self._http is not None:
            self._http.close()


class StreamFactory(
    Kinds[
        "Stream[Prompt]",
        "Stream[CodeGeneration]",
        "Stream[CodeReview]",
        "Stream[TestGeneration]",
        DryRun,
    ]
):
    """``client.generate.stream``: the same four kinds, streamed (``with`` what they return)."""

    def __init__(self, generator: Generator) -> None:
        self._generator = generator

    def _call(self, kind: str, inputs: dict[str, Any], dry_run: bool) -> Any:
        generation = self._generator._prepare(kind, inputs)
        return generation.chat if dry_run else Stream[Any](self._generator, generation)


class Stream(StreamCore[RowT], Generic[RowT]):
    """A streamed generation: iterate it for text deltas; ``result`` is the stored row.

    The row is recorded once, after the last chunk, with the usage Groq reports at the end. A
    stream that breaks off, or that is left before its end, records nothing. Deltas are answer
    text only; reasoning that arrives anyway is in :attr:`reasoning`, never stored.
    """

    def __init__(self, generator: Generator, generation: Generation) -> None:
        super().__init__(generation)
        self._generator = generator

    def __enter__(self) -> Stream[RowT]:
        generator, generation = self._generator, self._state.generation
        generator._check([generation])
        client = generator._client()
        parameters = {**generation.chat.parameters, "stream": True}
        self._span = generator.observer.generation(generation.chat, stream=True)
        try:
            with self._span.active(), generator.observer.groq_call(generation.chat):
                for attempt in retrying(generator.policy, gate=generator.gate):
                    with attempt:
                        time.sleep(generator.gate.delay())
                        raw = client.chat.completions.with_raw_response.create(**parameters)
                        self._state.request_id = raw.headers.get("x-request-id")
                        self._response = raw.parse()
        except Exception as exc:
            error = generator._failure(exc, generation)
            self._failed(error)
            raise error from exc
        return self

    def __iter__(self) -> Iterator[str]:
        if self._response is None:
            raise GenerationError("use the stream in a with block: with client.generate.stream...")
        generator, generation = self._generator, self._state.generation
        try:
            for chunk in self._response:
                delta = self._state.feed(chunk)
                if delta:
                    yield delta
        except GroqgenError as exc:
            self._failed(exc)
            raise
        except Exception as exc:
            error = generator._failure(exc, generation)
            self._failed(error)
            raise error from exc
        with self._finishing(generator.observer) as completion:
            self._result = generator._record(generation, completion)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._ended(exc)
        if self._response is not None:
            self._response.close()
