"""Benchmarks of welfare-report, run by `make bench` (never part of the test suite).

Builds histories with `example`, then times each command as a user runs it
(a fresh process each time) and prints a table. Figures are wall-clock seconds
on this machine, the best of a few repeats.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).parent / ".work"
SIZES = (10_000, 100_000, 1_000_000)
MERGE_ROWS = 10_000


def timed(args: list[str], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def cli(history: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "reporter", "--history", str(history), *args]


def new_answers(path: Path, rows: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["generation", "metric", "collected_on", "score", "response_id", "topic"])
        for i in range(rows):
            writer.writerow(["aster-8", "circumstances", "2026-03-20", 1 + i % 7, f"bench-{i}", "deployment"])
    return path


def merge_figures(size: int) -> dict[str, float]:
    """Merge throughput into a store of `size` answers and verify time."""
    history = WORK / f"history-{size}"
    if not history.exists():
        subprocess.run(cli(history, "example", str(history), "--observations", str(size)), check=True)
    answers = new_answers(WORK / "answers.csv", MERGE_ROWS)
    best = float("inf")
    for _ in range(3):
        copy = WORK / "merge-copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(history, copy)
        start = time.perf_counter()
        subprocess.run(cli(copy, "merge", str(answers)), check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    shutil.rmtree(WORK / "merge-copy", ignore_errors=True)
    return {
        "merge 10k (s)": best,
        "merge rows/s": MERGE_ROWS / best,
        "verify (s)": timed(cli(history, "verify")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    options = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    rows = {size: merge_figures(size) for size in options.sizes}
    names = list(next(iter(rows.values())))
    print(f"{'answers in history':>20} " + " ".join(f"{n:>16}" for n in names))
    for size, figures in rows.items():
        print(f"{size:>20,} " + " ".join(f"{figures[n]:>16,.2f}" for n in names))


if __name__ == "__main__":
    main()
