"""Small things that let a user down: spreadsheet formulas, terminal escapes, Ctrl-C, lost output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from reporter.trend import _cell

from .conftest import GOOD, run

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", "  =1", "\uff1dcmd|' /C calc'!A0", "\uff0b1", "\uff0d1",
     "\uff20A1"],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(text: str) -> None:
    assert _cell(text) == "'" + text


@pytest.mark.parametrize("value", ["aster-1", "plain text", 1.5, -0.25, 3])
def test_ordinary_cells_and_numbers_are_left_alone(value: object) -> None:
    assert _cell(value) == str(value)


def test_terminal_escapes_never_reach_the_terminal(store: Path, tmp_path: Path) -> None:
    """Free text is stored escaped; what is printed escapes any control character that remains."""
    run("--history", store, "merge", GOOD / "observations.csv")
    acknowledgements = tmp_path / "acknowledgements.csv"
    acknowledgements.write_text("rule,generations,reason,by,date\nWR009,m-1,\"erased \x1b[1A\x1b[2K line\",ann,2025-12-01\n")
    assert run("--history", store, "merge", acknowledgements).exit_code == 0
    output = run("--history", store, "check", "--as-of", "2026-01-01")
    assert "\x1b" not in output.stdout + output.stderr
    assert "\\u001b[1A" in output.stdout


def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    """Interrupted in the middle of writing an example, the command exits 130, not 1 ('open flag').

    The SIGINT arrives at the example's first durable write, so the test does not race the clock.
    A shell's background job starts with SIGINT ignored (and Python then never raises
    KeyboardInterrupt), so the child gets the default handling a terminal would give it.
    """
    process = subprocess.run(
        [sys.executable, "-m", "tests.faults", "1", "interrupt", str(tmp_path / "count"), "--",
         "example", str(tmp_path / "big"), "--observations", "2000"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.returncode == 130, process.stderr
    assert "interrupted" in process.stderr


def test_a_closed_stdout_is_an_error_not_lost_data(store: Path) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    closed = subprocess.run(
        [sys.executable, "-m", "reporter", "--history", str(store), "trend", "--format", "csv"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        preexec_fn=lambda: os.close(1),
    )
    assert closed.returncode == 2 and "standard output is closed" in closed.stderr


def test_a_full_stdout_is_an_error(store: Path) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "reporter", "--history", str(store), "trend", "--format", "json"],
            stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
    assert result.returncode == 2 and "could not print to standard output" in result.stderr


def test_a_long_header_cell_is_cut_in_the_message(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("generation,release_date," + "x" * 500_000 + "\nm-1,2025-01-01,1\n")
    result = run("validate", path)
    assert result.exit_code == 2
    assert len(result.stderr) < 2_000 and "(500000 characters)" in result.stderr
