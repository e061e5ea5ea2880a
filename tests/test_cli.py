"""The command line as a user meets it: help, errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from reporter.cli import cli

from .conftest import GOOD, run

COMMANDS = sorted(cli.commands)


def test_the_command_set_is_the_designed_one() -> None:
    assert {"init", "example", "validate", "merge", "verify"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name: str) -> None:
    result = run(name, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert "welfare-report" in result.stdout.split("Example:")[1]


def test_top_level_help_has_an_example() -> None:
    result = run("--help")
    assert result.exit_code == 0 and "Example:" in result.stdout


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from reporter.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'scipy', 'seaborn', 'matplotlib', 'weasyprint', 'numpy') if m in sys.modules]\n"
        "print('heavy:' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "heavy:"


@pytest.mark.parametrize("command", ["validate", "merge", "check"])
def test_bringing_answers_in_and_checking_them_do_not_import_pandas(store: Path, command: str) -> None:
    """pyarrow imports pandas on its first conversion of a Python value when pandas is installed
    (0.35 s, a third of merging 10k answers into a 1M history); these commands never need it."""
    answers = GOOD / "observations.csv"
    if command == "check":
        assert run("--history", store, "merge", answers).exit_code == 0
    arguments = ["--history", str(store), command] + ([str(answers)] if command != "check" else ["--json"])
    code = (
        "import sys; from reporter.cli import main\n"
        f"try:\n    main({arguments!r})\n"
        "except SystemExit as exit:\n    print('exit:', exit.code)\n"
        "print('pandas:', 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-2:] == ["exit: 0", "pandas: False"], out


def test_module_entry_point_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "reporter", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "welfare-report" in result.stdout


def test_unexpected_error_is_one_line_without_traceback(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reporter.store import Store

    def broken(self: object) -> list[str]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, "verification", broken)
    result = run("--history", store, "verify")
    assert result.exit_code == 2
    assert result.stderr.strip() == "welfare-report: unexpected error: disk on fire (run with -v for details)"
    verbose = run("--history", store, "-v", "verify")
    assert "Traceback" in verbose.stderr


def test_validate_good_files_against_the_store(store: Path) -> None:
    result = run("--history", store, "validate", *sorted(GOOD.iterdir()))
    assert result.exit_code == 0, result.stderr
    assert "valid" in result.stdout


def test_validate_without_a_store_uses_the_files_alone(tmp_path: Path) -> None:
    result = run("--history", tmp_path / "none", "validate", GOOD / "generations.csv", GOOD / "metrics.csv", GOOD / "observations.csv")
    assert result.exit_code == 0, result.stderr


def test_kind_option_overrides_detection(store: Path, tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("generation,release_date\nm-5,2025-01-01\n")
    result = run("--history", store, "validate", "--kind", "observations", path)
    assert result.exit_code == 2
    assert f"{path}:1: metric: required column of observations is missing" in result.stderr


def test_quiet_prints_nothing_on_success(store: Path) -> None:
    result = run("--history", store, "-q", "merge", GOOD / "observations.csv")
    assert result.exit_code == 0 and result.stdout == ""


def test_usage_error_exits_2() -> None:
    assert run("validate").exit_code == 2  # FILE... is required
    assert isinstance(cli, click.Group)


class _Stream:
    def __init__(self, terminal: bool) -> None:
        self.terminal = terminal
        self.text = ""

    def isatty(self) -> bool:
        return self.terminal

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(("terminal", "quiet", "shown"), [(True, False, True), (False, False, False), (True, True, False)])
def test_progress_only_on_a_terminal(terminal: bool, quiet: bool, shown: bool) -> None:
    from reporter.cli import progress_printer

    stream = _Stream(terminal)
    progress_printer(stream, quiet)("drawing the charts")
    assert (stream.text == "welfare-report: drawing the charts...\n") is shown
    assert shown or stream.text == ""
