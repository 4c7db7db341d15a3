"""Recorded Groq answers (tests/cassettes/groq, Groq's wire format) through groqgen itself.

Each kind, plain and streamed, sync and async: the generator sends its request, vcrpy replays
Groq's answer, and the cleaned output lands in the store with the answer's usage and request id.
The cassettes were recorded (2026-11-30) from tests/groq_peer.py through groqgen with ``CALLS``,
and replay only for the same request body: a change to what groqgen sends fails here until the
cassettes are re-recorded.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml

from groqgen import AsyncClient, Client

CASSETTES = Path(__file__).parent / "cassettes" / "groq"
AVERAGE = (
    "def average(values):\n"
    "    total = 0\n"
    "    for v in values:\n"
    "        total += v\n"
    "    return total / len(values)\n"
)
SLUGIFY = (
    "import re\n"
    "import unicodedata\n"
    "\n"
    "\n"
    "def slugify(title: str) -> str:\n"
    '    normalized = unicodedata.normalize("NFKD", title)\n'
    '    ascii_only = normalized.encode("ascii", "ignore").decode("ascii")\n'
    '    return "-".join(re.findall(r"[a-z0-9]+", ascii_only.lower()))\n'
)
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "prompt": (
        "topic",
        {
            "topic": "Summarize customer support tickets and flag the urgent ones",
            "prompt_type": "writing",
            "tone": "professional",
            "length": 50,
        },
    ),
    "code": (
        "description",
        {
            "description": "Slugify a title: lowercase it, strip accents, drop punctuation and "
            "join the words with single hyphens.",
            "language": "python",
            "framework": "stdlib",
        },
    ),
    "review": ("code", {"code": AVERAGE, "language": "python", "review_type": "general"}),
    "tests": (
        "code",
        {
            "code": SLUGIFY,
            "language": "python",
            "framework": "pytest",
            "test_types": ["unit", "edge"],
            "additional_context": "The function is saved in `slugs.py`.",
        },
    ),
}
COLUMN = {
    "prompt": "generated_prompt",
    "code": "generated_code",
    "review": "review_result",
    "tests": "generated_tests",
}


def _recorded(kind: str, stream: bool) -> tuple[str, dict[str, Any], str]:
    """The cassette's answer text (joined from the chunks when streamed), usage, request id."""
    data = yaml.safe_load((CASSETTES / f"{kind}{'_stream' if stream else ''}.yaml").read_text())
    response = data["interactions"][0]["response"]
    body = response["body"]["string"]
    request_id = response["headers"]["x-request-id"][0]
    if not stream:
        parsed = json.loads(body)
        return parsed["choices"][0]["message"]["content"], parsed["usage"], request_id
    text, usage = "", {}
    for line in body.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            chunk = json.loads(line[6:])
            for choice in chunk["choices"]:
                text += choice["delta"].get("content") or ""
            usage = chunk.get("x_groq", {}).get("usage", usage)
    return text, usage, request_id


def _cassette(kind: str, stream: bool) -> Any:
    return vcr.use_cassette(
        str(CASSETTES / f"{kind}{'_stream' if stream else ''}.yaml"),
        record_mode="none",
        match_on=["method", "scheme", "host", "port", "path", "body"],
    )


def _check(client_rows: tuple[Any, Any], kind: str, stream: bool) -> None:
    row, entry = client_rows
    text, usage, request_id = _recorded(kind, stream)
    stored = getattr(row, COLUMN[kind])
    if kind == "review":
        assert stored == text.strip()
    elif kind == "prompt":
        assert stored and stored in text and not stored.lower().startswith("here is")
    else:
        assert "```" not in stored and stored.strip() in text
    assert entry.metadata["total_tokens"] == usage["total_tokens"]
    assert entry.metadata["request_id"] == request_id


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", list(CALLS))
def test_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, stream: bool) -> None:
    monkeypatch.delenv("GROQ_BASE_URL", raising=False)
    first, inputs = CALLS[kind]
    rest = {k: v for k, v in inputs.items() if k != first}
    with (
        Client(home=tmp_path, groq_api_key="gsk_test", max_retries=0) as client,
        _cassette(kind, stream),
    ):
        if stream:
            with getattr(client.generate.stream, kind)(inputs[first], **rest) as s:
                deltas = list(s)
            row = s.result
            assert "".join(deltas) == _recorded(kind, True)[0]
        else:
            row = getattr(client.generate, kind)(inputs[first], **rest)
        _check((row, client.activity_logs.get(row.id)), kind, stream)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", list(CALLS))
def test_async(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, stream: bool) -> None:
    monkeypatch.delenv("GROQ_BASE_URL", raising=False)
    first, inputs = CALLS[kind]
    rest = {k: v for k, v in inputs.items() if k != first}

    async def main() -> tuple[Any, Any]:
        async with AsyncClient(home=tmp_path, groq_api_key="gsk_test", max_retries=0) as client:
            with _cassette(kind, stream):
                if stream:
                    async with getattr(client.generate.stream, kind)(inputs[first], **rest) as s:
                        async for _ in s:
                            pass
                    row = s.result
                else:
                    row = await getattr(client.generate, kind)(inputs[first], **rest)
            return row, await client.activity_logs.get(row.id)

    _check(asyncio.run(main()), kind, stream)
