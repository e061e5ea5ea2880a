"""Time and peak memory of refusing small hostile inputs, run by `make bench`.

Each file is refused by `validate` in a fresh process; the figures show
that the limits are checked before anything is parsed in full. The test
suite asserts only the refusal (tests/test_input_limits.py), never a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).parent / ".work" / "hostile"


def parquet_of_twenty_million_rows(path: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    zeros = pa.array(np.zeros(20_000_000, dtype=np.int32))
    columns = (("generation", "m-1"), ("metric", "mood"), ("collected_on", "2025-01-01"), ("score", "4"))
    pq.write_table(pa.table({n: pa.DictionaryArray.from_arrays(zeros, pa.array([v])) for n, v in columns}), path,
                   compression="zstd")


def million_columns(path: Path) -> None:
    path.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n" + ",".join("1" for _ in range(1_000_000)) + "\n")


def line_of_150_mb(path: Path) -> None:
    with open(path, "wb") as handle:
        handle.write(b"generation,metric,collected_on,score,excerpt\nm-1,mood,2025-01-01,4,\"")
        for _ in range(150):
            handle.write(b"x" * (1 << 20))
        handle.write(b"\"\n")


def huge_scale_and_tags(path: Path) -> None:
    path.write_text("metric,scale_min,scale_max\nhuge,-999999999,999999999\n")


def broken_json_lines(path: Path) -> None:
    row = '{"generation": "m-1", "metric": "mood", "collected_on": "2025-01-01", "score": '
    path.write_text("\n".join([row + "4, \"SCORE\": 7}", row + "9" * 5000 + "}", "[" * 100_000 + "]" * 100_000]) + "\n")


CASES = {
    "twenty-million-rows.parquet": parquet_of_twenty_million_rows,
    "million-columns.csv": million_columns,
    "line-150mb.csv": line_of_150_mb,
    "scale.csv": huge_scale_and_tags,
    "broken.jsonl": broken_json_lines,
}


def refuse(path: Path) -> tuple[float, float, int]:
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "reporter", "--history", str(WORK / "none"), "validate", str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def make_files() -> None:
    for name, make in CASES.items():
        if not (WORK / name).exists():
            make(WORK / name)


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    # Made in a child process: a forked child's peak memory counts its parent's pages.
    subprocess.run([sys.executable, __file__, "--make"], check=True)
    print(f"{'hostile input':<30} {'size':>10} {'refused in':>11} {'peak MiB':>9} {'exit':>5}")
    for name, make in [*CASES.items(), ("/dev/zero", None)]:
        path = Path(name) if make is None else WORK / name
        size = path.stat().st_size if path.is_file() else 0
        elapsed, peak, code = refuse(path)
        print(f"{path.name:<30} {size / 1e6:>8.2f}MB {elapsed:>10.2f}s {peak:>9.0f} {code:>5}")


if __name__ == "__main__":
    make_files() if sys.argv[1:] == ["--make"] else main()
