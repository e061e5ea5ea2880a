"""Probe and behaviour measures beside self-reports: validation, statistics, and WR013."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reporter.pipeline import findings_from_path

from .conftest import run
from .scenario import Scenario

ROOT = Path(__file__).parents[1]


def _with_probe(tmp_path: Path, direction: str = "") -> Scenario:
    s = Scenario(tmp_path, metrics={"mood": (1, 7), "valence": (0, 1)})
    s.metric_fields["valence"] = {"measure": "probe", "corroborates": "mood", "direction": direction}
    return s.generation("g1", "2025-01-01").generation("g2", "2025-03-01").event("2025-02-20", "training_change", "g2")


def _wr013(s: Scenario) -> list[tuple[str, ...]]:
    return [tuple(f.generations) for f in s.findings().raised if f.rule == "WR013"]


def test_a_self_report_that_rises_while_its_probe_stays_flat_is_wr013(tmp_path: Path) -> None:
    s = _with_probe(tmp_path).normal("g1", 4.0).normal("g2", 4.6)
    s.real("g1", 0.5, "valence").real("g2", 0.5, "valence")
    findings = s.findings()
    (flag,) = [f for f in findings.raised if f.rule == "WR013"]
    assert flag.generations == ("g1", "g2") and flag.metric == "mood"
    assert "the self-report moved; the independent evidence followed less than the self-report" in flag.message
    (pair,) = findings.analysis.corroborations
    assert pair.measure == "valence" and pair.measure_change == pytest.approx(0.0, abs=1e-9)
    assert pair.difference >= 0.2 and pair.ci_low > 0


def test_a_probe_that_follows_the_self_report_keeps_wr013_quiet(tmp_path: Path) -> None:
    s = _with_probe(tmp_path).normal("g1", 4.0).normal("g2", 4.6)
    s.real("g1", 0.5, "valence").real("g2", 0.55, "valence")  # the same half a standard deviation
    assert _wr013(s) == []


def test_a_measure_read_in_the_opposite_sense_that_rises_does_not_follow(tmp_path: Path) -> None:
    """Higher opt-out means lower enjoyment: opt-out rising with the self-report is evidence against it."""
    s = _with_probe(tmp_path, direction="opposite").normal("g1", 4.0).normal("g2", 4.6)
    s.real("g1", 0.5, "valence").real("g2", 0.55, "valence")
    assert _wr013(s) == [("g1", "g2")]
    falling = _with_probe(tmp_path / "b", direction="opposite").normal("g1", 4.0).normal("g2", 4.6)
    falling.real("g1", 0.5, "valence").real("g2", 0.45, "valence")
    assert _wr013(falling) == []


def test_probe_metrics_get_stats_and_verdicts_but_no_self_report_rules(tmp_path: Path) -> None:
    s = _with_probe(tmp_path).normal("g1", 4.0).normal("g2", 4.0)
    s.real("g1", 0.3, "valence").real("g2", 0.6, "valence")  # a large move right at a training change
    findings = s.findings()
    probe = [c for c in findings.analysis.comparisons if c.metric == "valence"]
    assert probe and probe[0].verdict == "changed" and probe[0].p_holm is not None
    assert not [f for f in findings.raised if f.metric == "valence"]
    stat = findings.analysis.stat("g2", "valence")
    assert stat is not None and stat.mean == pytest.approx(0.6, abs=1e-3) and stat.shares == {} and stat.median is None


def _merge(tmp_path: Path, metrics: str, answers: str) -> tuple[int, str]:
    store = tmp_path / "history"
    run("init", store)
    (tmp_path / "generations.csv").write_text("generation,release_date\ng1,2025-01-01\n")
    (tmp_path / "metrics.csv").write_text(metrics)
    (tmp_path / "answers.csv").write_text(answers)
    result = run("--history", store, "merge", tmp_path / "generations.csv", tmp_path / "metrics.csv", tmp_path / "answers.csv")
    return result.exit_code, result.stderr


METRICS = "metric,scale_min,scale_max,measure,corroborates,direction\nmood,1,7,,,\nvalence,0,1,probe,mood,same\n"


def test_a_whole_score_written_with_a_point_is_the_integer_and_a_probe_takes_real_values(tmp_path: Path) -> None:
    code, stderr = _merge(tmp_path, METRICS, "generation,metric,collected_on,score\n"
                          "g1,mood,2025-01-02,5.0\ng1,valence,2025-01-02,0.73\n")
    assert code == 0, stderr
    assert "g1,mood,2025-01-02,5," in (tmp_path / "history" / "observations" / "g1.csv").read_text()


def test_a_fraction_on_a_self_report_metric_is_refused_with_its_line(tmp_path: Path) -> None:
    code, stderr = _merge(tmp_path, METRICS, "generation,metric,collected_on,score\ng1,mood,2025-01-02,5.5\n")
    assert code == 2
    assert "answers.csv:2: score: 5.5 is not a whole number; 'mood' is a self-report" in stderr


@pytest.mark.parametrize(("metrics", "fragment"), [
    ("metric,scale_min,scale_max,measure,corroborates\nmood,1,7,,\nvalence,0,1,probe,other\nother,0,1,behaviour,mood\n",
     "metrics.csv:3: corroborates: 'other' is a behaviour metric; corroborates names a self-report metric"),
    ("metric,scale_min,scale_max,measure,direction\nmood,1,7,,\nvalence,0,1,probe,opposite\n",
     "metrics.csv:3: direction: a direction only goes with corroborates"),
    ("metric,scale_min,scale_max,corroborates\nmood,1,7,\nother,1,7,mood\n",
     "metrics.csv:3: corroborates: only a probe or behaviour metric corroborates a self-report"),
    ("metric,scale_min,scale_max,measure,corroborates\nvalence,0,1,probe,nothing\n",
     "metrics.csv:2: corroborates: unknown metric 'nothing'"),
])
def test_corroboration_is_checked_when_metrics_are_validated(tmp_path: Path, metrics: str, fragment: str) -> None:
    (tmp_path / "metrics.csv").write_text(metrics)
    result = run("validate", tmp_path / "metrics.csv")
    assert result.exit_code == 2
    assert fragment in result.stderr


def test_a_pandas_export_of_the_bundled_observations_merges_without_a_problem(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    import shutil

    store = tmp_path / "history"
    shutil.copytree(ROOT / "history", store)
    frame = pandas.read_csv(ROOT / "history" / "observations" / "aster-5.csv")
    assert frame["score"].dtype.kind == "f"  # declined answers make pandas read scores as floats: 4.0, 5.0
    frame.drop(columns="key").to_csv(tmp_path / "export.csv", index=False)
    result = run("--history", store, "merge", tmp_path / "export.csv")
    assert result.exit_code == 0, result.stderr
    assert "observations: added 0" in result.stdout  # every row is the one already held


def test_findings_list_metrics_and_corroboration(tmp_path: Path) -> None:
    s = _with_probe(tmp_path).normal("g1", 4.0).normal("g2", 4.6)
    s.real("g1", 0.5, "valence").real("g2", 0.5, "valence")
    store = s.write()
    document = json.loads(run("--history", store, "check", "--json").stdout)
    assert {m["metric"]: m["measure"] for m in document["metrics"]} == {"mood": "self_report", "valence": "probe"}
    assert [(p["metric"], p["measure"], p["from"], p["to"]) for p in document["corroboration"]] == [
        ("mood", "valence", "g1", "g2")]
    assert findings_from_path(store).analysis.corroborations


def test_trend_json_sets_each_self_report_beside_its_evidence(tmp_path: Path) -> None:
    s = _with_probe(tmp_path).normal("g1", 4.0).normal("g2", 4.6)
    s.real("g1", 0.5, "valence").real("g2", 0.5, "valence")
    rows = json.loads(run("--history", s.write(), "trend", "--format", "json", "--metric", "mood").stdout)
    (g2,) = [r for r in rows if r["generation"] == "g2"]
    (pair,) = g2["corroboration"]
    assert pair["measure"] == "valence" and pair["from"] == "g1" and pair["difference"] > 0.2
