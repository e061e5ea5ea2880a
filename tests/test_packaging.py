"""A plain (non-editable) install finds its templates and schema: the wheel is built and used as installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_wheel_carries_templates_and_renders_from_them(tmp_path: Path) -> None:
    # Build from a copy: setuptools leaves build/ and egg-info folders beside the sources.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "reports", "history", "tests", "benchmarks", "*.egg-info", "__pycache__", ".*_cache"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir",
         str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    wheel = next((tmp_path / "dist").glob("welfare_report-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    shipped = {n for n in names if n.startswith("reporter/templates/")}
    assert {f"reporter/templates/{p.name}" for p in (ROOT / "templates").iterdir()} == shipped
    assert "reporter/findings.schema.json" in names
    # Run from the unpacked wheel only, away from the source tree.
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = subprocess.run(
        [sys.executable, "-m", "reporter", "--history", str(ROOT / "history"), "render", "--out", str(tmp_path / "out"),
         "--format", "fragment"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    located = subprocess.run(
        [sys.executable, "-c", "import reporter.render as r; print(r._templates_dir())"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    ).stdout.strip()
    assert located == str(tmp_path / "site" / "reporter" / "templates")
    assert (tmp_path / "out" / "welfare-section.fragment.html").read_text().startswith('<section class="welfare-report wr-fragment"')
