"""``client.batches`` for :class:`~groqgen.Client`: each effect carried out directly."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import GroqgenError
from ..retry import retrying
from ..stores.ops import assert_never
from ..transport import translate_groq_error
from . import _core
from ._core import Effect, Procedure
from ._model import BatchCollection, BatchJob
from ._surface import BatchesSurface

if TYPE_CHECKING:
    from ..generator import Generator
    from ..outbox import Outbox

__all__ = ["Batches"]


class Batches(BatchesSurface[BatchJob, "list[BatchJob]", BatchCollection]):
    """``client.batches`` for :class:`~groqgen.Client` (see :class:`BatchesSurface`)."""

    def __init__(self, generator: Generator, outbox: Outbox) -> None:
        super().__init__(generator, outbox)
        self._generate = generator
        self._sleep: Callable[[float], Any] = time.sleep  # tests pass a fake clock's

    def _run(self, procedure: Procedure[Any]) -> Any:
        steps = _core.Steps(procedure)
        while (effect := steps.next()) is not None:
            try:
                steps.answer(self._perform(effect))
            except BaseException as exc:  # the procedure decides, and cleans up
                steps.fail(exc)
        return steps.value

    def _perform(self, effect: Effect) -> Any:
        match effect:
            case _core.Call():
                return self._call(effect)
            case _core.OpenFile():
                return self._open(effect.file_id)
            case _core.ReadLines():
                return list(itertools.islice(effect.handle[1], effect.count))
            case _core.CloseFile():
                with contextlib.suppress(Exception):
                    effect.handle[0].__exit__(None, None, None)
                return None
            case _core.Record():
                return [self._record(op, effect.watch) for op in effect.records]
            case _core.Check():
                return self._generate._check(effect.generations)
            case _core.Local():
                return effect.work()
            case _core.Sleep():
                return self._sleep(effect.seconds)
            case _:
                assert_never(effect)

    def _call(self, call: _core.Call) -> Any:
        client = self._generate._client()
        try:
            for attempt in retrying(self._policy, gate=self._generate.gate):
                with attempt:
                    if call.find is not None and attempt.retry_state.attempt_number > 1:
                        made = call.find.match(_core.sdk_method(client, call.find.method)())
                        if made is not None:
                            return made
                    return _core.sdk_method(client, call.method)(**call.kwargs)
        except Exception as exc:
            raise translate_groq_error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self, file_id: str) -> tuple[Any, Any]:
        client = self._generate._client()
        try:
            for attempt in retrying(self._policy, gate=self._generate.gate):
                with attempt:
                    download = client.files.with_streaming_response.content(file_id)
                    return download, download.__enter__().iter_lines()
        except Exception as exc:
            raise translate_groq_error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _record(self, record: Any, watch: Any) -> Any:
        try:
            return self._generate._recorder.record(record, watch)
        except GroqgenError as exc:
            return exc
