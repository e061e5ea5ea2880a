"""The README cannot drift from the code: its rule table and command table are checked against RULES and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

from reporter.cli import cli
from reporter.rules import RULES, RULESET_VERSION

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _table_after(heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after `heading`, header and rule rows left out."""
    section = README[README.index(heading):]
    lines = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            lines.append(line)
        elif lines:
            break
    rows = [[cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
    return rows[2:]


def test_the_rule_table_lists_every_rule_with_its_severity_in_order() -> None:
    rows = _table_after("## The fixed rule set")
    assert [(row[0], row[1]) for row in rows] == [(r.id, r.severity) for r in RULES]


def test_the_readme_names_the_rule_set_version() -> None:
    assert f"Rule-set version `{RULESET_VERSION}`" in README


def test_the_command_table_lists_every_command() -> None:
    rows = _table_after("## Commands")
    documented = [re.match(r"`([a-z-]+)", row[0]).group(1) for row in rows]  # type: ignore[union-attr]
    assert sorted(documented) == sorted(cli.commands)


def test_every_command_help_has_an_example() -> None:
    for name, command in cli.commands.items():
        assert "Example:" in (command.help or ""), name


def test_the_base_rate_the_section_states_is_the_one_the_readme_measured() -> None:
    from reporter.summary import NULL_FLAG_RATE, NULL_FLAG_RATE_INTERVIEWS

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    rows = {
        "| one null generation added makes `check` exit 1, n = 50 |": NULL_FLAG_RATE[50],
        "| the same, n = 200 |": NULL_FLAG_RATE[200],
        "| the same with interviews of 5-10 answers recorded, n = 50 |": NULL_FLAG_RATE_INTERVIEWS[50],
        "| the same with interviews, n = 200 |": NULL_FLAG_RATE_INTERVIEWS[200],
    }
    for start, rate in rows.items():
        line = next(line for line in readme.splitlines() if line.startswith(start))
        assert f"| {rate:.3f} (" in line, line


def test_the_readmes_cron_line_files_its_first_quarter_in_a_fresh_folder(tmp_path: Path) -> None:
    """The line as a user pastes it: in a folder with a history and the tool, and nothing else."""
    import shutil
    import subprocess
    import sys

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith("0 6 2 1,4,7,10 * "))
    command = line.split(" ", 5)[5].replace("/srv/welfare-report", str(tmp_path))
    shutil.copytree(Path(__file__).parents[1] / "history", tmp_path / "history")
    tool = tmp_path / ".venv" / "bin" / "welfare-report"
    tool.parent.mkdir(parents=True)
    tool.write_text(f"#!/bin/sh\nexec {sys.executable} -m reporter \"$@\"\n")
    tool.chmod(0o755)
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[1])}
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "written reports/" in (tmp_path / "reports" / "quarterly.log").read_text()


def test_the_spark_recipe_the_readme_gives_is_the_one_the_benchmark_runs() -> None:
    """`make bench` runs the README's Spark SQL (benchmarks/counts.py --spark): the two must not drift apart."""
    import ast

    source = (Path(__file__).parents[1] / "benchmarks" / "counts.py").read_text(encoding="utf-8")
    spark = next(node.value.value for node in ast.parse(source).body if isinstance(node, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == "SPARK" for t in node.targets)
                 and isinstance(node.value, ast.Constant))
    assert isinstance(spark, str) and spark in README


def test_the_from_python_examples_print_what_the_readme_shows(tmp_path: Path) -> None:
    """The README's Python examples run in order beside a copy of the bundled history, printing its text blocks."""
    import contextlib
    import io
    import os
    import shutil

    section = README[README.index("## From Python"):README.index("## The fixed rule set")]
    code = "\n".join(re.findall(r"```python\n(.*?)```", section, re.S))
    shown = "".join(re.findall(r"```text\n(.*?)```", section, re.S))
    shutil.copytree(ROOT / "history", tmp_path / "history")
    printed = io.StringIO()
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    finally:
        os.chdir(here)
    assert printed.getvalue() == shown
    assert (tmp_path / "build-from-python" / "findings.json").is_file()
