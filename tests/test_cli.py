"""The ``groqgen`` command line: every command, its output, its errors and its exit status.

Commands run in-process through ``groqgen.cli.main(argv)`` on an embedded SQLite store under a
temporary ``GROQGEN_HOME``, with Groq played by ``tests/groq_peer.py``; ``db migrate`` runs
against a throwaway PostgreSQL database and ``auth`` against the Supabase stand-in.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from groqgen import Client
from groqgen._config import DEFAULT_MODEL
from groqgen.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, infer_language, main
from groqgen.models import LIMITS
from tests.groq_peer import DEFAULT_REPLY, MODELS, REASONING_TOKENS, slow, status

CODE = "def add(a, b):\n    return a + b\n"
HEAVY = ("groq", "postgrest", "supabase_auth", "psycopg")


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def home(tmp_path: Path, groq_peer: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty groqgen home on SQLite, with Groq pointed at the peer."""
    for name in ("GROQGEN_DATABASE_URL", "SUPABASE_URL", "SUPABASE_KEY", "GROQGEN_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("GROQGEN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_key")
    monkeypatch.setenv("GROQ_BASE_URL", groq_peer.base_url)
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``groqgen ARGV...`` in-process; ``stdin=`` feeds standard input."""

    def run(*argv: str, stdin: str | None = None) -> Run:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def client(home: Path) -> Any:
    """A library client on the same store as the command line, to check what it recorded."""
    with Client(home=home) as c:
        yield c


def on_a_terminal(monkeypatch: pytest.MonkeyPatch, *streams: str) -> None:
    """Make ``sys.stdout`` and/or ``sys.stderr`` (as captured) report that they are a terminal."""
    for name in streams:
        monkeypatch.setattr(getattr(sys, name), "isatty", lambda: True, raising=False)


def erased(text: str) -> str:
    """What the command line writes to erase a status line showing ``text``."""
    return "\r" + " " * len(text) + "\r"


def one_line_error(run: Run) -> str:
    """The run's stderr, which must be one error line and no traceback."""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("groqgen: error: ")
    assert "Traceback" not in run.err
    return lines[0]


# -- start-up ------------------------------------------------------------------------------------


def test_python_m_groqgen_help_runs_in_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "groqgen", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: groqgen")
    for command in ("prompt", "code", "review", "tests", "projects", "history", "export"):
        assert command in done.stdout


def test_help_imports_no_heavy_module() -> None:
    script = (
        "import contextlib, io, json, runpy, sys\n"
        "sys.argv = ['groqgen', '--help']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        runpy.run_module('groqgen', run_name='__main__')\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    code, modules = json.loads(done.stdout)
    assert code == 0
    loaded = {m.split(".")[0] for m in modules} | set(modules)
    assert not loaded & {*HEAVY, "pydantic", "groqgen.client", "groqgen.models"}


def test_version(cli: Any) -> None:
    from groqgen import __version__

    run = cli("--version")
    assert (run.code, run.out.strip()) == (EXIT_OK, f"groqgen {__version__}")


def test_no_command_is_a_usage_error(cli: Any) -> None:
    run = cli()
    assert run.code == EXIT_USAGE
    assert "COMMAND" in one_line_error(run)


# -- generating ----------------------------------------------------------------------------------


def test_prompt_prints_the_prompt_and_records_it(cli: Any, client: Any, groq_peer: Any) -> None:
    groq_peer.reply = "Write release notes for the 2.0 launch, grouped by feature."
    run = cli("prompt", "release notes", "--tone", "casual", "--length", "40")
    assert run.code == EXIT_OK, run.err
    assert run.out == "Write release notes for the 2.0 launch, grouped by feature.\n"
    assert "recorded in prompts as" in run.err
    [prompt] = client.prompts.iter()
    assert (prompt.tone, prompt.length, prompt.topic) == ("casual", 40, "release notes")
    assert client.activity_logs.count() == 1
    assert len(groq_peer.chat_requests) == 1


def test_prompt_json_is_the_stored_row(cli: Any, client: Any, groq_peer: Any) -> None:
    groq_peer.reply = "A prompt."
    run = cli(
        "prompt", "onboarding", "--type", "creative", "--model", "openai/gpt-oss-20b", "--json"
    )
    assert run.code == EXIT_OK, run.err
    data = run.json()
    assert data["generated_prompt"] == "A prompt."
    assert data["prompt_type"] == "creative"
    assert data["model"] == "openai/gpt-oss-20b"
    assert client.prompts.get(data["id"]).model_dump(mode="json") == data
    assert groq_peer.chat_requests[0].model == "openai/gpt-oss-20b"
    assert run.err == ""


def test_dry_run_sends_nothing_and_stores_nothing(cli: Any, client: Any, groq_peer: Any) -> None:
    run = cli("prompt", "release notes", "--dry-run")
    assert run.code == EXIT_OK, run.err
    assert "--- system ---" in run.out and "Topic: release notes" in run.out
    assert "nothing was sent" in run.err
    as_json = cli("code", "parse dates", "--language", "python", "--dry-run", "--json").json()
    assert as_json["kind"] == "code"
    assert as_json["parameters"]["messages"] == as_json["messages"]
    assert groq_peer.requests == []
    assert client.prompts.count() == 0 and client.code_generations.count() == 0


def test_stream_prints_the_deltas_then_records(cli: Any, client: Any, groq_peer: Any) -> None:
    groq_peer.reply = "Draft a launch email for the team."
    run = cli("prompt", "launch email", "--stream")
    assert run.code == EXIT_OK, run.err
    assert run.out == "Draft a launch email for the team.\n"
    assert groq_peer.chat_requests[0].stream
    [prompt] = client.prompts.iter()
    assert prompt.generated_prompt == "Draft a launch email for the team."


def test_stream_json_is_one_line_per_delta_then_the_row(
    cli: Any, client: Any, groq_peer: Any
) -> None:
    groq_peer.reply = "One two three."
    run = cli("prompt", "counting", "--stream", "--json")
    assert run.code == EXIT_OK, run.err
    lines = [json.loads(line) for line in run.out.splitlines()]
    assert "".join(line["delta"] for line in lines[:-1]) == "One two three."
    assert lines[-1]["result"]["id"] == str(next(client.prompts.iter()).id)


def test_code_prints_only_the_code(cli: Any, client: Any) -> None:
    run = cli("code", "add two numbers", "--language", "python")
    assert run.code == EXIT_OK, run.err
    assert run.out == CODE
    [row] = client.code_generations.iter()
    assert (row.language, row.framework) == ("python", "none")


def test_review_reads_a_file_and_infers_the_language(
    cli: Any, client: Any, groq_peer: Any, tmp_path: Path
) -> None:
    groq_peer.reply = "## Summary\nFine.\n\n## Issues\n- none"
    (tmp_path / "app.py").write_text(CODE)
    run = cli("review", str(tmp_path / "app.py"), "--type", "bugs")
    assert run.code == EXIT_OK, run.err
    assert run.out == "## Summary\nFine.\n\n## Issues\n- none\n"
    [review] = client.code_reviews.iter()
    assert (review.code, review.language, review.review_type) == (CODE, "python", "bugs")


def test_review_reads_stdin(cli: Any, client: Any) -> None:
    run = cli("review", "-", "--json", stdin="#!/usr/bin/env python3\n" + CODE)
    assert run.code == EXIT_OK, run.err
    assert run.json()["language"] == "python"
    run = cli("review", "-", "--language", "go", "--json", stdin="package main\n")
    assert (run.code, run.json()["language"]) == (EXIT_OK, "go")
    assert client.code_reviews.count() == 2


def test_code_from_stdin_needs_a_language_it_can_tell(cli: Any, groq_peer: Any) -> None:
    run = cli("review", "-", stdin="x = 1\n")
    assert run.code == EXIT_USAGE
    assert "pass --language" in one_line_error(run)
    assert groq_peer.requests == []


def test_a_missing_file_is_bad_input(cli: Any, tmp_path: Path, groq_peer: Any) -> None:
    run = cli("review", str(tmp_path / "nope.py"))
    assert run.code == EXIT_USAGE
    assert "no such file" in one_line_error(run)
    assert groq_peer.requests == []


def test_tests_infers_the_framework_and_takes_several_test_types(
    cli: Any, client: Any, tmp_path: Path
) -> None:
    (tmp_path / "calc.ts").write_text("export const add = (a: number, b: number) => a + b;\n")
    run = cli(
        "tests", str(tmp_path / "calc.ts"), "--test-type", "unit", "--test-type", "edge", "--json"
    )
    assert run.code == EXIT_OK, run.err
    data = run.json()
    assert (data["language"], data["framework"]) == ("typescript", "jest")
    assert data["test_types"] == ["unit", "edge"]
    assert client.tests.get(data["id"]).generated_tests == CODE


def test_tests_without_a_known_framework_is_bad_input(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("select 1;\n")
    run = cli("tests", str(tmp_path / "q.sql"))
    assert run.code == EXIT_USAGE
    assert "pass --framework" in one_line_error(run)


def test_project_by_name_or_id(cli: Any, client: Any) -> None:
    project = client.projects.create("Launch")
    by_name = cli("prompt", "a", "--project", "Launch", "--json").json()
    by_id = cli("code", "b", "--language", "go", "--project", str(project.id), "--json").json()
    assert by_name["project_id"] == by_id["project_id"] == str(project.id)


def test_an_unknown_project_is_refused_before_groq_is_called(cli: Any, groq_peer: Any) -> None:
    for reference in ("Nope", str(uuid.uuid4())):
        run = cli("prompt", "a", "--project", reference)
        assert run.code == EXIT_USAGE
        assert "no project" in one_line_error(run)
    assert groq_peer.requests == []


def test_an_out_of_range_length_is_bad_input(cli: Any, groq_peer: Any, client: Any) -> None:
    run = cli("prompt", "release notes", "--length", "500")
    assert run.code == EXIT_USAGE
    assert one_line_error(run) == (
        "groqgen: error: --length: Input should be less than or equal to 100"
    )
    assert run.out == ""
    assert groq_peer.requests == []
    assert client.prompts.count() == 0


def test_an_unknown_choice_is_bad_input(cli: Any) -> None:
    run = cli("prompt", "x", "--tone", "sarcastic")
    assert run.code == EXIT_USAGE
    assert "--tone" in one_line_error(run)


# The four kinds' options are the request models' fields (the parser cannot import the models).

KIND_MODELS = {
    "prompt": "PromptFields",
    "code": "CodeFields",
    "review": "ReviewFields",
    "tests": "TestsFields",
}


def _declared(kind: str) -> dict[str, Any]:
    """The kind's request fields as its model declares them: name -> default, ... if required."""
    from groqgen import models

    declared = {}
    for name, field in getattr(models, KIND_MODELS[kind]).model_fields.items():
        if name == "project_id":  # --project, by id or name
            continue
        default = ... if field.is_required() else field.get_default(call_default_factory=True)
        declared[name] = tuple(default) if isinstance(default, list) else default
    return declared


@pytest.mark.parametrize("kind", list(KIND_MODELS))
def test_each_kinds_options_are_its_request_fields_in_order(kind: str) -> None:
    from groqgen.cli import _KIND_FIELDS

    assert list(_KIND_FIELDS[kind].items()) == list(_declared(kind).items())


@pytest.mark.parametrize("kind", list(KIND_MODELS))
def test_each_kinds_choices_are_its_models_vocabularies(kind: str) -> None:
    import typing

    from groqgen import models
    from groqgen.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command")
    options = {a.dest: a for a in commands.choices[kind]._actions}  # type: ignore[attr-defined]
    for name, field in getattr(models, KIND_MODELS[kind]).model_fields.items():
        annotation = field.annotation
        if typing.get_origin(annotation) is list:
            (annotation,) = typing.get_args(annotation)
        if typing.get_origin(annotation) is typing.Literal:
            assert tuple(options[name].choices) == typing.get_args(annotation), name


def test_the_parsed_defaults_are_the_models_defaults() -> None:
    from groqgen.cli import build_parser

    parser = build_parser()
    prompt = vars(parser.parse_args(["prompt", "x"]))
    assert {k: prompt[k] for k in _declared("prompt") if k != "topic"} == {
        k: v for k, v in _declared("prompt").items() if k != "topic"
    }
    code = vars(parser.parse_args(["code", "x", "--language", "go"]))
    assert code["framework"] == _declared("code")["framework"]
    review = vars(parser.parse_args(["review", "app.py"]))
    assert review["review_type"] == _declared("review")["review_type"]
    tests = vars(parser.parse_args(["tests", "app.py"]))
    assert tests["coverage"] == _declared("tests")["coverage"]


def test_a_groq_failure_exits_1_with_one_line(cli: Any, groq_peer: Any, client: Any) -> None:
    groq_peer.script(status(401))
    run = cli("prompt", "release notes")
    assert run.code == EXIT_FAILURE
    assert "API key" in one_line_error(run)
    assert client.prompts.count() == 0


def test_debug_adds_the_traceback(cli: Any, groq_peer: Any) -> None:
    groq_peer.script(status(401))
    run = cli("--debug", "prompt", "release notes")
    assert run.code == EXIT_FAILURE
    assert "Traceback (most recent call last)" in run.err
    assert run.err.strip().splitlines()[-1].startswith("groqgen: error: ")


def test_a_missing_groq_key_exits_1(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY")
    run = cli("prompt", "release notes")
    assert run.code == EXIT_FAILURE
    line = one_line_error(run)
    assert "GROQ_API_KEY" in line
    assert "groq_api_key" not in line  # no Python keyword the command line has no flag for


# -- reasoning budgets, truncation, retired models ------------------------------------------------


def test_effort_and_max_tokens_reach_groq(cli: Any, groq_peer: Any) -> None:
    run = cli("prompt", "release notes", "--effort", "low", "--max-tokens", "2000", "--json")
    assert run.code == EXIT_OK, run.err
    [request] = groq_peer.chat_requests
    assert request.json["reasoning_effort"] == "low"
    assert request.json["max_completion_tokens"] == 2000
    dry = cli("code", "add", "--language", "go", "--effort", "high", "--max-tokens", "900")
    assert "--dry-run" not in dry.err
    shown = cli(
        "code", "add", "--language", "go", "--effort", "high", "--max-tokens", "900", "--dry-run"
    )
    assert '"reasoning_effort": "high"' in shown.out
    assert '"max_completion_tokens": 900' in shown.out


def test_an_effort_the_model_does_not_take_names_the_flag(cli: Any, groq_peer: Any) -> None:
    run = cli("prompt", "release notes", "--effort", "none")
    assert run.code == EXIT_USAGE
    line = one_line_error(run)
    assert line.startswith("groqgen: error: --effort: ")
    assert DEFAULT_MODEL in line and "'none'" in line
    assert "reasoning_effort" not in line
    assert groq_peer.requests == []


def test_a_budget_above_the_models_limit_names_the_flag(cli: Any, groq_peer: Any) -> None:
    run = cli("code", "add", "--language", "python", "--max-tokens", "1000000")
    assert run.code == EXIT_USAGE
    line = one_line_error(run)
    assert line.startswith("groqgen: error: --max-tokens: ")
    assert "max_completion_tokens" not in line
    assert groq_peer.requests == []


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--timeout", "0"),
        ("--timeout", "-3"),
        ("--timeout", "soon"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--max-retries", "-1"),
        ("--max-retries", "1.5"),
        ("--max-tokens", "0"),
        ("--max-tokens", "lots"),
    ],
)
def test_bad_numbers_are_bad_input_naming_the_flag(
    cli: Any, groq_peer: Any, flag: str, value: str
) -> None:
    run = cli("prompt", "release notes", flag, value)
    assert run.code == EXIT_USAGE
    line = one_line_error(run)
    assert f"argument {flag}: " in line and repr(value) in line
    assert groq_peer.requests == []


def test_a_bad_setting_in_the_environment_is_named_as_the_variable(
    cli: Any, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQGEN_TIMEOUT", "soon")
    run = cli("prompt", "release notes")
    assert run.code == EXIT_FAILURE
    assert "GROQGEN_TIMEOUT" in one_line_error(run)
    monkeypatch.delenv("GROQGEN_TIMEOUT")

    monkeypatch.setenv("GROQGEN_REASONING_EFFORT", "none")  # gpt-oss does not take it
    from_variable = cli("prompt", "release notes")
    assert from_variable.code == EXIT_USAGE
    line = one_line_error(from_variable)
    assert line.startswith("groqgen: error: GROQGEN_REASONING_EFFORT: ")
    assert "reasoning_effort" not in line
    assert cli("prompt", "release notes", "--effort", "low").code == EXIT_OK  # the flag wins
    assert len(groq_peer.chat_requests) == 1


def test_a_bad_model_flag_names_the_flag(cli: Any, groq_peer: Any) -> None:
    run = cli("prompt", "release notes", "--model", "m" * 200)
    assert run.code == EXIT_USAGE
    assert one_line_error(run).startswith("groqgen: error: --model: ")
    assert groq_peer.requests == []


def test_a_cut_off_answer_exits_1_saying_what_to_change(
    cli: Any, client: Any, groq_peer: Any
) -> None:
    # The peer spends REASONING_TOKENS["medium"] on reasoning: a budget of 100 leaves no answer.
    run = cli("code", "add two numbers", "--language", "python", "--max-tokens", "100")
    assert run.code == EXIT_FAILURE
    assert run.out == ""
    assert one_line_error(run) == (
        "groqgen: error: Groq's answer was cut off (the model spent its token budget: 100 "
        "completion tokens, 100 of them reasoning); nothing was recorded — try --effort low "
        "or a --max-tokens above 100"
    )
    assert client.code_generations.count() == 0 and client.activity_logs.count() == 0


def test_cut_off_advice_counts_an_effort_set_in_the_environment(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQGEN_REASONING_EFFORT", "code=low")
    line = one_line_error(cli("code", "add", "--language", "python", "--max-tokens", "100"))
    assert line.endswith("nothing was recorded — try a --max-tokens above 100")


def test_allow_truncated_records_a_partial_answer(cli: Any, client: Any, groq_peer: Any) -> None:
    groq_peer.reply = "Write release notes for the 2.0 launch, grouped by feature."
    budget = str(REASONING_TOKENS["low"] + 3)  # room for three words of the answer
    refused = cli("prompt", "release notes", "--effort", "low", "--max-tokens", budget)
    assert refused.code == EXIT_FAILURE
    line = one_line_error(refused)
    assert "--effort low" not in line  # already low: only the budget can grow
    assert f"try a --max-tokens above {budget} (--allow-truncated records" in line
    assert client.prompts.count() == 0

    kept = cli(
        "prompt", "release notes", "--effort", "low", "--max-tokens", budget, "--allow-truncated"
    )
    assert kept.code == EXIT_OK, kept.err
    assert kept.out == "Write release notes\n"
    [prompt] = client.prompts.iter()
    assert prompt.generated_prompt == "Write release notes"


def test_a_cut_off_stream_exits_1_and_records_nothing(
    cli: Any, client: Any, groq_peer: Any
) -> None:
    run = cli("code", "add", "--language", "python", "--stream", "--max-tokens", "100")
    assert run.code == EXIT_FAILURE
    assert run.out == ""
    assert "Groq's answer was cut off" in one_line_error(run)
    assert client.code_generations.count() == 0


@pytest.mark.parametrize(
    ("model", "code"),
    [("llama-3.3-70b-versatile", "model_not_found"), ("qwen/qwen3-32b", "model_decommissioned")],
)
def test_a_retired_model_names_the_model_and_what_groq_serves(
    cli: Any, client: Any, model: str, code: str
) -> None:
    run = cli("prompt", "release notes", "--model", model)
    assert run.code == EXIT_FAILURE
    served = ", ".join(sorted(m["id"] for m in MODELS))
    assert one_line_error(run) == (
        f"groqgen: error: Groq no longer serves the model {model} ({code}), so nothing was "
        f"recorded; it serves {served}: pass one of them with --model"
    )
    assert client.prompts.count() == 0


def test_a_retired_model_from_the_environment_names_the_variable(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQGEN_MODEL", "llama-3.3-70b-versatile")
    line = one_line_error(cli("code", "add", "--language", "go"))
    assert "model llama-3.3-70b-versatile" in line
    assert line.endswith("set GROQGEN_MODEL to one of them")
    assert ".." not in line and "model=" not in line


# -- streams and a slow Groq on a terminal ---------------------------------------------------------


def test_a_stream_into_a_pipe_prints_what_the_plain_command_prints(cli: Any, client: Any) -> None:
    streamed = cli("code", "add two numbers", "--language", "python", "--stream")
    assert streamed.code == EXIT_OK, streamed.err
    plain = cli("code", "add two numbers", "--language", "python")
    assert streamed.out == plain.out == CODE  # the code, not the model's whole reply
    assert "thinking" not in streamed.err and "\r" not in streamed.err
    assert [r.generated_code for r in client.code_generations.iter()] == [CODE, CODE]


def test_a_stream_on_a_terminal_prints_the_reply_as_it_arrives(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_terminal(monkeypatch, "stdout")
    run = cli("code", "add two numbers", "--language", "python", "--stream", "--color", "never")
    assert run.code == EXIT_OK, run.err
    assert run.out == DEFAULT_REPLY + "\n"


def test_thinking_shows_on_a_terminal_until_the_answer_starts(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_terminal(monkeypatch, "stderr")
    run = cli("code", "add two numbers", "--language", "python", "--stream")
    assert run.code == EXIT_OK, run.err
    assert run.out == CODE
    shown = run.err.index("thinking…")
    assert run.err.index(erased("thinking…"), shown) < run.err.index("recorded in code_generations")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_a_real_terminal_sees_thinking_then_the_reply(home: Path) -> None:
    import pty

    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "groqgen", "code", "add", "--language", "python", "--stream"],
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "NO_COLOR": "1"},
    ) as process:
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed: the process is done with it
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait(timeout=30) == EXIT_OK
    os.close(controller)
    text = seen.decode().replace("\r\n", "\n")
    assert text.startswith("thinking…" + erased("thinking…") + DEFAULT_REPLY + "\n")
    assert "recorded in code_generations" in text


def test_a_slow_groq_gets_a_waiting_line_on_a_terminal(
    cli: Any, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("groqgen.cli.WAIT_NOTICE_AFTER", 0.05)
    on_a_terminal(monkeypatch, "stderr")
    groq_peer.script(slow(0.6))
    run = cli("--timeout", "20", "prompt", "release notes")
    assert run.code == EXIT_OK, run.err
    waiting = "waiting for Groq… (timeout 20 s)"
    assert run.err.startswith(waiting + erased(waiting))
    assert run.out.strip()

    groq_peer.script(slow(0.6))
    streamed = cli("code", "add", "--language", "python", "--stream")
    assert streamed.code == EXIT_OK, streamed.err
    waiting = "waiting for Groq… (timeout 60 s)"
    assert streamed.err.startswith(waiting + erased(waiting) + "thinking…")


def test_no_status_lines_off_a_terminal(
    cli: Any, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("groqgen.cli.WAIT_NOTICE_AFTER", 0.05)
    groq_peer.script(slow(0.4), slow(0.4))
    for argv in (("prompt", "x"), ("code", "add", "--language", "python", "--stream")):
        run = cli(*argv)
        assert run.code == EXIT_OK, run.err
        assert "waiting" not in run.err and "thinking" not in run.err and "\r" not in run.err
    on_a_terminal(monkeypatch, "stderr")
    groq_peer.script(slow(0.4))
    assert "waiting" not in cli("prompt", "x", "--json").err  # --json prints no notes


def test_a_quick_answer_shows_no_waiting_line(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    on_a_terminal(monkeypatch, "stderr")
    run = cli("prompt", "release notes")  # WAIT_NOTICE_AFTER is 2 s; the peer answers at once
    assert run.code == EXIT_OK, run.err
    assert "waiting" not in run.err and "\r" not in run.err


def test_timeout_against_a_slow_groq_exits_1_within_seconds(
    cli: Any, client: Any, groq_peer: Any
) -> None:
    groq_peer.latency = 20  # every attempt; cut short when the peer stops
    started = time.monotonic()
    run = cli("prompt", "release notes", "--timeout", "1", "--max-retries", "1")
    elapsed = time.monotonic() - started
    assert run.code == EXIT_FAILURE
    assert elapsed < 15
    line = one_line_error(run)
    assert "did not answer in time" in line and "--timeout" in line
    assert len(groq_peer.chat_requests) == 2  # the first try and one retry
    assert client.prompts.count() == 0


# -- models ----------------------------------------------------------------------------------------


def test_models_lists_what_groq_serves_and_marks_the_default(cli: Any) -> None:
    run = cli("models")
    assert run.code == EXIT_OK, run.err
    header, *rows = run.out.splitlines()
    assert header.split() == ["ID", "CONTEXT", "MAX", "COMPLETION", "OWNER"]
    ids = [row.split()[1] if row.startswith("*") else row.split()[0] for row in rows]
    assert ids == sorted(m["id"] for m in MODELS)
    [default] = [row for row in rows if row.startswith("*")]
    assert default.split() == ["*", DEFAULT_MODEL, "131,072", "65,536", "OpenAI"]
    assert "* marks the default model" in run.err


def test_models_json_is_a_list_of_objects(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQGEN_MODEL", "openai/gpt-oss-20b")
    run = cli("models", "--json")
    assert run.code == EXIT_OK, run.err
    listed = {m["id"]: m for m in run.json()}
    assert set(listed) == {m["id"] for m in MODELS}
    assert listed["openai/gpt-oss-20b"] == {
        "id": "openai/gpt-oss-20b",
        "owned_by": "OpenAI",
        "active": True,
        "context_window": 131072,
        "max_completion_tokens": 65536,
        "default": True,
    }
    assert [m["id"] for m in listed.values() if m["default"]] == ["openai/gpt-oss-20b"]
    assert run.err == ""


def test_models_says_when_the_default_is_not_served(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQGEN_MODEL", "llama-3.3-70b-versatile")
    run = cli("models")
    assert run.code == EXIT_OK, run.err
    assert not any(row.startswith("*") for row in run.out.splitlines())
    assert "the default model llama-3.3-70b-versatile is not among them" in run.err


def test_models_exits_1_when_groq_cannot_be_reached(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("GROQ_BASE_URL", f"http://127.0.0.1:{port}")
    run = cli("models", "--max-retries", "0")
    assert run.code == EXIT_FAILURE
    line = one_line_error(run)
    assert "could not reach Groq" in line
    assert ".;" not in line and ".." not in line


# -- the outbox ----------------------------------------------------------------------------------


def _break_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the SQLite store refuse every generation record (and nothing else)."""
    from groqgen.errors import StoreError
    from groqgen.stores import ops
    from groqgen.stores.sqlite import SQLiteStore

    execute = SQLiteStore.execute

    def refuse(self: Any, op: Any) -> Any:
        if isinstance(op, ops.Record):
            raise StoreError("disk full")
        return execute(self, op)

    monkeypatch.setattr(SQLiteStore, "execute", refuse)


def test_a_failed_recording_goes_to_the_outbox_and_flush_records_it(
    cli: Any, client: Any, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    groq_peer.reply = "Paid-for prompt."
    with monkeypatch.context() as broken:
        _break_recording(broken)
        run = cli("prompt", "release notes")
        assert run.code == EXIT_FAILURE
        assert run.out == "Paid-for prompt.\n"  # shown even though it was not recorded
        assert "groqgen outbox flush" in one_line_error(run)

        listed = cli("outbox", "list", "--json")
        assert listed.code == EXIT_OK
        [entry] = listed.json()
        assert entry["table"] == "prompts"
        assert entry["values"]["generated_prompt"] == "Paid-for prompt."
        human = cli("outbox", "list")
        assert entry["id"] in human.out and "disk full" in human.out

        still_broken = cli("outbox", "flush")
        assert still_broken.code == EXIT_FAILURE
        assert "recorded 0, failed 1" in still_broken.out
        assert "could not be recorded" in one_line_error(still_broken)

    flushed = cli("outbox", "flush", "--json")
    assert flushed.code == EXIT_OK, flushed.err
    assert flushed.json() == {"recorded": 1, "failed": [], "skipped_other_stores": 0}
    assert client.prompts.get(entry["id"]).generated_prompt == "Paid-for prompt."
    assert cli("outbox", "list", "--json").json() == []
    assert "nothing is waiting" in cli("outbox", "list").err
    assert len(groq_peer.chat_requests) == 1


# -- projects and history ------------------------------------------------------------------------


def test_projects_create_list_and_show(cli: Any, client: Any) -> None:
    assert "no projects yet" in cli("projects", "list").err
    created = cli("projects", "create", "Launch", "--description", "Release plan")
    assert created.code == EXIT_OK, created.err
    project_id = created.out.strip()
    assert client.projects.get(project_id).name == "Launch"
    other = cli("projects", "create", "Docs", "--json").json()

    listed = cli("projects", "list")
    assert listed.code == EXIT_OK
    assert listed.out.splitlines()[0].split() == ["ID", "NAME", "CREATED", "DESCRIPTION"]
    assert project_id in listed.out and "Release plan" in listed.out
    assert [p["name"] for p in cli("projects", "list", "--json").json()["items"]] == [
        "Docs",
        "Launch",
    ]

    client.generate.prompt("a", project_id=project_id)
    shown = cli("projects", "show", "Launch", "--json").json()
    assert shown["id"] == project_id
    assert shown["resource_counts"]["prompt_count"] == 1
    human = cli("projects", "show", other["id"])
    assert human.code == EXIT_OK
    assert "Docs" in human.out and "0 prompts" in human.out


def test_projects_list_pages_with_a_cursor(cli: Any, client: Any) -> None:
    for name in ("one", "two", "three"):
        client.projects.create(name)
    first = cli("projects", "list", "--limit", "2", "--json").json()
    assert [p["name"] for p in first["items"]] == ["three", "two"]
    rest = cli("projects", "list", "--limit", "2", "--cursor", first["next_cursor"], "--json")
    assert [p["name"] for p in rest.json()["items"]] == ["one"]
    assert rest.json()["next_cursor"] is None
    assert "--cursor" in cli("projects", "list", "--limit", "2").err


def test_projects_failures(cli: Any) -> None:
    run = cli("projects", "create", "   ")
    assert run.code == EXIT_USAGE
    assert one_line_error(run) == "groqgen: error: NAME: must not be empty or only whitespace"
    run = cli("projects", "show", "Nope")
    assert run.code == EXIT_USAGE
    assert "no project is named 'Nope'" in one_line_error(run)
    run = cli("projects", "list", "--limit", "0")
    assert run.code == EXIT_USAGE
    one_line_error(run)


def test_history_shows_recent_activity(cli: Any, client: Any) -> None:
    assert "no activity yet" in cli("history").err
    client.projects.create("Launch")
    client.generate.prompt("release notes")
    entries = cli("history", "--json").json()
    assert [e["activity_type"] for e in entries] == ["prompt_generation", "project_created"]
    assert len(cli("history", "--limit", "1", "--json").json()) == 1
    human = cli("history")
    assert human.code == EXIT_OK
    assert "prompt_generation" in human.out and "Created project 'Launch'" in human.out


# -- export --------------------------------------------------------------------------------------


@pytest.fixture
def rows(client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Five prompts and two test suites, and pages of two rows so an export spans pages."""
    monkeypatch.setattr("groqgen.repositories.ITER_PAGE_SIZE", 2)
    for i in range(5):
        client.prompts.create(
            topic=f"topic {i}", model="m", generated_prompt=f"prompt {i}\nwith, a comma"
        )
    for types in (["unit"], ["unit", "edge"]):
        client.tests.create(
            code=CODE,
            language="python",
            framework="pytest",
            test_types=types,
            model="m",
            generated_tests=CODE,
        )
    return client


def test_export_one_table_as_jsonl(cli: Any, rows: Any) -> None:
    run = cli("export", "--format", "jsonl", "--table", "prompts")
    assert run.code == EXIT_OK, run.err
    lines = [json.loads(line) for line in run.out.splitlines()]
    assert len(lines) == 5
    assert {line["id"] for line in lines} == {str(p.id) for p in rows.prompts.iter()}
    assert "exported 5 rows of prompts to stdout" in run.err


def test_export_every_table_as_jsonl(cli: Any, rows: Any) -> None:
    run = cli("export")
    assert run.code == EXIT_OK, run.err
    tables = [json.loads(line)["table"] for line in run.out.splitlines()]
    assert tables.count("prompts") == 5 and tables.count("tests") == 2
    assert tables.count("profiles") == 1


def test_export_csv_to_a_file_round_trips(cli: Any, rows: Any, tmp_path: Path) -> None:
    target = tmp_path / "tests.csv"
    run = cli("export", "--format", "csv", "--table", "tests", "--output", str(target))
    assert run.code == EXIT_OK, run.err
    assert run.out == ""
    with open(target, newline="", encoding="utf-8") as f:
        exported = list(csv.DictReader(f))
    assert len(exported) == 2
    assert sorted(json.loads(r["test_types"]) for r in exported) == [["unit"], ["unit", "edge"]]
    assert {r["generated_tests"] for r in exported} == {CODE}
    assert list(tmp_path.glob("*.part")) == []

    prompts = cli("export", "--format", "csv", "--table", "prompts")
    parsed = list(csv.DictReader(io.StringIO(prompts.out)))
    assert len(parsed) == 5
    assert parsed[0]["generated_prompt"].endswith("\nwith, a comma")
    assert parsed[0]["project_id"] == ""


def test_export_shows_progress_on_a_terminal(
    cli: Any, rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    run = cli("export", "--table", "prompts")
    assert run.code == EXIT_OK, run.err
    assert "\rexporting prompts 0/5" in run.err and "\rexporting prompts 5/5" in run.err
    assert len(run.out.splitlines()) == 5


def test_a_failed_recording_with_json_still_prints_the_result(
    cli: Any, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    groq_peer.reply = "Paid-for prompt."
    _break_recording(monkeypatch)
    run = cli("prompt", "release notes", "--json")
    assert run.code == EXIT_FAILURE
    data = run.json()
    assert data["recorded"] is False
    assert data["outbox"]["values"]["generated_prompt"] == "Paid-for prompt."
    one_line_error(run)


def test_export_csv_needs_one_table(cli: Any) -> None:
    run = cli("export", "--format", "csv")
    assert run.code == EXIT_USAGE
    assert "--table" in one_line_error(run)


def test_a_failed_export_leaves_no_file(
    cli: Any, rows: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groqgen.errors import StoreError
    from groqgen.repositories import Repository

    pages = Repository.list

    def fail_on_second_page(self: Any, **kw: Any) -> Any:
        if kw.get("cursor"):
            raise StoreError("connection lost")
        return pages(self, **kw)

    monkeypatch.setattr(Repository, "list", fail_on_second_page)
    target = tmp_path / "prompts.jsonl"
    run = cli("export", "--table", "prompts", "--output", str(target))
    assert run.code == EXIT_FAILURE
    assert "connection lost" in one_line_error(run)
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]


# -- database ------------------------------------------------------------------------------------


def test_db_sql_prints_the_migrations(cli: Any) -> None:
    from groqgen import migrations

    run = cli("db", "sql")
    assert (run.code, run.out) == (EXIT_OK, migrations.sql())
    assert cli("db", "sql", "--json").json() == {"sql": migrations.sql()}


@pytest.mark.postgres
def test_db_migrate_applies_then_finds_nothing_to_do(cli: Any, make_database: Any) -> None:
    from groqgen import migrations

    url = make_database()
    versions = [m.version for m in migrations.available()]
    run = cli("db", "migrate", "--database-url", url)
    assert run.code == EXIT_OK, run.err
    assert run.out.strip() == f"applied migrations {', '.join(versions)}"
    assert migrations.applied(url) == versions
    again = cli("db", "migrate", "--database-url", url, "--json")
    assert (again.code, again.json()) == (EXIT_OK, {"applied": []})


def test_db_migrate_needs_a_database(cli: Any) -> None:
    run = cli("db", "migrate")
    assert run.code == EXIT_USAGE
    assert "--database-url" in one_line_error(run)


def test_db_migrate_reports_an_unreachable_database(cli: Any) -> None:
    run = cli("db", "migrate", "--database-url", "postgresql://nobody@127.0.0.1:1/none")
    assert run.code == EXIT_FAILURE
    assert "cannot connect" in one_line_error(run)


@pytest.mark.postgres
def test_global_options_select_a_postgres_store(cli: Any, migrated_url: str) -> None:
    import psycopg

    from tests.helpers import new_user

    with psycopg.connect(migrated_url, autocommit=True) as conn:
        user_id = new_user(conn)
    options = ("--database-url", migrated_url, "--user-id", str(user_id))
    created = cli("projects", "create", "On Postgres", *options, "--json")
    assert created.code == EXIT_OK, created.err
    assert created.json()["user_id"] == str(user_id)
    listed = cli(*options, "projects", "list", "--json").json()
    assert [p["name"] for p in listed["items"]] == ["On Postgres"]


# -- auth ----------------------------------------------------------------------------------------


def test_auth_needs_a_supabase_project(cli: Any) -> None:
    for command in ("whoami", "logout"):
        run = cli("auth", command)
        assert run.code == EXIT_FAILURE
        assert "SUPABASE_URL" in one_line_error(run)


def test_auth_login_input_errors(cli: Any) -> None:
    run = cli("auth", "login", "--password-stdin", stdin="secret\n")
    assert run.code == EXIT_USAGE
    assert "--email" in one_line_error(run)
    run = cli("auth", "login", "--email", "a@example.com", stdin="")
    assert run.code == EXIT_USAGE
    assert "--password-stdin" in one_line_error(run)


@pytest.mark.postgres
def test_auth_login_whoami_logout_on_supabase(
    cli: Any, home: Path, supabase_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import PASSWORD

    monkeypatch.setenv("SUPABASE_URL", supabase_peer.url)
    monkeypatch.setenv("SUPABASE_KEY", supabase_peer.anon_key)
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    with Client(home=home) as client:
        client.auth.sign_up(email, PASSWORD)
        client.auth.sign_out()

    wrong = cli("auth", "login", "--email", email, "--password-stdin", stdin="wrong password\n")
    assert wrong.code == EXIT_FAILURE
    one_line_error(wrong)
    assert cli("auth", "whoami").code == EXIT_FAILURE

    login = cli("auth", "login", "--email", email, "--password-stdin", stdin=PASSWORD + "\n")
    assert login.code == EXIT_OK, login.err
    assert login.out.startswith(f"signed in as {email}")
    me = cli("auth", "whoami", "--json").json()
    assert me["email"] == email and me["store"].startswith("supabase")
    assert cli("projects", "create", "Mine", "--json").json()["user_id"] == me["id"]

    assert cli("auth", "logout").out == "signed out\n"
    after = cli("auth", "whoami")
    assert after.code == EXIT_FAILURE
    assert "groqgen auth login" in one_line_error(after)


# -- presentation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "code", "language"),
    [
        ("app.py", "", "python"),
        ("src/Main.JAVA", "", "java"),
        ("web/view.tsx", "", "typescript"),
        (None, "#!/usr/bin/env python3\nprint(1)", "python"),
        (None, "#!/bin/bash\necho hi", "shell"),
        (None, "#!/usr/bin/env -S node --harmony\n", "javascript"),
        (None, "<?php echo 1;", "php"),
        ("notes.txt", "plain words", None),
        (None, "x = 1", None),
    ],
)
def test_infer_language(path: str | None, code: str, language: str | None) -> None:
    assert infer_language(path, code) == language


def test_color_never_and_a_pipe_give_plain_text(cli: Any) -> None:
    assert cli("code", "add", "--language", "python", "--color", "never").out == CODE
    assert cli("code", "add", "--language", "python").out == CODE  # stdout is not a terminal


def test_color_always_highlights_code_and_renders_reviews(cli: Any, tmp_path: Path) -> None:
    pytest.importorskip("rich")
    code = cli("code", "add", "--language", "python", "--color", "always")
    assert code.code == EXIT_OK
    assert "\x1b[" in code.out and "return" in code.out
    (tmp_path / "app.py").write_text(CODE)
    review = cli("review", str(tmp_path / "app.py"), "--color", "always")
    assert review.code == EXIT_OK
    assert "\x1b[" in review.out


def test_no_color_turns_highlighting_off(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert cli("code", "add", "--language", "python").out == CODE


def test_module_entry_point_is_declared() -> None:
    root = Path(__file__).resolve().parents[1]
    text = (root / "pyproject.toml").read_text()
    assert 'groqgen = "groqgen.cli:main"' in text
    assert os.path.exists(root / "src" / "groqgen" / "__main__.py")


# -- output that cannot attack its reader; bounded input (issue 10) ------------------------------

ESCAPE = "\x1b]0;pwned\x07\x1b[2J"  # retitle the window, clear the screen


@pytest.fixture
def hostile(client: Any) -> Any:
    client.prompts.create(topic=f"release {ESCAPE}notes", model="m", generated_prompt="=1+2")
    client.projects.create(f"Launch{ESCAPE}")
    return client


@pytest.mark.parametrize("argv", [("history",), ("projects", "list")])
def test_escape_sequences_in_stored_text_are_shown_escaped_on_a_terminal(
    cli: Any, hostile: Any, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    on_a_terminal(monkeypatch, "stdout", "stderr")
    run = cli(*argv)
    assert run.code == EXIT_OK, run.err
    assert "\x1b" not in run.out and "\x07" not in run.out
    assert "\\x1b" in run.out


def test_stored_text_goes_through_unchanged_into_a_pipe(cli: Any, hostile: Any) -> None:
    run = cli("projects", "list")
    assert run.code == EXIT_OK, run.err
    assert f"Launch{ESCAPE}" in run.out


def test_csv_export_defuses_cells_a_spreadsheet_would_run(cli: Any, hostile: Any) -> None:
    run = cli("export", "--format", "csv", "--table", "prompts")
    assert run.code == EXIT_OK, run.err
    (row,) = list(csv.DictReader(io.StringIO(run.out)))
    assert row["generated_prompt"] == "'=1+2"
    raw = cli("export", "--format", "csv", "--table", "prompts", "--raw-csv")
    (row,) = list(csv.DictReader(io.StringIO(raw.out)))
    assert row["generated_prompt"] == "=1+2"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_defused(start: str) -> None:
    from groqgen.cli import _csv_value

    assert _csv_value(start + "cmd|' /C calc'!A0") == "'" + start + "cmd|' /C calc'!A0"
    assert _csv_value("plain") == "plain"
    assert _csv_value(-3) == -3  # numbers are not text a spreadsheet would evaluate


def test_a_binary_file_is_refused_before_groq(cli: Any, groq_peer: Any, tmp_path: Path) -> None:
    blob = tmp_path / "image.py"
    blob.write_bytes(b"\x00" * 64)
    run = cli("review", str(blob))
    assert run.code == EXIT_USAGE
    assert "binary" in run.err
    assert groq_peer.requests == []


def test_an_endless_input_is_read_only_up_to_the_limit(
    cli: Any, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            buffer[:] = b"a" * len(buffer)
            Endless.served += len(buffer)
            return len(buffer)

    class Stdin(io.TextIOWrapper):
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr("sys.stdin", Stdin(io.BufferedReader(Endless())))
    run = cli("review", "-", "--language", "python")
    assert run.code == EXIT_USAGE
    assert "longer than" in run.err
    assert Endless.served <= LIMITS["document"] * 4 + 1 + io.DEFAULT_BUFFER_SIZE
    assert groq_peer.requests == []
