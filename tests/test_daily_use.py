"""What a new user hit first: options after the command, one-line usage errors, plain wording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reporter.cli import cli

from .conftest import GOOD, run

ROOT = Path(__file__).parents[1]


def test_shared_options_work_after_the_command(store: Path) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    after = run("check", "--history", store, "-q")
    before = run("--history", store, "-q", "check")
    assert after.exit_code == before.exit_code != 2, after.stderr
    assert after.stdout == before.stdout
    assert run("verify", "--history", store, "-q").stdout == ""


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_help_lists_the_shared_options(command: str) -> None:
    text = run(command, "--help").stdout
    for option in ("--history", "--quiet", "--verbose"):
        assert option in text, (command, option)


def test_a_usage_error_is_one_line() -> None:
    result = run("check", "--no-such-option")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--no-such-option" in result.stderr and "welfare-report check --help" in result.stderr


def test_validate_does_not_claim_to_have_left_the_history_alone(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("generation,release_date\nbad id,2025-01-01\n")
    result = run("validate", path)
    assert result.exit_code == 2
    assert "history is unchanged" not in result.stderr
    assert result.stderr.strip().endswith("1 problem in 1 file")


def test_merge_says_nothing_was_merged(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("generation,release_date\nbad id,2025-01-01\n")
    result = run("--history", store, "merge", path)
    assert result.stderr.strip().endswith("1 problem in 1 file; nothing was merged")


def test_init_on_an_existing_history_reads_well(store: Path) -> None:
    result = run("init", store)
    assert result.exit_code == 2
    assert f"{store} already holds a history" in result.stderr


def test_a_semicolon_separated_file_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "generations.csv"
    path.write_text("generation;release_date\nm-1;2025-01-01\n")
    result = run("validate", path)
    assert result.exit_code == 2
    assert "separated by ';'" in result.stderr


def test_counts_in_prose_have_thousands_separators(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("--history", ROOT / "history", "render", "--out", out, "--format", "html").exit_code == 0
    files = list((ROOT / "history" / "observations").iterdir())
    answers = sum(len(f.read_text().splitlines()) - 1 for f in files)  # one header per file
    assert answers > 9_999 and f"{answers:,} answers" in (out / "welfare-section.html").read_text()


def test_render_and_quarterly_report_on_stderr_and_leave_stdout_to_data(tmp_path: Path) -> None:
    result = run("--history", ROOT / "history", "render", "--out", tmp_path / "out", "--format", "json")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "wrote" in result.stderr


def test_a_card_written_before_release_shows_the_model_it_is_about(tmp_path: Path) -> None:
    """Data is collected before a model's release; the default as-of date must not drop it."""
    from .scenario import Scenario

    s = Scenario(tmp_path)
    s.generation("g1", "2025-01-01").generation("g2", "2025-09-01")
    s.normal("g1", 4.0).normal("g2", 4.7, collected_on="2025-06-15")
    s.event("2025-05-01", "training_change", "g2")
    store = s.write()
    result = run("--history", store, "check", "--json")
    document = json.loads(result.stdout)
    assert document["as_of"] == "2025-06-15"
    assert {g["generation"]: g["released"] for g in document["generations"]} == {"g1": True, "g2": False}
    assert [f["rule"] for f in document["flags"] if f["generations"] == ["g1", "g2"]] == ["WR002"]
    assert result.exit_code == 1
    out = tmp_path / "out"
    assert run("--history", store, "render", "--out", out, "--format", "html").exit_code == 0
    assert "(not yet released)" in (out / "welfare-section.html").read_text()


def test_the_default_as_of_includes_acknowledgements(store: Path, tmp_path: Path) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    reviews = tmp_path / "acknowledgements.csv"
    reviews.write_text("rule,generations,reason,by,date\nWR009,m-1,small pilot,ann,2026-02-01\n")
    assert run("--history", store, "merge", reviews).exit_code == 0
    document = json.loads(run("--history", store, "check", "--json").stdout)
    assert document["as_of"] == "2026-02-01"
    assert [f["acknowledged"]["by"] for f in document["flags"] if f["acknowledged"]] == ["ann"]


def _output_options(command: str, out: Path) -> list[str | Path]:
    where: list[str | Path] = ["--out", out] if command in ("render", "quarterly") else []
    return where + (["--today", "2026-01-15"] if command == "quarterly" else [])


@pytest.mark.parametrize("command", [["check"], ["trend"], ["plan"], ["render", "--format", "json"], ["quarterly", "2025-Q2"]])
def test_an_empty_history_is_refused_and_nothing_is_written(store: Path, tmp_path: Path, command: list[str]) -> None:
    out = tmp_path / "out"
    result = run("--history", store, *command, *_output_options(command[0], out))
    assert result.exit_code == 2
    assert "no answers or summaries" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.parametrize("command", [["check"], ["trend"], ["plan"], ["render", "--format", "json"], ["quarterly", "2025-Q2"]])
def test_a_history_edited_outside_merge_is_refused_and_nothing_is_written(
    store: Path, tmp_path: Path, command: list[str],
) -> None:
    run("--history", store, "merge", GOOD / "observations.csv")
    path = store / "observations/m-1.csv"
    path.write_text(path.read_text().replace(",4,", ",7,", 1))
    out = tmp_path / "out"
    result = run("--history", store, *command, *_output_options(command[0], out))
    assert result.exit_code == 2
    assert "fails verification (observations/m-1.csv" in result.stderr and "verify" in result.stderr
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


def test_check_fits_a_100_column_terminal() -> None:
    output = run("--history", ROOT / "history", "check").stdout
    assert max(len(line) for line in output.splitlines()) <= 100
    assert "        key: WR002|circumstances|aster-4;aster-5" in output.splitlines()
