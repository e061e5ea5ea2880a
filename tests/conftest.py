"""Shared fixtures: a small store built from tests/data/good, and a snapshot helper."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

from reporter.cli import cli
from reporter.store import init_store
from reporter.store.transaction import LOCK_FILE

DATA = Path(__file__).parent / "data"
GOOD = DATA / "good"
BAD = DATA / "bad"

# CI runs the same examples every time; locally Hypothesis explores further.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=40)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def run(*args: str | Path) -> Result:
    """Invoke the command line in-process; stdout and stderr stay apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a store (but the lock) by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != LOCK_FILE
    }


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store that knows generations m-1, m-2 and metrics mood (1-7), joy (1-10)."""
    root = tmp_path / "history"
    init_store(root)
    result = run("--history", root, "merge", GOOD / "generations.csv", GOOD / "metrics.csv")
    assert result.exit_code == 0, result.output
    return root
