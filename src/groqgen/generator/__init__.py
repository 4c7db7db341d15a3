"""``client.generate``: one call, one Groq completion, one atomic record.

Each call validates its inputs before any network traffic, makes one chat completion (retried
on 429, 5xx, connection errors and timeouts under the client's single retry policy), then
records the row and its activity entry in one round trip under a client-generated id, retried
by the same policy without ever repeating the Groq call. If recording still fails, the result
goes to the durable outbox and :class:`~groqgen.RecordingFailed` carries it.

Example:
    >>> from groqgen import Client
    >>> with Client() as client:  # doctest: +SKIP
    ...     prompt = client.generate.prompt("release notes", tone="casual", length=40)
    ...     print(prompt.generated_prompt)
    ...     with client.generate.stream.code("parse ISO dates", language="python",
    ...                                      framework="stdlib") as stream:
    ...         for delta in stream:
    ...             print(delta, end="")
    ...     stream.result.generated_code
"""

from __future__ import annotations

from ..outbox import AsyncOutboxClient, OutboxClient
from ._async import AsyncGenerator, AsyncStream, AsyncStreamFactory
from ._core import BatchItem
from ._reading import completion_from
from ._sync import Generator, Stream, StreamFactory

__all__ = [
    "AsyncGenerator",
    "AsyncOutboxClient",
    "AsyncStream",
    "AsyncStreamFactory",
    "BatchItem",
    "Generator",
    "OutboxClient",
    "Stream",
    "StreamFactory",
    "completion_from",
]
