"""Templates are data: versioned, overridable, and checked before anything is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from groqgen import Client, ConfigurationError, ValidationError
from groqgen.generation import clean_prompt, extract_code
from groqgen.templates import DEFAULT_TEMPLATES, Template


def _client(tmp_path: Path, **options: Any) -> Client:
    return Client(home=tmp_path, groq_api_key="gsk_test", **options)


def test_an_overriding_template_is_used_and_its_version_recorded(
    tmp_path: Path, groq_peer: Any
) -> None:
    mine = Template(version="team-review-7", system="Review {language} tersely.", user="{code}")
    with _client(tmp_path, groq_base_url=groq_peer.base_url, templates={"review": mine}) as client:
        row = client.generate.review("x = 1", language="python")
        entry = client.activity_logs.get(row.id)
    assert entry.metadata["template_version"] == "team-review-7"
    (sent,) = groq_peer.chat_requests
    assert sent.json["messages"] == [
        {"role": "system", "content": "Review python tersely."},
        {"role": "user", "content": "x = 1"},
    ]


def test_a_template_with_an_unknown_field_fails_before_any_request(
    tmp_path: Path, groq_peer: Any
) -> None:
    broken = Template(version="b1", system="{nonexistent}", user="{topic}")
    with (
        _client(tmp_path, groq_base_url=groq_peer.base_url, templates={"prompt": broken}) as client,
        pytest.raises(ConfigurationError, match="nonexistent") as info,
    ):
        client.generate.prompt("x")
    assert info.value.setting == "templates"
    assert groq_peer.requests == []


def test_templates_for_unknown_kinds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="poem"):
        _client(tmp_path, templates={"poem": DEFAULT_TEMPLATES["prompt"]})


def test_length_shapes_the_prompt_request(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        short = client.generate.prompt("x", length=10, dry_run=True)
        long = client.generate.prompt("x", length=100, dry_run=True)
    assert "40 words" in short.messages[0]["content"]
    assert "400 words" in long.messages[0]["content"]
    assert short.parameters["max_completion_tokens"] < long.parameters["max_completion_tokens"]


@pytest.mark.parametrize(
    ("kind", "inputs", "expected"),
    [
        (
            "prompt",
            {"topic": "x", "prompt_type": "coding", "tone": "technical"},
            ["coding", "technical"],
        ),
        ("code", {"description": "d", "language": "rust", "framework": "tokio"}, ["rust", "tokio"]),
        (
            "review",
            {"code": "c", "language": "go", "review_type": "security"},
            ["security", "injection"],
        ),
        (
            "tests",
            {
                "code": "c",
                "language": "python",
                "framework": "pytest",
                "test_types": ["edge", "e2e"],
                "coverage": "comprehensive",
            },
            ["pytest", "edge, e2e", "comprehensive"],
        ),
    ],
)
def test_the_messages_carry_what_was_asked(
    tmp_path: Path, kind: str, inputs: dict[str, Any], expected: list[str]
) -> None:
    with _client(tmp_path) as client:
        first_key = next(iter(inputs))
        rest = {k: v for k, v in inputs.items() if k != first_key}
        preview = getattr(client.generate, kind)(inputs[first_key], **rest, dry_run=True)
    text = "\n".join(m["content"] for m in preview.messages)
    for word in expected:
        assert word in text
    assert preview.template_version == DEFAULT_TEMPLATES[kind].version


@pytest.mark.parametrize(
    ("reply", "language", "code"),
    [
        ("```python\nprint(1)\n```", "python", "print(1)\n"),
        ("Sure! Here:\n\n```py\na = 1\n```\nand\n```python\nb = 2\n```\nDone", "python", "b = 2\n"),
        ("```\nx\n```\ntext\n```\ny\n```", "go", "x\n\ny\n"),
        ("no fences at all", "python", "no fences at all\n"),
        ("~~~rust\nfn main() {}\n~~~", "rust", "fn main() {}\n"),
    ],
)
def test_code_is_extracted_from_fences(reply: str, language: str, code: str) -> None:
    assert extract_code(reply, language) == code


@pytest.mark.parametrize(
    ("reply", "prompt"),
    [
        ("Here is your prompt:\nWrite a poem.", "Write a poem."),
        ('"Write a poem."', "Write a poem."),
        ("```\nWrite a poem.\n```", "Write a poem."),
        ("Write a poem.", "Write a poem."),
    ],
)
def test_the_prompt_is_cleaned_of_wrapping(reply: str, prompt: str) -> None:
    assert clean_prompt(reply) == prompt
