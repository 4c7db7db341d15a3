"""The durable job journal: ``GROQGEN_HOME/batches/<job id>/``, one folder per job.

A job is journaled before anything is uploaded, and every step after that is noted before the
next one starts, so that any process on this machine can pick a job up where another left it
(even one killed half-way). Each job's folder holds:

``job.json``
    The job: its Groq batches (the requests each holds, Groq's file and batch ids, the last
    status seen), whose store and user it records to, and what has been collected. Rewritten
    atomically (a reader sees the old file or the new, never a mix).
``requests.jsonl``
    One line per request, in submission order: its ``custom_id``, kind and inputs (the
    project among them), and the model, reasoning effort, template version and completion
    budget its chat request was built with. Written once.
``recorded``
    Append-only: the number of each request recorded so far, one per line, flushed to disk
    after each chunk of records. A number is noted only after its row is stored, and a row is
    stored under an id derived from the job and the request, so a crash between the two at
    worst records a generation a second time, which changes nothing.
``errors-<n>.jsonl``
    The requests of Groq batch ``n`` that have no row, and why (rewritten when it is
    collected).
``lock``
    Held while a job is submitted, collected, cancelled or retried: one process at a time.

Every file is private to its owner (:mod:`groqgen._files`: ``0700`` folders, ``0600`` files,
no symlinks followed, atomic replacement).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .._filelock import FileLock
from .._files import (
    ensure_home,
    existing_home,
    open_private,
    read_private,
    replace_private,
    write_all,
)
from ..errors import NotFound, StoreError, ValidationError
from ._model import BatchItemError, BatchJob, BatchStatus, GroqBatch

__all__ = ["FORMAT", "JobRecord", "Journal", "PartRecord", "RequestEntry", "RequestFile"]

FORMAT = 1
"""The version of ``job.json``'s layout."""

_log = logging.getLogger("groqgen.batches")


@dataclass
class PartRecord:
    """What the journal knows of one Groq batch of a job."""

    first: int
    count: int
    status: BatchStatus = "validating"
    input_file_id: str | None = None
    batch_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int = 0
    failed: int = 0
    problem: str | None = None
    collected: bool = False

    @property
    def indices(self) -> range:
        """The job's request numbers this batch holds."""
        return range(self.first, self.first + self.count)

    def view(self) -> GroqBatch:
        return GroqBatch(
            id=self.batch_id,
            first=self.first,
            count=self.count,
            status=self.status,
            input_file_id=self.input_file_id,
            output_file_id=self.output_file_id,
            error_file_id=self.error_file_id,
            completed=self.completed,
            failed=self.failed,
            collected=self.collected,
            problem=self.problem,
        )


@dataclass
class JobRecord:
    """``job.json``: a job as the journal keeps it (mutable; saved after each step)."""

    id: uuid.UUID
    created_at: datetime
    store: str
    user: str | None
    completion_window: str
    total: int
    parts: list[PartRecord]
    metadata: dict[str, str] = field(default_factory=dict)
    submitted: bool = False
    retry_of: uuid.UUID | None = None
    retried_by: uuid.UUID | None = None

    def to_json(self) -> bytes:
        data = asdict(self)
        data["format"] = FORMAT
        return json.dumps(data, default=str, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> JobRecord:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.pop("format", None) != FORMAT:
            raise ValueError("not a groqgen batch job of a known format")
        return cls(
            id=uuid.UUID(data["id"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            store=str(data["store"]),
            user=data["user"],
            completion_window=str(data["completion_window"]),
            total=int(data["total"]),
            parts=[PartRecord(**part) for part in data["parts"]],
            metadata=dict(data.get("metadata") or {}),
            submitted=bool(data.get("submitted")),
            retry_of=uuid.UUID(data["retry_of"]) if data.get("retry_of") else None,
            retried_by=uuid.UUID(data["retried_by"]) if data.get("retried_by") else None,
        )

    def view(self, recorded: int, errors: int) -> BatchJob:
        return BatchJob(
            id=self.id,
            created_at=self.created_at,
            completion_window=self.completion_window,
            total=self.total,
            batches=tuple(p.view() for p in self.parts),
            recorded=recorded,
            errors=errors,
            metadata=dict(self.metadata),
            retry_of=self.retry_of,
            retried_by=self.retried_by,
        )


@dataclass(frozen=True)
class RequestEntry:
    """One line of ``requests.jsonl``: a request as submitted, and how it was asked."""

    custom_id: str
    kind: str
    inputs: dict[str, Any]
    model: str
    reasoning_effort: str | None
    template_version: str
    max_completion_tokens: int | None

    def line(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class RequestFile:
    """``requests.jsonl`` opened for lookups by request number, in constant memory.

    Only the byte offset of each line is kept (8 bytes a request); a line is read when asked
    for.
    """

    def __init__(self, path: Path) -> None:
        self._fd = open_private(path, os.O_RDONLY)
        self._offsets = array("Q", [0])
        try:
            position = 0
            with os.fdopen(os.dup(self._fd), "rb") as stream:
                for line in stream:
                    position += len(line)
                    self._offsets.append(position)
        except BaseException:
            os.close(self._fd)
            raise

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def entry(self, index: int) -> RequestEntry:
        """Request number ``index``."""
        start, end = self._offsets[index], self._offsets[index + 1]
        return RequestEntry(**json.loads(os.pread(self._fd, end - start, start)))

    def close(self) -> None:
        os.close(self._fd)


def _append(path: Path, data: bytes) -> None:
    """Append whole lines to a private file and flush them to disk.

    A line torn by a crash (no newline at its end) is left behind: the next line starts on a
    line of its own, and readers ignore a last line without its newline.
    """
    fd = open_private(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """The jobs journaled in one groqgen home."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "batches"

    def __repr__(self) -> str:
        return f"Journal({str(self.root)!r})"

    def _folder(self, job_id: uuid.UUID) -> Path:
        return self.root / str(job_id)

    def _damaged(self, job_id: uuid.UUID, why: str) -> StoreError:
        return StoreError(
            f"the journal of batch job {job_id} at {self._folder(job_id)} is damaged ({why}); "
            "its Groq batches are listed by 'groqgen batch list' while they last"
        )

    # -- a job's lifetime ------------------------------------------------------------------------

    def create(self, job: JobRecord, requests: Iterable[RequestEntry]) -> FileLock:
        """Journal a new job (its requests, then ``job.json``); returns its lock, held."""
        ensure_home(self.root)
        folder = ensure_home(self._folder(job.id))
        lock = FileLock(folder / "lock")
        lock.acquire()
        try:
            replace_private(folder / "requests.jsonl", b"".join(r.line() for r in requests))
            self.save(job)
        except BaseException:
            lock.release()
            raise
        return lock

    def save(self, job: JobRecord) -> None:
        """Write ``job.json`` again, atomically and durably."""
        replace_private(self._folder(job.id) / "job.json", job.to_json())

    def load(self, job_id: uuid.UUID) -> JobRecord:
        """Read ``job.json``; ``NotFound`` when there is no such job."""
        folder = existing_home(self.root) and existing_home(self._folder(job_id))
        raw = read_private(self._folder(job_id) / "job.json") if folder else None
        if raw is None:
            raise NotFound(f"no batch job {job_id} in {self.root}")
        try:
            return JobRecord.from_json(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._damaged(job_id, str(exc)) from None

    def lock(self, job_id: uuid.UUID) -> FileLock:
        """Wait for the job's lock and take it."""
        lock = FileLock(self._folder(job_id) / "lock")
        lock.acquire()
        return lock

    def remove(self, job_id: uuid.UUID) -> None:
        """Forget a job that never reached Groq."""
        shutil.rmtree(self._folder(job_id), ignore_errors=True)

    # -- finding jobs ----------------------------------------------------------------------------

    def ids(self) -> list[uuid.UUID]:
        """Every job id journaled in this home."""
        if existing_home(self.root) is None:
            return []
        found = []
        for entry in os.scandir(self.root):
            try:
                found.append(uuid.UUID(entry.name))
            except ValueError:
                continue
        return found

    def jobs(self) -> list[JobRecord]:
        """Every readable job in this home, newest first; damaged ones are logged and skipped."""
        jobs = []
        for job_id in self.ids():
            try:
                jobs.append(self.load(job_id))
            except (NotFound, StoreError) as exc:
                _log.warning("skipping batch job %s: %s", job_id, exc)
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def resolve(self, reference: uuid.UUID | str, among: Iterable[uuid.UUID]) -> uuid.UUID:
        """The job ``reference`` names among ``among``: its id, or the start of one.

        Raises :class:`~groqgen.NotFound` when none matches, ``ValidationError`` when the start
        of an id fits several.
        """
        text = str(reference).strip().lower()
        if not text:
            raise ValidationError("a batch job id is needed", field="job_id")
        matches = [job_id for job_id in among if str(job_id).startswith(text)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFound(
                f"no batch job {reference} for this store and user ('groqgen batch list' shows "
                "them)"
            )
        raise ValidationError(
            f"{len(matches)} batch jobs start with {reference}; give more of the id",
            field="job_id",
        )

    # -- requests, records and errors ------------------------------------------------------------

    def requests(self, job_id: uuid.UUID) -> RequestFile:
        """The job's requests, for lookups (close it after use)."""
        return RequestFile(self._folder(job_id) / "requests.jsonl")

    def recorded(self, job: JobRecord) -> bytearray:
        """Which of the job's requests are recorded: ``result[i]`` is 1 for request ``i``."""
        marks = bytearray(job.total)
        for index in self._recorded_numbers(job.id):
            if 0 <= index < job.total:
                marks[index] = 1
        return marks

    def recorded_count(self, job: JobRecord) -> int:
        """How many of the job's requests are recorded."""
        return sum(self.recorded(job))

    def _recorded_numbers(self, job_id: uuid.UUID) -> Iterator[int]:
        raw = read_private(self._folder(job_id) / "recorded") or b""
        for line in raw.split(b"\n")[:-1]:  # the last piece is empty, or torn by a crash
            if line.isdigit():
                yield int(line)

    def note_recorded(self, job_id: uuid.UUID, indices: Iterable[int]) -> None:
        """Note that these requests are recorded (flushed to disk before it returns)."""
        data = b"".join(b"%d\n" % i for i in indices)
        if data:
            _append(self._folder(job_id) / "recorded", data)

    def write_errors(self, job_id: uuid.UUID, part: int, errors: Iterable[BatchItemError]) -> None:
        """Keep the requests of Groq batch ``part`` that have no row, and why."""
        lines = (
            json.dumps(asdict(e), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
            for e in errors
        )
        replace_private(self._folder(job_id) / f"errors-{part}.jsonl", b"".join(lines))

    def errors(self, job: JobRecord) -> list[BatchItemError]:
        """Every request of the job's collected batches that has no row, by request number."""
        found: list[BatchItemError] = []
        for part in range(len(job.parts)):
            raw = read_private(self._folder(job.id) / f"errors-{part}.jsonl") or b""
            for line in raw.splitlines():
                try:
                    found.append(BatchItemError(**_object(json.loads(line))))
                except (ValueError, TypeError) as exc:
                    raise self._damaged(job.id, f"errors-{part}.jsonl: {exc}") from None
        return sorted(found, key=lambda e: e.index)

    def error_count(self, job: JobRecord) -> int:
        """How many requests of the job's collected batches have no row."""
        total = 0
        for part in range(len(job.parts)):
            raw = read_private(self._folder(job.id) / f"errors-{part}.jsonl") or b""
            total += raw.count(b"\n")
        return total


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("a line is not a JSON object")
    return value
