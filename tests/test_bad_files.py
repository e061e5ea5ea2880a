"""Every bad file is refused with exit 2, its file, line and column, and leaves the store untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import BAD, run, snapshot

# file, line, column, a fragment of the message
CASES = [
    ("score_not_integer.csv", 3, "score", "not a whole number"),
    ("score_out_of_scale.csv", 3, "score", "outside the scale 1-7"),
    ("score_out_of_scale.parquet", 3, "score", "outside the scale 1-10"),
    ("score_empty_not_declined.csv", 2, "score", "only when declined"),
    ("score_text.jsonl", 3, "score", "is not a number"),
    ("unknown_generation.csv", 2, "generation", "unknown generation 'm-9'"),
    ("unknown_metric.csv", 2, "metric", "unknown metric 'happiness'"),
    ("impossible_date.csv", 2, "collected_on", "not a calendar date"),
    ("release_month_13.csv", 2, "release_date", "not a calendar date"),
    ("date_wrong_format.csv", 2, "collected_on", "YYYY-MM-DD"),
    ("bad_method.csv", 2, "method", "not one of automated_interview"),
    ("bad_framing.csv", 2, "framing", "not one of neutral"),
    ("bad_event_kind.csv", 2, "kind", "not one of training_change"),
    ("bad_boolean.csv", 2, "redirected", "not a boolean"),
    ("bad_tag.csv", 2, "tags", "not a tag"),
    ("missing_required_column.csv", 1, "collected_on", "required column"),
    ("unknown_column.csv", 1, "mood_note", "unknown column"),
    ("duplicate_column.csv", 1, "score", "more than once"),
    ("empty.csv", 1, "file", "empty file"),
    ("header_only.csv", 1, "file", "no rows"),
    ("not_utf8.csv", 3, "row", "not UTF-8"),
    ("binary_garbage.csv", 1, "row", "binary data"),
    ("broken_line.jsonl", 2, "row", "not a JSON object"),
    ("unterminated_quote.csv", 3, "row", "malformed CSV"),
    ("wrong_field_count.csv", 3, "row", "expected 4 fields, found 5"),
    ("id_parent_dir.csv", 2, "generation", "not a valid id"),
    ("id_absolute.csv", 2, "generation", "not a valid id"),
    ("id_too_long.csv", 2, "generation", "longer than 64"),
    ("generation_case_clash.csv", 2, "generation", "differs only in case"),
    ("duplicate_key.csv", 3, "generation", "duplicate key m-1/mood/r1 (first on line 2)"),
    ("target_column.csv", 1, "target", "WR001"),
    ("goal_column.csv", 1, "goal_score", "WR001"),
    ("kpi_column.csv", 1, "kpi", "WR001"),
    ("threshold_column.csv", 1, "threshold", "WR001"),
    ("field_too_long.csv", 2, "excerpt", "longer than 64 KiB"),
    ("metric_scale_inverted.csv", 2, "scale_max", "greater than scale_min"),
    ("summary_negative_sd.csv", 2, "sd", "must not be negative"),
    ("summary_ci_excludes_mean.csv", 2, "ci_low", "contain the mean"),
    ("summary_n_zero.csv", 2, "n", "at least 1"),
    ("summary_mean_out_of_scale.csv", 2, "mean", "outside the scale"),
    ("redirect_rate_above_one.csv", 2, "redirect_rate", "between 0 and 1"),
    ("acknowledge_wr001.csv", 2, "rule", "WR001 cannot be acknowledged"),
    ("acknowledge_unknown_generation.csv", 2, "generations", "unknown generation 'm-7'"),
    ("predecessor_unknown.csv", 2, "predecessor", "unknown generation 'm-0'"),
    ("event_unknown_metric.csv", 2, "metric", "unknown metric"),
    ("phrase_too_short.csv", 2, "phrase", "4 to 40 words once normalised; this one has 3"),
    ("phrase_too_long.csv", 2, "phrase", "this one has 41"),
    ("phrase_empty.csv", 2, "phrase", "required value is empty"),
    ("phrase_duplicate.csv", 3, "phrase", "the same words as line 2's phrase of constitution once normalised"),
    ("phrase_source_not_id.csv", 2, "source", "not a valid id"),
]


def test_every_bad_file_has_a_case() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(c[0] for c in CASES)


@pytest.mark.parametrize(("name", "line", "column", "fragment"), [pytest.param(*c, id=c[0]) for c in CASES])
@pytest.mark.parametrize("command", ["validate", "merge"])
def test_bad_file_is_refused(store: Path, command: str, name: str, line: int, column: str, fragment: str) -> None:
    before = snapshot(store)
    result = run("--history", store, command, BAD / name)
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{BAD / name}:{line}: {column}: "), first
    assert fragment in first
    assert "Traceback" not in result.stderr
    assert snapshot(store) == before


def test_problems_are_capped_with_a_count(store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "many.csv"
    # Alternating scores: every row's message differs from its neighbour's, so nothing folds.
    bad.write_text("generation,metric,collected_on,score\n" + "m-1,mood,2025-01-03,98\nm-1,mood,2025-01-03,99\n" * 75)
    result = run("--history", store, "validate", bad)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len([x for x in lines if x.startswith(str(bad))]) == 100
    assert "... and 50 more problems" in lines
    assert lines[-1] == "welfare-report: 150 problems in 1 file"


def test_one_message_on_consecutive_rows_is_one_line(store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "many.csv"
    bad.write_text("generation,metric,collected_on,score\n" + "m-1,mood,2025-01-03,99\n" * 150)
    result = run("--history", store, "validate", bad)
    assert result.stderr.splitlines()[0] == f"{bad}:2-151: score: 99 is outside the scale 1-7 of 'mood' (150 rows)"


def test_a_broken_registry_is_the_root_cause_and_its_echoes_are_counted(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("metric,scale_min,scale_max,label\nsentiment,1,7,How, it feels\n")  # an unquoted comma
    generations = tmp_path / "generations.csv"
    generations.write_text("generation,release_date\nm-1,2025-01-01\n")
    answers = tmp_path / "answers.csv"
    answers.write_text("generation,metric,collected_on,score\n" + "m-1,sentiment,2025-01-03,4\n" * 440)
    result = run("--history", tmp_path / "none", "validate", answers, generations, metrics)
    lines = result.stderr.splitlines()
    assert lines[0] == f"{metrics}:2: row: expected 4 fields, found 5"
    assert lines[1] == (f"{answers}:2: metric: 440 rows name a metric that is not known; not listed one by one, "
                        f"because {metrics} has problems: fix it first")
    assert len(lines) == 3


def test_all_problems_of_a_file_are_listed_together(store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "two.csv"
    bad.write_text("generation,metric,collected_on,score\nm-1,mood,2025-01-03,99\nm-1,mood,2025-13-03,x\n")
    result = run("--history", store, "merge", bad)
    located = [line.split(": ")[0] + ": " + line.split(": ")[1] for line in result.stderr.splitlines()[:3]]
    assert located == [f"{bad}:2: score", f"{bad}:3: collected_on", f"{bad}:3: score"]
