"""What ``client.batches`` answers: jobs, their Groq batches, collections and per-item errors.

Plain frozen dataclasses, no I/O: they are built from the job journal and Groq's answers by
:mod:`groqgen.batches._core`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..errors import GenerationError, GroqgenError, RecordingFailed, TruncatedGeneration

__all__ = [
    "TERMINAL",
    "BatchCollection",
    "BatchItemError",
    "BatchJob",
    "BatchLimits",
    "BatchStatus",
    "GroqBatch",
    "ItemErrorReason",
    "custom_id",
    "row_id",
]

BatchStatus = Literal[
    "validating",
    "in_progress",
    "finalizing",
    "completed",
    "failed",
    "expired",
    "cancelling",
    "cancelled",
]
"""A batch's status, in Groq's words (``GET /openai/v1/batches/{id}``)."""

TERMINAL: frozenset[str] = frozenset({"completed", "failed", "expired", "cancelled"})
"""The statuses a batch never leaves: its results (if any) can be collected."""

_RUNNING: tuple[BatchStatus, ...] = ("validating", "in_progress", "finalizing", "cancelling")
_ENDED: tuple[BatchStatus, ...] = ("cancelled", "expired", "failed")

ItemErrorReason = Literal["failed", "expired", "not_run", "truncated", "unusable", "unrecorded"]
"""Why one request of a job has no row.

``failed``: Groq answered the request with an error. ``expired``: the window ran out before
Groq reached it. ``not_run``: its batch was cancelled or failed, or never submitted, before it
ran. ``truncated``: the answer was cut off or empty (the rules of a synchronous generation).
``unusable``: the answer cannot be recorded (see :meth:`groqgen.generation.Generation.record`).
``unrecorded``: the store did not take it; it is kept in the outbox.
"""

_RETRYABLE = frozenset({"failed", "expired", "not_run"})


def custom_id(index: int) -> str:
    """The ``custom_id`` of a job's request number ``index`` (from 0) in Groq's files."""
    return f"request-{index}"


def row_id(job_id: uuid.UUID, index: int) -> uuid.UUID:
    """The id under which request ``index`` of job ``job_id`` is recorded.

    Derived from the job and the request's ``custom_id``, never drawn at random: however often
    a job is collected, and whichever process collects it, a generation lands under one id,
    and recording it again changes nothing.
    """
    return uuid.uuid5(job_id, custom_id(index))


@dataclass(frozen=True)
class BatchLimits:
    """How much one Groq batch takes: ``lines`` requests and ``bytes`` of input file.

    Groq's limits (50,000 requests, 100 MB; ``GROQ-TODAY.md``) by default. A job larger than
    that is split into several Groq batches.
    """

    lines: int = 50_000
    bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True)
class GroqBatch:
    """One Groq batch of a job: the job's requests ``first`` to ``first + count - 1``.

    ``id`` is Groq's batch id (None when the batch was never created: the submission broke off
    before it, and ``problem`` says why). ``completed`` and ``failed`` are Groq's request
    counts; ``collected`` says whether groqgen has read its results.
    """

    id: str | None
    first: int
    count: int
    status: BatchStatus
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int = 0
    failed: int = 0
    collected: bool = False
    problem: str | None = None

    @property
    def finished(self) -> bool:
        """Whether Groq is done with this batch (completed, failed, expired or cancelled)."""
        return self.status in TERMINAL


def overall_status(batches: tuple[GroqBatch, ...]) -> BatchStatus:
    """A job's status from its batches'.

    The least advanced status while any batch runs; once all have ended, ``completed`` if all
    completed, else the first of ``cancelled``, ``expired``, ``failed`` that any batch has.
    """
    statuses = {b.status for b in batches}
    for running in _RUNNING:
        if running in statuses:
            return running
    if statuses <= {"completed"}:
        return "completed"
    return next(s for s in _ENDED if s in statuses)


@dataclass(frozen=True)
class BatchJob:
    """A groqgen batch job: requests sent to Groq's Batch API, recorded when collected.

    ``id`` is groqgen's job id (one job may span several Groq ``batches``). ``status``,
    ``completed`` and ``failed`` sum up Groq's view of them; ``recorded`` counts the rows
    recorded so far and ``errors`` the requests found without a row by collecting.

    Example:
        >>> job = client.batches.submit(requests)  # doctest: +SKIP
        >>> job.status, job.total  # doctest: +SKIP
        ('validating', 1000)
    """

    id: uuid.UUID
    created_at: datetime
    completion_window: str
    total: int
    batches: tuple[GroqBatch, ...]
    recorded: int = 0
    errors: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict)
    retry_of: uuid.UUID | None = None
    retried_by: uuid.UUID | None = None
    status: BatchStatus = field(init=False)
    completed: int = field(init=False)
    failed: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", overall_status(self.batches))
        object.__setattr__(self, "completed", sum(b.completed for b in self.batches))
        object.__setattr__(self, "failed", sum(b.failed for b in self.batches))

    @property
    def finished(self) -> bool:
        """Whether Groq is done with every batch of the job."""
        return all(b.finished for b in self.batches)

    @property
    def collected(self) -> bool:
        """Whether every batch has ended and its results have been collected."""
        return all(b.collected for b in self.batches)

    def row_id(self, index: int) -> uuid.UUID:
        """The id request ``index`` (from 0, in submission order) is recorded under.

        Example:
            >>> client.prompts.get(job.row_id(0))  # doctest: +SKIP
        """
        if not 0 <= index < self.total:
            raise IndexError(f"job {self.id} has requests 0 to {self.total - 1}, not {index}")
        return row_id(self.id, index)


@dataclass(frozen=True)
class BatchItemError:
    """One request of a job that has no row, and why (see :data:`ItemErrorReason`).

    ``index`` is its position in the submitted requests, ``custom_id`` its name in Groq's
    files. ``code``, ``message``, ``status_code`` and ``request_id`` are Groq's where Groq
    said (``code`` is ``"batch_expired"`` for an expired request).
    """

    index: int
    custom_id: str
    kind: str
    reason: ItemErrorReason
    message: str
    code: str | None = None
    status_code: int | None = None
    request_id: str | None = None

    @property
    def retryable(self) -> bool:
        """Whether :meth:`~groqgen.batches.Batches.retry_failed` submits it again.

        True for requests Groq failed, let expire or never ran; a truncated or unusable answer
        was paid for and would come back the same, and an unrecorded one is in the outbox.
        """
        return self.reason in _RETRYABLE

    @property
    def error(self) -> GroqgenError:
        """The error as groqgen's exception type.

        :class:`~groqgen.TruncatedGeneration` for a truncated answer,
        :class:`~groqgen.RecordingFailed` for one the store did not take, else
        :class:`~groqgen.GenerationError` with Groq's code, status and request id.
        """
        if self.reason == "truncated":
            return TruncatedGeneration(
                self.message,
                text="",
                usage={},
                finish_reason=self.code,
                request_id=self.request_id,
            )
        if self.reason == "unrecorded":
            return RecordingFailed(self.message, result=None, code=self.code)
        return GenerationError(
            self.message,
            status_code=self.status_code,
            code=self.code,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class BatchCollection:
    """What :meth:`~groqgen.batches.Batches.collect` found.

    ``job`` is the job as it stands now (its ``recorded`` counts every row recorded by any
    collect); ``newly_recorded`` the rows this call recorded; ``errors`` every request of the
    batches collected so far that has no row. ``finished`` is False while Groq still runs some
    of the job (collect again later, or with ``wait=True``).
    """

    job: BatchJob
    newly_recorded: int
    errors: tuple[BatchItemError, ...]

    @property
    def recorded(self) -> int:
        """Rows of this job recorded so far, by this collect and earlier ones."""
        return self.job.recorded

    @property
    def finished(self) -> bool:
        """Whether every batch of the job has ended and been collected."""
        return self.job.collected
