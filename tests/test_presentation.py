"""What a person sees: shortened text and the progress of a long job."""

from __future__ import annotations

import builtins
import sys
from typing import Any

import pytest

from groqgen.presentation import Progress, progress_shown, shorten


def test_shorten_puts_text_on_one_line_within_the_limit() -> None:
    assert shorten("release\n  notes", 60) == "release notes"
    assert shorten("x" * 100, 10) == "x" * 9 + "…"
    assert len(shorten("x" * 100, 10)) == 10
    assert shorten(None) == ""


@pytest.fixture
def no_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def without_tqdm(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("tqdm"):
            raise ImportError("no tqdm")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_tqdm)


def test_progress_is_a_line_rewritten_in_place_counting_failures(
    no_tqdm: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with Progress(2, True, label="generating") as progress:
        progress.advance()
        progress.advance(failed=True)
    err = capsys.readouterr().err
    assert err == "\rgenerating 0/2  failed 0\rgenerating 1/2  failed 0\rgenerating 2/2  failed 1\n"


def test_progress_of_many_quick_items_is_redrawn_every_so_often(
    no_tqdm: None, capsys: pytest.CaptureFixture[str]
) -> None:
    progress = Progress(5, True, label="exporting prompts", failures=False, every=2)
    for _ in range(5):
        progress.advance()
    progress.close()
    assert capsys.readouterr().err.split("\r")[1:] == [
        "exporting prompts 0/5",
        "exporting prompts 2/5",
        "exporting prompts 4/5",
        "exporting prompts 5/5\n",
    ]


def test_progress_is_silent_when_unwanted_or_empty(
    no_tqdm: None, capsys: pytest.CaptureFixture[str]
) -> None:
    for progress in (Progress(3, False), Progress(0, True)):
        assert not progress.shown
        progress.advance()
        progress.close()
    assert capsys.readouterr().err == ""


def test_progress_shows_by_itself_only_where_someone_watches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not progress_shown(None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress_shown(None)
    assert not progress_shown(False)
