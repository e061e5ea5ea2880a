"""`diff OLD NEW`: what changed between two reports, for an auditor holding both."""

from __future__ import annotations

import json
import re
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from reporter.diff import compare

from .conftest import run
from .scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
LATE_ROWS = 25


def _quarterly(history: Path, out: Path) -> Path:
    result = run("--history", history, "quarterly", "2026-Q2", "--today", "2026-07-02", "--out", out)
    assert result.exit_code == 0, result.stderr
    return out / "2026-Q2"


def _entries(stdout: str) -> list[str]:
    """The listing's entries, each rejoined from its wrapped lines (continuations are indented)."""
    entries: list[str] = []
    for line in stdout.splitlines():
        if line.startswith("    ") and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append(line)
    return entries


def _headings(stdout: str) -> list[str]:
    """Each listed difference's heading, after the first line that names the two reports."""
    return [entry.split(":", 1)[0] for entry in _entries(stdout)[1:]]


@pytest.fixture(scope="module")
def bundled_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two quarterly reports of the bundled history: before, and after a merge, a correction and an acknowledgement."""
    root = tmp_path_factory.mktemp("bundled")
    history = root / "history"
    shutil.copytree(ROOT / "history", history)
    before = _quarterly(history, root / "before")
    late = ["generation,metric,collected_on,score,response_id,interview_id,method"] + [
        f"aster-9-preview,circumstances,2026-06-29,{3 + i % 3},late-{i:03d},late-interview-{i:03d},automated_interview"
        for i in range(LATE_ROWS)]
    (root / "late.csv").write_text("\n".join(late) + "\n")
    (root / "fix.csv").write_text("generation,metric,key,action,reason,by,date\n"
                                  "aster-9-preview,circumstances,late-000,retract,Recorded twice by the exporter,"
                                  "data steward,2026-06-29\n")
    (root / "ack.csv").write_text("rule,generations,reason,by,date,metric\n"
                                  "WR018,aster-1,The Aster 4 card re-scored aster-1; a documented re-measurement,"
                                  "welfare reviewer,2026-06-29,circumstances\n")
    assert run("--history", history, "merge", root / "late.csv").exit_code == 0
    assert run("--history", history, "merge", root / "fix.csv", root / "ack.csv").exit_code == 0
    return history, before, _quarterly(history, root / "after")


@pytest.mark.slow
def test_diff_of_two_quarterly_reports_lists_exactly_the_merge_the_correction_and_the_acknowledgement(
        bundled_pair: tuple[Path, Path, Path]) -> None:
    history, before, after = bundled_pair
    result = run("diff", before, after, "--history", history)
    assert result.exit_code == 1, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()[1:]) <= 100  # the first names the folders
    lines = _entries(result.stdout)
    assert _headings(result.stdout) == [
        "history grew", "figure", "correction", "verdict", "flag opened", "flag opened", "flag closed",
        "flag acknowledged"]
    assert lines[1] == "history grew: 2 merges between the two reports' chain heads"
    # 25 rows merged, one of them retracted by the correction listed under the figure it moved.
    assert lines[2].startswith("figure: aster-9-preview circumstances: n 13 -> 37;")
    assert "+24 rows in its observation file" in lines[2]
    assert lines[3] == ("correction: retract of aster-9-preview circumstances key late-000 by data steward on "
                        "2026-06-29: Recorded twice by the exporter")
    # What the new rows did: aster-9-preview's drop is now a jump, so WR003/WR014 open and WR009 closes.
    assert lines[4].startswith("verdict: circumstances aster-8 -> aster-9-preview: inconclusive")
    assert [line.split(": ", 2)[1].split()[0] for line in lines[5:8]] == ["WR003", "WR014", "WR009"]
    assert lines[8].startswith("flag acknowledged: WR018 circumstances aster-1:")
    assert lines[8].endswith("Acknowledged by welfare reviewer on 2026-06-29: "
                             "The Aster 4 card re-scored aster-1; a documented re-measurement")


@pytest.mark.slow
def test_diff_as_json_follows_its_schema_and_says_the_same(bundled_pair: tuple[Path, Path, Path]) -> None:
    history, before, after = bundled_pair
    result = run("diff", before, after, "--history", history, "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    schema = json.loads(resources.files("reporter").joinpath("diff.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document["schema"] == "welfare-report/diff/1" and document["differs"] is True
    assert document["history"]["grew"] is True and document["history"]["rewritten"] == []
    assert [(f["generation"], f["metric"], f["old"]["n"], f["new"]["n"]) for f in document["figures"]] == [
        ("aster-9-preview", "circumstances", 13, 37)]
    assert [c["key"] for c in document["figures"][0]["corrections"]] == ["late-000"]
    assert [f["rule"] for f in document["flags"]["acknowledged"]] == ["WR018"]
    assert document["flags"]["acknowledged"][0]["acknowledged"]["by"] == "welfare reviewer"
    markdown = run("diff", before, after, "--format", "markdown")
    assert markdown.exit_code == 1
    assert markdown.stdout.startswith("## Changes between two welfare reports")
    assert markdown.stdout.count("\n- **") == len(_headings(run("diff", before, after).stdout))


@pytest.mark.slow
def test_a_report_against_itself_prints_nothing(bundled_pair: tuple[Path, Path, Path]) -> None:
    history, before, _ = bundled_pair
    result = run("diff", before, before, "--history", history)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert json.loads(run("diff", before, before, "--json").stdout)["differs"] is False


@pytest.mark.slow
def test_an_edited_quarterly_report_is_refused_naming_the_file(bundled_pair: tuple[Path, Path, Path],
                                                              tmp_path: Path) -> None:
    _, before, after = bundled_pair
    edited = tmp_path / "edited"
    shutil.copytree(after, edited)
    page = edited / "welfare-section.html"
    page.write_text(page.read_text().replace("aster-9-preview", "aster-9"))
    result = run("diff", before, edited)
    assert result.exit_code == 2 and result.stdout == ""
    assert "welfare-section.html: changed since the report was written" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _small_history(root: Path, label: str = "g2 (test)", reason: str = "reviewed") -> Path:
    s = Scenario(root).generation("g1", "2025-01-10").generation("g2", "2025-04-10")
    s.generations[1]["label"] = label
    s.normal("g1", 4.0).normal("g2", 4.6)
    s.event("2025-04-01", "training_change", "g2")
    s.acknowledgements.append({"rule": "WR002", "generations": "g1;g2", "metric": "mood", "reason": reason,
                               "by": "tester", "date": "2025-05-01"})
    return s.write()


def _render_json(history: Path, out: Path, as_of: str) -> Path:
    result = run("--history", history, "render", "--format", "json", "--out", out, "--as-of", as_of)
    assert result.exit_code == 0, result.stderr
    return out


def test_a_rewritten_history_names_the_missing_head_first(tmp_path: Path) -> None:
    history = _small_history(tmp_path / "a")
    old = _render_json(history, tmp_path / "old", "2025-06-30")
    rewritten = _small_history(tmp_path / "b", label="g2 relabelled")
    new = _render_json(rewritten, tmp_path / "new", "2025-06-30")
    head = json.loads((old / "findings.json").read_text())["chain_head"]
    result = run("diff", old, new, "--history", rewritten)
    assert result.exit_code == 1
    first = _entries(result.stdout)[1]
    assert first == (f"history rewritten: {old}'s chain head {head} is not in the history's merge log: "
                     "the history was rewritten after that report")
    # Without --history nothing is said about the chain: only what the two reports hold.
    assert "history" not in _headings(run("diff", old, new).stdout)


def test_hostile_labels_and_reasons_stay_inert_in_every_form(tmp_path: Path) -> None:
    label = "<script>alert(1)</script> [link](http://x.test) ![i](http://x.test/i.png)"
    reason = "<img src=x onerror=alert(1)> **bold** `code` | pipe"
    history = _small_history(tmp_path, label=label, reason=reason)
    old = _render_json(history, tmp_path / "old", "2025-03-31")
    new = _render_json(history, tmp_path / "new", "2025-06-30")
    # A render folder has no manifest, so its findings can be edited: control characters that the
    # history refuses at input can still arrive this way, and must reach no terminal.
    findings = new / "findings.json"
    document = json.loads(findings.read_text())
    document["generations"][1]["label"] += " \x1b[2J\x1b]8;;http://x.test\x07 \u202eevil"
    findings.write_text(json.dumps(document))
    text = run("diff", old, new)
    assert text.exit_code == 1
    # Acknowledged as soon as it opened: the flag is listed as opened, with its acknowledgement.
    assert "generation added: g2 (<script>" in text.stdout and "flag opened: WR002" in text.stdout
    assert f"Acknowledged by tester on 2025-05-01: {reason}" in " ".join(_entries(text.stdout))
    as_json = run("diff", old, new, "--json").stdout
    for form in (text.stdout, as_json):
        assert "\x1b" not in form and "\x07" not in form and "\u202e" not in form
    assert json.loads(as_json)["generations"]["added"][0]["label"] == document["generations"][1]["label"]
    markdown = run("diff", old, new, "--format", "markdown").stdout
    for raw in ("<script>", "<img", "**bold**", "\x1b", "\u202e"):
        assert raw not in markdown, raw
    assert not re.search(r"(?<!\\)\]\(", markdown)  # no link or image can form
    assert "&lt;script&gt;" in markdown


def test_a_flag_acknowledged_between_two_reports_carries_its_reason(tmp_path: Path) -> None:
    history = _small_history(tmp_path, reason="Reviewed: a <b>new</b> rubric | not the model")
    before = json.loads((_render_json(history, tmp_path / "old", "2025-04-30") / "findings.json").read_text())
    after = json.loads((_render_json(history, tmp_path / "new", "2025-05-01") / "findings.json").read_text())
    flags = compare(before, after)["flags"]
    assert [f["rule"] for f in flags["acknowledged"]] == ["WR002"]
    assert flags["acknowledged"][0]["acknowledged"]["reason"] == "Reviewed: a <b>new</b> rubric | not the model"
    assert flags["opened"] == flags["closed"] == flags["reopened"] == []
    # The other way round, the acknowledgement is withdrawn: the flag is open again.
    assert [f["rule"] for f in compare(after, before)["flags"]["reopened"]] == ["WR002"]


def test_an_acknowledgement_that_stops_matching_is_named(tmp_path: Path) -> None:
    old = {"schema": "welfare-report/findings/2", "unmatched_acknowledgements": []}
    stale = {"rule": "WR005", "metric": "mood", "generations": ["g1", "g2"], "by": "tester", "date": "2025-05-01"}
    found = compare(old, {**old, "unmatched_acknowledgements": [stale]})
    assert found["differs"] and found["unmatched_acknowledgements"] == [stale]
    assert not compare({**old, "unmatched_acknowledgements": [stale]}, {**old, "unmatched_acknowledgements": [stale]})[
        "differs"]


def test_a_report_of_findings_schema_1_is_read(tmp_path: Path) -> None:
    history = _small_history(tmp_path)
    new = _render_json(history, tmp_path / "new", "2025-06-30")
    old = tmp_path / "old"
    old.mkdir()
    document = json.loads((new / "findings.json").read_text())
    document["schema"] = "welfare-report/findings/1"
    for key in ("chain_head", "options", "tool_version"):
        document.pop(key)
    for flag in document["flags"]:
        flag.pop("key")
    (old / "findings.json").write_text(json.dumps(document))
    result = run("diff", old, new)
    assert result.exit_code == 1
    assert _entries(result.stdout)[1:] == [
        'setting: tool_version: null -> "0.2.0"',
        'setting: schema: "welfare-report/findings/1" -> "welfare-report/findings/2"',
        f"setting: options: null -> {json.dumps(json.loads((new / 'findings.json').read_text())['options'])}"]
    # It records no chain head, so a history can say neither that it grew nor that it was rewritten.
    assert run("diff", old, new, "--history", history).stdout == result.stdout
    assert "flag" not in result.stdout


@pytest.mark.parametrize(("content", "message"), [
    (None, "findings.json does not exist"),
    ("{not json", "not a JSON file"),
    ('{"schema": "welfare-report/findings/9"}', "not a findings file of a schema diff reads"),
    ('{"schema": "welfare-report/findings/2", "stats": {"a": 1}}', "not as this tool writes it"),
])
def test_bad_report_folders_exit_2_with_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    good = _render_json(_small_history(tmp_path), tmp_path / "good", "2025-06-30")
    bad = tmp_path / "bad"
    bad.mkdir()
    if content is not None:
        (bad / "findings.json").write_text(content)
    result = run("diff", good, bad)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_and_markdown_together_are_a_usage_error(tmp_path: Path) -> None:
    good = _render_json(_small_history(tmp_path), tmp_path / "good", "2025-06-30")
    result = run("diff", good, good, "--json", "--format", "markdown")
    assert result.exit_code == 2 and "choose one" in result.stderr
