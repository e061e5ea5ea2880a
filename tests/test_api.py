"""The public Python surface: open a history, merge DataFrames, findings as DataFrames, render."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import reporter
from reporter.errors import StoreError, ValidationError

from .conftest import run, snapshot
from .scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
ROWS = 40


def _registries(root: Path) -> Path:
    s = Scenario(root).generation("g1", "2025-01-10").generation("g2", "2025-04-10")
    return s.write()


def _frame() -> pd.DataFrame:
    """Answers in pandas' own dtypes: what a notebook holds after reading interview results."""
    n = ROWS
    declined = np.arange(n) % 10 == 9
    score = (np.arange(n) % 7 + 1).astype("float64")
    score[declined] = np.nan  # pandas reads a declined answer's empty score as NaN, and the rest as 4.0
    return pd.DataFrame(
        {
            "generation": pd.Categorical(["g1"] * (n // 2) + ["g2"] * (n - n // 2)),
            "metric": ["mood"] * n,
            "collected_on": pd.to_datetime(["2025-04-12"] * n).astype("datetime64[ns]"),
            "score": score,
            "response_id": [f"answer-{i:03d}" for i in range(n)],
            "interview_id": pd.array([i // 2 for i in range(n)], dtype="Int64").astype(str),
            "declined": pd.array(declined, dtype="boolean"),
            "redirected": np.arange(n) % 5 == 0,
            "excerpt": [f"Line one of answer {i},\nwith \"quotes\", commas" if i % 4 == 0 else None for i in range(n)],
        },
        index=[f"r-{i:04d}" for i in range(n)],
    )


def _csv_of_the_same_data(path: Path, frame: pd.DataFrame | None = None) -> Path:
    """The same answers as pandas writes them to a file: what a notebook would have merged before."""
    (frame if frame is not None else _frame()).to_csv(path, index=False)
    return path


def _answer_files(history: Path) -> dict[str, bytes]:
    return {name: data for name, data in snapshot(history).items() if name.startswith("observations/")}


def test_a_dataframe_in_pandas_dtypes_merges_to_the_same_store_bytes_as_its_csv(tmp_path: Path) -> None:
    from_csv = _registries(tmp_path / "a")
    assert run("--history", from_csv, "merge", _csv_of_the_same_data(tmp_path / "answers.csv")).exit_code == 0
    from_frame = _registries(tmp_path / "b")
    result = reporter.open_history(from_frame).merge(_frame())
    assert result.added == {"observations": ROWS}
    assert _answer_files(from_frame) == _answer_files(from_csv) != {}


def test_the_same_frame_merged_twice_adds_nothing_and_the_log_records_its_digest(tmp_path: Path) -> None:
    history = reporter.open_history(_registries(tmp_path))
    history.merge(_frame())
    manifest = tmp_path / "history" / "manifest.json"
    merged = snapshot(tmp_path / "history")
    again = history.merge(_frame())
    assert again.added == {"observations": 0} and again.skipped == {"observations": ROWS}
    assert snapshot(tmp_path / "history") == merged
    entries = json.loads(manifest.read_text())["merges"]
    digest = hashlib.sha256(_frame().to_csv(index=False).encode("utf-8")).hexdigest()
    assert [i for e in entries for i in e["inputs"] if i["path"] == "frame 1"] == [
        {"path": "frame 1", "sha256": digest}]


def test_an_integer_score_column_with_gaps_merges_as_its_csv_does(tmp_path: Path) -> None:
    frame = _frame()
    frame["score"] = frame["score"].astype("Int64")  # pd.NA for a declined answer
    a, b = _registries(tmp_path / "a"), _registries(tmp_path / "b")
    reporter.open_history(a).merge(frame)
    assert run("--history", b, "merge", _csv_of_the_same_data(tmp_path / "int.csv", frame)).exit_code == 0
    assert _answer_files(a) == _answer_files(b)


def test_the_frames_bytes_are_pandas_own_csv_for_every_dtype_it_meets() -> None:
    from reporter.frames import _csv_bytes

    frame = _frame()
    frame["weight"] = [0.25, 1e-3, 123456.5, np.nan, -2.0] * (ROWS // 5)
    frame["count"] = np.arange(ROWS, dtype="int32")
    frame["note"] = pd.array([None, "a,b", 'say "hi"', "cr\rlf", " padded "] * (ROWS // 5), dtype="string")
    frame["day"] = pd.to_datetime(["2025-01-01", None, "2025-03-04", "2025-12-31", "2026-02-28"] * (ROWS // 5))
    assert _csv_bytes(frame)[0] == frame.to_csv(index=False).encode("utf-8")
    # What Arrow would write otherwise: pandas writes these itself.
    for odd in ([1e-7, 2.0], [1e16, 1.5], [-0.0, 1.0], [float("inf"), 1.0]):
        two = pd.DataFrame({"x": odd, "y": ["a", "b"]})
        assert _csv_bytes(two)[0] == two.to_csv(index=False).encode("utf-8")


def test_a_bad_cell_is_refused_naming_the_frame_row_index_label_and_column(tmp_path: Path) -> None:
    history = _registries(tmp_path)
    before = snapshot(history)
    frame = _frame()
    frame.loc["r-0017", "score"] = 9.0
    good = _csv_of_the_same_data(tmp_path / "good.csv")
    with pytest.raises(ValidationError) as raised:
        reporter.open_history(history).merge(good, frame)
    assert str(raised.value).splitlines() == [
        "frame 2, row 17 (index 'r-0017'): score: 9 is outside the scale 1-7 of 'mood'"]
    assert snapshot(history) == before  # the valid file was not merged either


def test_a_run_of_bad_rows_is_one_line_from_its_first_index_label(tmp_path: Path) -> None:
    frame = _frame()
    frame["metric"] = "joy"
    with pytest.raises(ValidationError) as raised:
        reporter.open_history(_registries(tmp_path)).merge(frame)
    lines = str(raised.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"frame 1, rows 0-{ROWS - 1} (from index 'r-0000'): metric:")


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], {1, 2}])
def test_an_object_cell_holding_a_container_is_refused_not_stringified(tmp_path: Path, value: object) -> None:
    frame = _frame()
    frame["excerpt"] = frame["excerpt"].astype(object)
    frame.at["r-0003", "excerpt"] = value
    with pytest.raises(ValidationError) as raised:
        reporter.open_history(_registries(tmp_path)).merge(frame)
    assert str(raised.value) == (f"frame 1, row 3 (index 'r-0003'): excerpt: holds a {type(value).__name__}; "
                                 "a cell is text, a number, a boolean or a date")


def test_a_time_of_day_is_refused_like_a_bad_date_in_a_file(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc["r-0005", "collected_on"] = pd.Timestamp("2025-04-12 13:30")
    with pytest.raises(ValidationError) as raised:
        reporter.open_history(_registries(tmp_path)).merge(frame)
    # pandas writes every day of the column with its time then, as its CSV would hold them: all are refused.
    assert ("frame 1, row 5 (index 'r-0005'): collected_on: '2025-04-12 13:30:00' is not a date in the form "
            "YYYY-MM-DD") in str(raised.value).splitlines()


def test_a_frame_with_a_missing_column_names_the_frame(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        reporter.open_history(_registries(tmp_path)).merge(_frame().drop(columns=["score"]))
    assert str(raised.value).startswith("frame 1: score: required column of observations is missing")


def test_a_source_that_is_neither_a_path_nor_a_frame_is_refused(tmp_path: Path) -> None:
    with pytest.raises(reporter.ReporterError, match="source 1: a path or a pandas DataFrame, not a dict"):
        reporter.open_history(_registries(tmp_path)).merge({"score": [1]})


def test_open_history_refuses_what_the_reader_commands_refuse(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is not a history"):
        reporter.open_history(tmp_path / "nowhere")
    copy = tmp_path / "history"
    shutil.copytree(ROOT / "history", copy)
    (copy / "events.csv").write_text((copy / "events.csv").read_text() + "2026-01-01,other,,,edited,\n")
    with pytest.raises(StoreError, match="verify"):
        reporter.open_history(copy)


@pytest.fixture(scope="module")
def bundled() -> reporter.Findings:
    return reporter.open_history(ROOT / "history").findings()


def test_to_pandas_agrees_with_the_findings_json_on_every_number(bundled: reporter.Findings) -> None:
    from reporter.findings import to_json

    document = to_json(bundled)
    frames = bundled.to_pandas()
    assert set(frames) == {"generations", "stats", "comparisons", "flags", "corroboration", "texts"}
    stats = frames["stats"]
    assert len(stats) == len(document["stats"])
    for row, stat in zip(stats.to_dict("records"), document["stats"], strict=True):
        for key in ("n", "mean", "sd", "ci_low", "ci_high", "redirect_rate", "decline_rate", "median"):
            assert (row[key] is pd.NA and stat[key] is None) or row[key] == stat[key], (key, row, stat)
    comparisons = frames["comparisons"]
    for row, c in zip(comparisons.to_dict("records"), document["comparisons"], strict=True):
        for key in ("delta", "ci_low", "ci_high", "p_value", "p_holm"):
            assert (row[key] is pd.NA and c[key] is None) or row[key] == c[key]
        assert row["like_for_like_delta"] == c["like_for_like"]["delta"] if c["like_for_like"] else True
        assert row["verdict"] == c["verdict"]
    assert list(comparisons["verdict"].cat.categories) == ["changed", "stable", "inconclusive"]
    assert str(frames["generations"]["release_date"].dtype) == "date32[day][pyarrow]"
    assert str(frames["stats"]["median"].dtype) == "Float64"  # a figure stays a float where it is whole
    flags = frames["flags"]
    assert list(flags["key"]) == [f["key"] for f in document["flags"]]
    assert int(flags["open"].sum()) == len(bundled.open_flags())
    texts = frames["texts"]
    assert list(texts["opener_share"]) == [t["opener_share"] for t in document["texts"]]


def test_trend_is_the_trend_commands_table(tmp_path: Path) -> None:
    frame = reporter.open_history(ROOT / "history").trend("circumstances")
    csv = run("--history", ROOT / "history", "trend", "--metric", "circumstances", "--format", "csv").stdout
    assert list(frame.columns) == csv.splitlines()[0].split(",")
    assert len(frame) == len(csv.splitlines()) - 1
    assert list(frame["verdict"].cat.categories) == ["changed", "stable", "inconclusive"]
    with pytest.raises(reporter.ReporterError, match="unknown metric"):
        reporter.open_history(ROOT / "history").trend("joy")


def test_render_writes_what_the_command_writes(tmp_path: Path, bundled: reporter.Findings) -> None:
    written = reporter.render(bundled, tmp_path / "api", formats=("html", "fragment", "json", "markdown"))
    assert run("--history", ROOT / "history", "render", "--out", tmp_path / "cli", "--format", "html", "--format",
               "fragment", "--format", "json", "--format", "markdown").exit_code == 0
    assert snapshot(tmp_path / "api") == snapshot(tmp_path / "cli")
    assert {p.relative_to(tmp_path / "api").as_posix() for p in written} <= set(snapshot(tmp_path / "api"))
    with pytest.raises(reporter.ReporterError, match="unknown format 'docx'"):
        reporter.render(bundled, tmp_path / "other", formats=("docx",))


def test_repr_html_is_the_summary_and_the_open_flags_escaped(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-10").generation("g2", "2025-04-10")
    s.generations[1]["label"] = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    s.normal("g1", 4.0).normal("g2", 4.6)
    s.event("2025-04-01", "training_change", "g2", description="<script>alert(3)</script>")
    findings = reporter.open_history(s.write()).findings()
    html = findings._repr_html_()
    assert "<script" not in html and "<img" not in html and "onerror=alert(2)>" not in html
    assert "Summary of findings" in html and "Open flags" in html
    assert "WR002|mood|g1;g2" in html  # the open flag's acknowledgement key
    assert repr(findings).startswith("<Findings as of 2025-04-")


def test_importing_reporter_loads_neither_pandas_nor_the_api() -> None:
    import subprocess
    import sys

    code = ("import sys, reporter; import reporter.cli; "
            "print([m for m in ('pandas', 'reporter.api', 'reporter.frames') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_a_frame_with_many_bad_rows_shows_as_many_lines_as_a_file_would(tmp_path: Path) -> None:
    frame = _frame()
    frame["score"] = [9.0, 1.0] * (ROWS // 2)  # every other row outside the scale: no run folds
    big = pd.concat([frame.assign(response_id=[f"{r}-{k}" for r in frame["response_id"]]) for k in range(8)])
    with pytest.raises(ValidationError) as raised:
        reporter.open_history(_registries(tmp_path)).merge(big)
    lines = str(raised.value).splitlines()
    assert len(lines) == 101 and lines[-1] == f"... and {len(big) // 2 - 100} more problems"
