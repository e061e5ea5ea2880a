"""The section is built once: every writer lays out the same Section, and the counting is the analysis's."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reporter import phrasing
from reporter.rules import RULES, marked_on

from .conftest import run
from .scenario import Scenario

ROOT = Path(__file__).parents[1]
CHART_MARKS = {"trend", "distribution", "redirects", "concern_tags", "robustness", "texts", "none"}


class _Headings(HTMLParser):
    """The text of every heading at one level."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.tag, self.inside = f"h{level}", False
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == self.tag:
            self.inside = True
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self.tag:
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.texts[-1] += data


def _normal(text: str) -> str:
    return " ".join(re.sub(r"\\(.)", r"\1", text).split())


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("section") / "out"
    result = run("--history", ROOT / "history", "render", "--out", out, "--format", "html", "--format", "markdown",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    return out


def test_the_markdown_and_the_html_list_the_same_sections(bundled: Path) -> None:
    page = _Headings(2)
    page.feed((bundled / "welfare-section.html").read_text(encoding="utf-8"))
    markdown = [_normal(line[3:]) for line in (bundled / "welfare-section.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("### ")]  # the fragment's default level 2 puts sections at level 3
    html = [_normal(text) for text in page.texts]
    assert len(html) >= 8 and "Provenance" in html and "Rules" in html
    assert markdown == html


def test_the_markdown_and_the_html_show_the_same_flags(bundled: Path) -> None:
    findings = json.loads((bundled / "findings.json").read_text(encoding="utf-8"))
    keys = {f["key"] for f in findings["flags"]}
    assert any(f["acknowledged"] for f in findings["flags"]), "the example has an acknowledged flag to show"
    markdown = (bundled / "welfare-section.md").read_text(encoding="utf-8")
    shown = {_normal(k) for k in re.findall(r"^\| WR\d{3} \| \w+ \| `([^`]*)` \|", markdown, flags=re.MULTILINE)}
    assert shown == keys
    html = (bundled / "welfare-section.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="wr-table-finding-([^"]+)"', html))
    assert anchors == {re.sub(r"[^A-Za-z0-9_-]+", "-", k).strip("-") for k in keys}
    for flag in findings["flags"]:
        if flag["acknowledged"]:
            assert _normal(phrasing_free(flag["acknowledged"]["reason"])) in _normal(markdown)


def phrasing_free(text: str) -> str:
    """A reason as the Markdown escapes it, read back."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_the_markdown_provenance_has_the_corrections_and_input_hashes(bundled: Path) -> None:
    findings = json.loads((bundled / "findings.json").read_text(encoding="utf-8"))
    provenance = (bundled / "welfare-section.md").read_text(encoding="utf-8").split("### Provenance", 1)[1]
    assert "#### Corrections" in provenance and "#### Inputs" in provenance
    assert all(f"`{i['sha256']}`" in provenance for i in findings["inputs"])
    if findings["corrections"]:
        assert all(_normal(c["reason"])[:40] in _normal(provenance.replace("\\", "")) for c in findings["corrections"])


def _answers_scenario(root: Path) -> Scenario:
    s = Scenario(root, metrics={"mood": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01").generation("g3", "2025-05-01")
    for g in ("g1", "g2", "g3"):
        # 400 answers a generation over three topics and all seven points: 21 distinct rows each.
        scores = [1 + (i * 5 + i // 7) % 7 for i in range(400)]
        s.scores(g, scores, "mood", days=1, topic=lambda i: ("work", "rest", "people")[i % 3])
    return s


def test_counts_rows_stand_for_their_answers_in_the_header_and_methods(tmp_path: Path) -> None:
    rows = _answers_scenario(tmp_path / "rows")
    rows_store = rows.write()
    counted = _answers_scenario(tmp_path / "counts")
    columns = ("generation", "metric", "collected_on", "score", "topic")
    combos = Counter(tuple(row[c] for c in columns) for row in counted.answers)
    assert sum(combos.values()) == 1200 and len(combos) == 63
    counts_file = tmp_path / "counts.csv"
    with open(counts_file, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*columns, "count"])
        writer.writerows([*combo, n] for combo, n in sorted(combos.items()))
    counted.answers = []
    counts_store = counted.write()
    assert run("--history", counts_store, "merge", counts_file).exit_code == 0

    def header_and_methods(store: Path, out: Path) -> tuple[str, str]:
        assert run("--history", store, "render", "--out", out, "--format", "html").exit_code == 0
        page = (out / "welfare-section.html").read_text(encoding="utf-8")
        header = re.search(r'<p class="wr-meta">(.*?)</p>', page)
        methods = re.search(r'id="wr-table-methods".*?</table>', page, flags=re.DOTALL)
        assert header and methods
        return header.group(1), methods.group(0)

    from_rows = header_and_methods(rows_store, tmp_path / "out-rows")
    from_counts = header_and_methods(counts_store, tmp_path / "out-counts")
    assert "1,200 answers" in from_rows[0]
    assert from_counts == from_rows


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_says_how_it_is_presented(rule: object) -> None:
    from reporter.rules import Rule

    assert isinstance(rule, Rule)
    assert rule.marks in CHART_MARKS
    assert isinstance(rule.size({}), str)
    # A rule a chart marks is one whose measurement that chart draws.
    assert (rule.id in marked_on(rule.marks)) == (rule.marks != "none") or rule.marks == "none"


def test_the_charts_mark_what_the_rules_say() -> None:
    assert marked_on("trend") == ("WR002", "WR003", "WR004", "WR008", "WR013", "WR014", "WR018")
    assert marked_on("distribution") == ("WR006", "WR015")
    assert marked_on("redirects") == ("WR005",) and marked_on("concern_tags") == ("WR010",)
    assert marked_on("robustness") == ("WR007", "WR012")
    assert marked_on("texts") == ("WR016", "WR017")


def test_an_unknown_verdict_is_refused_not_called_inconclusive() -> None:
    assert phrasing.verdict("inconclusive", 0.3, 10, 30) == "inconclusive: too few answers to tell (10 on the smaller side, 30 needed)"
    with pytest.raises(ValueError, match="unknown verdict"):
        phrasing.verdict("fine", 0.3, 100, 30)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        pytest.param(dict(verdict="changed", delta=0.33, ci95=(0.14, 0.51)),
                     "changed: +0.33 (95% CI +0.14 to +0.51)", id="changed-claims-no-at-least"),
        pytest.param(dict(verdict="changed", delta=-0.62, ci95=(-0.80, -0.44)),
                     "changed: -0.62 (95% CI -0.80 to -0.44), at least the 0.30 points the rules call a jump",
                     id="changed-at-least-where-the-bound-clears-a-jump"),
        pytest.param(dict(verdict="stable", delta=0.02, ci90=(-0.10, 0.14)),
                     "stable: no change larger than 0.30 points (+0.02, 90% CI -0.10 to +0.14; a claim about the "
                     "mean at the 5% level)", id="stable-with-its-90-percent-interval"),
        pytest.param(dict(verdict="inconclusive", delta=0.5, ci95=(-0.5, 1.5), smallest_n=12),
                     "inconclusive: too few answers to tell (12 on the smaller side, 30 needed)", id="too-few"),
        pytest.param(dict(verdict="inconclusive", delta=0.28, ci95=(0.16, 0.40), p_holm=0.0004),
                     "inconclusive: rose by 0.28 (95% CI +0.16 to +0.40), less than the 0.30 points the rules call a jump",
                     id="clear-change-smaller-than-a-jump"),
        pytest.param(dict(verdict="inconclusive", delta=0.20, ci95=(0.04, 0.37), p_holm=0.02),
                     "inconclusive: rose by 0.20 (95% CI +0.04 to +0.37), less than the 0.30 points the rules call a jump",
                     id="clear-change-whose-interval-reaches-a-jump"),
        pytest.param(dict(verdict="inconclusive", delta=0.20, ci95=(-0.04, 0.44), p_holm=0.2),
                     "inconclusive: +0.20 (95% CI -0.04 to +0.44) spans both no change and a jump of 0.30 points",
                     id="spans-both"),
        pytest.param(dict(verdict="inconclusive", delta=-0.34, ci95=(-0.66, -0.02), p_holm=0.12, family=6),
                     "inconclusive: fell by 0.34 (95% CI -0.66 to -0.02, unadjusted), which does not survive the "
                     "correction for the 6 metrics compared (Holm p = 0.12)", id="jump-size-not-surviving-holm"),
    ],
)
def test_each_verdict_claims_no_more_than_its_test(arguments: dict[str, object], words: str) -> None:
    values: dict[str, object] = {"jump_size": 0.3, "smallest_n": 800, "min_n": 30} | arguments
    assert phrasing.verdict(**values) == words  # type: ignore[arg-type]


def test_a_change_just_under_a_jump_shows_the_digits_that_tell_them_apart() -> None:
    words = phrasing.verdict("inconclusive", 0.05, 100, 30, 0.0496, (0.001, 0.09), None, 0.01)
    assert "rose by 0.0496" in words and "less than the 0.0500 points" in words


def test_a_stable_mean_whose_shape_moved_is_not_summarised_as_stable(tmp_path: Path) -> None:
    from reporter.pipeline import findings_from_path
    from reporter.summary import summary_groups

    s = Scenario(tmp_path, metrics={"mood": (1, 7), "joy": (1, 7)})
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    # mood: the same mean, answers moved to both ends (WR015); joy: nothing moved.
    s.scores("g1", [3] * 50 + [4] * 100 + [5] * 50).scores("g2", [2] * 50 + [4] * 100 + [6] * 50)
    s.normal("g1", 4.0, metric="joy").normal("g2", 4.0, metric="joy")
    findings = findings_from_path(s.write())
    assert {c.metric: c.verdict for c in findings.analysis.comparisons} == {"mood": "stable", "joy": "stable"}
    (group,) = summary_groups(findings)
    assert dict(group.verdicts) == {"stable": ["joy"], "stable in the mean, not in shape (WR015)": ["mood"]}
    out = tmp_path / "out"
    assert run("--history", tmp_path / "history", "render", "--out", out, "--format", "html", "--format", "markdown").exit_code == 0
    for name in ("welfare-section.html", "welfare-section.md"):
        text = (out / name).read_text().replace("<bdi>", "")
        assert "Stable in the mean, not in shape (WR015): mood" in text


def test_a_cell_whose_answers_are_all_equal_gets_no_interval_never_a_zero_width_one(tmp_path: Path) -> None:
    s = Scenario(tmp_path)
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.normal("g1", 4.0).scores("g2", [4] * 12)
    out = tmp_path / "out"
    result = run("--history", s.write(), "render", "--out", out, "--format", "html", "--format", "json")
    assert result.exit_code == 0, result.stderr
    stat = next(x for x in json.loads((out / "findings.json").read_text())["stats"] if x["generation"] == "g2")
    assert (stat["ci_low"], stat["ci_high"]) == (None, None)
    html = (out / "welfare-section.html").read_text()
    assert "no interval: all 12 answers were 4" in html and "4.00 to 4.00" not in html


def test_beside_a_summary_the_section_says_which_rules_cannot_run_on_it(tmp_path: Path) -> None:
    s = Scenario(tmp_path)
    s.generation("g1", "2025-01-01").generation("g2", "2025-03-01")
    s.summary("g1", 4.0, 800, "2025-01-10", sd=1.2).normal("g2", 4.1)
    out = tmp_path / "out"
    result = run("--history", s.write(), "render", "--out", out, "--format", "html", "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    for name in ("welfare-section.html", "welfare-section.md"):
        text = " ".join((out / name).read_text().split())
        assert "known only from a published summary" in text and "WR015" in text
        assert text.count("known only from a published summary") == 1, "g2 has answers: only g1 is named"


@pytest.mark.parametrize(("generations", "sizes"), [(0, []), (1, [1]), (6, [6]), (7, [4, 3]), (12, [6, 6]), (13, [5, 5, 3])])
def test_wide_tables_split_into_as_few_even_tables_of_at_most_six_generations(generations: int, sizes: list[int]) -> None:
    from reporter.section import balanced

    names = [f"g{i}" for i in range(generations)]
    chunks = balanced(names)
    assert [len(c) for c in chunks] == sizes and [g for c in chunks for g in c] == names
