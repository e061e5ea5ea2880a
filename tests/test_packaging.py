"""The package as users install it: a built wheel in a new virtual environment, away from the sources.

The suite itself runs on an editable install, whose import finder answers for
any module in the source tree; these tests are the only ones that see the
package as `pip install` delivers it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
# What a wheel build must never see: the developer's environment, caches, outputs and data.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", "build", "reports", "history", "tests", "benchmarks", "*.egg-info", "__pycache__", ".*_cache")


def _copy_sources(destination: Path) -> Path:
    shutil.copytree(ROOT, destination, ignore=NOT_SOURCE)
    return destination


def _build_wheel(source: Path, dist: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir",
         str(dist), str(source)],
        check=True, capture_output=True, cwd=dist.parent,
    )
    return next(dist.glob("welfare_report-*.whl"))


def _package_modules(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in (root / "reporter").rglob("*.py")}


def test_the_wheel_carries_every_module_template_and_schema(tmp_path: Path) -> None:
    wheel = _build_wheel(_copy_sources(tmp_path / "source"), tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert _package_modules(ROOT) <= names, sorted(_package_modules(ROOT) - names)
    shipped = {n for n in names if n.startswith("reporter/templates/")}
    assert {f"reporter/templates/{p.name}" for p in (ROOT / "templates").iterdir()} == shipped
    assert "reporter/findings.schema.json" in names


def test_installing_from_a_clone_leaves_the_output_folder_alone(tmp_path: Path) -> None:
    # `build/` is where render writes the section; a build backend that used it
    # would leave lib/ and bdist.* there, and render would refuse the folder.
    source = _copy_sources(tmp_path / "source")
    (source / "build").mkdir()
    _build_wheel(source, tmp_path / "dist")
    assert list((source / "build").iterdir()) == []


def _clean_environment() -> dict[str, str]:
    """No PYTHONPATH, nothing that points back at the sources."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}


def _run(env_bin: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(env_bin / "welfare-report"), *args], capture_output=True, text=True, cwd=cwd,
                          env=_clean_environment())


def _write_inputs(folder: Path) -> None:
    (folder / "generations.csv").write_text(
        "generation,release_date\nnova-1,2026-01-15\nnova-2,2026-09-01\n", encoding="utf-8")
    (folder / "metrics.csv").write_text("metric,scale_min,scale_max\ncircumstances,1,7\n", encoding="utf-8")
    # The same spread of answers in both generations: nothing changed, so check exits 0.
    lines = ["generation,metric,collected_on,score,response_id"]
    for generation, day in (("nova-1", "2026-02-01"), ("nova-2", "2026-06-01")):
        lines += [f"{generation},circumstances,{day},{3 + i % 3},{generation}-{i}" for i in range(60)]
    (folder / "answers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_the_installed_wheel_runs_every_stage(tmp_path: Path) -> None:
    wheel = _build_wheel(_copy_sources(tmp_path / "source"), tmp_path / "dist")
    environment = tmp_path / "env"
    venv.create(environment, with_pip=True)
    env_bin = environment / "bin"
    # The dependencies at the locked versions, the package itself from the wheel only.
    subprocess.run(
        [str(env_bin / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--constraint", str(ROOT / "requirements.lock"), str(wheel)],
        check=True, capture_output=True, cwd=tmp_path, env=_clean_environment(),
    )
    work = tmp_path / "work"
    work.mkdir()
    located = subprocess.run(
        [str(env_bin / "python"), "-c", "import reporter, reporter.store; print(reporter.__file__)"],
        capture_output=True, text=True, cwd=work, env=_clean_environment(),
    )
    assert located.returncode == 0, located.stderr
    assert located.stdout.strip().startswith(str(environment)), located.stdout

    _write_inputs(work)
    steps = [
        ("init", "store"),
        ("--history", "store", "validate", "generations.csv", "metrics.csv", "answers.csv"),
        ("--history", "store", "merge", "generations.csv", "metrics.csv", "answers.csv"),
        ("--history", "store", "check"),
        ("--history", "store", "render", "--out", "out", "--format", "html", "--format", "pdf",
         "--format", "markdown", "--format", "json"),
        ("--history", "store", "verify", "out"),
    ]
    for step in steps:
        result = _run(env_bin, *step, cwd=work)
        assert result.returncode == 0, (step, result.stdout, result.stderr)
    assert {p.name for p in (work / "out").iterdir()} >= {
        "welfare-section.html", "welfare-section.pdf", "welfare-section.md", "findings.json"}
