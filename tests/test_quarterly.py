"""Quarterly reports and the audit of a report against the history."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import Result

from reporter.periods import Quarter, last_completed

from .conftest import run, snapshot
from .scenario import Scenario


@pytest.mark.parametrize(
    ("text", "first", "last", "previous"),
    [
        ("2025-Q1", "2025-01-01", "2025-03-31", "2024-Q4"),
        ("2024-Q1", "2024-01-01", "2024-03-31", "2023-Q4"),
        ("2026-q2", "2026-04-01", "2026-06-30", "2026-Q1"),
        ("2025-Q4", "2025-10-01", "2025-12-31", "2025-Q3"),
    ],
)
def test_quarters(text: str, first: str, last: str, previous: str) -> None:
    q = Quarter.parse(text)
    assert (q.first_day.isoformat(), q.last_day.isoformat(), str(q.previous())) == (first, last, previous)
    assert Quarter.containing(q.previous().last_day + dt.timedelta(days=1)) == q


@pytest.mark.parametrize(
    ("text", "first", "last", "shown"),
    [("9999-Q4", "9999-10-01", "9999-12-31", "9999-Q4"), ("0001-Q1", "0001-01-01", "0001-03-31", "0001-Q1"),
     ("0001-Q2", "0001-04-01", "0001-06-30", "0001-Q2")],
)
def test_the_first_and_last_quarters_a_calendar_holds(text: str, first: str, last: str, shown: str) -> None:
    q = Quarter.parse(text)
    assert (q.first_day.isoformat(), q.last_day.isoformat(), str(q)) == (first, last, shown)
    assert q.has_previous == (text != "0001-Q1")


def test_quarterly_at_the_ends_of_the_calendar(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    for quarter, today in (("0001-Q1", "0001-04-02"), ("0001-Q2", "0001-07-02")):
        result = quarterly(store, tmp_path / "reports", quarter, today=today)
        assert result.exit_code == 2 and "0001-" in result.stderr and "nothing to analyse" in result.stderr
    result = quarterly(store, tmp_path / "reports", "9999-Q3", today="9999-10-02")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "reports" / "9999-Q3" / "findings.json").is_file()


def test_a_quarter_ends_after_its_last_day() -> None:
    q = Quarter.parse("2026-Q3")
    assert not q.ended_by(dt.date(2026, 9, 30))
    assert q.ended_by(dt.date(2026, 10, 1))
    assert str(last_completed(dt.date(2026, 11, 27))) == "2026-Q3"
    assert str(last_completed(dt.date(2026, 1, 1))) == "2025-Q4"


@pytest.mark.parametrize("text", ["2026-Q5", "2026Q1", "Q1-2026", "26-Q1"])
def test_bad_quarter_names_are_refused(tmp_path: Path, text: str) -> None:
    result = run("--history", tmp_path, "quarterly", text)
    assert result.exit_code == 2


def history_over_quarters(root: Path) -> Path:
    """g1 answers in 2025-Q1, g2 with a jump at a training change in Q2, nothing in Q3, g3 in Q4."""
    s = Scenario(root)
    s.generation("g1", "2025-01-10").generation("g2", "2025-04-10").generation("g3", "2025-10-10")
    s.normal("g1", 4.0).normal("g2", 4.6).normal("g3", 4.6)
    s.event("2025-04-01", "training_change", "g2")
    return s.write()


def quarterly(store: Path, out: Path, *args: str, today: str = "2026-01-15") -> Result:
    return run("--history", store, "quarterly", *args, "--out", out, "--today", today)


def test_quarterly_writes_the_outputs_and_a_manifest(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    result = quarterly(store, tmp_path / "reports", "2025-Q2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "2025-Q2: written" in result.stderr
    folder = tmp_path / "reports" / "2025-Q2"
    assert sorted(p.name for p in folder.iterdir()) == [
        ".welfare-report",
        "findings.json", "manifest.json", "welfare-section.fragment.html", "welfare-section.html", "welfare-section.pdf",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["as_of"] == "2025-06-30" and manifest["quarter"] == "2025-Q2"
    assert manifest["command"] == "welfare-report --history history quarterly 2025-Q2 --out reports --today 2026-01-15"
    assert str(tmp_path) not in (folder / "manifest.json").read_text()
    assert {i["path"] for i in manifest["inputs"]} >= {"generations.csv", "observations/g1.csv", "observations/g2.csv"}
    assert "observations/g3.csv" not in {i["path"] for i in manifest["inputs"]}
    assert json.loads((folder / "findings.json").read_text())["as_of"] == "2025-06-30"


def test_without_an_argument_the_last_completed_quarter(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    result = quarterly(store, tmp_path / "reports", today="2025-11-02")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "reports" / "2025-Q3").is_dir()


@pytest.mark.parametrize("quarter", ["2025-Q4", "2027-Q1"])
def test_a_quarter_that_has_not_ended_is_refused(tmp_path: Path, quarter: str) -> None:
    store = history_over_quarters(tmp_path)
    result = quarterly(store, tmp_path / "reports", quarter, today="2025-12-31")
    assert result.exit_code == 2
    assert "has not ended yet" in result.stderr
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_a_rerun_is_byte_identical_and_says_so(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    quarterly(store, tmp_path / "reports", "2025-Q2")
    first = snapshot(tmp_path / "reports")
    result = quarterly(store, tmp_path / "reports", "2025-Q2")
    assert result.exit_code == 0 and "2025-Q2: unchanged" in result.stderr
    assert snapshot(tmp_path / "reports") == first


def test_a_different_report_is_not_overwritten_without_force(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    quarterly(store, tmp_path / "reports", "2025-Q2")
    first = snapshot(tmp_path / "reports")
    (tmp_path / "late.csv").write_text("generation,metric,collected_on,score,response_id\ng2,mood,2025-05-01,1,late\n")
    assert run("--history", store, "merge", tmp_path / "late.csv").exit_code == 0
    result = quarterly(store, tmp_path / "reports", "2025-Q2")
    assert result.exit_code == 2
    assert "already holds a different report for 2025-Q2" in result.stderr and "--force" in result.stderr
    assert snapshot(tmp_path / "reports") == first
    forced = run("--history", store, "quarterly", "2025-Q2", "--out", tmp_path / "reports", "--today", "2026-01-15", "--force")
    assert forced.exit_code == 0 and "replaced" in forced.stderr
    assert snapshot(tmp_path / "reports") != first
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["2025-Q2"]


def _since(folder: Path) -> str:
    html = (folder / "welfare-section.html").read_text()
    return html[html.index('id="wr-since"'):html.index("</section>", html.index('id="wr-since"'))]


def test_a_quarter_with_no_new_data(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    quarterly(store, tmp_path / "reports", "2025-Q2")
    assert quarterly(store, tmp_path / "reports", "2025-Q3").exit_code == 0
    since = _since(tmp_path / "reports" / "2025-Q3")
    assert "No new generations." in since and "No new answers." in since and "No new events." in since
    assert "New (0)" in since and "Resolved (0)" in since and "Unchanged (1)" in since
    assert "computed from the history as of 2025-06-30" in since  # never read from the previous report


def test_since_the_previous_quarter_lists_what_changed(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    assert quarterly(store, tmp_path / "reports", "2025-Q2").exit_code == 0
    since = _since(tmp_path / "reports" / "2025-Q2")
    assert "computed from the history as of 2025-03-31" in since
    assert "New generations: g2 (released 2025-04-10)." in since
    assert "<th scope=\"row\">g2</th><td>200</td>" in since
    assert "training change (g2)" in since
    assert "New (1)" in since and "WR002" in since
    manifest = json.loads((tmp_path / "reports" / "2025-Q2" / "manifest.json").read_text())
    assert manifest["since"]["flags_new"] == 1 and manifest["since"]["new_answers"] == 1


def test_flags_resolved_since_the_previous_quarter(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-10")
    s.scores("g1", [4] * 20)  # WR009 in Q1
    s.scores("g1", [4] * 20, start="2025-04-02")  # 40 answers by the end of Q2: no longer small
    store = s.write()
    quarterly(store, tmp_path / "reports", "2025-Q1")
    quarterly(store, tmp_path / "reports", "2025-Q2")
    since = _since(tmp_path / "reports" / "2025-Q2")
    assert "Resolved (1)" in since and "WR009" in since


# -- verify REPORT_DIR -------------------------------------------------------------------------


def test_verify_a_report_that_matches(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    quarterly(store, tmp_path / "reports", "2025-Q2")
    result = run("--history", store, "verify", tmp_path / "reports" / "2025-Q2")
    assert result.exit_code == 0, result.stdout
    assert "matches it" in result.stdout


def test_later_data_leaves_an_old_report_valid(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    quarterly(store, tmp_path / "reports", "2025-Q2")
    (tmp_path / "later.csv").write_text("generation,metric,collected_on,score,response_id\ng2,mood,2025-08-01,5,later\n")
    assert run("--history", store, "merge", tmp_path / "later.csv").exit_code == 0
    assert run("--history", store, "verify", tmp_path / "reports" / "2025-Q2").exit_code == 0


def test_a_backfilled_row_inside_the_report_window_is_named(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    quarterly(store, tmp_path / "reports", "2025-Q2")
    (tmp_path / "early.csv").write_text("generation,metric,collected_on,score,response_id\ng1,mood,2025-02-01,5,early\n")
    assert run("--history", store, "merge", tmp_path / "early.csv").exit_code == 0
    result = run("--history", store, "verify", tmp_path / "reports" / "2025-Q2")
    assert result.exit_code == 1
    assert "observations/g1.csv: the rows dated on or before 2025-06-30 differ from those the report used (200 rows then, 201 now)" in result.stdout


def test_verify_catches_a_one_line_change_in_the_history(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    quarterly(store, tmp_path / "reports", "2025-Q2")
    path = store / "observations" / "g2.csv"
    lines = path.read_text().splitlines(keepends=True)
    fields = lines[5].split(",")
    fields[3] = "7" if fields[3] != "7" else "1"
    lines[5] = ",".join(fields)
    path.write_text("".join(lines))
    result = run("--history", store, "verify", tmp_path / "reports" / "2025-Q2")
    assert result.exit_code == 1
    assert "observations/g2.csv: SHA-256 differs from the manifest" in result.stdout
    assert "observations/g2.csv: the rows dated on or before 2025-06-30 differ" in result.stdout
    assert "findings.json: differs from the findings recomputed" in result.stdout


def test_verify_names_a_changed_output(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    quarterly(store, tmp_path / "reports", "2025-Q2")
    pdf = tmp_path / "reports" / "2025-Q2" / "welfare-section.pdf"
    pdf.write_bytes(pdf.read_bytes() + b"\n%tampered\n")
    result = run("--history", store, "verify", tmp_path / "reports" / "2025-Q2")
    assert result.exit_code == 1
    assert "welfare-section.pdf: changed since the report was written" in result.stdout


def test_verify_a_folder_without_findings_is_an_error(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    result = run("--history", store, "verify", tmp_path)
    assert result.exit_code == 2
    assert "findings.json does not exist" in result.stderr


def test_verify_a_render_output_folder(tmp_path: Path) -> None:
    store = history_over_quarters(tmp_path)
    run("--history", store, "render", "--out", tmp_path / "build", "--format", "json", "--as-of", "2025-05-01")
    assert run("--history", store, "verify", tmp_path / "build").exit_code == 0


def test_the_first_quarter_with_data_has_everything_new(tmp_path: Path) -> None:
    s = Scenario(tmp_path)
    s.generation("g1", "2025-04-10").normal("g1", 4.0)
    store = s.write()
    result = quarterly(store, tmp_path / "reports", "2025-Q2")
    assert result.exit_code == 0, result.stderr
    assert "No new generations." not in _since(tmp_path / "reports" / "2025-Q2")
