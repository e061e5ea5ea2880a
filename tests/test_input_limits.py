"""Small hostile inputs are refused with file:line before they can exhaust the machine.

Each file runs through `validate` in a child process under an address-space
limit; the timeout only guards against a hang. Times and peak memory are in
`make bench`, never asserted here.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow

# pyarrow and numpy map a few hundred MB of address space at import; a file that
# needs gigabytes fails far above this.
ADDRESS_SPACE = 1 << 30


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reporter", "--history", "/nonexistent", "validate", *map(str, paths)],
        capture_output=True, text=True, timeout=120, preexec_fn=_limited,
    )


def refused(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr, result.stderr
    assert "unexpected error" not in result.stderr
    assert len(result.stderr) < 5_000  # nothing is echoed whole


def test_a_tiny_parquet_file_of_twenty_million_rows(tmp_path: Path) -> None:
    rows = 20_000_000
    zeros = pa.array(np.zeros(rows, dtype=np.int32))
    table = pa.table({
        name: pa.DictionaryArray.from_arrays(zeros, pa.array([value]))
        for name, value in (("generation", "m-1"), ("metric", "mood"), ("collected_on", "2025-01-01"), ("score", "4"))
    })
    path = tmp_path / "bomb.parquet"
    pq.write_table(table, path, compression="zstd")
    assert path.stat().st_size < 2_000_000
    refused(validate(path), f"{path}:1: file: 20,000,000 rows")


def test_a_csv_with_too_many_columns(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(1000)) + "\n" + ",".join("1" for _ in range(1000)) + "\n")
    refused(validate(wide), f"{wide}:1: file: 1000 columns; at most 64")
    huge = tmp_path / "huge-header.csv"
    huge.write_text(",".join("a" for _ in range(1_000_000)) + "\n1\n")
    refused(validate(huge), f"{huge}:1: row: a line longer than 1 MiB")


def test_a_150_mb_line(tmp_path: Path) -> None:
    path = tmp_path / "line.csv"
    with open(path, "wb") as handle:
        handle.write(b"generation,metric,collected_on,score,excerpt\nm-1,mood,2025-01-01,4,\"")
        block = b"x" * (1 << 20)
        for _ in range(150):
            handle.write(block)
        handle.write(b"\"\n")
    refused(validate(path), f"{path}:2: row: a line longer than 1 MiB")


def test_a_device_is_not_read(tmp_path: Path) -> None:
    refused(validate(Path("/dev/zero")), "/dev/zero:1: file: not a regular file")


def test_json_lines_that_cannot_be_typed_are_problems_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    good = {"generation": "m-1", "metric": "mood", "collected_on": "2025-01-01", "score": 4}
    lines = [
        json.dumps(good),
        '{"generation": "m-1", "metric": "mood", "collected_on": "2025-01-01", "score": 4, "SCORE": 7}',
        '{"generation": "m-1", "metric": "mood", "collected_on": "2025-01-01", "score": ' + "9" * 5000 + "}",
        "[" * 100_000 + "]" * 100_000,
        '{"generation": "m-1", "metric": "mood", "collected_on": "2025-01-01", "score": 4, "excerpt": "\\ud800"}',
        '{"generation": "m-1", "metric": "mood", "collected_on": "2025-01-01", "score": {"nested": 1}}',
    ]
    path.write_text("\n".join(lines) + "\n")
    other = tmp_path / "other.csv"
    other.write_text("generation,release_date\nbad id,2025-01-01\n")
    result = validate(path, other)
    for line, message in [
        (2, "'SCORE' appears more than once"),
        (3, "not a JSON object"),
        (4, "nested too deeply"),
        (5, "lone surrogate"),
        (6, "nested (an object or a list)"),
    ]:
        assert f"{path}:{line}:" in result.stderr and message in result.stderr, (line, result.stderr)
    refused(result, f"{other}:2: generation:")  # the other file's problems are still shown


def test_parquet_dates_out_of_range_are_problems_at_their_row(tmp_path: Path) -> None:
    path = tmp_path / "dates.parquet"
    table = pa.table({
        "generation": ["m-1", "m-1"], "metric": ["mood", "mood"], "score": [4, 5],
        "collected_on": pa.array([0, 3_000_000], type=pa.date32()),  # day 3,000,000 is past year 9999
    })
    pq.write_table(table, path)
    result = validate(path)
    refused(result, f"{path}:3: collected_on: a value that cannot be read")


def test_a_parquet_file_refused_row_by_row_is_not_read_whole(tmp_path: Path) -> None:
    """Just under the row limit and every row refused: reading stops once the problems would only repeat,
    within the 1 GiB address space a whole read would exceed."""
    zeros = pa.array(np.zeros(9_999_999, dtype=np.int32))
    columns = (("generation", "m-1"), ("metric", "mood"), ("collected_on", "2025-13-45"), ("score", "4"))
    path = tmp_path / "bad-dates.parquet"
    pq.write_table(pa.table({n: pa.DictionaryArray.from_arrays(zeros, pa.array([v])) for n, v in columns}), path,
                   compression="zstd")
    result = validate(path)
    refused(result, f"{path}:10002: file: stopped reading after 10,000 problems: fix these first")
    assert f"{path}:2-10001: collected_on: '2025-13-45' is not a calendar date (10,000 rows)" in result.stderr
