"""groqgen: a typed Python SDK for the Groq Prompt Generator.

Generate prompts, code, code reviews and test suites with Groq and record each result, with
its activity log entry, in one atomic call — on an embedded SQLite file, a PostgreSQL server
under row-level security, or a Supabase project.

Importing ``groqgen`` is cheap and has no side effects: the names below load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .batches import BatchCollection, BatchItemError, BatchJob
    from .catalog import GroqModel
    from .client import AsyncClient, Client
    from .errors import (
        AuthenticationError,
        ConfigurationError,
        GenerationError,
        GroqgenError,
        MigrationError,
        NotFound,
        PermissionDenied,
        RateLimited,
        RecordingFailed,
        RecordingInterrupted,
        StoreError,
        TruncatedGeneration,
        ValidationError,
    )
    from .models import (
        ActivityLog,
        CodeGeneration,
        CodeReview,
        Profile,
        Project,
        Prompt,
        ResourceCounts,
        TestGeneration,
    )
    from .repositories import Page

__all__ = [
    "ActivityLog",
    "AsyncClient",
    "AuthenticationError",
    "BatchCollection",
    "BatchItemError",
    "BatchJob",
    "Client",
    "CodeGeneration",
    "CodeReview",
    "ConfigurationError",
    "GenerationError",
    "GroqModel",
    "GroqgenError",
    "MigrationError",
    "NotFound",
    "Page",
    "PermissionDenied",
    "Profile",
    "Project",
    "Prompt",
    "RateLimited",
    "RecordingFailed",
    "RecordingInterrupted",
    "ResourceCounts",
    "StoreError",
    "TestGeneration",
    "TruncatedGeneration",
    "ValidationError",
    "__version__",
]

# Public name -> module that defines it. Resolved lazily by __getattr__ so that
# `import groqgen` stays fast; `from groqgen import X` works as usual.
_LAZY = {
    "Client": ".client",
    "AsyncClient": ".client",
    "Page": ".repositories",
    "GroqModel": ".catalog",
    **dict.fromkeys(("BatchCollection", "BatchItemError", "BatchJob"), ".batches"),
    "ResourceCounts": ".models",
    **dict.fromkeys(
        (
            "AuthenticationError",
            "ConfigurationError",
            "GenerationError",
            "GroqgenError",
            "MigrationError",
            "NotFound",
            "PermissionDenied",
            "RateLimited",
            "RecordingFailed",
            "RecordingInterrupted",
            "StoreError",
            "TruncatedGeneration",
            "ValidationError",
        ),
        ".errors",
    ),
    **dict.fromkeys(
        (
            "ActivityLog",
            "CodeGeneration",
            "CodeReview",
            "Profile",
            "Project",
            "Prompt",
            "TestGeneration",
        ),
        ".models",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'groqgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
