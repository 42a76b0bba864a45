"""Issue 12 item 14: ``python bench/broadcast.py`` runs in the README's environment
(``pip install -e ".[test]"``): its baseline, PTB's ``AIORateLimiter``, needs ``aiolimiter``."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_rate_limiter_of_the_broadcast_benchmark_can_be_built() -> None:
    from telegram.ext import AIORateLimiter

    AIORateLimiter(max_retries=0)  # raises RuntimeError when aiolimiter is missing


def test_bench_needs_are_declared_in_the_test_and_bench_extras() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra in ("test", "bench"):
        assert any(dep.startswith("aiolimiter") for dep in extras[extra]), extra
    assert '".[test]"' in (ROOT / "bench" / "README.md").read_text()
