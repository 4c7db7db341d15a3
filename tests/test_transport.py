"""One transport per client: the caller's httpx client if given, aiohttp-backed for asyncio."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from groqgen import AsyncClient, Client
from groqgen.retry import parse_duration, retry_after


def test_a_callers_http_client_carries_every_request_and_stays_open(
    tmp_path: Path, groq_peer: Any
) -> None:
    seen: list[str] = []
    mine = httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]}, timeout=5)
    with Client(
        home=tmp_path, groq_api_key="k", groq_base_url=groq_peer.base_url, http_client=mine
    ) as client:
        client.generate.prompt("x")
        client.generate.code("y", language="python", framework="none")
    assert seen == ["/openai/v1/chat/completions"] * 2
    assert not mine.is_closed  # the caller's to close
    mine.close()


def test_groqgen_closes_the_http_client_it_made(tmp_path: Path, groq_peer: Any) -> None:
    client = Client(home=tmp_path, groq_api_key="k", groq_base_url=groq_peer.base_url)
    client.generate.prompt("x")
    made = client.generate._http
    client.close()
    assert made.is_closed


def test_the_async_default_transport_is_aiohttp_backed(tmp_path: Path, groq_peer: Any) -> None:
    async def main() -> str:
        async with AsyncClient(
            home=tmp_path, groq_api_key="k", groq_base_url=groq_peer.base_url
        ) as client:
            await client.generate.prompt("x")
            return type(client.generate._http).__mro__[1].__module__

    assert asyncio.run(main()).startswith("httpx_aiohttp")


def test_without_aiohttp_the_async_transport_is_plain_httpx(
    tmp_path: Path, groq_peer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import groq

    class Missing:
        def __init__(self, **_: Any) -> None:
            raise RuntimeError(
                "To use the aiohttp client you must have installed the package with the `aiohttp` extra"
            )

    monkeypatch.setattr(groq, "DefaultAioHttpClient", Missing)

    async def main() -> Any:
        async with AsyncClient(
            home=tmp_path, groq_api_key="k", groq_base_url=groq_peer.base_url
        ) as client:
            row = await client.generate.prompt("x")
            return row, client.generate._http

    row, http = asyncio.run(main())
    assert row.generated_prompt
    assert isinstance(http, httpx.AsyncClient)
    assert type(http).__mro__[1] is httpx.AsyncClient


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2m59.56s", 179.56),
        ("7.66s", 7.66),
        ("120ms", 0.12),
        ("1h2m3s", 3723.0),
        ("3", 3.0),
        ("", None),
        ("soon", None),
    ],
)
def test_groq_durations_are_read(text: str, seconds: float | None) -> None:
    result = parse_duration(text)
    assert result == pytest.approx(seconds) if seconds is not None else result is None


def test_retry_after_prefers_the_header_then_the_exhausted_budget() -> None:
    assert retry_after({"retry-after": "2"}) == 2
    tokens_out = {
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "7.66s",
        "x-ratelimit-remaining-requests": "10",
        "x-ratelimit-reset-requests": "2m59.56s",
    }
    assert retry_after(tokens_out) == pytest.approx(7.66)
    assert retry_after({"x-ratelimit-remaining-tokens": "5"}) is None
