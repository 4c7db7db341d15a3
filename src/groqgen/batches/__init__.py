"""``client.batches``: Groq's Batch API, thousands of generations at half price.

Past a few hundred generations, synchronous calls meet Groq's rate limits and pay full price
for work nobody waits on. Groq's Batch API takes a file of up to 50,000 requests, runs them
within a window of 24 hours to 7 days on a separate rate-limit pool, and charges half price.
``client.batches`` makes that one call, and keeps groqgen's promise there too: every paid
generation is recorded exactly once, with its activity entry, and nothing is lost if the
process or the machine goes away between submitting and collecting.

Example:
    >>> from groqgen import Client
    >>> with Client() as client:  # doctest: +SKIP
    ...     job = client.batches.submit(
    ...         [{"kind": "prompt", "topic": t, "tone": "casual"} for t in topics]
    ...     )
    ...     # ... later, from any process on this machine:
    ...     done = client.batches.collect(job.id, wait=True)
    ...     done.recorded, [e.message for e in done.errors]

A job is journaled under ``GROQGEN_HOME/batches/`` (see :mod:`groqgen.batches._journal`).
"""

from __future__ import annotations

from ._async import AsyncBatches
from ._model import (
    BatchCollection,
    BatchItemError,
    BatchJob,
    BatchLimits,
    BatchStatus,
    GroqBatch,
    ItemErrorReason,
)
from ._surface import BatchesSurface
from ._sync import Batches

__all__ = [
    "AsyncBatches",
    "BatchCollection",
    "BatchItemError",
    "BatchJob",
    "BatchLimits",
    "BatchStatus",
    "Batches",
    "BatchesSurface",
    "GroqBatch",
    "ItemErrorReason",
]
