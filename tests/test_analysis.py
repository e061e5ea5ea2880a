"""The analysis: sources, predecessors, splits, cuts, invariants, and the bundled history's findings."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from scipy import stats as scipy_stats

from reporter.analyze import analyze
from reporter.findings import dumps, stat_json
from reporter.history import Answers, Generation, load_history
from reporter.lineage import resolve_predecessors
from reporter.pipeline import findings_from_path
from reporter.rules import RULES
from reporter.store import Store

from .conftest import run
from .scenario import Scenario, random_scores

ROOT = Path(__file__).parents[1]


def _gen(name: str, release: str, model: str = "", predecessor: str = "") -> Generation:
    return Generation(name, release, model, predecessor, "", "")


def test_predecessor_column_then_model_line_then_previous_release() -> None:
    generations = [
        _gen("a1", "2025-01-01", "a"), _gen("b1", "2025-02-01", "b"), _gen("a2", "2025-03-01", "a"),
        _gen("c1", "2025-04-01", "c"), _gen("x", "2025-05-01", "b", predecessor="a1"),
    ]
    assert resolve_predecessors(generations) == {"a1": None, "b1": "a1", "a2": "a1", "c1": "a2", "x": "a1"}


def test_across_gap_compares_with_the_nearest_ancestor_with_data(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7), "joy": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-02-01").generation("g3", "2025-03-01")
    s.normal("g1", 4.0).normal("g2", 4.0, metric="joy").normal("g3", 4.0)
    analysis = s.findings().analysis
    mood = [c for c in analysis.comparisons if c.metric == "mood"]
    assert [(c.from_, c.to, c.across_gap) for c in mood] == [("g1", "g3", True)]


def test_summaries_latest_wins_sd_from_ci_or_assumed(tmp_path: Path) -> None:
    s = Scenario(tmp_path)
    s.generation("g1", "2024-01-01").generation("g2", "2024-06-01").generation("g3", "2024-09-01")
    s.summary("g1", 4.0, 100, "2024-01-10", ci_low=3.8, ci_high=4.2)
    s.summary("g2", 4.1, 100, "2024-06-10", sd=1.0, source="card one")
    s.summary("g2", 4.3, 120, "2024-12-01", sd=1.1, source="card two")
    s.summary("g3", 4.4, 80, "2024-09-10")
    analysis = s.findings().analysis
    g1, g2, g3 = (analysis.stat(g, "mood") for g in ("g1", "g2", "g3"))
    assert g1 is not None and g2 is not None and g3 is not None
    # A published 95% interval is read as a t interval (df n - 1) to recover the sd.
    assert g1.sd == pytest.approx(0.4 / (2 * scipy_stats.t.ppf(0.975, 99)) * 10) and not g1.sd_assumed
    assert (g2.mean, g2.n, g2.sd) == (4.3, 120, 1.1)
    assert [o["source"] for o in g2.other_summaries] == ["card one"]
    assert g3.sd == 3.0 and g3.sd_assumed
    assert all(c.procedure == "Welch t" for c in analysis.comparisons)


def test_answers_take_precedence_over_a_summary(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-01")
    s.summary("g1", 6.5, 100, "2025-01-05").normal("g1", 4.0, n=50)
    stat = s.findings().analysis.stat("g1", "mood")
    assert stat is not None and stat.source == "observations" and stat.n == 50


def test_headline_uses_neutral_answers_and_records_what_it_pooled(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-01")
    s.scores("g1", [4] * 40, method="manual_interview", topic="training")
    s.scores("g1", [7] * 10, framing="positive_lead")
    s.scores("g1", [4] * 10, redirected="true")
    s.scores("g1", [4] * 0 + [4], declined="true")
    stat = s.findings().analysis.stat("g1", "mood")
    assert stat is not None
    assert stat.n == 51 and stat.mean == 4.0  # the leading answers are left out
    assert stat.elicitation["framing"] == {"neutral": 51, "positive_lead": 10}
    assert stat.elicitation["method"] == {"automated_interview": 11, "manual_interview": 40}
    assert stat.redirect_rate == pytest.approx(10 / 51)
    assert stat.n_without_redirected == 41


def test_declined_answers_count_in_rates_not_in_n(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-01")
    s.scores("g1", [5] * 30)
    s.answers.append({"generation": "g1", "metric": "mood", "collected_on": "2025-01-02", "score": "",
                      "response_id": "d1", "declined": "true"})
    stat = s.findings().analysis.stat("g1", "mood")
    assert stat is not None and stat.n == 30 and stat.decline_rate == pytest.approx(1 / 31)


def test_as_of_cuts_answers_events_and_generations(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-01").generation("g2", "2025-06-01")
    s.normal("g1", 4.0, days=60).normal("g2", 4.0).event("2025-05-01", "training_change")
    store = s.write()
    findings = findings_from_path(store, "2025-01-31")
    history = findings.analysis.history
    assert [g.name for g in history.generations] == ["g1"]
    assert history.events == []
    stat = findings.analysis.stat("g1", "mood")
    assert stat is not None and stat.last_collected <= "2025-01-31" and stat.n < 200
    assert findings_from_path(store).as_of == "2025-06-20"


def test_holm_is_applied_across_metrics_of_one_transition(tmp_path: Path) -> None:
    s = Scenario(tmp_path, metrics={"mood": (1, 7), "joy": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-02-01")
    s.normal("g1", 4.0).normal("g2", 4.2).normal("g1", 4.0, metric="joy").normal("g2", 4.0, metric="joy")
    comparisons = s.findings().analysis.comparisons
    ps = sorted(c.p_value for c in comparisons if c.p_value is not None)
    holms = sorted(c.p_holm for c in comparisons if c.p_holm is not None)
    assert holms[0] == pytest.approx(min(1.0, 2 * ps[0]))


def _findings_json_without_inputs(store: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads(dumps(findings_from_path(store)))
    document.pop("inputs")
    return document


def test_statistics_do_not_depend_on_row_order(tmp_path: Path) -> None:
    s = Scenario(tmp_path).generation("g1", "2025-01-01").generation("g2", "2025-02-01")
    s.scores("g1", random_scores(4.0, 1.2, 300, 1)).scores("g2", random_scores(4.4, 1.2, 300, 2))
    store = Store(s.write())
    with store.locked():
        history = load_history(store)
    order = np.random.default_rng(0).permutation(len(history.answers))
    a = history.answers
    shuffled = replace(history, answers=Answers(
        {k: v[order] for k, v in a.codes.items()}, a.categories, a.day[order], a.score[order],
        a.redirected[order], a.declined[order], a.concern[order],
    ))
    first, second = analyze(history), analyze(shuffled)
    assert [stat_json(x) for x in first.stats] == [stat_json(x) for x in second.stats]
    assert [(c.delta, c.ci_low, c.ci_high, c.p_value) for c in first.comparisons] == [
        (c.delta, c.ci_low, c.ci_high, c.p_value) for c in second.comparisons
    ]


def test_adding_a_generation_leaves_the_others_alone(tmp_path: Path) -> None:
    def build(root: Path, extra: bool) -> dict[str, object]:
        s = Scenario(root).generation("g1", "2025-01-01").generation("g2", "2025-02-01")
        s.scores("g1", random_scores(4.0, 1.2, 200, 1)).scores("g2", random_scores(4.3, 1.2, 200, 2))
        if extra:
            s.generation("g3", "2025-03-01").scores("g3", random_scores(5.0, 1.2, 200, 3))
        analysis = s.findings().analysis
        return {
            "stats": [stat_json(x) for x in analysis.stats if x.generation != "g3"],
            "comparisons": [(c.from_, c.to, c.delta, c.ci_low, c.ci_high, c.p_value)
                            for c in analysis.comparisons if c.to != "g3"],
        }

    assert build(tmp_path / "a", False) == build(tmp_path / "b", True)


def test_every_interval_contains_its_mean(tmp_path: Path) -> None:
    findings = findings_from_path(ROOT / "history")
    for stat in findings.analysis.stats:
        if stat.mean is not None:
            assert stat.ci_low <= stat.mean <= stat.ci_high  # type: ignore[operator]
    for c in findings.analysis.comparisons:
        if c.delta is not None and c.ci_low is not None:
            assert c.ci_low <= c.delta <= c.ci_high  # type: ignore[operator]


def test_findings_json_follows_its_schema() -> None:
    schema = json.loads(resources.files("reporter").joinpath("findings.schema.json").read_text())
    document = json.loads(run("--history", ROOT / "history", "check", "--json").stdout)
    jsonschema.validate(document, schema)
    assert document["schema"] == "welfare-report/findings/2"
    assert document["chain_head"] and document["tool_version"] and document["options"] == {}
    assert [i["path"] for i in document["inputs"]][:8] == [
        "acknowledgements.csv", "corrections.csv", "counts.csv", "events.csv", "generations.csv", "metrics.csv",
        "phrases.csv", "summaries.csv",
    ]


def test_findings_json_is_deterministic() -> None:
    first = run("--history", ROOT / "history", "check", "--json").stdout
    assert first == run("--history", ROOT / "history", "check", "--json").stdout


# Everything planted in the bundled example, and nothing else.
BUNDLED = [
    ('WR002', 'circumstances', ('aster-4', 'aster-5')),
    ('WR002', 'circumstances', ('aster-5', 'aster-6')),
    ('WR002', 'interaction_comfort', ('aster-4', 'aster-5')),
    ('WR002', 'circumstances', ('aster-6',)),
    ('WR003', 'interaction_comfort', ('aster-3', 'aster-4')),
    ('WR003', 'task_enjoyment', ('aster-7', 'aster-8')),
    ('WR004', 'circumstances', ('aster-6', 'aster-7')),
    ('WR004', 'circumstances', ('aster-7', 'aster-8')),
    ('WR004', 'circumstances', ('aster-8', 'aster-9-preview')),
    ('WR005', 'interaction_comfort', ('aster-4', 'aster-5')),
    ('WR005', 'interaction_comfort', ('aster-5', 'aster-6')),
    ('WR005', 'interaction_comfort', ('aster-6', 'aster-7')),
    ('WR005', 'interaction_comfort', ('aster-7', 'aster-8')),
    ('WR006', 'autonomy', ('aster-7', 'aster-8')),
    ('WR007', 'task_enjoyment', ('aster-6',)),
    ('WR008', None, ('aster-5', 'aster-6')),
    ('WR008', None, ('aster-6', 'aster-7')),
    ('WR008', None, ('aster-7', 'aster-8')),
    ('WR008', 'interaction_comfort', ('aster-3', 'aster-4')),
    ('WR008', 'interaction_comfort', ('aster-4', 'aster-5')),
    ('WR009', 'circumstances', ('aster-9-preview',)),
    ('WR010', 'task_enjoyment', ('aster-7', 'aster-8')),
    ('WR011', 'task_enjoyment', ('aster-4',)),
    ('WR012', 'autonomy', ('aster-5',)),
    ('WR013', 'circumstances', ('aster-4', 'aster-5')),
    ('WR013', 'circumstances', ('aster-5', 'aster-6')),
    ('WR013', 'circumstances', ('aster-6', 'aster-7')),
    ('WR014', 'interaction_comfort', ('aster-3', 'aster-4')),
    ('WR014', 'interaction_comfort', ('aster-4', 'aster-5')),
    ('WR015', 'autonomy', ('aster-6', 'aster-7')),
    ('WR015', 'autonomy', ('aster-7', 'aster-8')),
    ('WR016', None, ('aster-5',)),
    ('WR017', None, ('aster-5', 'aster-6')),
    ('WR018', 'circumstances', ('aster-1',)),
]


def test_the_bundled_example_plants_every_rule_but_wr001() -> None:
    """WR001 refuses its input, so it cannot be planted; every other rule fires somewhere in the example."""
    fired = {f.rule for f in findings_from_path(ROOT / "history").raised}
    assert fired == {r.id for r in RULES} - {"WR001"}


def test_bundled_history_shows_every_planted_phenomenon_and_nothing_else() -> None:
    findings = findings_from_path(ROOT / "history")
    assert [(f.rule, f.metric, tuple(f.generations)) for f in findings.raised] == BUNDLED
    acknowledged = [f for f in findings.raised if f.acknowledged]
    assert [(f.rule, tuple(f.generations)) for f in acknowledged] == [("WR005", ("aster-4", "aster-5"))]
    assert run("--history", ROOT / "history", "check").exit_code == 1


def test_answers_of_one_interview_are_one_cluster(tmp_path: Path) -> None:
    """Forty interviews of five answers that move together: the interval counts interviews, not answers."""
    scores = [int(np.clip(4 + (i // 5) % 3 - 1 + (i % 5 == 0), 1, 7)) for i in range(200)]

    def build(root: Path, with_interviews: bool) -> Scenario:
        s = Scenario(root).generation("g1", "2025-01-01").generation("g2", "2025-03-01")
        interview = (lambda i: f"interview-{i // 5}") if with_interviews else ""
        return s.scores("g1", scores, interview_id=interview).scores("g2", scores, interview_id=interview)

    clustered = build(tmp_path / "a", True).findings().analysis
    independent = build(tmp_path / "b", False).findings().analysis
    a, b = clustered.stat("g1", "mood"), independent.stat("g1", "mood")
    assert a is not None and b is not None and a.moments is not None and b.moments is not None
    assert a.interviews == 40 and b.interviews is None
    assert a.moments.df == 39 and b.moments.df == 199
    assert a.ci_high - a.ci_low > 1.5 * (b.ci_high - b.ci_low)  # type: ignore[operator]
    assert clustered.comparisons[0].procedure == "Welch t, cluster-robust"


def test_a_store_file_written_before_interviews_and_instruments_reads_them_as_empty() -> None:
    from reporter.history import ANSWER_COLUMNS, _observation_table

    old = (b"generation,metric,collected_on,score,response_id,method,framing,topic,prompt_variant,system_prompt,"
           b"redirected,declined,tags,excerpt,source,key\ng1,mood,2025-01-01,4,r1,automated_interview,neutral,,,,"
           b"false,false,,,,\n")
    import pyarrow as pa

    types = dict.fromkeys(ANSWER_COLUMNS, pa.string()) | {"score": pa.int64()}
    table = _observation_table(old, types, ANSWER_COLUMNS)
    assert table.column_names == list(ANSWER_COLUMNS)
    assert table["interview_id"].to_pylist() == [""] and table["instrument"].to_pylist() == [""]


def _summary_comparison(tmp_path: Path, **fields: Any) -> tuple[Any, Any]:
    s = Scenario(tmp_path)
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.summary("g1", 4.0, 800, "2025-01-10", sd=1.2, **fields).summary("g2", 4.2, 800, "2025-03-10", sd=1.2, **fields)
    analysis = findings_from_path(s.write()).analysis
    (comparison,) = analysis.comparisons
    return comparison, analysis.stat("g2", "mood")


def test_a_summary_of_interviewed_answers_is_not_read_as_independent_answers(tmp_path: Path) -> None:
    independent, _ = _summary_comparison(tmp_path / "a")
    clustered, stat = _summary_comparison(tmp_path / "b", interviews=100)
    # 8 answers per interview at the default intraclass correlation 0.2: a design effect of 2.4.
    assert stat.design_effects["mean"] == pytest.approx(2.4)
    assert stat.interviews == 100
    assert clustered.difference.df == pytest.approx(99 * 2, rel=0.01)
    ratio = clustered.difference.se / independent.difference.se
    assert ratio == pytest.approx(np.sqrt(2.4), rel=1e-6)
    # Read as 800 independent answers a side, the rise would be called stable; read as 100 interviews, it cannot be.
    assert (independent.verdict, clustered.verdict) == ("stable", "inconclusive")


def test_a_published_interval_of_interviewed_answers_is_read_as_cluster_robust(tmp_path: Path) -> None:
    comparison, stat = _summary_comparison(tmp_path, interviews=100, ci_low=3.8, ci_high=4.2)
    se = 0.2 / scipy_stats.t.ppf(0.975, 99)
    assert stat.moments.variance_of_mean == pytest.approx(se**2)
    assert comparison.difference.se == pytest.approx(np.sqrt(2) * se)


def test_of_several_summaries_the_latest_published_is_used(tmp_path: Path) -> None:
    s = Scenario(tmp_path)
    s.generation("g1", "2025-01-01")
    # A later card quotes the model at 4.60, measured earlier than the first card's 4.49 was collected.
    s.summary("g1", 4.49, 800, "2025-01-20", sd=1.2, source="card A", published_on="2025-02-01")
    s.summary("g1", 4.60, 800, "2025-01-10", sd=1.2, source="card B", published_on="2025-09-01")
    stat = findings_from_path(s.write()).analysis.stat("g1", "mood")
    assert stat is not None and stat.mean == 4.60
    assert [o["source"] for o in stat.other_summaries] == ["card A"]
