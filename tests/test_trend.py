"""`trend`: the columns, the formats, and CSV that a spreadsheet cannot execute."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from reporter.pipeline import findings_from_path
from reporter.trend import COLUMNS

from .conftest import run
from .scenario import Scenario

ROOT = Path(__file__).parents[1]


def test_csv_has_the_designed_columns_in_order() -> None:
    result = run("--history", ROOT / "history", "trend", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == COLUMNS == (
        "generation", "label", "release_date", "metric", "source", "n", "mean", "sd", "median", "ci_low",
        "ci_high", "redirect_rate", "decline_rate", "mean_without_redirected", "contaminated", "delta",
        "delta_ci_low", "delta_ci_high", "p_value", "p_holm", "verdict", "jump", "split",
    )
    analysis = findings_from_path(ROOT / "history").analysis
    splits = [c for c in analysis.comparisons if c.split is not None]
    # One row per generation and metric with data, and one per comparison across a split inside a generation.
    assert len(rows) == 1 + len(analysis.stats) + len(splits) == 1 + 40 + 4
    split_rows = [r for r in rows[1:] if r[-1]]
    assert {(r[0], r[3], r[-1]) for r in split_rows} == {
        (c.to, c.metric, "system_prompt sp-1 -> sp-2") for c in splits}
    assert all(r[-3] in ("changed", "stable", "inconclusive") for r in split_rows)


def test_metric_filter_and_json() -> None:
    result = run("--history", ROOT / "history", "trend", "--metric", "circumstances", "--format", "json")
    rows = json.loads(result.stdout)
    assert {r["metric"] for r in rows} == {"circumstances"}
    first = rows[0]
    assert first["generation"] == "aster-1" and first["delta"] is None and first["source"] == "summaries"


def test_unknown_metric_is_an_error() -> None:
    result = run("--history", ROOT / "history", "trend", "--metric", "nope")
    assert result.exit_code == 2
    assert "unknown metric 'nope'" in result.stderr


def test_the_table_fits_a_100_column_terminal_with_one_line_per_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    columns = 100
    monkeypatch.setenv("COLUMNS", str(columns))
    result = run("--history", ROOT / "history", "trend")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= columns
    assert "autonomy: per generation (neutral framing)" in result.stdout
    row = next(line for line in lines if line.lstrip().startswith("aster-5") and "changed" in line)
    assert re.search(r"\+0\.\d\d +\[\+0\.\d\d, \+0\.\d\d\] +(<0\.001|0\.\d{3}) +changed", row), row


@pytest.mark.parametrize("label", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_csv_neutralises_formulas_but_keeps_numbers(tmp_path: Path, label: str) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-01").generation("g2", "2025-02-01")
    s.generations[0]["label"] = label
    s.normal("g1", 4.6).normal("g2", 4.0)
    store = s.write()
    rows = list(csv.DictReader(io.StringIO(run("--history", store, "trend", "--format", "csv").stdout)))
    assert rows[0]["label"] == "'" + label
    assert rows[1]["delta"].startswith("-") and float(rows[1]["delta"]) < 0


@pytest.mark.parametrize("columns", [60, 80, 160])
def test_no_figure_or_verdict_is_cut_at_any_terminal_width(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    result = run("--history", ROOT / "history", "trend", "--metric", "circumstances")
    assert result.exit_code == 0
    assert "…" not in result.stdout
    data = json.loads(run("--history", ROOT / "history", "trend", "--metric", "circumstances", "--format", "json").stdout)
    for row in (r for r in data if not r["split"] and r["delta"] is not None):
        line = next(line for line in result.stdout.splitlines() if line.split() and line.split()[0] == row["generation"])
        assert f"[{row['delta_ci_low']:+.2f}, {row['delta_ci_high']:+.2f}]" in line and line.rstrip().endswith(row["verdict"])
