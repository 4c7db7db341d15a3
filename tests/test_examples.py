"""Every script in examples/ runs, against the local Groq stand-in (and Supabase stand-in)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REVIEW_OK = "## Summary\nFine.\n\n## Issues\n1. **Severity**: low — a name could be clearer."
REVIEW_CRITICAL = (
    "## Summary\nDangerous.\n\n## Issues\n1. **Severity**: critical — division by zero."
)


def _run(
    script: str, env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    merged = {
        k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "GROQGEN_DATABASE"))
    }
    merged.update(env)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        env=merged,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path, groq_peer: Any) -> dict[str, str]:
    return {
        "GROQGEN_HOME": str(tmp_path / "home"),
        "GROQ_API_KEY": "gsk_example",
        "GROQ_BASE_URL": groq_peer.base_url,
    }


def test_quickstart(env: dict[str, str], groq_peer: Any) -> None:
    done = _run("quickstart.py", env)
    assert done.returncode == 0, done.stderr
    assert "PROMPT" in done.stdout and "CODE" in done.stdout and "REVIEW" in done.stdout
    assert "prompt_count=1 code_generation_count=1 code_review_count=1" in done.stdout
    assert "project_created" in done.stdout
    assert len(groq_peer.chat_requests) == 3


def test_async_batch(env: dict[str, str]) -> None:
    done = _run("async_batch.py", env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ok   ") == 9
    assert "8 prompts recorded" in done.stdout


def test_export_to_pandas(env: dict[str, str], tmp_path: Path) -> None:
    assert _run("quickstart.py", env).returncode == 0
    target = tmp_path / "prompts.csv"
    done = _run("export_pandas.py", env, str(target))
    assert done.returncode == 0, done.stderr
    assert "1 prompts written" in done.stdout
    assert len(target.read_text().strip().splitlines()) >= 2


def test_supabase_session_signs_in_once(
    env: dict[str, str], supabase_peer: Any, groq_peer: Any
) -> None:
    groq_peer.reply = REVIEW_OK
    env = {
        **env,
        "SUPABASE_URL": supabase_peer.url,
        "SUPABASE_KEY": supabase_peer.anon_key,
        "EXAMPLE_EMAIL": f"{uuid.uuid4().hex[:10]}@example.com",
        "EXAMPLE_PASSWORD": "a long passphrase",
    }
    first = _run("supabase_session.py", env)
    assert first.returncode == 0, first.stderr
    assert "signed in as" in first.stdout and "1 reviews visible" in first.stdout
    password_logins = supabase_peer.counters.get("auth.token.password", 0)
    again = _run("supabase_session.py", env)
    assert again.returncode == 0, again.stderr
    assert "2 reviews visible" in again.stdout
    assert supabase_peer.counters.get("auth.token.password", 0) == password_logins  # kept session


@pytest.mark.parametrize(("reply", "code"), [(REVIEW_OK, 0), (REVIEW_CRITICAL, 1)])
def test_precommit_hook_blocks_only_critical_issues(
    env: dict[str, str], groq_peer: Any, tmp_path: Path, reply: str, code: int
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "calc.py").write_text("def div(a, b):\n    return a / b\n")
    (repo / "notes.txt").write_text("not code")
    subprocess.run([*git, "add", "calc.py", "notes.txt"], cwd=repo, check=True)
    groq_peer.reply = reply
    done = _run("precommit_review.py", env, cwd=repo)
    assert done.returncode == code, done.stderr
    assert len(groq_peer.chat_requests) == 1  # only the source file was reviewed
    assert ("commit blocked" in done.stderr) == (code == 1)
