"""The ``groqgen`` command line: generate, record, browse and export from a shell.

Every command is a thin layer over the library: ``groqgen prompt`` is ``client.generate.prompt``,
``groqgen projects list`` is ``client.projects.list`` and so on. The command line adds reading
code from a file or stdin (with the language inferred from the file extension), human and
``--json`` output, and exit statuses:

* ``0`` — it worked;
* ``2`` — bad input (an unknown option, a value out of range, a file that cannot be read):
  nothing was sent anywhere;
* ``1`` — anything else failed (Groq, the store, the network, the configuration), including
  whatever Groq sent: an answer cut off at its token budget is never "bad input";
* ``130`` — interrupted with Ctrl-C.

Errors are one line on stderr, in the command line's terms (``--effort``, ``GROQGEN_MODEL``,
never the library's ``reasoning_effort=``); ``--debug`` adds the traceback. Human output goes
to stdout and status notes to stderr, so ``groqgen code ... > app.py`` writes only the code,
streamed or not. On a terminal, stderr also shows a passing status line (``waiting for Groq…``,
``thinking…``) that is erased when the answer comes. Code is syntax-highlighted and reviews are
rendered as markdown when ``rich`` is installed and stdout is a terminal (``--color
always|never`` overrides that).

``groqgen --help`` stays fast: this module imports only the standard library at load time;
the client, and with it pydantic, groq, postgrest, supabase_auth and psycopg, load inside the
command that needs them.

Example:
    >>> from groqgen.cli import main
    >>> main(["prompt", "release notes", "--tone", "casual", "--dry-run"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import re
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from ._version import __version__
from .catalog import DEFAULT_MODEL, REASONING_EFFORTS
from .errors import (
    AuthenticationError,
    ConfigurationError,
    GenerationError,
    GroqgenError,
    NotFound,
    RecordingFailed,
    TruncatedGeneration,
    ValidationError,
)
from .presentation import Progress, is_terminal, progress_shown, shorten
from .vocabularies import COVERAGES, PROMPT_TYPES, REVIEW_TYPES, TABLE_NAMES, TEST_TYPES, TONES

if TYPE_CHECKING:
    from .client import Client

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "build_parser", "infer_language", "main"]

EXIT_OK = 0
"""The command did what was asked."""
EXIT_FAILURE = 1
"""Something other than the input failed: Groq, the store, the network or the configuration."""
EXIT_USAGE = 2
"""The input was refused before anything was sent or stored."""


LANGUAGES_BY_EXTENSION = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescript",
    ".java": "java",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".scala": "scala",
    ".go": "go",
    ".rs": "rust",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".fs": "fsharp",
    ".swift": "swift",
    ".m": "objective-c",
    ".rb": "ruby",
    ".php": "php",
    ".pl": "perl",
    ".lua": "lua",
    ".r": "r",
    ".jl": "julia",
    ".dart": "dart",
    ".ex": "elixir",
    ".exs": "elixir",
    ".erl": "erlang",
    ".hs": "haskell",
    ".clj": "clojure",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".ps1": "powershell",
    ".sql": "sql",
    ".html": "html",
    ".css": "css",
    ".vue": "vue",
    ".svelte": "svelte",
}
"""File extension (lower case) -> the language name groqgen sends and stores."""

_LANGUAGES_BY_INTERPRETER = {
    "python": "python",
    "node": "javascript",
    "deno": "typescript",
    "bash": "shell",
    "sh": "shell",
    "zsh": "shell",
    "ruby": "ruby",
    "perl": "perl",
    "php": "php",
}

DEFAULT_TEST_FRAMEWORKS = {
    "python": "pytest",
    "javascript": "jest",
    "typescript": "jest",
    "java": "junit",
    "kotlin": "junit",
    "scala": "scalatest",
    "go": "testing",
    "rust": "cargo test",
    "csharp": "xunit",
    "swift": "xctest",
    "ruby": "rspec",
    "php": "phpunit",
    "elixir": "exunit",
    "cpp": "googletest",
}
"""The test framework ``groqgen tests`` uses for a language when ``--framework`` is omitted."""

# How each kind's output is shown to a person.
_SHOWN_AS = {"prompt": "text", "code": "code", "review": "markdown", "tests": "code"}

WAIT_NOTICE_AFTER = 2.0
"""Seconds without an answer from Groq before a terminal is told that groqgen is waiting."""


# -- parsing ---------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are exceptions, so that ``main`` decides how they print."""

    def error(self, message: str) -> NoReturn:
        raise ValidationError(f"{message} (see '{self.prog} --help')")


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (an argparse ``type``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def _whole(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be a whole number of at least {minimum}, not {text!r}"
            )
        return value

    return parse


# Options every command accepts, before or after its name: (flag, default, other settings).
_GLOBAL_OPTIONS: tuple[tuple[str, Any, dict[str, Any]], ...] = (
    ("--json", False, {"action": "store_true", "help": "print machine-readable JSON on stdout"}),
    ("--debug", False, {"action": "store_true", "help": "show the traceback when a command fails"}),
    (
        "--color",
        "auto",
        {
            "choices": ("auto", "always", "never"),
            "help": "highlight code and render reviews (needs rich; auto: when stdout is a "
            "terminal)",
        },
    ),
    (
        "--home",
        None,
        {
            "metavar": "DIR",
            "help": "groqgen's folder: SQLite store, outbox, sessions (default: $GROQGEN_HOME)",
        },
    ),
    (
        "--database-url",
        None,
        {
            "metavar": "URL",
            "help": "use this PostgreSQL database (default: $GROQGEN_DATABASE_URL)",
        },
    ),
    (
        "--user-id",
        None,
        {
            "metavar": "UUID",
            "type": uuid.UUID,
            "help": "act as this user on PostgreSQL, under row-level security",
        },
    ),
    (
        "--service",
        False,
        {
            "action": "store_true",
            "help": "act as the service role on PostgreSQL (bypasses row-level security)",
        },
    ),
    (
        "--timeout",
        None,
        {
            "metavar": "SECONDS",
            "type": _seconds,
            "help": "how long to wait for each answer from Groq "
            "(default: $GROQGEN_TIMEOUT, else 60)",
        },
    ),
    (
        "--max-retries",
        None,
        {
            "metavar": "N",
            "type": _whole(0),
            "help": "how often to retry a Groq call or store write that failed for a passing "
            "reason (default: $GROQGEN_MAX_RETRIES, else 3)",
        },
    ),
)


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Add the options every command accepts.

    Below the top level they default to SUPPRESS, so that a value given before the command
    name is not overwritten by the subcommand's default.
    """
    group = parser.add_argument_group("global options")
    for flag, default, settings in _GLOBAL_OPTIONS:
        group.add_argument(flag, default=default if top else argparse.SUPPRESS, **settings)


def _leaf(
    subparsers: Any, name: str, handler: Callable[[argparse.Namespace, _Output], int], **kw: Any
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(name, **kw)
    _global_options(parser, top=False)
    parser.set_defaults(handler=handler)
    return parser


def _group(subparsers: Any, name: str, **kw: Any) -> Any:
    parser = subparsers.add_parser(name, **kw)
    _global_options(parser, top=False)
    return parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)


def _generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", help=f"Groq model (default: $GROQGEN_MODEL, else {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--effort",
        dest="reasoning_effort",
        choices=REASONING_EFFORTS,
        help="how hard the model reasons before answering; gpt-oss takes low, medium, high "
        "(default: $GROQGEN_REASONING_EFFORT, else medium)",
    )
    parser.add_argument(
        "--max-tokens",
        dest="max_completion_tokens",
        metavar="N",
        type=_whole(1),
        help="completion budget, reasoning included (default: the answer's size plus an "
        "allowance for the effort)",
    )
    parser.add_argument(
        "--allow-truncated",
        action="store_true",
        help="record an answer even if Groq cut it off at the token budget",
    )
    parser.add_argument(
        "--project", metavar="PROJECT", help="record it in this project (id or exact name)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the exact request that would go to Groq; send and store nothing",
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="on a terminal, print the answer as it arrives; then record it",
    )


# -- the four kinds' options, from their request fields ------------------------------------------
#
# A kind's options are the fields its request model in groqgen.models declares (PromptFields,
# CodeFields, ReviewFields, TestsFields; project_id is --project). They are written out here,
# field -> default (``...`` where the field is required), because importing the models loads
# pydantic, which 'groqgen --help' must not; tests/test_cli.py holds this table to the models.
# Choices come from groqgen.vocabularies, the models' own Literals.

_KIND_FIELDS: dict[str, dict[str, Any]] = {
    "prompt": {
        "topic": ...,
        "prompt_type": "writing",
        "tone": "professional",
        "length": 50,
        "additional_context": None,
    },
    "code": {"description": ..., "language": ..., "framework": "none", "additional_context": None},
    "review": {"code": ..., "language": ..., "review_type": "general"},
    "tests": {
        "code": ...,
        "language": ...,
        "framework": "none",
        "test_types": ("unit",),
        "coverage": "moderate",
        "additional_context": None,
    },
}
"""Each generation kind's request fields and their defaults, as the models declare them."""

_CHOICES: dict[str, tuple[str, ...]] = {
    "prompt_type": PROMPT_TYPES,
    "tone": TONES,
    "review_type": REVIEW_TYPES,
    "test_types": TEST_TYPES,
    "coverage": COVERAGES,
}

# How the command line spells and explains a field, where it says more than --field-name.
_SPELLING: dict[str, dict[str, Any]] = {
    "topic": {"help": "what the prompt is about"},
    "description": {"help": "what the code should do"},
    "language": {"help": "the language to write it in"},
    "prompt_type": {"flags": ("--type", "--prompt-type")},
    "review_type": {"flags": ("--type", "--review-type")},
    "length": {"help": "10 to 100; about 4 words per unit"},
    "framework": {"help": "framework or library"},
    "test_types": {"flags": ("--test-type",), "help": "repeat for several"},
    "additional_context": {"flags": ("--context",), "metavar": "TEXT"},
}


def _request_options(parser: argparse.ArgumentParser, kind: str) -> None:
    """Add ``kind``'s request fields: its first (its subject) positional, the others as flags.

    Code under review or test is read from a file (:func:`_code_source`), with its language
    inferred from it and a test framework chosen for that language when not given.
    """
    fields = _KIND_FIELDS[kind]
    reads_code = "code" in fields
    for position, (name, default) in enumerate(fields.items()):
        spelling = dict(_SPELLING.get(name, {}))
        flags = spelling.pop("flags", (f"--{name.replace('_', '-')}",))
        if name == "code":
            _code_source(parser)
        elif reads_code and name == "language":
            continue  # given with --language by _code_source, or inferred from the file
        elif position == 0:
            parser.add_argument(name, metavar=name.upper(), **spelling)
        elif reads_code and name == "framework":
            parser.add_argument(
                *flags, dest=name, help="test framework (default: the usual one for the language)"
            )
        elif default is ...:
            parser.add_argument(*flags, dest=name, required=True, **spelling)
        else:
            parser.add_argument(*flags, dest=name, **_option_default(name, default, spelling))


def _option_default(name: str, default: Any, spelling: dict[str, Any]) -> dict[str, Any]:
    """An option's settings for a field with ``default``: its type, choices and help."""
    settings: dict[str, Any] = {"choices": _CHOICES.get(name), **spelling}
    if isinstance(default, tuple):  # a list: one value each time the option is given
        settings.update(action="append", default=None)
        shown = ", ".join(default)
    else:
        settings.update(default=default)
        if isinstance(default, int):
            settings.update(type=int)
        shown = default
    if shown is not None:
        help_text = settings.get("help")
        settings["help"] = f"{help_text} (default: {shown})" if help_text else f"(default: {shown})"
    return settings


def _code_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="FILE", help="file holding the code, or - for stdin")
    parser.add_argument(
        "--language", help="the code's language (default: inferred from the file extension)"
    )


def _flags(parser: argparse.ArgumentParser, **extra: str) -> dict[str, str]:
    """Argument destination -> how the user spells it, to name fields in error messages.

    An option's destination is the library's keyword for it (``--effort`` is stored as
    ``reasoning_effort``), so a field named by a library error maps straight to its flag.
    """
    flags = dict(extra)
    for action in parser._actions:
        if action.option_strings:
            flags.setdefault(action.dest, max(action.option_strings, key=len))
        elif action.dest != "help":
            flags.setdefault(action.dest, str(action.metavar or action.dest.upper()))
    return flags


_VARIABLE = re.compile(r"\$([A-Z][A-Z0-9_]*)")


def _variables(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Argument destination -> the environment variable its help names as the default."""
    variables = {}
    for action in parser._actions:
        found = _VARIABLE.search(action.help or "")
        if found:
            variables[action.dest] = found.group(1)
    return variables


def build_parser() -> argparse.ArgumentParser:
    """The ``groqgen`` argument parser, with every command.

    Example:
        >>> build_parser().parse_args(["history", "--limit", "5"]).limit
        5
    """
    parser = _Parser(
        prog="groqgen",
        description="Generate prompts, code, reviews and tests with Groq, and record them.",
        epilog="Run 'groqgen COMMAND --help' for a command's options. "
        "Exit status: 0 ok, 2 bad input, 1 other failure.",
    )
    parser.add_argument("--version", action="version", version=f"groqgen {__version__}")
    _global_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for kind, about in (
        ("prompt", "generate a prompt about a topic"),
        ("code", "generate code from a description"),
        ("review", "review code from a file or stdin"),
        ("tests", "generate tests for code from a file or stdin"),
    ):
        generate = _leaf(commands, kind, _generate, help=about)
        _request_options(generate, kind)
        _generation_options(generate)

    _leaf(commands, "models", _models, help="list the models Groq serves now")

    projects = _group(commands, "projects", help="list, create and show projects")
    listing = _leaf(projects, "list", _projects_list, help="list projects, newest first")
    listing.add_argument("--limit", type=int, default=50, help="projects per page (default: 50)")
    listing.add_argument("--cursor", help="continue after the page that printed this cursor")
    create = _leaf(projects, "create", _projects_create, help="create a project")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--description")
    show = _leaf(projects, "show", _projects_show, help="show a project and what it holds")
    show.add_argument("project", metavar="PROJECT", help="the project's id or exact name")

    history = _leaf(commands, "history", _history, help="show your recent activity")
    history.add_argument("--limit", type=int, default=10, help="how many entries (default: 10)")

    from ._usage_commands import add_usage_command  # stdlib only at import, like this module

    add_usage_command(commands)

    export = _leaf(
        commands, "export", _export, help="export rows as JSON Lines or CSV (constant memory)"
    )
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument(
        "--table",
        choices=TABLE_NAMES,
        help="one table (required for csv); jsonl without it exports every table",
    )
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    export.add_argument(
        "--raw-csv",
        action="store_true",
        help="write CSV cells as stored: no ' before cells a spreadsheet would run as formulas",
    )

    db = _group(commands, "db", help="PostgreSQL migrations")
    db_migrate = _leaf(
        db,
        "migrate",
        _db_migrate,
        help="apply pending migrations to --database-url; adopts the web app's tables in place",
    )
    db_migrate.add_argument(
        "--dry-run", action="store_true", help="print what it would do; change nothing"
    )
    db_sql = _leaf(
        db, "sql", _db_sql, help="print every migration as one SQL script (for Supabase)"
    )
    db_sql.add_argument(
        "--adopt",
        action="store_true",
        help="print the adoption of the web app's tables instead (for the Supabase SQL editor)",
    )
    _leaf(
        db,
        "check",
        _db_check,
        help="report the database's state, drift and legacy rows breaking groqgen's rules "
        "(exit 1 when it finds any)",
    )
    db_repair = _leaf(
        db,
        "repair",
        _db_repair,
        help="fix legacy rows that break groqgen's rules (keeping what changed), then "
        "validate the rules",
    )
    db_repair.add_argument(
        "--dry-run", action="store_true", help="list what it would change; change nothing"
    )

    outbox = _group(commands, "outbox", help="generations paid for but not recorded yet")
    listing = _leaf(
        outbox, "list", _outbox_list, help="list pending generations of this store and user"
    )
    listing.add_argument(
        "--all",
        dest="all_accounts",
        action="store_true",
        help="every pending generation in this home, whatever its store or user",
    )
    _leaf(
        outbox,
        "flush",
        _outbox_flush,
        help="record every pending generation of this store and user",
    )
    drop = _leaf(outbox, "drop", _outbox_drop, help="remove a pending generation on purpose")
    drop.add_argument("id", metavar="ID", help="the entry's id, as 'groqgen outbox list' shows it")

    from ._batch_commands import add_batch_commands  # stdlib only at import, like this module

    add_batch_commands(commands)

    auth = _group(commands, "auth", help="sign in to a Supabase project")
    login = _leaf(auth, "login", _auth_login, help="sign in with email and password")
    login.add_argument("--email", help="(default: asked on the terminal)")
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _leaf(auth, "logout", _auth_logout, help="sign out and forget the stored session")
    _leaf(auth, "whoami", _auth_whoami, help="show the signed-in user")
    _name_fields(parser)
    return parser


def _name_fields(parser: argparse.ArgumentParser) -> None:
    """Give every command the spelling of its options, for naming fields in errors."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                if sub.get_default("handler") is not None:
                    sub.set_defaults(
                        flags=_flags(sub, project_id="--project", code="FILE"),
                        variables=_variables(sub),
                    )
                _name_fields(sub)


# -- output ----------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, uuid.UUID, Path)):
        return value.isoformat() if isinstance(value, datetime) else str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _when(value: datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(text: str) -> str:
    r"""``text`` with control characters shown as escapes (``\x1b``), for a terminal.

    Stored text is other people's input (the web app writes the same tables): an escape
    sequence in a topic must not move the cursor, retitle the window or hide lines.
    """
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class _Output:
    """Where and how a command prints: JSON or human text, plain or highlighted.

    On a terminal, control characters in what is printed are shown escaped; into a pipe or
    file, text is written exactly as stored.
    """

    def __init__(self, *, json_mode: bool = False, color: str = "auto") -> None:
        self.json_mode = json_mode
        self.color = color

    # stdout and stderr are looked up on every write, so that redirection (and pytest's capsys)
    # made after this object was built is honoured.

    def write(self, text: str) -> None:
        if is_terminal(sys.stdout):
            text = _visible(text)
        sys.stdout.write(text)
        sys.stdout.flush()

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def note(self, text: str) -> None:
        """A status line for a person (stderr; silent under --json)."""
        if not self.json_mode:
            print(_visible(text) if is_terminal(sys.stderr) else text, file=sys.stderr)

    def json(self, data: Any, *, indent: int | None = 2) -> None:
        self.line(json.dumps(data, default=_json_default, ensure_ascii=False, indent=indent))

    def _console(self) -> Any:
        """A rich console on stdout, or None when output stays plain."""
        if self.color == "never" or self.json_mode:
            return None
        if self.color == "auto" and (os.environ.get("NO_COLOR") or not is_terminal(sys.stdout)):
            return None
        try:
            from rich.console import Console  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return None
        return Console(file=sys.stdout, force_terminal=self.color == "always" or None)

    def code(self, code: str, language: str) -> None:
        console = self._console()
        if console is None:
            self.write(code if code.endswith("\n") else code + "\n")
            return
        from rich.syntax import Syntax  # type: ignore[import-not-found, unused-ignore]

        console.print(
            Syntax(
                _visible(code.rstrip("\n")),
                language,
                theme="ansi_dark",
                background_color="default",
            )
        )

    def markdown(self, text: str) -> None:
        console = self._console()
        if console is None:
            self.line(text.rstrip("\n"))
            return
        from rich.markdown import Markdown  # type: ignore[import-not-found, unused-ignore]

        console.print(Markdown(_visible(text)))

    def show(self, shown_as: str, text: str, language: str) -> None:
        if shown_as == "code":
            self.code(text, language)
        elif shown_as == "markdown":
            self.markdown(text)
        else:
            self.line(text.rstrip("\n"))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [len(h) for h in headers]
        for row in rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
        for row in (headers, *rows):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.line("  ".join(cells).rstrip())


# -- inputs ----------------------------------------------------------------------------------------


def infer_language(path: str | os.PathLike[str] | None, code: str = "") -> str | None:
    r"""The language of ``code``, from the file extension or a ``#!`` line; None if unknown.

    Example:
        >>> infer_language("app.py")
        'python'
        >>> infer_language(None, "#!/usr/bin/env node\nconsole.log(1)")
        'javascript'
    """
    if path is not None:
        language = LANGUAGES_BY_EXTENSION.get(Path(path).suffix.lower())
        if language:
            return language
    first = code.lstrip("\ufeff").split("\n", 1)[0]
    if first.startswith("<?php"):
        return "php"
    if first.startswith("#!"):
        words = first[2:].split()
        if words and Path(words[0]).name == "env":
            words = [w for w in words[1:] if not w.startswith("-")]
        if words:
            interpreter = Path(words[0]).name.rstrip("0123456789.")
            return _LANGUAGES_BY_INTERPRETER.get(interpreter)
    return None


def _bounded_text(stream: IO[bytes], name: str) -> str:
    """At most the size limit plus one byte of ``stream``, as text; binary input is refused."""
    from .models import LIMITS

    limit = LIMITS["document"]
    data = stream.read(limit * 4 + 1)  # a character is at most 4 bytes in UTF-8
    if b"\x00" in data:
        raise ValidationError(f"{name} is a binary file, not source code", field="code")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{name} is not UTF-8 text", field="code") from None
    if len(data) > limit * 4 or len(text) > limit:
        raise ValidationError(
            f"{name} is longer than {limit:,} characters, the most groqgen records",
            field="code",
        )
    return text


def _read_code(source: str) -> tuple[str, str | None]:
    """The code named by ``source`` (a path, or ``-`` for stdin) and its path, if any."""
    if source == "-":
        if is_terminal(sys.stdin):
            print("reading code from stdin; end it with Ctrl-D", file=sys.stderr)
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:  # a text-only stand-in for stdin
            return _bounded_text(io.BytesIO(sys.stdin.read().encode()), "stdin"), None
        return _bounded_text(binary, "stdin"), None
    path = Path(source)
    try:
        with path.open("rb") as stream:
            return _bounded_text(stream, source), source
    except FileNotFoundError:
        raise ValidationError(f"{source}: no such file", field="code") from None
    except IsADirectoryError:
        raise ValidationError(f"{source} is a folder, not a file", field="code") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{source} is not UTF-8 text", field="code") from None
    except OSError as exc:
        raise ValidationError(
            f"cannot read {source}: {exc.strerror or exc}", field="code"
        ) from None


def _code_inputs(args: argparse.Namespace) -> dict[str, Any]:
    code, path = _read_code(args.source)
    language = args.language or infer_language(path, code)
    if not language:
        where = "code read from stdin" if path is None else f"{path}"
        raise ValidationError(
            f"cannot tell the language of {where}; pass --language", field="language"
        )
    return {"code": code, "language": language}


def _inputs(args: argparse.Namespace) -> dict[str, Any]:
    """The generator call's inputs for this command, files read and defaults filled in."""
    fields = _KIND_FIELDS[args.command]
    inputs = {name: getattr(args, name) for name in fields if name != "code"}
    if "code" in fields:
        inputs.update(_code_inputs(args))
        if "framework" in fields and not inputs["framework"]:
            inputs["framework"] = _usual_test_framework(inputs["language"])
    for name, default in fields.items():
        if isinstance(default, tuple) and not inputs[name]:
            inputs[name] = list(default)
    return inputs


def _usual_test_framework(language: str) -> str:
    framework = DEFAULT_TEST_FRAMEWORKS.get(language.lower())
    if not framework:
        raise ValidationError(
            f"no usual test framework is known for {language}; pass --framework",
            field="framework",
        )
    return framework


# -- the client ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Client]:
    from .client import Client

    with Client(
        home=args.home,
        database_url=args.database_url,
        user_id=args.user_id,
        service=args.service,
        timeout=args.timeout,
        max_retries=args.max_retries,
    ) as client:
        yield client


def _project_id(client: Client, reference: str) -> uuid.UUID:
    """The id of the project ``reference`` names: an id, or a project's exact name."""
    try:
        project_id = uuid.UUID(reference)
    except ValueError:
        matches = [p.id for p in client.projects.iter() if p.name == reference]
        if not matches:
            raise ValidationError(
                f"no project is named {reference!r} ('groqgen projects list' shows them)",
                field="project",
            ) from None
        if len(matches) > 1:
            raise ValidationError(
                f"{len(matches)} projects are named {reference!r}; pass the id instead",
                field="project",
            ) from None
        return matches[0]
    try:
        client.projects.get(project_id)
    except NotFound:
        raise ValidationError(f"no project has the id {reference}", field="project") from None
    return project_id


# -- generation commands ---------------------------------------------------------------------------


class _StatusLine:
    """One passing line on stderr, such as ``thinking…``: shown, replaced, then erased.

    Only on a terminal, and never under ``--json``; elsewhere every call does nothing. A line
    can be scheduled to appear later (``waiting for Groq…`` after a quiet spell) from a timer
    thread, so drawing and erasing share a lock.
    """

    def __init__(self, out: _Output) -> None:
        self.enabled = not out.json_mode and is_terminal(sys.stderr)
        self._lock = threading.Lock()
        self._shown = ""
        self._timer: threading.Timer | None = None

    def show(self, text: str) -> None:
        """Show ``text`` now, in place of whatever was shown or scheduled."""
        if self.enabled:
            with self._lock:
                self._timer = None
                self._draw(text)

    def show_later(self, delay: float, text: str) -> None:
        """Show ``text`` after ``delay`` seconds, unless something is shown or erased first."""
        if not self.enabled:
            return
        timer = threading.Timer(delay, self._scheduled, (text,))
        timer.daemon = True
        with self._lock:
            self._timer = timer
        timer.start()

    def clear(self) -> None:
        """Erase the line and forget anything scheduled."""
        if self.enabled and (self._shown or self._timer is not None):
            with self._lock:
                self._timer = None
                self._draw("")

    def _scheduled(self, text: str) -> None:
        with self._lock:
            # A timer replaced or cleared meanwhile is no longer ours to draw.
            if self._timer is threading.current_thread():
                self._timer = None
                self._draw(text)

    def _draw(self, text: str) -> None:
        blank = "\r" + " " * len(self._shown) + "\r" if self._shown else ""
        sys.stderr.write(blank + text)
        sys.stderr.flush()
        self._shown = text


@contextlib.contextmanager
def _waiting_for_groq(client: Client, status: _StatusLine) -> Iterator[None]:
    """Say so on a terminal when Groq has not answered for a while; erase it when it does."""
    status.show_later(
        WAIT_NOTICE_AFTER, f"waiting for Groq… (timeout {client.settings.timeout:g} s)"
    )
    try:
        yield
    finally:
        status.clear()


def _generate(args: argparse.Namespace, out: _Output) -> int:
    from .generation import KINDS

    kind = args.command
    inputs = _inputs(args)  # files are read, and refused, before anything is opened
    with _client(args) as client:
        project_id = _project_id(client, args.project) if args.project else None
        options = {
            **inputs,
            "model": args.model,
            "project_id": project_id,
            "reasoning_effort": args.reasoning_effort,
            "max_completion_tokens": args.max_completion_tokens,
            "allow_truncated": args.allow_truncated,
        }
        if args.dry_run:
            _show_dry_run(out, getattr(client.generate, kind)(**options, dry_run=True))
            return EXIT_OK
        # A stream is printed as it arrives only where someone watches it (or as JSON lines);
        # into a pipe or a file it prints what the plain command prints: the cleaned output.
        live = args.stream and (out.json_mode or is_terminal(sys.stdout))
        try:
            if args.stream:
                row = _stream(client, kind, options, out, live=live)
            else:
                with _waiting_for_groq(client, _StatusLine(out)):
                    row = getattr(client.generate, kind)(**options)
        except RecordingFailed as exc:
            # Groq answered: show what was paid for before reporting that recording failed.
            text = exc.result.values.get(KINDS[kind].output_column, "")
            if out.json_mode:
                out.json({"recorded": False, "outbox": exc.result}, indent=None)
            elif not live:
                out.show(_SHOWN_AS[kind], text, inputs.get("language", ""))
            raise
        except TruncatedGeneration as exc:
            effort = args.reasoning_effort or client.settings.effort_for(kind)
            raise GenerationError(_truncated(exc, args, effort), request_id=exc.request_id) from exc
        except GenerationError as exc:
            if exc.code in _MODEL_GONE:
                raise _model_gone(client, args, exc) from exc
            raise
    column = KINDS[kind].output_column
    if out.json_mode:
        if args.stream:
            out.json({"result": row}, indent=None)
        else:
            out.json(row)
        return EXIT_OK
    if not live:
        out.show(_SHOWN_AS[kind], getattr(row, column), inputs.get("language", ""))
    out.note(f"recorded in {KINDS[kind].table} as {row.id} (model {row.model})")
    return EXIT_OK


_MODEL_GONE = ("model_decommissioned", "model_not_found")  # Groq's codes for a retired model


def _model_gone(client: Client, args: argparse.Namespace, exc: GenerationError) -> GenerationError:
    """One sentence naming the model Groq no longer serves, what it serves, and what to set."""
    model = args.model or client.model
    try:
        listing = ", ".join(m.id for m in client.models()) or "none"
    except GroqgenError:
        listing = "(its list of models could not be read)"
    if args.model:
        change = "pass one of them with --model"
    elif os.environ.get("GROQGEN_MODEL"):
        change = "set GROQGEN_MODEL to one of them"
    else:
        change = "pass one of them with --model or set GROQGEN_MODEL"
    return GenerationError(
        f"Groq no longer serves the model {model} ({exc.code}), so nothing was recorded; it "
        f"serves {listing}: {change}",
        status_code=exc.status_code,
        code=exc.code,
        request_id=exc.request_id,
    )


def _stream(client: Client, kind: str, options: dict[str, Any], out: _Output, *, live: bool) -> Any:
    """Read a stream to its end, printing the deltas when ``live``; the stored row."""
    status = _StatusLine(out)
    ended_with_newline = True
    try:
        with contextlib.ExitStack() as opened:
            with _waiting_for_groq(client, status):
                stream = opened.enter_context(getattr(client.generate.stream, kind)(**options))
            status.show("thinking…")  # reasoning arrives first, and is not shown
            for delta in stream:
                status.clear()
                if out.json_mode:
                    out.json({"delta": delta}, indent=None)
                elif live:
                    out.write(delta)
                    ended_with_newline = delta.endswith("\n")
    finally:
        status.clear()
        if not ended_with_newline:
            out.line()
    return stream.result


def _show_dry_run(out: _Output, dry_run: Any) -> None:
    if out.json_mode:
        out.json(dry_run)
        return
    for message in dry_run.messages:
        out.line(f"--- {message['role']} ---")
        out.line(str(message["content"]).rstrip("\n"))
    settings = {k: v for k, v in dry_run.parameters.items() if k != "messages"}
    out.line("--- parameters ---")
    out.line(json.dumps(settings, ensure_ascii=False))
    out.note(f"dry run ({dry_run.kind}, template {dry_run.template_version}): nothing was sent")


# -- models ----------------------------------------------------------------------------------------


def _tokens(count: int | None) -> str:
    return "" if count is None else f"{count:,}"


def _models(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client:
        with _waiting_for_groq(client, _StatusLine(out)):
            served = client.models()
        default = client.model
    if out.json_mode:
        out.json([{**dataclasses.asdict(m), "default": m.id == default} for m in served])
        return EXIT_OK
    out.table(
        ("", "ID", "CONTEXT", "MAX COMPLETION", "OWNER"),
        [
            (
                "*" if m.id == default else "",
                m.id,
                _tokens(m.context_window),
                _tokens(m.max_completion_tokens),
                m.owned_by,
            )
            for m in served
        ],
    )
    if any(m.id == default for m in served):
        out.note("* marks the default model; pass --model or set GROQGEN_MODEL for another")
    else:
        out.note(
            f"the default model {default} is not among them; pass --model or set "
            "GROQGEN_MODEL to one of these"
        )
    return EXIT_OK


# -- projects, history -----------------------------------------------------------------------------


def _projects_list(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client:
        page = client.projects.list(limit=args.limit, cursor=args.cursor)
    if out.json_mode:
        out.json({"items": page.items, "next_cursor": page.next_cursor})
        return EXIT_OK
    if not page.items:
        out.note("no projects yet ('groqgen projects create NAME' makes one)")
        return EXIT_OK
    out.table(
        ("ID", "NAME", "CREATED", "DESCRIPTION"),
        [(str(p.id), p.name, _when(p.created_at), shorten(p.description)) for p in page.items],
    )
    if page.next_cursor:
        out.note(f"more: groqgen projects list --cursor {page.next_cursor}")
    return EXIT_OK


def _projects_create(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client:
        project = client.projects.create(args.name, description=args.description)
    if out.json_mode:
        out.json(project)
    else:
        out.line(str(project.id))
        out.note(f"created project {project.name!r}")
    return EXIT_OK


def _projects_show(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client:
        project = client.projects.get(_project_id(client, args.project))
        counts = client.projects.resource_counts(project.id)
    if out.json_mode:
        out.json({**project.model_dump(mode="json"), "resource_counts": counts})
        return EXIT_OK
    out.line(f"{project.name}  ({project.id})")
    if project.description:
        out.line(project.description)
    out.line(f"created {_when(project.created_at)}, updated {_when(project.updated_at)}")
    out.line(
        ", ".join(
            _plural(n, what)
            for n, what in (
                (counts.prompt_count, "prompt"),
                (counts.code_generation_count, "code generation"),
                (counts.code_review_count, "code review"),
                (counts.test_count, "test suite"),
            )
        )
    )
    return EXIT_OK


def _history(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client:
        entries = client.activity_logs.recent(limit=args.limit)
    if out.json_mode:
        out.json(entries)
        return EXIT_OK
    if not entries:
        out.note("no activity yet")
        return EXIT_OK
    out.table(
        ("WHEN", "ACTIVITY", "DESCRIPTION"),
        [(_when(e.created_at), e.activity_type, shorten(e.description, 80)) for e in entries],
    )
    return EXIT_OK


# -- export ----------------------------------------------------------------------------------------


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: Any, *, raw: bool = False) -> Any:
    """One CSV cell, with formula-like text defused unless ``raw``.

    Text a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab
    or a carriage return) is prefixed with ``'``, OWASP's advice against CSV injection: stored
    text is other people's input.
    """
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    if not raw and isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _export_rows(
    client: Client,
    tables: Sequence[str],
    form: str,
    sink: IO[str],
    out: _Output,
    *,
    raw: bool = False,
) -> int:
    from .models import TABLES

    shown = not out.json_mode and progress_shown(None)
    written = 0
    for name in tables:
        repository = getattr(client, name)
        total = repository.count() if shown else 0  # counted only for a progress line
        progress = Progress(total, shown, label=f"exporting {name}", failures=False, every=200)
        if form == "csv":
            writer = csv.writer(sink)
            writer.writerow(TABLES[name].columns)
        for row in repository.iter():
            data = row.model_dump(mode="json")
            if form == "csv":
                writer.writerow([_csv_value(data.get(c), raw=raw) for c in TABLES[name].columns])
            else:
                line = data if len(tables) == 1 else {"table": name, "row": data}
                sink.write(json.dumps(line, ensure_ascii=False) + "\n")
            written += 1
            progress.advance()
        progress.close()
    return written


def _export(args: argparse.Namespace, out: _Output) -> int:
    if args.format == "csv" and not args.table:
        raise ValidationError("a CSV file holds one table: pass --table NAME", field="table")
    tables = [args.table] if args.table else list(TABLE_NAMES)
    with _client(args) as client:
        if args.output is None:
            written = _export_rows(client, tables, args.format, sys.stdout, out, raw=args.raw_csv)
            sys.stdout.flush()
        else:
            # Written beside the target and renamed at the end: a failed export leaves no
            # half-written file under the name asked for.
            target = Path(args.output)
            partial = target.with_name(target.name + ".part")
            try:
                with open(partial, "w", encoding="utf-8", newline="") as sink:
                    written = _export_rows(client, tables, args.format, sink, out, raw=args.raw_csv)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            os.replace(partial, target)
    where = "stdout" if args.output is None else args.output
    out.note(f"exported {_plural(written, 'row')} of {', '.join(tables)} to {where}")
    return EXIT_OK


# -- database --------------------------------------------------------------------------------------


def _database_url(args: argparse.Namespace, command: str) -> str:
    """The database a ``db`` command works on; a missing or malformed URL is bad input."""
    url = args.database_url or os.environ.get("GROQGEN_DATABASE_URL")
    if not url:
        raise ValidationError(
            f"db {command} needs a database: pass --database-url or set GROQGEN_DATABASE_URL",
            field="database_url",
        )
    try:
        import psycopg
    except ImportError:  # the migrations module says how to install it
        return str(url)
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ValidationError(
            "--database-url is not a PostgreSQL URL; expected "
            "postgresql://user:password@host:port/dbname",
            field="database_url",
        ) from None
    return str(url)


def _db_migrate(args: argparse.Namespace, out: _Output) -> int:
    from . import migrations

    url = _database_url(args, "migrate")
    if args.dry_run:
        return _db_migrate_plan(migrations.plan(url), out)
    applied = migrations.apply(url, progress=out.note)
    if out.json_mode:
        out.json({"applied": applied})
        return EXIT_OK
    if applied:
        out.line(f"applied migrations {', '.join(applied)}")
    else:
        out.line("the database is up to date; nothing to apply")
    broken = migrations.unvalidated(url)
    if broken:
        out.line(
            f"{_plural(len(broken), 'rule')} of groqgen's hold for new writes but existing rows "
            f"break them ({', '.join(broken)}): 'groqgen db check' lists the rows, "
            "'groqgen db repair' fixes them"
        )
    return EXIT_OK


def _db_migrate_plan(plan: Any, out: _Output) -> int:
    if out.json_mode:
        out.json(plan.to_dict())
        return EXIT_OK
    out.line(f"-- groqgen db migrate --dry-run ({_STATE_WORDS[plan.state]}): nothing was changed")
    if not plan.steps:
        out.line("-- nothing to apply")
    for number, step in enumerate(plan.steps, 1):
        out.line(f"\n-- step {number} ({step.migration}): {step.action}")
        out.line(step.sql.strip())
    if plan.violations:
        out.line("\n-- existing rows these rules will hold for new writes but leave unvalidated:")
        for violation in plan.violations:
            if violation.count:
                out.line(f"--   {_violation_line(violation)}: {', '.join(violation.ids)}")
    return EXIT_OK


def _db_sql(args: argparse.Namespace, out: _Output) -> int:
    from . import migrations

    script = migrations.sql(adopt=args.adopt)
    if out.json_mode:
        out.json({"sql": script})
    else:
        out.write(script)
    return EXIT_OK


_STATE_WORDS = {
    "empty": "an empty database: `groqgen db migrate` installs groqgen's schema",
    "web-app": "the web app's tables, not adopted yet",
    "groqgen": "groqgen's schema",
    "drifted": "groqgen's schema, with differences from a fresh install",
    "unrecognised": "not a schema groqgen knows",
}


def _violation_line(violation: Any) -> str:
    return (
        f"{violation.rule} ({violation.table}): {violation.description} — "
        f"{_plural(violation.count, 'row')}"
    )


def _db_check(args: argparse.Namespace, out: _Output) -> int:
    from . import migrations

    report = migrations.check(_database_url(args, "check"))
    if out.json_mode:
        out.json(report.to_dict())
        return EXIT_OK if report.clean else EXIT_FAILURE
    version = f" at version {report.version}" if report.version else ""
    out.line(f"database: {_STATE_WORDS[report.state]}{version}")
    if report.pending:
        out.line(f"pending migrations: {', '.join(report.pending)}")
    if report.drift:
        out.line(f"differences from a fresh install ({len(report.drift)}):")
        for line in report.drift:
            out.line(f"  {line}")
    if report.violations:
        rows = sum(v.count for v in report.violations)
        out.line(
            f"legacy rows breaking groqgen's rules: {_plural(rows, 'row')} across "
            f"{_plural(len(report.violations), 'rule')}"
        )
        for violation in report.violations:
            out.line(f"  {_violation_line(violation)}")
            for row_id in violation.ids:
                out.line(f"    {row_id}")
            if violation.count > len(violation.ids):
                out.line(f"    … and {violation.count - len(violation.ids):,} more")
        if report.state in ("groqgen", "drifted"):
            out.line("'groqgen db repair --dry-run' shows how 'groqgen db repair' would fix them")
    for note in report.notes:
        out.line(note)
    if report.clean:
        out.line("clean: nothing to do")
    return EXIT_OK if report.clean else EXIT_FAILURE


def _shown(value: Any) -> str:
    """A value before or after a repair, short enough for one line."""
    if isinstance(value, str):
        text = shorten(value, 40)
        return f"{text!r}" + (f" ({len(value):,} characters)" if len(value) > 40 else "")
    return shorten(json.dumps(value, ensure_ascii=False), 60)


def _db_repair(args: argparse.Namespace, out: _Output) -> int:
    from . import migrations

    report = migrations.repair(_database_url(args, "repair"), dry_run=args.dry_run)
    if out.json_mode:
        out.json(report.to_dict())
        return EXIT_FAILURE if report.unrepaired else EXIT_OK
    verb = "would change" if report.dry_run else "changed"
    if report.changes:
        kept = "" if report.dry_run else " (each kept in groqgen.repair_log)"
        out.line(f"{verb} {_plural(len(report.changes), 'value')}{kept}:")
        for change in report.changes:
            out.line(
                f"  {change.table} {change.id} {change.column}: {_shown(change.before)} -> "
                f"{_shown(change.after)}  [{change.rule}]"
            )
    else:
        out.line("no legacy row needs a repair")
    if report.validated:
        out.line(
            f"validated {_plural(len(report.validated), 'rule')}: {', '.join(report.validated)}"
        )
    for violation in report.unrepaired:
        out.line(f"not repaired, a person decides: {_violation_line(violation)}")
        for row_id in violation.ids:
            out.line(f"    {row_id}")
    if report.dry_run:
        out.line("nothing was changed (--dry-run)")
    return EXIT_FAILURE if report.unrepaired else EXIT_OK


# -- outbox ----------------------------------------------------------------------------------------


def _outbox_list(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client:
        everything = client.outbox.pending(all_accounts=True)
        me = client.outbox.identity()
        rejects = client.outbox.rejects()
        path, rejects_path = client.outbox.path, client.outbox.rejects_path
    entries = everything if args.all_accounts else [e for e in everything if e.belongs_to(me)]
    others = len(everything) - len(entries)
    if out.json_mode:
        out.json(entries)
        return EXIT_OK
    if args.all_accounts:
        out.table(
            ("ID", "TABLE", "SINCE", "STORE", "USER", "WHY"),
            [
                (
                    str(e.id),
                    e.table,
                    _when(e.created_at),
                    e.target,
                    e.user or "?",
                    shorten(e.reason),
                )
                for e in entries
            ],
        )
    elif entries:
        out.table(
            ("ID", "TABLE", "SINCE", "WHY"),
            [(str(e.id), e.table, _when(e.created_at), shorten(e.reason)) for e in entries],
        )
    if not entries:
        out.note(f"nothing is waiting in the outbox ({path})")
    else:
        out.note(f"{len(entries)} waiting; 'groqgen outbox flush' records them")
    if others:
        out.note(
            f"{others} more belong to other stores or users "
            "('groqgen outbox list --all' shows them)"
        )
    if rejects:
        lines = ", ".join(f"line {r.line} ({r.reason})" for r in rejects[:3])
        more = f" and {len(rejects) - 3} more" if len(rejects) > 3 else ""
        out.note(f"damaged lines were set aside in {rejects_path}: {lines}{more}")
    return EXIT_OK


def _outbox_flush(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client:
        result = client.outbox.flush()
    failed = result.failed
    refused = [f for f in failed if f.permanent]
    if out.json_mode:
        out.json(
            {
                "recorded": result.recorded,
                "failed": [
                    {
                        "id": f.entry.id,
                        "table": f.entry.table,
                        "error": f.error,
                        "permanent": f.permanent,
                    }
                    for f in failed
                ],
                "skipped_other_stores": result.left_for_others,
            }
        )
    else:
        out.line(f"recorded {result.recorded}, failed {len(failed)}")
        for failure in failed:
            entry = failure.entry
            hint = f" [refused: 'groqgen outbox drop {entry.id}' removes it]"
            out.line(
                f"  {entry.id} ({entry.table}): {shorten(failure.error, 100)}"
                + (hint if failure.permanent else "")
            )
        if result.left_for_others:
            out.note(
                f"{result.left_for_others} entries belong to other stores or users; left as is"
            )
    if refused:
        raise GroqgenError(
            f"{len(failed)} pending generations could not be recorded; the store refuses "
            f"{len(refused)} of them whatever the retry: fix what it says, or drop them with "
            "'groqgen outbox drop ID'"
        )
    if failed:
        raise GroqgenError(f"{len(failed)} pending generations could not be recorded; try again")
    return EXIT_OK


def _outbox_drop(args: argparse.Namespace, out: _Output) -> int:
    from .generation import KINDS

    with _client(args) as client:
        dropped = client.outbox.discard(args.id)
    if out.json_mode:
        out.json({"dropped": dropped})
        return EXIT_OK
    column = next(k.output_column for k in KINDS.values() if k.table == dropped.table)
    text = shorten(str(dropped.values.get(column) or ""))
    out.line(f"dropped {dropped.id} ({dropped.table}, since {_when(dropped.created_at)}): {text}")
    out.note("it will not be recorded; its text is gone from the outbox")
    return EXIT_OK


# -- auth ------------------------------------------------------------------------------------------


def _auth(client: Client) -> Any:
    if client.settings.store_kind != "supabase":
        raise ConfigurationError(
            "groqgen auth signs in to a Supabase project, but this groqgen uses the "
            f"{client.settings.store_kind} store; set SUPABASE_URL and SUPABASE_KEY",
            setting="SUPABASE_URL",
        )
    return client.auth


def _user_json(user: Any) -> dict[str, Any]:
    return {"id": str(user.id), "email": getattr(user, "email", None)}


def _auth_login(args: argparse.Namespace, out: _Output) -> int:
    email = args.email
    if args.password_stdin:
        if not email:
            raise ValidationError("with --password-stdin, pass --email too", field="email")
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not is_terminal(sys.stdin):
            raise ValidationError(
                "no terminal to ask for the password on; pipe it in with --password-stdin",
                field="password",
            )
        import getpass

        if not email:
            sys.stderr.write("email: ")
            sys.stderr.flush()
            email = sys.stdin.readline().strip()
        password = getpass.getpass("password: ")
    if not email or not password:
        raise ValidationError("an email and a password are needed to sign in", field="email")
    with _client(args) as client:
        user = _auth(client).sign_in_with_password(email, password)
    if out.json_mode:
        out.json(_user_json(user))
    else:
        out.line(f"signed in as {user.email} ({user.id})")
    return EXIT_OK


def _auth_logout(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client:
        _auth(client).sign_out()
    if out.json_mode:
        out.json({"signed_out": True})
    else:
        out.line("signed out")
    return EXIT_OK


def _auth_whoami(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client:
        user = _auth(client).user()
        store = client.settings.describe_store()
    if user is None:
        raise AuthenticationError("not signed in; run 'groqgen auth login'")
    if out.json_mode:
        out.json({**_user_json(user), "store": store})
    else:
        out.line(f"{user.email} ({user.id}) on {store}")
    return EXIT_OK


# -- main ------------------------------------------------------------------------------------------


def _describe(exc: GroqgenError, args: argparse.Namespace) -> str:
    """One line saying what went wrong, in the command line's terms."""
    if isinstance(exc, RecordingFailed):
        cause = exc.__cause__ or "the store refused it"
        if exc.code == "outbox_unwritable":  # groqgen.outbox.UNWRITABLE
            return (
                f"the generation succeeded but could not be recorded ({cause}), and it could not "
                "be kept in the outbox either (the disk refused the write); only this output "
                "holds it: save it"
            )
        return (
            f"the generation succeeded but could not be recorded ({cause}); it is kept in the "
            "outbox: run 'groqgen outbox flush' once the store is back"
        )
    if isinstance(exc, ValidationError) and _field_errors(exc):
        problems = []
        for error in _field_errors(exc):
            field = str(error.get("field", "")).split(".")[0]
            name = _field_name(field, args)
            message = str(error.get("message", "")).removeprefix("Value error, ")
            problems.append(f"{name}: {_in_cli_terms(message, args, **{field: name})}")
        return "; ".join(problems)
    text = _in_cli_terms(str(exc), args)
    if isinstance(exc, GenerationError) and _timed_out(exc):
        text += "; pass a larger --timeout to wait longer"
    return text


def _field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Every problem as ``{"field", "message"}``, a library's ``"field: message"`` included."""
    prefix = f"{exc.field}: "
    if exc.errors or not exc.field or not exc.message.startswith(prefix):
        return exc.errors
    return [{"field": exc.field, "message": exc.message.removeprefix(prefix)}]


def _field_name(field: str, args: argparse.Namespace) -> str:
    """How the user set ``field``: its flag, or the environment variable it came from."""
    name = field.split(".")[0]
    variable: str | None = getattr(args, "variables", {}).get(name)
    if variable and getattr(args, name, None) is None and os.environ.get(variable):
        return variable
    return str(getattr(args, "flags", {}).get(name, field))


_KEYWORD_ARGUMENT = re.compile(r"\b([a-z_][a-z0-9_]*)=(?:True\b)?(?=[\s,.;:)]|$)")
_SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# Where a library message offers a keyword the command line has no flag for, that offer goes.
_NO_FLAG_OFFERS = (
    re.compile(r",? or pass [a-z_]+= to the client"),  # "set GROQ_API_KEY or pass groq_api_key=..."
    re.compile(r" \([a-z_]+=\)"),  # "SUPABASE_KEY (supabase_key=)"
    re.compile(r", [a-z_]+=(?=\))"),  # "(GROQGEN_TIMEOUT, timeout=)"
)


def _in_cli_terms(text: str, args: argparse.Namespace, **names: str) -> str:
    """A library message in the command line's terms.

    Python keywords (``model=``, ``reasoning_effort``) become the flags that set them
    (``--model``, ``--effort``), or the spelling ``names`` gives them.
    """
    flags: dict[str, str] = {**getattr(args, "flags", {}), **names}
    text = _KEYWORD_ARGUMENT.sub(lambda m: flags.get(m.group(1), m.group(0)), text)
    for offer in _NO_FLAG_OFFERS:
        text = offer.sub("", text)
    return _SNAKE_CASE.sub(lambda m: flags.get(m.group(0), m.group(0)), text)


def _timed_out(exc: BaseException) -> bool:
    """Whether a timeout (groq's, httpx's or the standard one) lies behind ``exc``."""
    seen: BaseException | None = exc
    while seen is not None:
        names = {cls.__name__ for cls in type(seen).__mro__}
        if isinstance(seen, TimeoutError) or names & {"APITimeoutError", "TimeoutException"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _truncated(exc: TruncatedGeneration, args: argparse.Namespace, effort: str | None) -> str:
    """What to change when Groq's answer was cut off or empty (at ``effort``, if known)."""
    used, reasoning = _tokens_used(exc.usage, "completion_tokens"), _reasoning_tokens(exc.usage)
    if used is not None:
        spent = f"{used:,} completion tokens"
        spent += f", {reasoning:,} of them reasoning" if reasoning else ""
    else:
        spent = f"{reasoning:,} reasoning tokens" if reasoning else ""
    if exc.finish_reason == "length":
        what = "Groq's answer was cut off (the model spent its token budget"
        what += f": {spent})" if spent else ")"
    else:
        what = "Groq's answer came back empty" + (f" ({spent})" if spent else "")
    changes = []
    if effort not in ("none", "low"):
        changes.append("--effort low")
    budget = args.max_completion_tokens
    changes.append(f"a --max-tokens above {budget}" if budget else "a larger --max-tokens")
    advice = " or ".join(changes)
    if exc.text and not args.allow_truncated:
        advice += " (--allow-truncated records the partial answer)"
    return f"{what}; nothing was recorded — try {advice}"


def _tokens_used(usage: dict[str, Any], key: str) -> int | None:
    found = usage.get(key)
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def _reasoning_tokens(usage: dict[str, Any]) -> int | None:
    found = _tokens_used(usage, "reasoning_tokens")
    details = usage.get("completion_tokens_details")
    if found is None and isinstance(details, dict):
        found = _tokens_used(details, "reasoning_tokens")
    return found


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    # Library messages end in a full stop and are sometimes joined with more punctuation.
    return re.sub(r"(?<!\.)\.(?=[.;])(?!\.\.)", "", line)


def _error(text: str) -> None:
    line = _one_line(text)
    print(f"groqgen: error: {_visible(line) if is_terminal(sys.stderr) else line}", file=sys.stderr)


def _quiet_stdout() -> None:
    """After a broken pipe (``groqgen export | head``), send further output nowhere."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``groqgen`` command line with ``argv`` (default: ``sys.argv[1:]``).

    Returns the exit status instead of exiting: 0 ok, 2 bad input, 1 any other failure.

    Example:
        >>> main(["db", "sql"])  # doctest: +SKIP
        0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help and --version print, then exit
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except ValidationError as exc:
        _error(str(exc))
        return EXIT_USAGE
    out = _Output(json_mode=args.json, color=args.color)
    try:
        return args.handler(args, out)  # type: ignore[no-any-return]
    except KeyboardInterrupt as exc:
        # A RecordingInterrupted: Groq had answered, and the result was parked first.
        parked, path = getattr(exc, "result", None), getattr(exc, "path", None)
        if parked is not None and path is not None:
            _error(
                f"interrupted; the paid generation {parked.id} is kept in the outbox at {path}: "
                "run 'groqgen outbox flush' to record it"
            )
        else:
            _error("interrupted")
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_FAILURE
    except GroqgenError as exc:
        if args.debug:
            traceback.print_exc()
        _error(_describe(exc, args))
        return EXIT_USAGE if isinstance(exc, ValidationError) else EXIT_FAILURE
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        hint = "" if args.debug else " (run again with --debug for the traceback)"
        _error(f"unexpected {type(exc).__name__}: {exc}{hint}")
        return EXIT_FAILURE
