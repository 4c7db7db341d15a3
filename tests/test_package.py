"""The package imports cheaply and without side effects, and exports what the spec names."""

from __future__ import annotations

import json
import subprocess
import sys

import groqgen

HEAVY = ["groq", "postgrest", "supabase_auth", "psycopg", "httpx", "pydantic", "sqlite3"]


def _after_import(code: str) -> dict[str, object]:
    probe = (
        "import json, sys, logging\n"
        f"{code}\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'handlers': len(logging.getLogger().handlers)}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_import_loads_no_heavy_module_and_sets_up_no_logging() -> None:
    state = _after_import("import groqgen")
    loaded = set(state["modules"])  # type: ignore[arg-type]
    assert not [m for m in HEAVY if m in loaded]
    assert state["handlers"] == 0


def test_names_load_on_first_use() -> None:
    state = _after_import("from groqgen import Prompt, NotFound")
    assert "pydantic" in state["modules"]  # type: ignore[operator]


def test_every_exported_name_resolves_and_is_documented() -> None:
    for name in groqgen.__all__:
        value = getattr(groqgen, name)
        if name != "__version__":
            assert value.__doc__, name


def test_errors_form_one_hierarchy() -> None:
    for name in (
        "ValidationError",
        "ConfigurationError",
        "AuthenticationError",
        "PermissionDenied",
        "NotFound",
        "RateLimited",
        "GenerationError",
        "StoreError",
        "RecordingFailed",
    ):
        assert issubclass(getattr(groqgen, name), groqgen.GroqgenError), name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        groqgen.Nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "Nope" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
