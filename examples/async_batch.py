"""A batch of generations with bounded concurrency and a progress bar.

export GROQ_API_KEY=gsk_...
python examples/async_batch.py
"""

import asyncio

from groqgen import AsyncClient
from groqgen.generation import PromptRequest

TOPICS = [
    "release notes",
    "incident postmortem",
    "sprint retrospective",
    "API changelog",
    "customer survey",
    "job posting",
    "conference talk abstract",
    "README intro",
]


async def main() -> None:
    async with AsyncClient() as client:
        requests = [PromptRequest(topic=t, tone="professional", length=30) for t in TOPICS]
        requests.append(
            {
                "kind": "code",
                "description": "retry with backoff",
                "language": "python",
                "framework": "asyncio",
            }
        )
        items = await client.generate.many(requests, concurrency=4)  # progress bar on a terminal
        for item in items:  # in input order; one failure does not stop the others
            if item.ok:
                print("ok   ", item.result.id, type(item.result).__name__)
            else:
                print("error", type(item.error).__name__, item.error)
        print(await client.prompts.count(), "prompts recorded")


asyncio.run(main())
