"""Every test below this folder needs PostgreSQL."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/postgres/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.postgres)
