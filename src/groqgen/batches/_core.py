"""Every decision of ``client.batches``, written once for the sync and async clients.

Each verb is a *procedure*: a generator that yields the I/O it needs as effect objects (a
groq SDK call, a chunk of lines from a download, a chunk of records for the store, a file
operation in the journal, a pause) and is sent back each result, or has each failure thrown
in. A flavour supplies only the driver that carries effects out (:class:`Effects`): directly
for :class:`~groqgen.batches.Batches`, awaited for :class:`~groqgen.batches.AsyncBatches`.
Nothing here asks which flavour it runs in, and no step is written twice.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar, Union

from ..errors import (
    AuthenticationError,
    GenerationError,
    GroqgenError,
    RateLimited,
    TruncatedGeneration,
    ValidationError,
)
from ..generation import KINDS, DryRun, Generation
from ..models import validate_input
from ..outbox import Outbox, StoreWatch
from ..presentation import Progress
from ..stores import ops
from ..transport import translate_groq_error
from . import _wire
from ._journal import JobRecord, Journal, PartRecord, RequestEntry, RequestFile
from ._model import (
    TERMINAL,
    BatchCollection,
    BatchItemError,
    BatchJob,
    BatchLimits,
    ItemErrorReason,
    custom_id,
    row_id,
)

if TYPE_CHECKING:
    from .._filelock import FileLock
    from ..generator._core import GeneratorCore

__all__ = [
    "BatchesCore",
    "Call",
    "Check",
    "CloseFile",
    "Effect",
    "Find",
    "Local",
    "OpenFile",
    "Procedure",
    "ReadLines",
    "Record",
    "Sleep",
    "Steps",
    "sdk_method",
]

T = TypeVar("T")
_log = logging.getLogger("groqgen.batches")

CHUNK = 256
"""Result lines read, decided and recorded at a time (then noted in the journal)."""
MAX_POLL = 300.0
"""The longest pause between two looks at Groq while ``collect(wait=True)`` waits."""
_JOB_KEY, _PART_KEY = "groqgen_job", "groqgen_part"  # batch metadata naming the job and part


# -- effects: the I/O a procedure asks for --------------------------------------------------------


@dataclass(frozen=True)
class Find:
    """How to tell whether an earlier attempt of a :class:`Call` was accepted after all.

    ``method`` lists (e.g. ``"files.list"``); ``match`` picks what the earlier attempt made out
    of the listing, or answers None.
    """

    method: str
    match: Callable[[Any], Any]


@dataclass(frozen=True)
class Call:
    """One groq SDK call (``method`` such as ``"batches.retrieve"``), under the retry policy.

    A call that creates something has a ``find``: before each retry the driver looks for what
    an earlier attempt may have made, and retries only when nothing was accepted.
    """

    method: str
    kwargs: Mapping[str, Any]
    find: Find | None = None


@dataclass(frozen=True)
class OpenFile:
    """Start downloading a file's content (retried under the policy); answers a handle."""

    file_id: str


@dataclass(frozen=True)
class ReadLines:
    """The next ``count`` lines of a download (fewer at its end, none after it)."""

    handle: Any
    count: int = CHUNK


@dataclass(frozen=True)
class CloseFile:
    """End a download."""

    handle: Any


@dataclass(frozen=True)
class Record:
    """Record generations (each through the retry policy; parked in the outbox on failure).

    Answers, per record, the stored row or the ``GroqgenError`` that stopped it.
    """

    records: Sequence[ops.Record]
    watch: StoreWatch


@dataclass(frozen=True)
class Check:
    """The store checks a generation runs before Groq is paid (profile, projects)."""

    generations: Sequence[Generation]


@dataclass(frozen=True)
class Local:
    """Work on the journal's files (in a worker thread for asyncio)."""

    work: Callable[[], Any]


@dataclass(frozen=True)
class Sleep:
    """Pause ``seconds`` before looking at Groq again."""

    seconds: float


Effect = Union[Call, OpenFile, ReadLines, CloseFile, Record, Check, Local, Sleep]  # noqa: UP007
Procedure = Generator[Effect, Any, T]
"""A verb's steps: yields effects, is sent their results, returns the verb's answer."""


class Steps:
    """A procedure being carried out: its next effect, given what the last one gave.

    A driver's whole loop::

        steps = Steps(procedure)
        while (effect := steps.next()) is not None:
            try:
                steps.answer(perform(effect))      # or: await perform(effect)
            except BaseException as exc:           # the procedure decides, and cleans up
                steps.fail(exc)
        return steps.value
    """

    def __init__(self, procedure: Procedure[Any]) -> None:
        self._procedure = procedure
        self._reply: Any = None
        self._failure: BaseException | None = None
        self.value: Any = None

    def next(self) -> Effect | None:
        """The next effect to carry out; None once the procedure has returned (``value``)."""
        reply, failure = self._reply, self._failure
        self._reply = self._failure = None
        try:
            if failure is not None:
                return self._procedure.throw(failure)
            return self._procedure.send(reply)
        except StopIteration as done:
            self.value = done.value
            return None

    def answer(self, reply: Any) -> None:
        """The last effect gave ``reply``."""
        self._reply = reply

    def fail(self, failure: BaseException) -> None:
        """The last effect raised ``failure``: it is raised inside the procedure."""
        self._failure = failure


def sdk_method(client: Any, method: str) -> Callable[..., Any]:
    """``client.files.create`` and the like, by name."""
    target = client
    for name in method.split("."):
        target = getattr(target, name)
    return target  # type: ignore[no-any-return]


def _listed(page: Any) -> list[Any]:
    return list(getattr(page, "data", None) or [])


def _file_named(name: str, page: Any) -> Any:
    """The uploaded file called ``name`` in a listing of files, if any."""
    return next((f for f in _listed(page) if getattr(f, "filename", None) == name), None)


def _batch_of(job_id: uuid.UUID, part: int, page: Any) -> Any:
    """The batch made for part ``part`` of job ``job_id`` in a listing of batches, if any."""
    for batch in _listed(page):
        metadata = getattr(batch, "metadata", None)
        if (
            isinstance(metadata, dict)
            and metadata.get(_JOB_KEY) == str(job_id)
            and metadata.get(_PART_KEY) == str(part)
        ):
            return batch
    return None


def _broken_download(exc: BaseException) -> bool:
    """Whether a download stopped because its connection broke (worth downloading again)."""
    import groq
    import httpx

    return isinstance(exc, (httpx.TransportError, groq.APIConnectionError))


@dataclass
class _Collecting:
    """What one collect of one Groq batch has seen so far."""

    job: JobRecord
    part: PartRecord
    batch_id: str
    requests: RequestFile
    recorded: bytearray
    bar: Progress
    watch: StoreWatch = field(default_factory=StoreWatch)
    seen: set[int] = field(default_factory=set)
    errors: dict[int, BatchItemError] = field(default_factory=dict)
    newly: int = 0


class BatchesCore:
    """Settings, the journal and every step of every verb; the flavours only carry effects out.

    ``limits`` is how much one Groq batch takes (:class:`~groqgen.batches.BatchLimits`); a
    job is split to fit.
    """

    def __init__(self, generator: GeneratorCore, outbox: Outbox) -> None:
        self._generator = generator
        self._outbox = outbox
        self._policy = generator.policy
        self.journal = Journal(generator._settings.home)
        self.limits = BatchLimits()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} journal={str(self.journal.root)!r}>"

    # -- whose jobs ------------------------------------------------------------------------------

    def _identity(self) -> tuple[str, str]:
        identity = self._outbox.identity()
        if identity.user is None:
            raise AuthenticationError(
                "nobody is signed in, so a batch job could not be recorded for anyone; sign in "
                "first (client.auth.sign_in_with_password)"
            )
        return identity.store, identity.user

    def _mine(self) -> list[JobRecord]:
        store, user = self._identity()
        return [job for job in self.journal.jobs() if (job.store, job.user) == (store, user)]

    def _load(self, reference: uuid.UUID | str) -> JobRecord:
        """The job ``reference`` names among this store's and user's (or ``NotFound``)."""
        job_id = self.journal.resolve(reference, [job.id for job in self._mine()])
        return self.journal.load(job_id)

    def _view(self, job: JobRecord) -> BatchJob:
        return job.view(self.journal.recorded_count(job), self.journal.error_count(job))

    # -- submit ----------------------------------------------------------------------------------

    def _prepared(self, index: int, item: Any) -> Generation:
        """Validate request ``index`` as a synchronous generation would; errors name it."""
        try:
            kind, inputs = self._generator._as_request(item)
            return self._generator._prepare(kind, inputs)
        except ValidationError as exc:
            where = f"requests[{index}]" + (f".{exc.field}" if exc.field else "")
            raise ValidationError(
                f"request {index}: {exc}; nothing was sent",
                field=where,
                errors=[{**e, "index": index} for e in exc.errors],
            ) from None

    @staticmethod
    def _entry(index: int, generation: Generation) -> RequestEntry:
        chat = generation.chat
        return RequestEntry(
            custom_id=custom_id(index),
            kind=generation.kind.name,
            inputs=generation.request.model_dump(mode="json", exclude_unset=True),
            model=chat.model,
            reasoning_effort=chat.reasoning_effort,
            template_version=chat.template_version,
            max_completion_tokens=chat.parameters.get("max_completion_tokens"),
        )

    def _submit(
        self,
        requests: Iterable[Any],
        completion_window: str,
        metadata: Mapping[str, str] | None,
        retry_of: uuid.UUID | None = None,
    ) -> Procedure[BatchJob]:
        window = _wire.window(completion_window)
        labels = _metadata(metadata)
        store, user = self._identity()
        generations = [self._prepared(i, item) for i, item in enumerate(requests)]
        if not generations:
            raise ValidationError("requests is empty: nothing to submit", field="requests")
        lines = [
            _wire.input_line(custom_id(i), g.chat.parameters) for i, g in enumerate(generations)
        ]
        parts = _wire.split(lines, self.limits)
        yield Check(generations)
        job = JobRecord(
            id=uuid.uuid4(),
            created_at=datetime.now(timezone.utc),
            store=store,
            user=user,
            completion_window=window,
            total=len(generations),
            parts=[PartRecord(first=p.start, count=len(p)) for p in parts],
            metadata=labels,
            retry_of=retry_of,
        )
        entries = [self._entry(i, g) for i, g in enumerate(generations)]
        lock: FileLock = yield Local(functools.partial(self.journal.create, job, entries))
        try:
            for number, part in enumerate(job.parts):
                try:
                    yield from self._submit_part(
                        job, number, part, lines[part.first : part.first + part.count]
                    )
                except Exception as exc:
                    raise (yield from self._broken_off(job, number, exc)) from exc
            job.submitted = True
            yield Local(functools.partial(self.journal.save, job))
        finally:
            yield Local(lock.release)
        _log.info(
            "submitted batch job %s: %d requests in %d Groq batches",
            job.id,
            job.total,
            len(job.parts),
        )
        view: BatchJob = yield Local(functools.partial(self._view, job))
        return view

    def _submit_part(
        self, job: JobRecord, number: int, part: PartRecord, lines: Sequence[bytes]
    ) -> Procedure[None]:
        """Upload one Groq batch's input file and create the batch; journal each step."""
        name = f"groqgen-{job.id}-{number}.jsonl"
        uploaded = yield Call(
            "files.create",
            {"file": (name, b"".join(lines), "application/jsonl"), "purpose": "batch"},
            find=Find("files.list", functools.partial(_file_named, name)),
        )
        part.input_file_id = str(uploaded.id)
        yield Local(functools.partial(self.journal.save, job))
        created = yield Call(
            "batches.create",
            {
                "input_file_id": part.input_file_id,
                "endpoint": _wire.ENDPOINT,
                "completion_window": job.completion_window,
                "metadata": {**job.metadata, _JOB_KEY: str(job.id), _PART_KEY: str(number)},
            },
            find=Find("batches.list", functools.partial(_batch_of, job.id, number)),
        )
        _update(part, created)
        yield Local(functools.partial(self.journal.save, job))

    def _broken_off(self, job: JobRecord, number: int, exc: Exception) -> Procedure[GroqgenError]:
        """A submission that failed at Groq batch ``number``: what is kept, and what to raise.

        When Groq may have made that batch all the same (its creation was sent, and the answer
        was lost or was a server error), the job stays unfinished: the next collect, cancel or
        retry looks for the batch by the job its metadata names. When Groq cannot have made
        it, a job holding no batch yet is forgotten; otherwise the batches not made are marked
        never submitted, so that collecting records what runs and ``retry_failed`` submits the
        rest.
        """
        error = translate_groq_error(exc)
        status = getattr(error, "status_code", None)
        refused = isinstance(error, (RateLimited, AuthenticationError)) or (
            isinstance(status, int) and 400 <= status < 500 and status != 408
        )
        where = f"Groq batch {number + 1} of the job's {len(job.parts)}"
        if job.parts[number].input_file_id is not None and not refused:
            yield Local(functools.partial(self.journal.save, job))
            return GenerationError(
                f"batch job {job.id}: Groq did not confirm the creation of {where} ({error}); "
                "Groq may have made it all the same, so the job is kept: getting, collecting or "
                "cancelling it looks for the batch first",
                status_code=status,
                code=getattr(error, "code", None),
            )
        if number == 0:
            yield Local(functools.partial(self.journal.remove, job.id))
            return error
        for part in job.parts[number:]:
            part.status, part.problem = "failed", f"never submitted: {error}"
        job.submitted = True
        yield Local(functools.partial(self.journal.save, job))
        return GenerationError(
            f"batch job {job.id} was submitted only in part: {where} could not be created "
            f"({error}). Collect the job to record what the others return; retry_failed then "
            "submits the rest",
            status_code=status,
            code=getattr(error, "code", None),
        )

    # -- looking at Groq -------------------------------------------------------------------------

    def _refresh(self, job: JobRecord, *, save: bool = True) -> Procedure[None]:
        """Ask Groq about every batch of the job that has not ended; journal what changed.

        ``save=False`` where the job's lock is not held: only the holder writes its journal.
        """
        changed = False
        for part in job.parts:
            if part.batch_id is None or part.status in TERMINAL:
                continue
            batch = yield Call("batches.retrieve", {"batch_id": part.batch_id})
            changed = _update(part, batch) or changed
        if changed and save:
            yield Local(functools.partial(self.journal.save, job))

    def _recover(self, job: JobRecord) -> Procedure[None]:
        """Finish the journal of a submission that stopped half-way (the lock is held).

        A Groq batch created but not journaled is found by the job and part named in its
        metadata; a part never created is marked so (``retry_failed`` submits it).
        """
        if job.submitted:
            return
        page = None
        for number, part in enumerate(job.parts):
            if part.batch_id is not None:
                continue
            if page is None:
                page = yield Call("batches.list", {})
            found = _batch_of(job.id, number, page)
            if found is not None:
                _update(part, found)
            else:
                part.status = "failed"
                part.problem = "never submitted: the submitting process stopped first"
        job.submitted = True
        yield Local(functools.partial(self.journal.save, job))

    def _locked(self, job_id: uuid.UUID | str) -> Procedure[tuple[JobRecord, FileLock]]:
        """The job, read again once its lock is held (recovered if its submission stopped)."""
        job = yield Local(functools.partial(self._load, job_id))
        lock: FileLock = yield Local(functools.partial(self.journal.lock, job.id))
        try:
            job = yield Local(functools.partial(self.journal.load, job.id))
            yield from self._recover(job)
        except BaseException:
            yield Local(lock.release)
            raise
        return job, lock

    def _looked_at(self, job: JobRecord) -> Procedure[JobRecord]:
        """The job with Groq's news, without its lock (nothing is journaled then).

        Rare: a submission that stopped half-way has its journal finished first (that takes
        the lock, waiting for a submission still under way).
        """
        if not job.submitted:
            job, lock = yield from self._locked(job.id)
            yield Local(lock.release)
        yield from self._refresh(job, save=False)
        return job

    def _get(self, job_id: uuid.UUID | str) -> Procedure[BatchJob]:
        job = yield Local(functools.partial(self._load, job_id))
        job = yield from self._looked_at(job)
        view: BatchJob = yield Local(functools.partial(self._view, job))
        return view

    def _list(self) -> Procedure[list[BatchJob]]:
        jobs = yield Local(self._mine)
        views = []
        for job in jobs:
            job = yield from self._looked_at(job)
            views.append((yield Local(functools.partial(self._view, job))))
        return views

    def _cancel(self, job_id: uuid.UUID | str) -> Procedure[BatchJob]:
        job, lock = yield from self._locked(job_id)
        try:
            for part in job.parts:
                if part.batch_id is not None and part.status not in TERMINAL:
                    _update(part, (yield Call("batches.cancel", {"batch_id": part.batch_id})))
            yield Local(functools.partial(self.journal.save, job))
            view: BatchJob = yield Local(functools.partial(self._view, job))
            return view
        finally:
            yield Local(lock.release)

    # -- collect ---------------------------------------------------------------------------------

    def _collect(
        self,
        job_id: uuid.UUID | str,
        wait: bool,
        poll_interval: float,
        timeout: float | None,
        progress: bool | None,
    ) -> Procedure[BatchCollection]:
        _positive(poll_interval, "poll_interval")
        if timeout is not None:
            _positive(timeout, "timeout", zero=True)
        job, lock = yield from self._locked(job_id)
        try:
            newly = yield from self._wait_and_collect(job, wait, poll_interval, timeout, progress)
            errors = yield Local(functools.partial(self.journal.errors, job))
            view = yield Local(functools.partial(self._view, job))
        finally:
            yield Local(lock.release)
        return BatchCollection(view, newly, tuple(errors))

    def _wait_and_collect(
        self,
        job: JobRecord,
        wait: bool,
        poll_interval: float,
        timeout: float | None,
        progress: bool | None,
    ) -> Procedure[int]:
        """Collect each batch that has ended.

        With ``wait``, look again (backing off) until all have, or until ``timeout`` seconds
        of waiting are spent.
        """
        newly, waited, pause = 0, 0.0, poll_interval
        bar: Progress | None = None
        try:
            while True:
                yield from self._refresh(job)
                for number, part in enumerate(job.parts):
                    if part.status in TERMINAL and not part.collected:
                        newly += yield from self._collect_part(job, number, part, progress)
                if all(p.collected for p in job.parts) or not wait:
                    return newly
                if timeout is not None and waited >= timeout:
                    return newly
                if bar is None:
                    bar = Progress(job.total, progress, label="Groq batch", unit="req")
                _show_counts(bar, job)
                step = pause if timeout is None else min(pause, timeout - waited)
                yield Sleep(step)
                waited += step
                pause = min(pause * 1.5, max(poll_interval, MAX_POLL))
        finally:
            if bar is not None:
                bar.close()

    def _collect_part(
        self, job: JobRecord, number: int, part: PartRecord, progress: bool | None
    ) -> Procedure[int]:
        """Record every result of one ended Groq batch; note what has no row, and why."""
        recorded = yield Local(functools.partial(self.journal.recorded, job))
        requests = yield Local(functools.partial(self.journal.requests, job.id))
        left = sum(1 for i in part.indices if not recorded[i])
        state = _Collecting(
            job,
            part,
            part.batch_id or "",
            requests,
            recorded,
            Progress(left, progress, label="recording", unit="gen", every=CHUNK),
        )
        try:
            for file_id in (part.output_file_id, part.error_file_id):
                if file_id:
                    yield from self._download(state, file_id)
            for index in part.indices:
                if not recorded[index] and index not in state.seen:
                    state.errors[index] = _missing(part, index, requests.entry(index).kind)
            yield Local(
                functools.partial(
                    self.journal.write_errors,
                    job.id,
                    number,
                    sorted(state.errors.values(), key=_by_index),
                )
            )
            part.collected = True
            yield Local(functools.partial(self.journal.save, job))
        finally:
            state.bar.close()
            yield Local(requests.close)
        return state.newly

    def _download(self, state: _Collecting, file_id: str) -> Procedure[None]:
        """Read a result file to its end, a chunk of lines at a time.

        A download whose connection breaks is started again under the retry policy; lines
        already taken are skipped (they are matched by ``custom_id``).
        """
        attempt = 0
        while True:
            handle = yield OpenFile(file_id)
            try:
                while lines := (yield ReadLines(handle)):
                    yield from self._take(state, lines)
                return
            except Exception as exc:
                if not _broken_download(exc):
                    raise
                attempt += 1
                if attempt > self._policy.max_retries:
                    raise translate_groq_error(exc) from exc
                pause = self._policy.wait(exc, attempt)
                _log.info("download of %s broke off (%s); reading it again", file_id, exc)
            finally:
                yield CloseFile(handle)
            yield Sleep(pause)

    def _take(self, state: _Collecting, lines: Sequence[str]) -> Procedure[None]:
        """Decide a chunk of result lines, record what succeeded, note it in the journal."""
        pending: list[tuple[int, str, ops.Record]] = []
        for raw in lines:
            if not raw.strip():
                continue
            try:
                result = _wire.read_result(raw)
            except ValueError as exc:
                _log.warning("skipping a result line of batch %s: %s", state.batch_id, exc)
                continue
            index = _wire.request_index(result.custom_id)
            if index is None or index not in state.part.indices:
                _log.warning("skipping a result for an unknown request %r", result.custom_id)
                continue
            if index in state.seen:
                continue  # the same line again, from a download started over
            state.seen.add(index)
            if state.recorded[index]:
                continue
            entry = state.requests.entry(index)
            try:
                pending.append((index, entry.kind, self._record_of(state, index, entry, result)))
            except _ItemFailed as failed:
                state.errors[index] = failed.item
                state.bar.advance(failed=True)
        if not pending:
            return
        outcomes = yield Record([op for _, _, op in pending], state.watch)
        done = []
        for (index, kind, _), outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, GroqgenError):
                state.errors[index] = _item(
                    index, kind, "unrecorded", str(outcome), getattr(outcome, "code", None)
                )
            else:
                done.append(index)
                state.recorded[index] = 1
            state.bar.advance(failed=isinstance(outcome, GroqgenError))
        yield Local(functools.partial(self.journal.note_recorded, state.job.id, done))
        state.newly += len(done)

    def _record_of(
        self, state: _Collecting, index: int, entry: RequestEntry, result: _wire.Result
    ) -> ops.Record:
        """The store operation that records one result, as a synchronous generation would."""
        kind = entry.kind
        if not result.ok:
            reason: ItemErrorReason = "expired" if result.code == "batch_expired" else "failed"
            raise _ItemFailed(
                _item(
                    index,
                    kind,
                    reason,
                    result.message,
                    result.code,
                    result.status_code,
                    result.request_id,
                )
            )
        generation = _generation(state.job.id, index, entry)
        try:
            completion = _wire.completion_of(result)
            generation.check(completion)
            record = generation.record(completion)
        except TruncatedGeneration as exc:
            raise _ItemFailed(
                _item(index, kind, "truncated", str(exc), exc.finish_reason, None, exc.request_id)
            ) from None
        except GenerationError as exc:
            raise _ItemFailed(
                _item(index, kind, "unusable", str(exc), exc.code, None, result.request_id)
            ) from None
        metadata = {
            **record.activity["metadata"],
            "batch": True,
            "batch_id": state.batch_id,
            "batch_job_id": str(state.job.id),
        }
        return replace(record, activity={**record.activity, "metadata": metadata})

    # -- retry -----------------------------------------------------------------------------------

    def _retry_failed(
        self, job_id: uuid.UUID | str, completion_window: str | None
    ) -> Procedure[BatchJob]:
        job, lock = yield from self._locked(job_id)
        try:
            if job.retried_by is not None:
                raise ValidationError(
                    f"batch job {job.id} was retried already, as job {job.retried_by}; retry "
                    "that one instead",
                    field="job_id",
                )
            yield from self._wait_and_collect(job, False, 1.0, None, False)
            running = [p.status for p in job.parts if not p.collected]
            if running:
                raise ValidationError(
                    f"batch job {job.id} is still running at Groq ({', '.join(running)}); "
                    "collect it once it has ended, then retry what failed",
                    field="job_id",
                )
            errors = yield Local(functools.partial(self.journal.errors, job))
            retried = [e.index for e in errors if e.retryable]
            if not retried:
                raise ValidationError(
                    f"batch job {job.id} has no failed, expired or unrun requests to retry",
                    field="job_id",
                )
            requests = yield Local(functools.partial(self._requests_again, job.id, retried))
            new = yield from self._submit(
                requests, completion_window or job.completion_window, job.metadata, job.id
            )
            job.retried_by = new.id
            yield Local(functools.partial(self.journal.save, job))
            return new
        finally:
            yield Local(lock.release)

    def _requests_again(self, job_id: uuid.UUID, indices: Sequence[int]) -> list[dict[str, Any]]:
        """The journaled requests ``indices``, as requests to submit (same model as before)."""
        requests = self.journal.requests(job_id)
        try:
            again = []
            for index in indices:
                entry = requests.entry(index)
                again.append({"kind": entry.kind, **entry.inputs, "model": entry.model})
            return again
        finally:
            requests.close()


class _ItemFailed(Exception):
    """A result that gives no row; carries the item error."""

    def __init__(self, item: BatchItemError) -> None:
        super().__init__(item.message)
        self.item = item


def _item(
    index: int,
    kind: str,
    reason: ItemErrorReason,
    message: str,
    code: str | None = None,
    status_code: int | None = None,
    request_id: str | None = None,
) -> BatchItemError:
    return BatchItemError(
        index=index,
        custom_id=custom_id(index),
        kind=kind,
        reason=reason,
        message=message,
        code=code,
        status_code=status_code,
        request_id=request_id,
    )


def _by_index(item: BatchItemError) -> int:
    return item.index


def _missing(part: PartRecord, index: int, kind: str) -> BatchItemError:
    """The error of a request an ended batch returned nothing for."""
    why = {
        "cancelled": "the batch was cancelled before Groq ran this request",
        "failed": "the batch failed before Groq ran this request "
        f"({part.problem or 'no reason given'})",
        "expired": "the batch expired before Groq ran this request",
    }.get(part.status, "Groq returned no result for this request")
    code = "batch_expired" if part.status == "expired" else None
    return _item(index, kind, "expired" if code else "not_run", why, code)


def _generation(job_id: uuid.UUID, index: int, entry: RequestEntry) -> Generation:
    """The generation a journaled request was, as it was built when it was submitted.

    Its chat request is not built again (the collecting client may have other templates or
    defaults): what the record needs of it (model, effort, template version, budget) was
    journaled.
    """
    kind = KINDS[entry.kind]
    request = validate_input(kind.request, **entry.inputs)
    chat = DryRun(
        kind=entry.kind,
        model=entry.model,
        messages=[],
        parameters={"max_completion_tokens": entry.max_completion_tokens},
        template_version=entry.template_version,
        reasoning_effort=entry.reasoning_effort,  # type: ignore[arg-type]
    )
    return Generation(kind, request, chat, row_id=row_id(job_id, index))


def _update(part: PartRecord, batch: Any) -> bool:
    """Take Groq's batch object into ``part``; whether anything changed."""
    before = (part.status, part.completed, part.failed, part.output_file_id, part.error_file_id)
    part.batch_id = getattr(batch, "id", None) or part.batch_id
    part.status = getattr(batch, "status", None) or part.status
    counts = getattr(batch, "request_counts", None)
    if counts is not None:
        part.completed, part.failed = int(counts.completed or 0), int(counts.failed or 0)
    part.output_file_id = getattr(batch, "output_file_id", None) or part.output_file_id
    part.error_file_id = getattr(batch, "error_file_id", None) or part.error_file_id
    problems = getattr(getattr(batch, "errors", None), "data", None) or []
    if problems:
        part.problem = "; ".join(
            f"{p.message or p.code}" + (f" (line {p.line})" if p.line else "") for p in problems
        )
    return before != (
        part.status,
        part.completed,
        part.failed,
        part.output_file_id,
        part.error_file_id,
    )


def _show_counts(bar: Progress, job: JobRecord) -> None:
    """Move the bar on to Groq's request counts."""
    completed = sum(p.completed for p in job.parts)
    failed = sum(p.failed for p in job.parts)
    while bar.done - bar.failed < completed and bar.done < bar.total:
        bar.advance()
    while bar.failed < failed and bar.done < bar.total:
        bar.advance(failed=True)


def _positive(value: Any, name: str, *, zero: bool = False) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not (value >= 0 if zero else value > 0) or value != value:
        raise ValidationError(f"{name} must be a positive number of seconds", field=name)


def _metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    labels = dict(metadata or {})
    for key, value in labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValidationError("metadata maps text to text", field="metadata")
        if key in (_JOB_KEY, _PART_KEY):
            raise ValidationError(f"metadata key {key} is groqgen's own", field="metadata")
    return labels
