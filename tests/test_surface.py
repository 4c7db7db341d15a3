"""The generator's public signatures are the request models' fields, not a copy that drifts."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic_core import PydanticUndefined

from groqgen.generation import KINDS
from groqgen.generator import (
    AsyncGenerator,
    AsyncStreamFactory,
    Generator,
    StreamFactory,
)


def _declared(kind: str) -> dict[str, Any]:
    """Each request field and its default (``inspect.Parameter.empty`` when required)."""
    fields = KINDS[kind].request.model_fields
    declared = {}
    for name, info in fields.items():
        if info.default_factory is not None:
            default = info.default_factory()  # type: ignore[call-arg]
        elif info.default is PydanticUndefined:
            default = inspect.Parameter.empty
        else:
            default = info.default
        declared[name] = default
    return declared


def _offered(method: Any) -> dict[str, Any]:
    parameters = inspect.signature(method).parameters
    offered = {}
    for name, parameter in parameters.items():
        if name in ("self", "dry_run"):
            continue
        default = parameter.default
        offered[name] = list(default) if isinstance(default, tuple) else default
    return offered


@pytest.mark.parametrize("owner", [Generator, AsyncGenerator, StreamFactory, AsyncStreamFactory])
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_offers_exactly_its_request_fields_with_their_defaults(
    owner: type, kind: str
) -> None:
    assert _offered(getattr(owner, kind)) == _declared(kind)


def test_a_drifted_default_would_be_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # The comparison is not vacuous: change a model default and the surfaces disagree.
    field = KINDS["prompt"].request.model_fields["tone"]
    monkeypatch.setattr(field, "default", "casual")
    assert _offered(Generator.prompt) != _declared("prompt")
