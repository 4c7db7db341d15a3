"""Rows, pages and repositories in a notebook: markdown and HTML reprs, and pandas."""

from __future__ import annotations

import builtins
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from groqgen import Client, ConfigurationError
from groqgen.models import CodeGeneration, CodeReview, Project, Prompt, TestGeneration
from groqgen.repositories import Page

NOW = datetime(2026, 11, 26, 1, 2, tzinfo=timezone.utc)
BASE = {
    "id": uuid.uuid4(),
    "created_at": NOW,
    "user_id": uuid.uuid4(),
    "model": "llama-3.3-70b-versatile",
}


def test_a_prompt_renders_as_its_text() -> None:
    row = Prompt(
        **BASE,
        topic="release notes",
        prompt_type="writing",
        tone="casual",
        length=40,
        generated_prompt="Write release notes for v2.",
    )
    markdown = row._repr_markdown_()
    assert "Write release notes for v2." in markdown
    assert "release notes" in markdown and "casual" in markdown


def test_code_renders_highlighted_in_its_language() -> None:
    row = CodeGeneration(
        **BASE,
        description="add",
        language="Python",
        framework="none",
        generated_code="def add(a, b):\n    return a + b\n",
    )
    assert "```python\ndef add(a, b):\n    return a + b\n```" in row._repr_markdown_()


def test_code_containing_fences_keeps_its_fence_intact() -> None:
    row = TestGeneration(
        **BASE,
        code="x",
        language="markdown",
        framework="pytest",
        test_types=["unit"],
        coverage="basic",
        generated_tests="```\ninner\n```",
    )
    assert "````markdown\n```\ninner\n```\n````" in row._repr_markdown_()


def test_a_review_renders_as_the_markdown_it_is() -> None:
    review = "## Summary\nFine.\n\n## Issues\n1. **Severity**: low"
    row = CodeReview(**BASE, code="x", language="go", review_type="security", review_result=review)
    assert row._repr_markdown_().endswith(review)


def test_other_rows_render_as_a_table_of_fields() -> None:
    row = Project(
        id=uuid.uuid4(),
        created_at=NOW,
        updated_at=NOW,
        user_id=uuid.uuid4(),
        name="A|B",
        description=None,
    )
    markdown = row._repr_markdown_()
    assert "| name | A\\|B |" in markdown
    assert "| description |  |" in markdown


def test_a_page_renders_as_an_html_table() -> None:
    rows = [
        Prompt(
            **{**BASE, "id": uuid.uuid4()},
            topic=f"<t{i}>",
            prompt_type="writing",
            tone="casual",
            length=40,
            generated_prompt="x" * 200,
        )
        for i in range(2)
    ]
    html = Page(rows, next_cursor="abc")._repr_html_()
    assert html.count("<tr>") == 3
    assert "&lt;t0&gt;" in html  # escaped
    assert "…" in html  # long values shortened
    assert "next_cursor" in html
    assert Page([])._repr_html_() == "<p><em>no rows</em></p>"


def test_pages_and_repositories_become_dataframes(tmp_path: Path) -> None:
    import pandas as pd

    with Client(home=tmp_path) as client:
        for i in range(3):
            client.prompts.create(topic=f"t{i}", model="m", generated_prompt="p")
        frame = client.prompts.list(limit=2).to_pandas()
        assert isinstance(frame, pd.DataFrame)
        assert list(frame["topic"]) == ["t2", "t1"]
        everything = client.prompts.to_pandas()
        assert len(everything) == 3
        assert str(everything["created_at"].dtype).startswith("datetime64")


def test_without_pandas_to_pandas_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def without_pandas(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("no pandas")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_pandas)
    with (
        Client(home=tmp_path) as client,
        pytest.raises(ConfigurationError, match="pip install pandas"),
    ):
        client.prompts.to_pandas()


def test_lists_of_rows_render_as_tables_too(tmp_path: Path) -> None:
    with Client(home=tmp_path) as client:
        client.activity_logs.log("login", "Signed in")
        recent = client.activity_logs.recent()
        assert isinstance(recent, list)
        assert "<table>" in recent._repr_html_() and "login" in recent._repr_html_()
        assert list(recent.to_pandas()["activity_type"]) == ["login"]
