"""Reading input files: formats, line numbers, kinds."""

from __future__ import annotations

from pathlib import Path

import pytest

from reporter import schema
from reporter.inputs import read_input

from .conftest import GOOD


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("generations.csv", "generations"), ("metrics.csv", "metrics"), ("events.csv", "events"),
        ("acknowledgements.csv", "acknowledgements"), ("summaries.csv", "summaries"),
        ("observations.csv", "observations"), ("observations.jsonl", "observations"),
        ("observations.parquet", "observations"), ("observations_bom.csv", "observations"),
    ],
)
def test_kind_is_told_by_the_header(name: str, kind: str) -> None:
    result = read_input(GOOD / name)
    assert result.problems == []
    assert result.kind is schema.KINDS[kind]


def test_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text('generation,metric,collected_on,score,excerpt\nm-1,mood,2025-01-01,4,"two\nlines"\n\nm-1,mood,2025-01-02,x,\n')
    result = read_input(path)
    assert [(p.line, p.column) for p in result.problems] == [(5, "score")]


def test_the_three_formats_give_the_same_rows(tmp_path: Path) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"generation": "m-1", "metric": "mood", "collected_on": "2025-01-01", "score": 4, "redirected": True}]
    (tmp_path / "a.csv").write_text("generation,metric,collected_on,score,redirected\nm-1,mood,2025-01-01,4,yes\n")
    (tmp_path / "a.jsonl").write_text(json.dumps(rows[0]) + "\n")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    typed = [read_input(tmp_path / f"a.{ext}").rows[0][1] for ext in ("csv", "jsonl", "parquet")]
    for row in typed:
        row.pop("key")
    assert typed[0] == typed[1] == typed[2]
    assert typed[0]["redirected"] == "true" and typed[0]["method"] == "automated_interview"


def test_header_names_are_trimmed_and_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(" Generation , RELEASE_DATE\nm-1,2025-01-01\n")
    assert read_input(path).kind is schema.GENERATIONS


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        pytest.param("redirected", "YES", "true", id="bool-upper"),
        pytest.param("redirected", "0", "false", id="bool-zero"),
        pytest.param("tags", " Anxiety ; boredom;anxiety ", "anxiety;boredom", id="tags-normalised"),
        pytest.param("score", "+5", "5", id="int-sign"),
        pytest.param("method", "Manual_Interview", "manual_interview", id="enum-case"),
    ],
)
def test_values_are_normalised(tmp_path: Path, column: str, value: str, expected: str) -> None:
    path = tmp_path / "o.csv"
    path.write_text(f"generation,metric,collected_on,score,{column}\nm-1,mood,2025-01-01,4,{value}\n".replace(",4,+5", ",+5"))
    if column == "score":
        path.write_text(f"generation,metric,collected_on,score\nm-1,mood,2025-01-01,{value}\n")
    result = read_input(path)
    assert result.problems == []
    assert result.rows[0][1][column] == expected


@pytest.mark.parametrize("name", ["a", "A.b_c-9", "x" * 64])
def test_valid_ids(name: str) -> None:
    assert schema.ID_PATTERN.match(name)


@pytest.mark.parametrize("name", ["..", "../x", "/abs", "-x", ".hidden", "a/b", "a b", ""])
def test_ids_that_could_leave_the_store_are_refused(name: str) -> None:
    assert not schema.ID_PATTERN.match(name)
