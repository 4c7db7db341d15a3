"""Review every Python file of a source tree on Groq's Batch API, at half price.

export GROQ_API_KEY=gsk_...
python examples/batch_reviews.py submit src/          # prints the job id
python examples/batch_reviews.py collect JOB_ID       # waits for Groq, records every review

The job is journaled under GROQGEN_HOME, so the two steps may run hours apart, in different
processes; collecting again records nothing twice.
"""

import sys
from pathlib import Path

from groqgen import Client


def submit(folder: str) -> None:
    files = sorted(Path(folder).rglob("*.py"))
    requests = [
        {"kind": "review", "code": path.read_text(), "language": "python", "review_type": "bugs"}
        for path in files
    ]
    with Client() as client:
        job = client.batches.submit(requests, metadata={"tree": folder})
    print(job.id)
    print(
        f"{len(files)} files submitted; collect with: {sys.argv[0]} collect {job.id}",
        file=sys.stderr,
    )


def collect(job_id: str) -> None:
    with Client() as client:
        done = client.batches.collect(job_id, wait=True, poll_interval=60)
        print(f"{done.recorded} of {done.job.total} reviews recorded")
        for item in done.errors:
            print(f"  request {item.index}: {item.reason} ({item.code}): {item.message}")
        if any(item.retryable for item in done.errors):
            retry = client.batches.retry_failed(job_id)
            print(f"failed and expired requests submitted again as job {retry.id}")


if __name__ == "__main__":
    verb, argument = sys.argv[1], sys.argv[2]
    {"submit": submit, "collect": collect}[verb](argument)
