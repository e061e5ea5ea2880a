"""Bringing data in at the size of a real export: validate and merge, beside pyarrow reading the same file.

For each size (1M rows by default; `--sizes 1000000 10000000` for the
contract's limit) an observations file of the columns a warehouse export
carries (generation, metric, collected_on, score, response_id, topic, method)
is written as CSV and as Parquet. Each step is a fresh process, as a user runs
it; the figure is its wall time and its own peak memory:

- floor: pyarrow reading the file (interpreter start included)
- validate: `welfare-report validate FILE` against a history holding the registries
- merge: `welfare-report merge FILE` into a fresh copy of that history
- merge again: the same file merged a second time (every row skipped as identical)
- from Python: `WelfareHistory.merge` of the CSV's rows as a pandas DataFrame beside `merge` of the
  CSV file itself, in one process on fresh copies (goal: the DataFrame at most 1.5x the file)

Each time is also shown as a multiple of the floor measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).parent / ".work" / "ingest"
GENERATIONS, METRICS = 8, 4

PEAK = ("import atexit, resource, sys; atexit.register(lambda: sys.stderr.write("
        "'\\npeak-kb=%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)); ")
WELFARE_REPORT = [sys.executable, "-c", PEAK + "import sys; from reporter.cli import main; main(sys.argv[1:])"]
FLOOR = {
    "csv": "import sys, pyarrow.csv as c; c.read_csv(sys.argv[1])",
    "parquet": "import sys, pyarrow.parquet as p; p.read_table(sys.argv[1])",
}


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak MiB of one fresh process."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    peak = int(result.stderr.rsplit("peak-kb=", 1)[1].split()[0]) if "peak-kb=" in result.stderr else 0
    return elapsed, peak / 1024


def write_registries(folder: Path) -> tuple[Path, Path]:
    generations, metrics = folder / "generations.csv", folder / "metrics.csv"
    generations.write_text("generation,release_date\n" + "".join(
        f"g{i},2025-{1 + i:02d}-01\n" for i in range(GENERATIONS)))
    metrics.write_text("metric,scale_min,scale_max\n" + "".join(f"m{i},1,7\n" for i in range(METRICS)))
    return generations, metrics


def write_answers(folder: Path, rows: int) -> dict[str, Path]:
    """The same answers as CSV and as Parquet, made by pyarrow in a few seconds."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    index = np.arange(rows)
    rng = np.random.default_rng(7)
    days = (index // (GENERATIONS * METRICS)) % 28 + 1
    table = pa.table({
        "generation": pa.array(np.char.add("g", (index % GENERATIONS).astype(str))),
        "metric": pa.array(np.char.add("m", ((index // GENERATIONS) % METRICS).astype(str))),
        "collected_on": pa.array(np.char.add("2026-02-", np.char.zfill(days.astype(str), 2))),
        "score": pa.array(np.clip(np.rint(rng.normal(4.2, 1.3, rows)), 1, 7).astype(np.int64)),
        "response_id": pa.array(np.char.add("r-", index.astype(str))),
        "topic": pa.array(np.array(["deployment", "training", "users"])[index % 3]),
        "method": pa.array(np.where(index % 10 == 0, "manual_interview", "automated_interview")),
    })
    paths = {"csv": folder / f"answers-{rows}.csv", "parquet": folder / f"answers-{rows}.parquet"}
    pacsv.write_csv(table, paths["csv"], pacsv.WriteOptions(quoting_style="none"))
    pq.write_table(table, paths["parquet"], row_group_size=1_000_000)
    return paths


FRAME_VERSUS_FILE = """
import shutil, sys, time
from pathlib import Path
import pandas as pd
import reporter
csv, base, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
frame = pd.read_csv(csv)
figures = []
for source in (csv, frame, csv, frame):
    copy = work / "api-merge"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(base, copy)
    history = reporter.open_history(copy)
    start = time.perf_counter()
    history.merge(source)
    figures.append(time.perf_counter() - start)
shutil.rmtree(work / "api-merge", ignore_errors=True)
print(min(figures[0::2]), min(figures[1::2]))
"""


def frame_versus_file(csv: Path, base: Path) -> tuple[float, float]:
    """Best of two: merging the CSV file, and merging its rows held as a DataFrame (the frame already built)."""
    out = subprocess.run([sys.executable, "-c", FRAME_VERSUS_FILE, str(csv), str(base), str(WORK)],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000])
    options = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    registries = write_registries(WORK)
    base = WORK / "history"
    subprocess.run([*WELFARE_REPORT, "init", str(base)], check=True, capture_output=True)
    subprocess.run([*WELFARE_REPORT, "--history", str(base), "merge", *map(str, registries)], check=True,
                   capture_output=True)
    print(f"{'file':<24} {'floor':>14} {'validate':>22} {'merge':>22} {'merge again':>22}")
    for rows in options.sizes:
        for fmt, path in write_answers(WORK, rows).items():
            floor, floor_peak = timed([sys.executable, "-c", PEAK + FLOOR[fmt], str(path)])
            validate = timed([*WELFARE_REPORT, "--history", str(base), "validate", str(path)])
            copy = WORK / "merged"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(base, copy)
            merge = timed([*WELFARE_REPORT, "--history", str(copy), "merge", str(path)])
            again = timed([*WELFARE_REPORT, "--history", str(copy), "merge", str(path)])
            cells = [f"{s:6.2f}s {s / floor:4.1f}x {m:5.0f}M" for s, m in (validate, merge, again)]
            print(f"{path.name:<24} {floor:6.2f}s {floor_peak:5.0f}M " + " ".join(f"{c:>22}" for c in cells),
                  flush=True)
            shutil.rmtree(copy, ignore_errors=True)
            if fmt == "csv":
                from_file, from_frame = frame_versus_file(path, base)
                print(f"{'':<24} from Python: the file {from_file:.2f}s, the same rows as a DataFrame "
                      f"{from_frame:.2f}s ({from_frame / from_file:.2f}x; goal <= 1.5x)", flush=True)


if __name__ == "__main__":
    main()
