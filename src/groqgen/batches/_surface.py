"""``client.batches``' public signatures, written once for both flavours.

:class:`BatchesSurface` is generic over what each verb returns, so the same declarations serve
:class:`~groqgen.batches.Batches` (the value) and :class:`~groqgen.batches.AsyncBatches` (an
awaitable of it). A flavour supplies only :meth:`BatchesSurface._run`, which carries a
procedure's effects out (see :mod:`groqgen.batches._core`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from ._core import BatchesCore, Procedure

__all__ = ["BatchesSurface"]

JobR = TypeVar("JobR")
JobsR = TypeVar("JobsR")
CollectionR = TypeVar("CollectionR")

DEFAULT_POLL_INTERVAL = 30.0
"""Seconds before ``collect(wait=True)`` first looks at Groq again (then it backs off)."""


class BatchesSurface(BatchesCore, Generic[JobR, JobsR, CollectionR]):
    """Groq's Batch API: bulk generations at half price, each recorded exactly once.

    :meth:`submit` sends requests (as ``generate.many()`` takes them) to Groq's Batch API and
    journals the job under ``GROQGEN_HOME`` before it returns; Groq runs it within the
    completion window; :meth:`collect` records every result, in this process or any later one.
    """

    def _run(self, procedure: Procedure[Any]) -> Any:
        raise NotImplementedError

    def submit(
        self,
        requests: Iterable[Any],
        *,
        completion_window: str = "24h",
        metadata: Mapping[str, str] | None = None,
    ) -> JobR:
        """Submit ``requests`` as one batch job; returns it (``BatchJob.id`` is its id).

        ``requests`` are :class:`~groqgen.generation.PromptRequest` (and the other request
        models) or mappings with ``kind=``, as ``AsyncClient.generate.many()`` takes them.
        Every one is validated first (a bad one refuses the whole submission, its index
        named: ``ValidationError.field`` is ``requests[i].<field>``), together with what the
        store would refuse (your profile, the projects named), before anything is sent. Each
        becomes exactly the chat request a synchronous generation of it sends. Jobs larger than
        one Groq batch (``limits``: 50,000 requests, 100 MB) are split into several.
        ``completion_window`` is ``"24h"`` to ``"7d"``; ``metadata`` labels the Groq batches.

        Example::

            job = client.batches.submit(
                [{"kind": "review", "code": source, "language": "python"} for source in files]
            )
        """
        return self._run(self._submit(requests, completion_window, metadata))  # type: ignore[no-any-return]

    def get(self, job_id: uuid.UUID | str) -> JobR:
        """The job ``job_id`` (or a unique start of it) as Groq reports it now.

        Status, Groq's request counts and what has been recorded so far. Only jobs of this
        client's store and user are found (:class:`~groqgen.NotFound` otherwise).
        """
        return self._run(self._get(job_id))  # type: ignore[no-any-return]

    def list(self) -> JobsR:
        """Every job of this client's store and user journaled in this home, newest first."""
        return self._run(self._list())  # type: ignore[no-any-return]

    def cancel(self, job_id: uuid.UUID | str) -> JobR:
        """Ask Groq to stop the job's batches; what already ran can still be collected."""
        return self._run(self._cancel(job_id))  # type: ignore[no-any-return]

    def collect(
        self,
        job_id: uuid.UUID | str,
        *,
        wait: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | None = None,
        progress: bool | None = None,
    ) -> CollectionR:
        """Record the results of every batch of the job that has ended.

        Each successful result is recorded as its row and activity entry through the same
        atomic, idempotent path as a synchronous generation, under an id derived from the job
        and the request: collect twice, or crash half-way and collect again from another
        process, and each generation is recorded once. A truncated or empty answer follows the
        synchronous rules (``allow_truncated``). Failed and expired requests come back as
        :class:`~groqgen.batches.BatchItemError` items with Groq's code and message.

        ``wait=True`` looks at Groq again until the whole job has ended, first after
        ``poll_interval`` seconds, then backing off (up to 5 minutes), for at most ``timeout``
        seconds of waiting in all; it shows Groq's request counts on a terminal or in a
        notebook (``progress=`` forces that on or off). Results are read as they download, in
        constant memory.
        """
        return self._run(self._collect(job_id, wait, poll_interval, timeout, progress))  # type: ignore[no-any-return]

    def retry_failed(
        self, job_id: uuid.UUID | str, *, completion_window: str | None = None
    ) -> JobR:
        """Submit the job's failed, expired and unrun requests again, as a new job.

        The job is collected first (it must have ended). Each request goes again with the
        inputs and model it had; a job is retried once (retry the new job after that). Returns
        the new job, whose ``retry_of`` names this one.
        """
        return self._run(self._retry_failed(job_id, completion_window))  # type: ignore[no-any-return]
