"""What a new user hit first: options after the command, one-line usage errors, plain wording."""

from __future__ import annotations

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
    assert "20,030 answers" in (out / "welfare-section.html").read_text()


def test_render_and_quarterly_report_on_stderr_and_leave_stdout_to_data(tmp_path: Path) -> None:
    result = run("--history", ROOT / "history", "render", "--out", tmp_path / "out", "--format", "json")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "wrote" in result.stderr
