"""``groqgen batch submit|status|collect|cancel|list|retry``: Groq's Batch API from a shell.

Each command is one call of ``client.batches`` (:mod:`groqgen.batches`); like the rest of the
command line it loads nothing heavy until it runs, prints ``--json`` on request and exits 0
when it did what was asked (a job whose requests partly failed at Groq was still collected:
the failures are listed, and ``groqgen batch retry`` submits them again), 2 on bad input.

A request file has one JSON object a line: ``kind`` (prompt, code, review or tests) and that
kind's fields, exactly the mappings ``generate.many()`` takes::

    {"kind": "prompt", "topic": "release notes", "tone": "casual"}
    {"kind": "review", "code": "def f(): ...", "language": "python", "review_type": "bugs"}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ValidationError
from .presentation import is_terminal, shorten

if TYPE_CHECKING:
    from .batches import BatchItemError, BatchJob
    from .cli import _Output

__all__ = ["add_batch_commands"]

SHOWN_ERRORS = 20
"""Per-request errors ``groqgen batch collect`` lists before it summarises the rest."""

_INDEX = re.compile(r"^request (\d+): ")


def add_batch_commands(commands: Any) -> None:
    """Add ``groqgen batch ...`` to the command line's subcommands."""
    from .cli import _group, _leaf, _seconds

    batch = _group(commands, "batch", help="bulk generation on Groq's Batch API, at half price")
    submit = _leaf(batch, "submit", _submit, help="submit a JSON Lines file of requests as one job")
    submit.add_argument(
        "source",
        metavar="FILE",
        help="one request a line: a JSON object with kind (prompt, code, review or tests) "
        "and that kind's fields; - reads standard input",
    )
    submit.add_argument(
        "--window",
        default="24h",
        metavar="WINDOW",
        help="how long Groq may take: 24h to 7d (default: 24h)",
    )
    status = _leaf(batch, "status", _status, help="show a job: Groq's status, what is recorded")
    status.add_argument(
        "job", metavar="JOB", nargs="?", help="the job's id, or its start (default: the newest)"
    )
    collect = _leaf(batch, "collect", _collect, help="record the results Groq has for a job")
    collect.add_argument("job", metavar="JOB", help="the job's id, or its start")
    collect.add_argument(
        "--wait", action="store_true", help="wait until Groq has finished the whole job"
    )
    collect.add_argument(
        "--poll-interval",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="with --wait: the first pause between looks at Groq; it grows to 5 minutes "
        "(default: 30)",
    )
    cancel = _leaf(batch, "cancel", _cancel, help="ask Groq to stop a job")
    cancel.add_argument("job", metavar="JOB", help="the job's id, or its start")
    _leaf(batch, "list", _list, help="list your batch jobs, newest first")
    retry = _leaf(batch, "retry", _retry, help="submit a job's failed and expired requests again")
    retry.add_argument("job", metavar="JOB", help="the job's id, or its start")


# -- reading a request file ------------------------------------------------------------------------


def _requests(source: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The requests in a JSON Lines file (``-``: stdin), and the line number of each."""
    if source == "-":
        if is_terminal(sys.stdin):
            print(
                "reading requests from stdin, one JSON object a line; end with Ctrl-D",
                file=sys.stderr,
            )
        stream: Any = sys.stdin
    else:
        try:
            stream = open(source, encoding="utf-8")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:
            raise ValidationError(f"{source}: no such file", field="source") from None
        except OSError as exc:
            raise ValidationError(
                f"cannot read {source}: {exc.strerror or exc}", field="source"
            ) from None
    requests: list[dict[str, Any]] = []
    numbers: list[int] = []
    with stream if source != "-" else contextlib.nullcontext(stream):
        try:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    request = json.loads(line)
                except ValueError:
                    raise ValidationError(
                        f"{source} line {number} is not JSON", field="source"
                    ) from None
                if not isinstance(request, dict):
                    raise ValidationError(
                        f"{source} line {number} is not a JSON object with kind and its fields",
                        field="source",
                    )
                requests.append(request)
                numbers.append(number)
        except UnicodeDecodeError:
            raise ValidationError(f"{source} is not UTF-8 text", field="source") from None
    if not requests:
        raise ValidationError(f"{source} holds no requests", field="source")
    return requests, numbers


def _on_line(exc: ValidationError, source: str, numbers: list[int]) -> ValidationError:
    """A submission's refusal, with the request's index turned into its line of the file."""
    found = _INDEX.match(exc.message)
    if found is None or int(found.group(1)) >= len(numbers):
        return exc
    line = numbers[int(found.group(1))]
    message = _INDEX.sub("", exc.message).removesuffix("; nothing was sent")
    return ValidationError(f"{source} line {line}: {message}; nothing was sent", field="source")


# -- showing jobs ---------------------------------------------------------------------------------


def _summary(job: BatchJob) -> str:
    summary = (
        f"{job.status}: {job.total} requests, Groq completed {job.completed} and failed "
        f"{job.failed}; {job.recorded} recorded"
    )
    return summary + (f", {job.errors} without a row" if job.errors else "")


def _show_job(out: _Output, job: BatchJob) -> None:
    from .cli import _when

    out.line(f"job      {job.id}")
    out.line(f"status   {_summary(job)}")
    out.line(f"created  {_when(job.created_at)}   window {job.completion_window}")
    if job.retry_of:
        out.line(f"retries  {job.retry_of}")
    if job.retried_by:
        out.line(f"retried  as {job.retried_by}")
    out.line()
    out.table(
        ("GROQ BATCH", "STATUS", "REQUESTS", "COMPLETED", "FAILED", "COLLECTED"),
        [
            (
                b.id or "(not created)",
                b.status,
                str(b.count),
                str(b.completed),
                str(b.failed),
                "yes" if b.collected else "no",
            )
            for b in job.batches
        ],
    )
    for b in job.batches:
        if b.problem:
            out.note(f"{b.id or 'a batch'}: {b.problem}")


def _error_line(item: BatchItemError) -> str:
    status = f" [{item.status_code}]" if item.status_code else ""
    code = f" {item.code}" if item.code else ""
    return f"  request {item.index} ({item.kind}): {item.reason}{status}{code}: " + shorten(
        item.message, 100
    )


def _submitted(out: _Output, job: BatchJob) -> int:
    """Print a new job: its id on stdout, what to do next on stderr.

    ``--json``: ``{"id"}``, with ``retry_of`` for a retry.
    """
    from .cli import EXIT_OK

    if out.json_mode:
        out.json({"id": job.id, **({"retry_of": job.retry_of} if job.retry_of else {})})
        return EXIT_OK
    out.line(str(job.id))
    parts = len(job.batches)
    again = " again" if job.retry_of else ""
    out.note(
        f"submitted {job.total} requests{again} in {parts} Groq batch{'es' if parts > 1 else ''} "
        f"(window {job.completion_window}); 'groqgen batch collect {job.id} --wait' records them"
    )
    return EXIT_OK


# -- commands -------------------------------------------------------------------------------------


def _submit(args: argparse.Namespace, out: _Output) -> int:
    from .cli import _client

    requests, numbers = _requests(args.source)  # read, and refused, before anything is opened
    with _client(args) as client:
        try:
            job = client.batches.submit(requests, completion_window=args.window)
        except ValidationError as exc:
            raise _on_line(exc, args.source, numbers) from None
    return _submitted(out, job)


def _status(args: argparse.Namespace, out: _Output) -> int:
    from .cli import EXIT_OK, _client
    from .errors import NotFound

    with _client(args) as client:
        if args.job is None:
            jobs = client.batches.list()
            if not jobs:
                raise NotFound("there is no batch job yet ('groqgen batch submit FILE' makes one)")
            job = jobs[0]
        else:
            job = client.batches.get(args.job)
    if out.json_mode:
        out.json(job)
    else:
        _show_job(out, job)
    return EXIT_OK


def _collect(args: argparse.Namespace, out: _Output) -> int:
    from .cli import EXIT_OK, _client

    with _client(args) as client:
        done = client.batches.collect(
            args.job,
            wait=args.wait,
            poll_interval=args.poll_interval,
            progress=False if out.json_mode else None,
        )
    job = done.job
    if out.json_mode:
        out.json(
            {
                "job": job,
                "finished": done.finished,
                "recorded": done.recorded,
                "newly_recorded": done.newly_recorded,
                "errors": list(done.errors),
            }
        )
        return EXIT_OK
    out.line(f"recorded {done.recorded} of {job.total} ({done.newly_recorded} new)")
    if done.errors:
        out.line(f"{len(done.errors)} without a row:")
        for item in done.errors[:SHOWN_ERRORS]:
            out.line(_error_line(item))
        if len(done.errors) > SHOWN_ERRORS:
            out.line(f"  and {len(done.errors) - SHOWN_ERRORS} more (--json lists them all)")
        if any(e.retryable for e in done.errors) and done.finished and not job.retried_by:
            out.note(f"'groqgen batch retry {job.id}' submits the failed and expired ones again")
        if any(e.reason == "unrecorded" for e in done.errors):
            out.note("results the store did not take are in the outbox: 'groqgen outbox flush'")
    if not done.finished:
        running = sum(1 for b in job.batches if not b.finished)
        out.note(
            f"Groq is still running {running} of the job's {len(job.batches)} batches "
            f"({job.status}); collect again later, or with --wait"
        )
    return EXIT_OK


def _cancel(args: argparse.Namespace, out: _Output) -> int:
    from .cli import EXIT_OK, _client

    with _client(args) as client:
        job = client.batches.cancel(args.job)
    if out.json_mode:
        out.json(job)
    else:
        out.line(f"{job.id}: {job.status}")
        out.note("what Groq ran before it stopped can still be collected")
    return EXIT_OK


def _list(args: argparse.Namespace, out: _Output) -> int:
    from .cli import EXIT_OK, _client, _when

    with _client(args) as client:
        jobs = client.batches.list()
        root = client.batches.journal.root
    if out.json_mode:
        out.json(jobs)
        return EXIT_OK
    if not jobs:
        out.note(f"no batch jobs in {Path(root)}")
        return EXIT_OK
    out.table(
        ("JOB", "CREATED", "STATUS", "REQUESTS", "RECORDED", "ERRORS"),
        [
            (
                str(j.id),
                _when(j.created_at),
                j.status,
                str(j.total),
                str(j.recorded),
                str(j.errors),
            )
            for j in jobs
        ],
    )
    return EXIT_OK


def _retry(args: argparse.Namespace, out: _Output) -> int:
    from .cli import _client

    with _client(args) as client:
        job = client.batches.retry_failed(args.job)
    return _submitted(out, job)
