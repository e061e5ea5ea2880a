"""Reading answers by columns is an optimisation, never a second set of rules.

For every file, good or bad, the columns must give exactly what the row path
gives (the same rows, the same problems), and a merge must write the same
bytes; a plain export must actually take the columns, so the speed cannot
quietly go away.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reporter import ingest, schema
from reporter.errors import Problem
from reporter.inputs import read_input
from reporter.store import tables
from reporter.store.files import canonical_csv

from .conftest import run, snapshot

COLUMNS = ["generation", "metric", "collected_on", "score", "response_id", "interview_id", "method", "topic",
           "redirected", "declined", "tags", "excerpt"]
# Values that are valid as they stand, valid once typed (5.0, ' m-1 ', TRUE, a CR), and refused.
CELLS = {
    "generation": ["m-1", "m-2", " m-1 ", "m 1", ""],
    "metric": ["mood", "joy", "MOOD", "mood!"],
    "collected_on": ["2025-06-01", "2025-06-02", " 2025-06-03", "2025-02-30", "June"],
    "score": ["1", "5", "5.0", "7", "", "x", "8", "2.5"],
    "response_id": ["", "r-1", "r-2", "r-3", " ", "\u00a0", "r\u202e1"],
    "interview_id": ["", "i-1", "i\r\n2", "\u3000"],
    "method": ["", "automated_interview", "Manual_Interview", "chat"],
    "topic": ["", "deployment", "users, safety", 'the "lab"', "a\x07b"],
    "redirected": ["", "true", "No", "1", "maybe"],
    "declined": ["", "false", "yes", "TRUE"],
    "tags": ["", "anxiety", "Distress;anxiety", "bad tag"],
    "excerpt": ["", "I am fine.", "line\nbreak", "a, b", 'say "hi"', "bell\x07", "cr\rhere", " "],
}
row = st.fixed_dictionaries({c: st.sampled_from(v) for c, v in CELLS.items()})
files = st.tuples(
    st.lists(row, min_size=1, max_size=12),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),  # a blank line in the middle
    st.booleans(),  # a BOM
    st.lists(st.sampled_from(COLUMNS[4:]), unique=True, max_size=4),  # optional columns left out
)


def _csv(rows: list[dict[str, str]], newline: str, blank: bool, bom: bool, left_out: list[str]) -> bytes:
    header = [c for c in COLUMNS if c not in left_out]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    for index, r in enumerate(rows):
        writer.writerow([r[c] for c in header])
        if blank and index == 0:
            buffer.write(newline)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def _by_rows(path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingest, "csv_table", lambda *_: None)
        patch.setattr(ingest, "parquet_table", lambda *_: None)
        f = read_input(path)
    assert f.table is None
    return f.rows, f.problems


@given(files)
def test_columns_and_rows_agree_on_every_file(made: tuple[list[dict[str, str]], str, bool, bool, list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.csv"
        path.write_bytes(_csv(*made))
        by_columns = read_input(path)
        rows, problems = _by_rows(path)
    assert by_columns.problems == problems
    assert by_columns.rows == rows


def test_a_plain_export_is_read_by_columns(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("generation,metric,collected_on,score,response_id\n"
                    + "".join(f"m-1,mood,2025-06-01,{1 + i % 7},r-{i}\n" for i in range(1000)))
    f = read_input(path)
    assert f.problems == [] and f.table is not None and f.table.num_rows == 1000
    assert f.rows[0] == (2, {**dict.fromkeys(schema.OBSERVATIONS.names, ""), "generation": "m-1", "metric": "mood",
                             "collected_on": "2025-06-01", "score": "1", "response_id": "r-0",
                             "method": "automated_interview", "framing": "neutral", "redirected": "false",
                             "declined": "false", "featured": "false", "key": f"{f.sha256}:2"})


@pytest.mark.parametrize("bad", [
    b'm-1,mood,2025-06-01,5,"r-1"x\n',  # Python's strict reader refuses what pyarrow reads on
    b'm-1,mood,2025-06-01,5,"r-1\n',  # a quote never closed
    b"m-1,mood,2025-06-01,5\n",  # a row one field short
    b"m-1,mood,2025-06-01,5,r-1\rm-1,mood,2025-06-01,5,r-2\n",  # a lone CR
    b"m-1,mood,2025-06-01,5,r-1\nm-1,mood,2025-06-01,6,r-1\n",  # a key twice
])
def test_a_file_the_columns_cannot_vouch_for_is_read_by_rows(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes(b"generation,metric,collected_on,score,response_id\n" + bad)
    f = read_input(path)
    rows, problems = _by_rows(path)
    assert (f.table is None and f.problems == problems and f.problems != []) or f.rows == rows


def test_record_lines_match_the_csv_reader() -> None:
    for data in [b"a\n\nb\n", b"a\r\n\r\nb", b"a\nb\n\n", b"a\r\nb\r\n", b"a"]:
        reader = csv.reader(io.StringIO(data.decode(), newline=""))
        expected, previous = [], 0
        for record in reader:
            if record:
                expected.append(previous + 1)
            previous = reader.line_num
        assert ingest._record_lines(data).tolist() == expected, data


PARQUET_COLUMNS = {
    "int64 scores": pa.array([1, 5, 7], pa.int64()),
    "float scores": pa.array([1.0, 5.0, 7.0]),
    "a half point": pa.array([1.0, 5.5, 7.0]),
    "NaN": pa.array([1.0, float("nan"), 7.0]),
    "a null score": pa.array([1, None, 7], pa.int64()),
    "a category": pa.array(["5", "5", "6"]).dictionary_encode(),
}


@pytest.mark.parametrize("score", list(PARQUET_COLUMNS), ids=list(PARQUET_COLUMNS))
def test_parquet_types_read_alike(tmp_path: Path, score: str) -> None:
    path = tmp_path / "answers.parquet"
    pq.write_table(pa.table({
        "generation": pa.array(["m-1", "m-1", "m-2"]).dictionary_encode(),
        "metric": ["mood"] * 3,
        "collected_on": pa.array([dt.date(2025, 6, 1), dt.date(2025, 6, 2), dt.date(2025, 6, 3)]),
        "score": PARQUET_COLUMNS[score],
        "redirected": pa.array([True, False, None]),
        "response_id": pa.array([1, 2, 3], pa.int32()),
        "declined": pa.array([False, False, False]),
        "excerpt": pa.array(["a", None, "b,c"]),
    }), path)
    by_columns = read_input(path)
    rows, problems = _by_rows(path)
    assert (by_columns.problems, by_columns.rows) == (problems, rows)


def test_a_merge_by_columns_writes_what_the_row_path_writes(store: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    answers = tmp_path / "answers.csv"
    excerpts = ["fine, thanks", 'say ""hi""', "two\nlines", ""]
    answers.write_text("generation,metric,collected_on,score,response_id,excerpt,topic\n" + "".join(
        f'm-{1 + i % 2},{["mood", "joy"][i % 3 % 2]},2025-06-{1 + i % 28:02d},{1 + i % 7},{"" if i % 5 else f"r-{i}"},'
        f'"{excerpts[i % 4]}",{["users", "ü"][i % 2]}\n' for i in range(300)))
    copy = tmp_path / "rows"
    copy.mkdir()
    for name, data in snapshot(store).items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    assert run("--history", store, "merge", answers).exit_code == 0
    with monkeypatch.context() as patch:
        patch.setattr(ingest, "csv_table", lambda *_: None)
        assert run("--history", copy, "merge", answers).exit_code == 0
    ours, theirs = snapshot(store), snapshot(copy)
    assert {n: d for n, d in ours.items() if n != "manifest.json"} == {n: d for n, d in theirs.items()
                                                                      if n != "manifest.json"}
    # The same file again adds nothing, by columns as by rows.
    again = run("--history", store, "merge", answers)
    assert "added 0, skipped 300" in again.output


def test_table_csv_is_the_row_writer_s_csv() -> None:
    alphabet = ["a", "Z", ",", '"', "\n", " ", "é", "😀", "\t", "1"]
    rng = np.random.default_rng(3)
    for trial in range(150):
        rows = []
        for i in range(int(rng.integers(1, 25))):
            cells = {n: "".join(rng.choice(alphabet, int(rng.integers(0, 4)))) for n in schema.OBSERVATIONS.store_names}
            quiet = trial % 2 == 0  # half the files hold nothing to quote: Arrow's writer writes those
            rows.append(cells | {"metric": str(rng.choice(["m", "é", "M"])), "response_id": str(rng.choice(["", f"r{i}"])),
                                 "key": f"k:{i}"} | ({n: "x" for n in cells if any(c in cells[n] for c in ',"\n')}
                                                     if quiet else {}))
        table = tables.sorted_rows(schema.OBSERVATIONS, tables.from_rows(schema.OBSERVATIONS, rows))
        written = tables.csv_bytes(schema.OBSERVATIONS, table)
        assert written == canonical_csv(schema.OBSERVATIONS, rows)
        assert tables.reads_back(written, table) is None


FIELDS = ["a", '"b"', '"c""d"', '"e,f"', '"g"h', 'i"j', '""', '"k" ', '"open', 'x"y', '"ab""', " "]


@given(st.lists(st.tuples(st.sampled_from(FIELDS), st.sampled_from(FIELDS)), min_size=1, max_size=4))
def test_the_columns_read_a_line_as_python_does_or_not_at_all(lines: list[tuple[str, str]]) -> None:
    data = ("x,y\n" + "".join(f"{a},{b}\n" for a, b in lines)).encode()
    try:
        rows = list(csv.reader(io.StringIO(data.decode(), newline=""), strict=True))
        python_reads = all(len(r) == 2 for r in rows)
    except csv.Error:
        python_reads = False
    read = ingest.csv_table(data, ["x", "y"])
    if not python_reads:
        assert read is None
    elif read is not None:
        columns, _lines = read
        assert [list(pair) for pair in zip(columns["x"].to_pylist(), columns["y"].to_pylist(), strict=True)] == rows[1:]
