"""Acknowledgements that match what they name, keys a reviewer can copy, and no silent failures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .conftest import run
from .scenario import Scenario


def _history(tmp_path: Path) -> Path:
    """A WR002 flag on mood between g1 and g2, and a WR009 note on g3."""
    s = Scenario(tmp_path)
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01").generation("g3", "2025-05-01")
    s.normal("g1", 4.0).normal("g2", 4.7).normal("g3", 4.7, n=10)
    s.event("2025-02-20", "training_change", "g2")
    return s.write()


def _acknowledge(store: Path, tmp_path: Path, rows: str) -> int:
    path = tmp_path / "reviews.csv"
    path.write_text("rule,generations,metric,reason,by,date\n" + rows)
    return run("--history", store, "merge", path).exit_code


def test_check_prints_the_key_of_each_open_flag(tmp_path: Path) -> None:
    store = _history(tmp_path)
    output = run("--history", store, "check").stdout
    assert "key: WR002|mood|g1;g2" in output
    document = json.loads(run("--history", store, "check", "--json").stdout)
    assert [f["key"] for f in document["flags"] if f["rule"] == "WR002"] == ["WR002|mood|g1;g2"]


def test_the_template_lists_the_open_flags_ready_to_fill_in(tmp_path: Path) -> None:
    store = _history(tmp_path)
    template = tmp_path / "to-review.csv"
    result = run("--history", store, "check", "--acknowledgements-template", template)
    assert result.exit_code == 1
    with open(template, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [{"rule": "WR002", "generations": "g1;g2", "metric": "mood", "reason": "", "by": "", "date": ""}]
    for row in rows:
        row.update(reason="reviewed: the change is the new stage", by="ann", date="2025-06-01")
    with open(template, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert run("--history", store, "merge", template).exit_code == 0
    assert run("--history", store, "check").exit_code == 0


def test_an_unknown_rule_is_refused(tmp_path: Path) -> None:
    store = _history(tmp_path)
    path = tmp_path / "reviews.csv"
    path.write_text("rule,generations,metric,reason,by,date\nWR099,g1;g2,mood,looked at it,ann,2025-06-01\n")
    result = run("--history", store, "validate", path)
    assert result.exit_code == 2
    assert f"{path}:2: rule: unknown rule 'WR099'" in result.stderr


def test_an_acknowledgement_that_matches_nothing_is_listed(tmp_path: Path) -> None:
    store = _history(tmp_path)
    # The reviewer named one generation of a transition: it matches no finding.
    assert _acknowledge(store, tmp_path, "WR002,g2,mood,looked at it,ann,2025-06-01\n") == 0
    check = run("--history", store, "check")
    assert check.exit_code == 1
    assert "ACKNOWLEDGEMENTS THAT MATCH NOTHING" in check.stdout and "WR002|mood|g2" in check.stdout
    document = json.loads(run("--history", store, "check", "--json").stdout)
    assert document["unmatched_acknowledgements"] == [
        {"rule": "WR002", "metric": "mood", "generations": ["g2"], "by": "ann", "date": "2025-06-01"}]
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--format", "html").exit_code == 0
    assert "match no finding" in (out / "welfare-section.html").read_text()
