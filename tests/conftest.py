"""Shared fixtures: the harness (real app, fake Bot API, fake clock) on a temporary database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# PTB reads a deprecated attribute while building RetryAfter; under filterwarnings=error the
# warning would replace the exception. Opting in to timedelta values avoids it.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from tests.harness import Harness  # noqa: E402


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with Harness.open(tmp_path) as harness:
        yield harness
