"""A kill or a full disk at every write and rename step of merge, render and quarterly leaves before or after.

Each command runs once to count its steps, then once per step and fault kind
with the fault injected there (tests/faults.py). Afterwards the store, the
output folder or the report is exactly as it was before or as a clean run
leaves it, never a mix, and the next run cleans up whatever was left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from reporter.store import Store, init_store

from .conftest import GOOD, run, snapshot
from .test_quarterly import history_over_quarters
from .test_render import small_history

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[1]
# Merge-log times come from here, so a merge's bytes are the same on every run.
ENVIRONMENT = os.environ | {"SOURCE_DATE_EPOCH": "1767225600", "PYTHONPATH": str(ROOT)}


def with_fault(step: int, kind: str, counter: Path, *arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.faults", str(step), kind, str(counter), "--", *map(str, arguments)],
        capture_output=True, text=True, timeout=300, env=ENVIRONMENT, cwd=ROOT,
    )


def steps(counter: Path, *arguments: str | Path) -> int:
    assert with_fault(0, "none", counter, *arguments).returncode == 0
    return int(counter.read_text())


def every_fault(
    tmp_path: Path, fresh: Callable[[Path], None], arguments: Callable[[Path], list[str | Path]],
    state: Callable[[Path], dict[str, bytes]], after_fault: Callable[[Path], None] = lambda work: None,
) -> int:
    """Run `arguments` with each fault at each step on a fresh copy; the state must be before or after.

    `after_fault` does what a user does next (for a store: `merge` with no files). Then a clean run
    must succeed and leave no partial folder behind.
    """
    counter = tmp_path / "count"
    # Every run writes to a folder of the same name: a report records the name of its folder.
    reference = tmp_path / "reference" / "out"
    fresh(reference)
    before = state(reference)
    total = steps(counter, *arguments(reference))
    after = state(reference)
    assert before != after
    for step in range(1, total + 1):
        for kind in ("kill", "enospc"):
            work = tmp_path / f"run-{step}-{kind}" / "out"
            fresh(work)
            result = with_fault(step, kind, counter, *arguments(work))
            assert result.returncode != 0, (step, kind)
            assert "unexpected error" not in result.stderr, result.stderr
            after_fault(work)
            assert state(work) in (before, after), (step, kind)
            if kind == "kill":
                # A killed run cannot clean up after itself: the next run must.
                clean = with_fault(0, "none", counter, *arguments(work))
                assert clean.returncode == 0, clean.stderr
                assert state(work) == after
            assert not [p for p in tmp_path.rglob("*partial*")], (step, kind)
            shutil.rmtree(work.parent)
    return total


def _history_copy(store: Path) -> Callable[[Path], None]:
    def copy(work: Path) -> None:
        shutil.copytree(store, work)

    return copy


def test_merge(tmp_path: Path) -> None:
    source = tmp_path / "source"
    init_store(source)
    assert run("--history", source, "merge", GOOD / "generations.csv", GOOD / "metrics.csv").exit_code == 0

    def settle(work: Path) -> None:
        settled = subprocess.run([sys.executable, "-m", "reporter", "--history", str(work), "merge"],
                                 capture_output=True, text=True, env=ENVIRONMENT)
        assert settled.returncode == 0, settled.stderr
        assert run("--history", work, "verify").exit_code == 0

    total = every_fault(tmp_path, _history_copy(source),
                        lambda work: ["--history", work, "merge", GOOD / "observations.csv"], snapshot, settle)
    assert total >= 6


def _folder(work: Path) -> dict[str, bytes]:
    """What a reader of the folder sees; a hidden partial folder is not part of any report."""
    return {p.relative_to(work).as_posix(): p.read_bytes() for p in sorted(work.rglob("*"))
            if p.is_file() and ".partial-" not in p.as_posix()}


def test_render(tmp_path: Path) -> None:
    store = small_history(tmp_path / "source")

    def earlier_render(work: Path) -> None:
        result = run("--history", store, "render", "--out", work, "--format", "json", "--title", "An earlier render")
        assert result.exit_code == 0, result.stderr

    every_fault(tmp_path, earlier_render,
                lambda work: ["--history", store, "render", "--out", work, "--format", "html", "--format", "json"],
                _folder)


def test_quarterly(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path / "source")
    every_fault(tmp_path, lambda work: work.mkdir(parents=True),
                lambda work: ["--history", store, "quarterly", "2025-Q2", "--out", work, "--today", "2026-01-15"],
                _folder)


def test_adoption_of_an_unchained_store(tmp_path: Path) -> None:
    """The one write that anchors an unchained (schema 1) store: a fault leaves it unchained or anchored."""
    from .test_tamper_round2 import _downgrade

    source = tmp_path / "source"
    init_store(source)
    assert run("--history", source, "merge", GOOD / "generations.csv", GOOD / "metrics.csv").exit_code == 0
    _downgrade(source, keep_files=False)

    def settled(work: Path) -> None:
        # What the user is told to do next: the same merge with no files completes the adoption or redoes it.
        again = subprocess.run([sys.executable, "-m", "reporter", "--history", str(work), "merge"],
                               capture_output=True, text=True, env=ENVIRONMENT)
        assert again.returncode == 0, again.stderr
        assert run("--history", work, "verify").exit_code == 0
        head = Store(work).manifest().head
        if "completed" in again.stdout or "anchored" in again.stdout:
            assert f"chain head {head}" in again.stdout, "the head to publish is printed whichever run anchored"

    total = every_fault(tmp_path, _history_copy(source), lambda work: ["--history", work, "merge"], snapshot, settled)
    assert total >= 2
