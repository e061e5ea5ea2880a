"""Speed and memory of welfare-report, run by `make bench` (never part of the test suite).

For histories of 10,000, 100,000 and 1,000,000 answers made by `example`
(20 generations, 10 metrics), each figure is a fresh process as a user runs
it, the best of a few repeats, in wall-clock seconds on this machine:

- floor: reading the same observation CSVs with pyarrow (interpreter start included)
- --help, check --json (and its peak memory), render --format html, render --format pdf
- merge: 10,000 new answers into a copy of the history
- verify: recompute every hash of the history
- diff: two reports of the history (as of its last day and 90 days before) compared (goal: under 1 s)

Each figure is also shown as a multiple of the floor, and the rendering part
(render minus check) at the largest size as a multiple of the same at the
smallest, which shows whether rendering cost grows with the number of answers.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).parent / ".work"
SIZES = (10_000, 100_000, 1_000_000)
EXTRA_GENERATIONS, EXTRA_METRICS = 11, 6  # with the planted ones: 20 generations, 10 metrics
MERGE_ROWS = 10_000
FLOOR = (
    "import glob, sys, pyarrow.csv as c\n"
    "[c.read_csv(f) for f in sorted(glob.glob(sys.argv[1] + '/observations/*.csv'))]"
)


def measure(args: list[str], repeats: int) -> tuple[float, int]:
    """Best wall time over `repeats` runs, and the largest peak RSS (KiB) seen."""
    best, peak = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            raise SystemExit(f"failed: {' '.join(args)}")
        best, peak = min(best, elapsed), max(peak, usage.ru_maxrss)
    return best, peak


def cli(history: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "reporter", "--history", str(history), *args]


def new_answers(path: Path, rows: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["generation", "metric", "collected_on", "score", "response_id", "topic"])
        for i in range(rows):
            writer.writerow(["aster-8", "circumstances", "2026-03-20", 1 + i % 7, f"bench-{i}", "deployment"])
    return path


def figures(size: int, repeats: int) -> dict[str, float]:
    history = WORK / f"history-{size}"
    if not history.exists():
        subprocess.run(cli(history, "example", str(history), "--observations", str(size),
                           "--extra-generations", str(EXTRA_GENERATIONS), "--extra-metrics", str(EXTRA_METRICS)),
                       check=True, stdout=subprocess.DEVNULL)
    out = WORK / "out"
    result: dict[str, float] = {}
    result["floor"], _ = measure([sys.executable, "-c", FLOOR, str(history)], repeats)
    result["--help"], _ = measure([sys.executable, "-m", "reporter", "--help"], repeats)
    result["check"], peak = measure(cli(history, "check", "--json"), repeats)
    result["check MiB"] = peak / 1024
    result["html"], _ = measure(cli(history, "render", "--out", str(out), "--format", "html"), repeats)
    result["pdf"], _ = measure(cli(history, "render", "--out", str(out), "--format", "pdf"), max(1, repeats - 1))
    answers = new_answers(WORK / "answers.csv", MERGE_ROWS)
    best = float("inf")
    for _ in range(repeats):
        copy = WORK / "merge-copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(history, copy)
        elapsed, _ = measure(cli(copy, "merge", str(answers)), 1)
        best = min(best, elapsed)
    shutil.rmtree(WORK / "merge-copy", ignore_errors=True)
    result["merge 10k"] = best
    result["verify"], _ = measure(cli(history, "verify"), repeats)
    result["diff"] = diff_seconds(history, repeats)
    return result


def diff_seconds(history: Path, repeats: int) -> float:
    """`diff` of two findings-only reports of the history, the later one with 90 more days of data."""
    folders = []
    for name, as_of in (("earlier", "2026-03-30"), ("later", None)):
        folder = WORK / f"diff-{name}"
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(cli(history, "render", "--format", "json", "--out", str(folder),
                           *(["--as-of", as_of] if as_of else [])), check=True, stdout=subprocess.DEVNULL)
        folders.append(str(folder))
    seconds, _ = measure(cli(history, "diff", *folders), repeats)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    table = {size: figures(size, options.repeats) for size in options.sizes}
    names = ["floor", "--help", "check", "html", "pdf", "merge 10k", "verify"]
    print(f"{'answers':>10} " + " ".join(f"{n:>16}" for n in names) + f" {'check peak MiB':>15}")
    for size, row in table.items():
        cells = [f"{row[n]:6.2f}s" + ("" if n == "floor" else f" {row[n] / row['floor']:5.1f}x") for n in names]
        print(f"{size:>10,} " + " ".join(f"{c:>16}" for c in cells) + f" {row['check MiB']:>15.0f}")
    for size, row in table.items():
        print(f"diff of two reports of {size:,} answers: {row['diff']:.2f}s (goal: under 1 s)")
    for size, row in table.items():
        print(f"merge throughput into {size:,} answers: {MERGE_ROWS / row['merge 10k']:,.0f} rows/s")
    small, large = table[min(table)], table[max(table)]
    for kind in ("html", "pdf"):
        growth = (large[kind] - large["check"]) / (small[kind] - small["check"])
        print(f"rendering part of {kind} (render minus check): {small[kind] - small['check']:.2f}s at "
              f"{min(table):,}, {large[kind] - large['check']:.2f}s at {max(table):,} ({growth:.2f}x)")


if __name__ == "__main__":
    main()
