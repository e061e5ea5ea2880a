"""Corrections: a wrong row leaves the analysis, never the audit trail."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from reporter.pipeline import findings_from_path

from .conftest import run


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _history(tmp_path: Path) -> Path:
    """Two generations of 60 answers each (mean 4 then 5) from exports without response ids."""
    store = tmp_path / "history"
    assert run("init", store).exit_code == 0
    registries = [
        _write(tmp_path / "generations.csv", "generation,release_date", ["g1,2025-01-01", "g2,2025-03-01"]),
        _write(tmp_path / "metrics.csv", "metric,scale_min,scale_max", ["mood,1,7"]),
    ]
    g1 = _write(tmp_path / "g1.csv", "generation,metric,collected_on,score,excerpt",
                [f"g1,mood,2025-01-0{1 + i % 9},{3 + i % 3},{'a quote' if i == 0 else ''}" for i in range(60)])
    g2 = _write(tmp_path / "g2.csv", "generation,metric,collected_on,score",
                [f"g2,mood,2025-03-0{1 + i % 9},{4 + i % 3}" for i in range(60)])
    assert run("--history", store, "merge", *registries, g1, g2).exit_code == 0
    return store


def _correction(tmp_path: Path, name: str, rows: list[str]) -> Path:
    return _write(tmp_path / name, "generation,metric,key,action,reason,by,date", rows)


def _lines(store: Path) -> list[dict[str, str]]:
    with open(store / "corrections.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_whole_bad_export_is_retracted_and_kept_in_the_audit_trail(tmp_path: Path) -> None:
    store = _history(tmp_path)
    bad = tmp_path / "g2.csv"
    fix = _correction(tmp_path, "fix.csv", [f"g2,mood,{_sha(bad)}:*,retract,scores were swapped,analyst,2025-04-01"])
    result = run("--history", store, "merge", fix)
    assert result.exit_code == 0, result.stderr
    findings = findings_from_path(store)
    assert findings.analysis.stat("g2", "mood") is None  # every g2 answer came from the bad export
    lines = _lines(store)
    assert len(lines) == 60 and {line["role"] for line in lines} == {"superseded"}
    assert all(hashlib.sha256(line["row"].encode()).hexdigest() == line["row_sha256"] for line in lines)
    assert all(line["row"].startswith("g2,mood,2025-03-0") for line in lines)
    assert run("--history", store, "verify").exit_code == 0
    # The same bad export merged again does not come back, and the correction is not applied twice.
    again = run("--history", store, "merge", bad, fix)
    assert again.exit_code == 0, again.stderr
    assert findings_from_path(store).analysis.stat("g2", "mood") is None
    assert len(_lines(store)) == 60


def test_a_re_export_replaces_the_bad_one_and_the_comparison_shows_the_delta_without_it(tmp_path: Path) -> None:
    store = _history(tmp_path)
    bad = tmp_path / "g2.csv"
    good = _write(tmp_path / "g2-fixed.csv", "generation,metric,collected_on,score",
                  [f"g2,mood,2025-03-0{1 + i % 9},{3 + i % 3}" for i in range(60)])
    fix = _correction(tmp_path, "fix.csv", [f"g2,mood,{_sha(bad)}:*,replace,re-exported,analyst,2025-04-01"])
    result = run("--history", store, "merge", fix, good)
    assert result.exit_code == 0, result.stderr
    findings = findings_from_path(store)
    (comparison,) = findings.analysis.comparisons
    assert comparison.delta == 0.0
    assert comparison.corrected is not None
    assert (comparison.corrected.removed_from, comparison.corrected.removed_to) == (0, 60)
    assert comparison.corrected.delta_without_corrections == 1.0  # the bad export's mean was one point higher
    document = json.loads(run("--history", store, "check", "--json").stdout)
    assert document["comparisons"][0]["corrected"] == {"removed_from": 0, "removed_to": 60, "delta_without_corrections": 1.0}
    assert document["corrections"] == [{"generation": "g2", "metric": "mood", "key": f"{_sha(bad)}:*", "action": "replace",
                                        "by": "analyst", "date": "2025-04-01", "reason": "re-exported", "rows": 60,
                                        "removed": 60}]
    assert {line["role"] for line in _lines(store)} == {"superseded", "replacement"}


def test_a_replace_that_nothing_replaces_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = _history(tmp_path)
    before = (store / "manifest.json").read_bytes()
    fix = _correction(tmp_path, "fix.csv", [f"g2,mood,{_sha(tmp_path / 'g2.csv')}:*,replace,oops,analyst,2025-04-01"])
    result = run("--history", store, "merge", fix)
    assert result.exit_code == 2
    assert "fix.csv:2: action: replace, but no answer of this merge takes the rows' place" in result.stderr
    assert (store / "manifest.json").read_bytes() == before


def test_a_correction_that_names_no_row_is_refused_with_its_line(tmp_path: Path) -> None:
    store = _history(tmp_path)
    fix = _correction(tmp_path, "fix.csv", ["g1,mood,no-such-answer,retract,oops,analyst,2025-04-01"])
    result = run("--history", store, "merge", fix)
    assert result.exit_code == 2
    assert "fix.csv:2: key: names no answer or counts row of g1 / mood in the history" in result.stderr


def test_a_redaction_blanks_the_excerpt_keeps_the_score_and_keeps_no_copy_of_the_text(tmp_path: Path) -> None:
    store = _history(tmp_path)
    row_key = f"{_sha(tmp_path / 'g1.csv')}:2"
    fix = _correction(tmp_path, "fix.csv", [f"g1,mood,{row_key},redact,consent withdrawn,analyst,2025-04-01"])
    before = findings_from_path(store).analysis.stat("g1", "mood")
    assert run("--history", store, "merge", fix).exit_code == 0
    after = findings_from_path(store).analysis.stat("g1", "mood")
    assert before is not None and after is not None and (before.n, before.mean) == (after.n, after.mean)
    assert "a quote" not in (store / "observations" / "g1.csv").read_text()
    (line,) = _lines(store)
    assert "a quote" not in line["row"]
    assert "sha256:" + hashlib.sha256(b"a quote").hexdigest() in line["row"]


def test_an_older_report_fails_verify_naming_the_correction_who_made_it_and_why(tmp_path: Path) -> None:
    store = _history(tmp_path)
    assert run("--history", store, "render", "--format", "json", "--out", tmp_path / "report").exit_code == 0
    key = f"{_sha(tmp_path / 'g1.csv')}:3"
    fix = _correction(tmp_path, "fix.csv", [f"g1,mood,{key},retract,duplicate answer,dana,2025-04-02"])
    assert run("--history", store, "merge", fix).exit_code == 0
    result = run("--history", store, "verify", tmp_path / "report")
    assert result.exit_code == 1
    assert "observations/g1.csv: dana made a correction on 2025-04-02 because: duplicate answer; it changed 1 row " \
        "the report used (retract of mood key" in result.stdout


def test_a_changed_row_with_a_response_id_is_replaced_instead_of_refused(tmp_path: Path) -> None:
    store = tmp_path / "history"
    assert run("init", store).exit_code == 0
    generations = _write(tmp_path / "generations.csv", "generation,release_date", ["g1,2025-01-01"])
    metrics = _write(tmp_path / "metrics.csv", "metric,scale_min,scale_max", ["mood,1,7"])
    first = _write(tmp_path / "a.csv", "generation,metric,collected_on,score,response_id", ["g1,mood,2025-01-02,2,r1"])
    assert run("--history", store, "merge", generations, metrics, first).exit_code == 0
    changed = _write(tmp_path / "b.csv", "generation,metric,collected_on,score,response_id", ["g1,mood,2025-01-02,6,r1"])
    assert run("--history", store, "merge", changed).exit_code == 2  # a conflict without a correction
    fix = _correction(tmp_path, "fix.csv", ["g1,mood,r1,replace,typo in the score,analyst,2025-02-01"])
    result = run("--history", store, "merge", fix, changed)
    assert result.exit_code == 0, result.stderr
    stat = findings_from_path(store).analysis.stat("g1", "mood")
    assert stat is not None and stat.mean == 6.0


def test_merging_a_retracted_export_again_never_brings_its_rows_back(tmp_path: Path) -> None:
    store = _history(tmp_path)
    bad = tmp_path / "g2.csv"
    fix = _correction(tmp_path, "fix.csv", [f"g2,mood,{_sha(bad)}:*,retract,scores were swapped,analyst,2025-04-01"])
    assert run("--history", store, "merge", fix).exit_code == 0
    again = run("--history", store, "merge", bad)  # a merge that brings no correction of its own
    assert again.exit_code == 0, again.stderr
    assert "60 withheld by a correction" in again.stdout
    assert findings_from_path(store).analysis.stat("g2", "mood") is None


def test_merging_a_replaced_export_again_never_brings_its_rows_back(tmp_path: Path) -> None:
    store = _history(tmp_path)
    bad = tmp_path / "g2.csv"
    good = _write(tmp_path / "g2-fixed.csv", "generation,metric,collected_on,score",
                  [f"g2,mood,2025-03-0{1 + i % 9},{3 + i % 3}" for i in range(60)])
    fix = _correction(tmp_path, "fix.csv", [f"g2,mood,{_sha(bad)}:*,replace,re-exported,analyst,2025-04-01"])
    assert run("--history", store, "merge", fix, good).exit_code == 0
    before = findings_from_path(store).analysis.stat("g2", "mood")
    again = run("--history", store, "merge", bad)
    assert again.exit_code == 0 and "60 withheld by a correction" in again.stdout
    after = findings_from_path(store).analysis.stat("g2", "mood")
    assert before is not None and after is not None and (after.n, after.mean) == (before.n, before.mean) == (60, 4.0)


def _counts_history(tmp_path: Path) -> tuple[Path, Path]:
    """g1 as 60 answers (mean 4); g2 as an aggregated export of two counts rows (30 at 4, 30 at 6: mean 5)."""
    store = _history(tmp_path)
    counts = _write(tmp_path / "g2-counts.csv", "generation,metric,collected_on,score,count",
                    ["g2,mood,2025-03-05,4,30", "g2,mood,2025-03-05,6,30"])
    retract_rows = _correction(tmp_path, "drop-g2.csv", [f"g2,mood,{_sha(tmp_path / 'g2.csv')}:*,retract,"
                                                         "moved to counts,analyst,2025-03-20"])
    assert run("--history", store, "merge", retract_rows, counts).exit_code == 0
    assert findings_from_path(store).analysis.stat("g2", "mood").mean == 5.0  # type: ignore[union-attr]
    return store, counts


def test_a_counts_row_is_retracted_by_its_key_and_its_answers_leave_the_analysis(tmp_path: Path) -> None:
    store, counts = _counts_history(tmp_path)
    fix = _correction(tmp_path, "fix.csv", [f"g2,mood,{_sha(counts)}:3,retract,the 6s were a grader bug,analyst,2025-04-01"])
    result = run("--history", store, "merge", fix)
    assert result.exit_code == 0, result.stderr
    stat = findings_from_path(store).analysis.stat("g2", "mood")
    assert stat is not None and (stat.mean, stat.n) == (4.0, 30)
    (comparison,) = findings_from_path(store).analysis.comparisons
    assert comparison.corrected is not None
    assert comparison.corrected.removed_to == 90  # 60 answers of the first export and the 30 of the counts row
    line = next(line for line in _lines(store) if line["key"].endswith(":3"))
    assert line["row"].startswith("g2,mood,2025-03-05,6,30,")
    assert run("--history", store, "verify").exit_code == 0
    # Merged again, the retracted counts row stays out.
    again = run("--history", store, "merge", counts)
    assert again.exit_code == 0 and "withheld by a correction" in again.stdout, again.stdout
    assert findings_from_path(store).analysis.stat("g2", "mood").n == 30  # type: ignore[union-attr]


def test_an_aggregated_export_is_replaced_whole(tmp_path: Path) -> None:
    store, counts = _counts_history(tmp_path)
    fixed = _write(tmp_path / "g2-counts-fixed.csv", "generation,metric,collected_on,score,count",
                   ["g2,mood,2025-03-05,4,30", "g2,mood,2025-03-05,5,30"])
    fix = _correction(tmp_path, "fix.csv", [f"g2,mood,{_sha(counts)}:*,replace,re-aggregated,analyst,2025-04-01"])
    result = run("--history", store, "merge", fix, fixed)
    assert result.exit_code == 0, result.stderr
    stat = findings_from_path(store).analysis.stat("g2", "mood")
    assert stat is not None and (stat.mean, stat.n) == (4.5, 60)
    roles = [(line["role"], line["row"].split(",")[3]) for line in _lines(store) if line["key"].startswith(_sha(counts))]
    assert sorted(roles) == [("replacement", "4"), ("replacement", "5"), ("superseded", "4"), ("superseded", "6")]
