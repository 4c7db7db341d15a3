"""``client.batches`` for :class:`~groqgen.AsyncClient`: each effect awaited.

The journal's file work runs in a worker thread; a chunk of records is written a few at a time
(``RECORD_CONCURRENCY``), as ``generate.many()`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import GroqgenError
from ..retry import async_retrying
from ..stores.ops import assert_never
from ..transport import translate_groq_error
from . import _core
from ._core import Effect, Procedure
from ._model import BatchCollection, BatchJob
from ._surface import BatchesSurface

if TYPE_CHECKING:
    from ..generator import AsyncGenerator
    from ..outbox import Outbox

__all__ = ["RECORD_CONCURRENCY", "AsyncBatches"]

RECORD_CONCURRENCY = 8
"""Records of one chunk written at once."""


class AsyncBatches(
    BatchesSurface[Awaitable[BatchJob], "Awaitable[list[BatchJob]]", Awaitable[BatchCollection]]
):
    """``client.batches`` for :class:`~groqgen.AsyncClient`: every verb is awaitable."""

    def __init__(self, generator: AsyncGenerator, outbox: Outbox) -> None:
        super().__init__(generator, outbox)
        self._generate = generator
        self._sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep  # tests pass a fake

    def _run(self, procedure: Procedure[Any]) -> Any:
        return self._drive(procedure)

    async def _drive(self, procedure: Procedure[Any]) -> Any:
        steps = _core.Steps(procedure)
        while (effect := steps.next()) is not None:
            try:
                steps.answer(await self._perform(effect))
            except BaseException as exc:  # the procedure decides, and cleans up
                steps.fail(exc)
        return steps.value

    async def _perform(self, effect: Effect) -> Any:
        match effect:
            case _core.Call():
                return await self._call(effect)
            case _core.OpenFile():
                return await self._open(effect.file_id)
            case _core.ReadLines():
                return await _next_lines(effect.handle[1], effect.count)
            case _core.CloseFile():
                with contextlib.suppress(Exception):
                    await effect.handle[1].aclose()
                    await effect.handle[0].__aexit__(None, None, None)
                return None
            case _core.Record():
                return await self._record_all(effect)
            case _core.Check():
                return await self._generate._check(effect.generations)
            case _core.Local():
                return await asyncio.to_thread(effect.work)
            case _core.Sleep():
                return await self._sleep(effect.seconds)
            case _:
                assert_never(effect)

    async def _call(self, call: _core.Call) -> Any:
        client = self._generate._client()
        try:
            async for attempt in async_retrying(self._policy, gate=self._generate.gate):
                with attempt:
                    if call.find is not None and attempt.retry_state.attempt_number > 1:
                        made = call.find.match(await _core.sdk_method(client, call.find.method)())
                        if made is not None:
                            return made
                    return await _core.sdk_method(client, call.method)(**call.kwargs)
        except Exception as exc:
            raise translate_groq_error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _open(self, file_id: str) -> tuple[Any, Any]:
        client = self._generate._client()
        try:
            async for attempt in async_retrying(self._policy, gate=self._generate.gate):
                with attempt:
                    download = client.files.with_streaming_response.content(file_id)
                    return download, (await download.__aenter__()).iter_lines()
        except Exception as exc:
            raise translate_groq_error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _record_all(self, effect: _core.Record) -> list[Any]:
        slots = asyncio.Semaphore(RECORD_CONCURRENCY)

        async def one(record: Any) -> Any:
            async with slots:
                try:
                    return await self._generate._recorder.record(record, effect.watch)
                except GroqgenError as exc:
                    return exc

        return list(await asyncio.gather(*(one(r) for r in effect.records)))


async def _next_lines(lines: Any, count: int) -> list[str]:
    """Up to ``count`` more lines of an async line iterator."""
    taken: list[str] = []
    while len(taken) < count:
        try:
            taken.append(await lines.__anext__())
        except StopAsyncIteration:
            break
    return taken
