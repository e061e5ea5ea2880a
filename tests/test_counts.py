"""Counts: answers aggregated elsewhere take part in every statistic as the same answers would."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from .conftest import run
from .scenario import Scenario, quantile_scores


def _scenario(root: Path) -> Scenario:
    s = Scenario(root, metrics={"mood": (1, 7), "joy": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01").event("2025-02-20", "training_change", "g2")
    for generation, mood, joy in (("g1", 4.0, 4.2), ("g2", 4.6, 4.2)):
        s.scores(generation, quantile_scores(mood, 1.2, 300), "mood", days=1,
                 method=lambda i: "manual_interview" if i % 4 == 0 else "automated_interview",
                 redirected=lambda i: "true" if i % 20 == 0 else "false")
        s.scores(generation, quantile_scores(joy, 1.0, 300), "joy", days=1, topic=lambda i: "work" if i % 2 else "rest")
    return s


def _as_counts(s: Scenario, path: Path) -> None:
    """The scenario's answers aggregated as a warehouse would: one row per combination, with its count."""
    columns = ("generation", "metric", "collected_on", "score", "method", "topic", "redirected")
    combos = Counter(tuple(row.get(c, "") for c in columns) for row in s.answers)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*columns, "count"])
        writer.writerows([*combo, count] for combo, count in sorted(combos.items()))


def _findings(store: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(run("--history", store, "check", "--json").stdout)
    for stat in document["stats"]:
        stat.pop("source")
    for flag in document["flags"]:
        for side in ("source_from", "source_to"):
            flag["evidence"].pop(side, None)
    for name in ("inputs", "chain_head"):
        document.pop(name)
    return document


def test_the_same_answers_as_rows_or_as_counts_give_the_same_findings(tmp_path: Path) -> None:
    rows = _scenario(tmp_path / "rows")
    rows_store = rows.write()
    counted = _scenario(tmp_path / "counts")
    counts_file = tmp_path / "counts.csv"
    _as_counts(counted, counts_file)
    counted.answers = []
    counts_store = counted.write()
    merged = run("--history", counts_store, "merge", counts_file)
    assert merged.exit_code == 0, merged.stderr
    sources = {s["source"] for s in json.loads(run("--history", counts_store, "check", "--json").stdout)["stats"]}
    assert sources == {"counts"}
    assert _findings(counts_store) == _findings(rows_store)
    assert "WR002" in {f["rule"] for f in _findings(rows_store)["flags"]}


def test_counts_merge_once_and_a_changed_count_is_a_conflict(tmp_path: Path) -> None:
    s = _scenario(tmp_path)
    counts_file = tmp_path / "counts.csv"
    _as_counts(s, counts_file)
    s.answers = []
    store = s.write()
    assert run("--history", store, "merge", counts_file).exit_code == 0
    again = run("--history", store, "merge", counts_file)
    assert again.exit_code == 0 and "counts: added 0" in again.stdout
    lines = counts_file.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",999"
    counts_file.write_text("\n".join(lines) + "\n")
    conflict = run("--history", store, "merge", counts_file)
    assert conflict.exit_code == 2 and "differs in count" in conflict.stderr


def test_a_duckdb_query_over_parquet_aggregates_answers_into_counts_that_merge(tmp_path: Path) -> None:
    """The README's aggregation, run: answers in Parquet, grouped where they live, merged as counts."""
    duckdb = pytest.importorskip("duckdb")
    rows = _scenario(tmp_path / "rows")
    rows_store = rows.write()
    answers = tmp_path / "answers.csv"
    with open(answers, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["generation", "metric", "collected_on", "score", "method", "topic",
                                                    "redirected"], extrasaction="ignore", restval="")
        writer.writeheader()
        writer.writerows(rows.answers)
    connection = duckdb.connect()
    connection.execute(f"COPY (SELECT * FROM read_csv('{answers}', all_varchar=true)) TO '{tmp_path / 'answers.parquet'}' (FORMAT parquet)")
    counts_file = tmp_path / "counts.csv"
    connection.execute(README_QUERY.replace("answers/*.parquet", str(tmp_path / "answers.parquet"))
                       .replace("'counts.csv'", f"'{counts_file}'"))
    counted = _scenario(tmp_path / "counts")
    counted.answers = []
    counts_store = counted.write()
    merged = run("--history", counts_store, "merge", counts_file)
    assert merged.exit_code == 0, merged.stderr
    assert _findings(counts_store) == _findings(rows_store)


README_QUERY = (Path(__file__).parents[1] / "README.md").read_text().split("```sql\n", 1)[1].split("```", 1)[0]
