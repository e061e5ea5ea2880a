"""The benchmark scripts still run against the current code (their figures are `make bench`'s business)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_detection_benchmark_runs_on_a_tiny_setting() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/detection.py", "--repetitions", "2", "--sizes", "30", "--no-otava"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "0.10R" in result.stdout


def test_the_ingest_benchmark_runs_on_a_tiny_export() -> None:
    result = subprocess.run([sys.executable, "benchmarks/ingest.py", "--sizes", "2000"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "answers-2000.csv" in result.stdout and "answers-2000.parquet" in result.stdout
