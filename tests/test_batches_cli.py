"""``groqgen batch submit|status|collect|cancel|list|retry``, in-process on SQLite.

Groq is played by ``tests/groq_peer.py``; ``--wait`` polls at a hundredth of a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from groqgen import Client
from groqgen.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from tests import test_cli
from tests.groq_peer import FILES_PATH, GroqPeer, completes, expires_half_done, runs_until_cancelled

home, cli = test_cli.home, test_cli.cli  # the command line's fixtures: a home on SQLite, a runner

REQUESTS = [
    {"kind": "prompt", "topic": "release notes", "tone": "casual"},
    {"kind": "code", "description": "add two numbers", "language": "python"},
    {"kind": "review", "code": "def f(): pass\n", "language": "python", "review_type": "bugs"},
    {"kind": "tests", "code": "def f(): pass\n", "language": "python", "framework": "pytest"},
]


@pytest.fixture
def requests_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in REQUESTS) + "\n\n")
    return path


def submitted(cli: Any, path: Path, *extra: str) -> str:
    run = cli("batch", "submit", str(path), *extra)
    assert run.code == EXIT_OK, run.err
    return run.out.strip()


def test_submit_prints_the_job_id_and_journals_the_job(
    cli: Any, requests_file: Path, home: Path
) -> None:
    run = cli("batch", "submit", str(requests_file))
    assert run.code == EXIT_OK, run.err
    job_id = uuid.UUID(run.out.strip())
    assert "4 requests in 1 Groq batch" in run.err and f"collect {job_id} --wait" in run.err
    assert (home / "batches" / str(job_id) / "job.json").exists()


def test_submit_json_is_the_id(cli: Any, requests_file: Path) -> None:
    run = cli("batch", "submit", str(requests_file), "--json", "--window", "48h")
    assert run.code == EXIT_OK and set(run.json()) == {"id"}
    status = cli("batch", "status", run.json()["id"], "--json").json()
    assert status["completion_window"] == "48h"


def test_submit_reads_requests_from_stdin(cli: Any) -> None:
    run = cli("batch", "submit", "-", stdin=json.dumps(REQUESTS[0]) + "\n")
    assert run.code == EXIT_OK, run.err
    assert cli("batch", "status", run.out.strip(), "--json").json()["total"] == 1


def test_a_bad_request_is_refused_by_its_line_and_nothing_is_sent(
    cli: Any, tmp_path: Path, groq_peer: GroqPeer
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps(REQUESTS[0]) + "\n\n" + json.dumps({"kind": "prompt", "topic": "x", "length": 5})
    )
    run = cli("batch", "submit", str(path))
    assert run.code == EXIT_USAGE
    assert f"{path} line 3" in run.err and "length" in run.err and "Traceback" not in run.err
    assert groq_peer.count(FILES_PATH) == 0


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{nope\n", "line 1 is not JSON"),
        ("[1, 2]\n", "line 1 is not a JSON object"),
        ("\n", "no requests"),
    ],
)
def test_a_file_that_is_not_requests_is_refused(
    cli: Any, tmp_path: Path, content: str, why: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    run = cli("batch", "submit", str(path))
    assert run.code == EXIT_USAGE and why in run.err


def test_a_missing_file_is_bad_input(cli: Any, tmp_path: Path) -> None:
    run = cli("batch", "submit", str(tmp_path / "nope.jsonl"))
    assert run.code == EXIT_USAGE and "no such file" in run.err


def test_status_shows_the_newest_job_by_default(cli: Any, requests_file: Path) -> None:
    submitted(cli, requests_file)
    newest = submitted(cli, requests_file)
    run = cli("batch", "status")
    assert run.code == EXIT_OK
    assert newest in run.out and "completed" in run.out and "GROQ BATCH" in run.out
    assert cli("batch", "status", newest[:8], "--json").json()["id"] == newest


def test_status_without_any_job_says_so(cli: Any) -> None:
    run = cli("batch", "status")
    assert run.code == EXIT_FAILURE and "no batch job yet" in run.err


def test_collect_wait_records_the_whole_job(
    cli: Any, requests_file: Path, groq_peer: GroqPeer, home: Path
) -> None:
    groq_peer.script_batches(completes(polls=2))
    job = submitted(cli, requests_file)
    run = cli("batch", "collect", job, "--wait", "--poll-interval", "0.01")
    assert run.code == EXIT_OK, run.err
    assert "recorded 4 of 4 (4 new)" in run.out
    with Client(home=home) as client:
        assert client.activity_logs.count() == 4
    again = cli("batch", "collect", job, "--json").json()
    assert (again["recorded"], again["newly_recorded"], again["finished"]) == (4, 0, True)


def test_collect_without_wait_says_groq_is_still_running(
    cli: Any, requests_file: Path, groq_peer: GroqPeer
) -> None:
    groq_peer.script_batches(completes(polls=5))
    run = cli("batch", "collect", submitted(cli, requests_file))
    assert run.code == EXIT_OK
    assert "recorded 0 of 4" in run.out and "still running" in run.err


def test_collect_lists_what_has_no_row_and_retry_submits_it_again(
    cli: Any, requests_file: Path, groq_peer: GroqPeer
) -> None:
    groq_peer.script_batches(expires_half_done())
    job = submitted(cli, requests_file)
    run = cli("batch", "collect", job)
    assert run.code == EXIT_OK
    assert "recorded 2 of 4" in run.out and "2 without a row" in run.out
    assert "request 2 (review): expired batch_expired" in run.out
    assert f"groqgen batch retry {job}" in run.err
    errors = cli("batch", "collect", job, "--json").json()["errors"]
    assert [(e["index"], e["reason"]) for e in errors] == [(2, "expired"), (3, "expired")]

    retried = cli("batch", "retry", job, "--json")
    assert retried.code == EXIT_OK and retried.json()["retry_of"] == job
    assert "recorded 2 of 2" in cli("batch", "collect", retried.json()["id"]).out


def test_cancel_and_list(cli: Any, requests_file: Path, groq_peer: GroqPeer) -> None:
    groq_peer.script_batches(runs_until_cancelled())
    job = submitted(cli, requests_file)
    run = cli("batch", "cancel", job)
    assert run.code == EXIT_OK and f"{job}: cancelling" in run.out
    listed = cli("batch", "list")
    assert job in listed.out and "cancelled" in listed.out and "RECORDED" in listed.out
    (entry,) = cli("batch", "list", "--json").json()
    assert (entry["id"], entry["status"]) == (job, "cancelled")


def test_an_unknown_job_is_one_clear_line(cli: Any) -> None:
    run = cli("batch", "collect", str(uuid.uuid4()))
    assert run.code == EXIT_FAILURE
    assert "no batch job" in run.err and "groqgen batch list" in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_batch_help_loads_nothing_heavy() -> None:
    probe = (
        "import sys, json\n"
        "from groqgen.cli import main\n"
        "main(['batch', 'submit', '--help'])\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not loaded & {"groq", "pydantic", "groqgen.client", "groqgen.batches"}
    assert "FILE" in done.stdout and "--window" in done.stdout


def test_the_batch_reviews_example_drives_a_whole_job(tmp_path: Path, groq_peer: GroqPeer) -> None:
    import os

    source = tmp_path / "src"
    source.mkdir()
    for name in ("a.py", "b.py", "c.py"):
        (source / name).write_text(f"def {name[0]}():\n    return 1\n")
    example = Path(__file__).resolve().parent.parent / "examples" / "batch_reviews.py"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GROQ", "SUPABASE_"))},
        "GROQGEN_HOME": str(tmp_path / "home"),
        "GROQ_API_KEY": "gsk_example",
        "GROQ_BASE_URL": groq_peer.base_url,
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(example), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    submitting = run("submit", str(source))
    assert submitting.returncode == 0, submitting.stderr
    job = submitting.stdout.strip()
    collecting = run("collect", job)
    assert collecting.returncode == 0, collecting.stderr
    assert "3 of 3 reviews recorded" in collecting.stdout
    with Client(home=tmp_path / "home") as client:
        assert client.code_reviews.count() == 3
