"""Shared fixtures: the harness (real app, fake Bot API, fake clock) on a temporary database.

The database is a SQLite file, or a fresh PostgreSQL database per test when
``HIRFA_TEST_DATABASE_URL`` names a server; either starts migrated, a copy of a template made
once per session (see ``tests/databases.py``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# PTB reads a deprecated attribute while building RetryAfter; under filterwarnings=error the
# warning would replace the exception. Opting in to timedelta values avoids it.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from tests import databases  # noqa: E402
from tests.harness import Harness  # noqa: E402


def pytest_report_header() -> str:
    if databases.ON_POSTGRES:
        return f"database: PostgreSQL ({databases.SWITCH}), a fresh database per test"
    return f"database: SQLite (set {databases.SWITCH}=postgresql://... to run on PostgreSQL)"


def pytest_sessionfinish() -> None:
    databases.drop_templates()


@pytest.fixture(autouse=True)
def _fresh_databases() -> Iterator[None]:
    yield
    databases.drop_created()


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with Harness.open(tmp_path) as harness:
        yield harness
