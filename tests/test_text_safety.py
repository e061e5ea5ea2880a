"""A CR or a control character in any text field cannot split, corrupt or disguise a stored row."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reporter.store.files import csv_bytes, reads_back

from .conftest import run

HEADER = "generation,metric,collected_on,score,response_id,excerpt\n"


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write(folder: Path, fmt: str, excerpt: str) -> Path:
    row = {"generation": "m-1", "metric": "mood", "collected_on": "2025-01-05", "score": 4, "response_id": "cr-1",
           "excerpt": excerpt}
    if fmt == "csv":
        path = folder / "cr.csv"
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([list(row), list(row.values())])
        path.write_bytes(buffer.getvalue().encode())
    elif fmt == "jsonl":
        path = folder / "cr.jsonl"
        path.write_text(json.dumps(row) + "\n")
    else:
        path = folder / "cr.parquet"
        pq.write_table(pa.table({k: [v] for k, v in row.items()}), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_lone_cr_in_a_text_field_is_stored_as_lf_and_never_splits_a_row(store: Path, tmp_path: Path, fmt: str) -> None:
    # The tail of the quote looks like a row of a generation that does not exist.
    path = _write(tmp_path, fmt, "first\rphantom-gen,mood,2025-01-06,7,x,\r\nlast")
    assert run("--history", store, "merge", path).exit_code == 0
    rows = _csv_rows(store / "observations/m-1.csv")
    assert [r["excerpt"] for r in rows] == ["first\nphantom-gen,mood,2025-01-06,7,x,\nlast"]
    assert b"\r" not in (store / "observations/m-1.csv").read_bytes()
    more = tmp_path / "more.csv"
    more.write_text(HEADER + "m-1,mood,2025-01-07,5,plain-1,plain\n")
    assert run("--history", store, "merge", more).exit_code == 0
    assert [r["response_id"] for r in _csv_rows(store / "observations/m-1.csv")] == ["cr-1", "plain-1"]
    assert run("--history", store, "verify").exit_code == 0
    check = run("--history", store, "check", "--json")
    assert check.exit_code in (0, 1), check.stderr
    assert "phantom-gen" not in {s["generation"] for s in json.loads(check.stdout)["stats"]}
    assert run("--history", store, "trend", "--format", "csv").exit_code == 0


def test_control_characters_are_refused_in_labels_with_file_and_line(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "generations.csv"
    path.write_text("generation,release_date,label\nm-3,2025-09-01,Model \x1b[2K three\n")
    result = run("--history", store, "validate", path)
    assert result.exit_code == 2
    assert f"{path}:2: label: control or bidirectional-override character U+001B" in result.stderr


def test_bidirectional_overrides_are_refused_in_labels(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "generations.csv"
    path.write_text("generation,release_date,label\nm-3,2025-09-01,\u202eeerht ledoM\n")
    result = run("--history", store, "validate", path)
    assert result.exit_code == 2 and "U+202E" in result.stderr


def test_control_characters_in_free_text_are_stored_escaped(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(HEADER + "m-1,mood,2025-01-05,4,esc-1,\"erase \x1b[2K and \u202eflip\"\n")
    assert run("--history", store, "merge", path).exit_code == 0
    [row] = _csv_rows(store / "observations/m-1.csv")
    assert row["excerpt"] == "erase \\u001b[2K and \\u202eflip"


def test_the_writer_refuses_bytes_that_would_not_read_back() -> None:
    records = [["metric", "scale_min", "scale_max"], ["m", "1", "7"], ["n", "1", "5"]]
    assert reads_back(b"metric,scale_min,scale_max\nm,1,7\nn,1,5\n", records) is None
    # A value holding a lone CR, which Python's csv writer leaves unquoted: the readers split the row.
    with_cr = [["metric", "label"], ["m", "first\rsecond"]]
    assert reads_back(csv_bytes(with_cr), with_cr) is not None
    assert reads_back(b"metric,scale_min,scale_max\nm,1,7\n", records) is not None  # a row lost
    assert reads_back(b"metric,scale_min,scale_max\nm,1,7\nn,1,6\n", records) is not None  # a value changed


def test_a_metric_scale_is_bounded(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("metric,scale_min,scale_max\nhuge,-999999999,999999999\n")
    result = run("--history", store, "validate", path)
    assert result.exit_code == 2 and f"{path}:2: scale_max: a scale of at most 101 points" in result.stderr


def test_tags_per_answer_are_bounded(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    tags = ";".join(f"t{i}" for i in range(1000))
    path.write_text("generation,metric,collected_on,score,tags\nm-1,mood,2025-01-05,4," + tags + "\n")
    result = run("--history", store, "validate", path)
    assert result.exit_code == 2 and f"{path}:2: tags: 1000 tags; at most 32 per answer" in result.stderr
