"""The store protocol's Record operation: row and activity entry together, idempotent on the id."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from groqgen.stores import ops
from tests.conftest import StoreCase

PROMPT = {
    "topic": "t",
    "prompt_type": "writing",
    "tone": "casual",
    "length": 50,
    "model": "m",
    "generated_prompt": "p",
}


def _store(case: StoreCase) -> Any:
    client = case.client._target if hasattr(case.client, "_target") else case.client
    return client.prompts._store


def _execute(case: StoreCase, op: ops.Operation) -> Any:
    store = _store(case)
    result = store.execute(op)
    if hasattr(result, "__await__"):
        return case.client._loop.run_until_complete(result)
    return result


def _record(row_id: uuid.UUID, **changes: Any) -> ops.Record:
    return ops.Record(
        "prompts",
        {"id": row_id, **PROMPT, **changes},
        {
            "id": row_id,
            "activity_type": "prompt_generation",
            "description": "Generated a prompt",
            "metadata": {"model": "m", "total_tokens": 7},
        },
    )


@pytest.fixture
def case(store_case: StoreCase) -> StoreCase:
    return store_case


def test_record_returns_the_row_and_writes_its_entry(case: StoreCase) -> None:
    row_id = uuid.uuid4()
    stored = _execute(case, _record(row_id))
    assert str(stored["id"]) == str(row_id)
    entry = case.client.activity_logs.get(row_id)
    assert (entry.activity_type, entry.metadata["total_tokens"]) == ("prompt_generation", 7)
    assert case.client.prompts.get(row_id).topic == "t"


def test_recording_twice_leaves_one_row_and_one_entry(case: StoreCase) -> None:
    row_id = uuid.uuid4()
    first = _execute(case, _record(row_id))
    again = _execute(case, _record(row_id, topic="changed on retry"))
    assert str(again["id"]) == str(first["id"])
    assert case.client.prompts.get(row_id).topic == "t"
    assert case.client.prompts.count() == 1
    assert case.client.activity_logs.count() == 1
