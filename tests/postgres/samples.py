"""Valid row values for every table, for tests that write rows directly in SQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

# A table's values besides id, user_id, project_id and created_at, and one column to update.
ROW_VALUES: dict[str, dict[str, Any]] = {
    "projects": {"name": "Launch", "description": "the launch plan"},
    "prompts": {
        "topic": "release notes",
        "prompt_type": "writing",
        "tone": "casual",
        "length": 50,
        "model": "llama-3.3-70b-versatile",
        "generated_prompt": "Write release notes for ...",
    },
    "code_generations": {
        "description": "a fizzbuzz",
        "language": "python",
        "framework": "none",
        "model": "llama-3.3-70b-versatile",
        "generated_code": "print(1)",
    },
    "code_reviews": {
        "code": "print(1)",
        "language": "python",
        "review_type": "general",
        "model": "llama-3.3-70b-versatile",
        "review_result": "## Summary\nFine.",
    },
    "tests": {
        "code": "def f(): return 1",
        "language": "python",
        "framework": "pytest",
        "test_types": ["unit", "edge"],
        "coverage": "moderate",
        "model": "llama-3.3-70b-versatile",
        "generated_tests": "def test_f(): assert f() == 1",
    },
    "activity_logs": {
        "activity_type": "prompt_generation",
        "description": "Generated a prompt",
        "metadata": {"model": "llama-3.3-70b-versatile"},
    },
}

UPDATES: dict[str, tuple[str, Any]] = {
    "profiles": ("full_name", "Renamed"),
    "projects": ("name", "Renamed"),
    "prompts": ("topic", "changed"),
    "code_generations": ("description", "changed"),
    "code_reviews": ("review_type", "security"),
    "tests": ("coverage", "basic"),
    "activity_logs": ("description", "changed"),
}


def insert_row(
    conn: Any,
    table: str,
    user_id: uuid.UUID,
    project_id: uuid.UUID | None = None,
    **overrides: Any,
) -> uuid.UUID:
    """Insert a valid row into ``table`` owned by ``user_id``; returns its id."""
    row_id = uuid.uuid4()
    values: dict[str, Any] = {"id": row_id, "user_id": user_id, **ROW_VALUES[table]}
    if table != "projects":
        values["project_id"] = project_id
    values.update(overrides)
    if "metadata" in values and values["metadata"] is not None:
        values["metadata"] = json.dumps(values["metadata"])
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    conn.execute(f"insert into public.{table} ({columns}) values ({marks})", list(values.values()))
    return row_id
