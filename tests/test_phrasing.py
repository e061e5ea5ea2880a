"""The tool's own text never passes a verdict on a movement."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reporter import phrasing

from .conftest import run

ROOT = Path(__file__).parents[1]
VERDICTS = re.compile(
    r"\b(better|worse|best|worst|improve|improved|improves|improvement|worsen|worsened|regress|regressed|regression)\b",
    re.IGNORECASE,
)


def test_the_package_and_templates_never_use_verdict_words() -> None:
    files = [*(ROOT / "reporter").rglob("*.py"), *(ROOT / "reporter").rglob("*.json"), *(ROOT / "templates").rglob("*")]
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files if path.is_file()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if VERDICTS.search(line) and "notes lint list" not in line
    ]
    assert hits == []


@pytest.mark.parametrize("args", [["check"], ["check", "--json"], ["trend", "--format", "csv"]])
def test_command_output_never_uses_verdict_words(args: list[str]) -> None:
    result = run("--history", ROOT / "history", *args)
    assert not VERDICTS.search(result.stdout)


@pytest.mark.parametrize(("delta", "moved", "relative"), [(0.4, "rose", "higher"), (-0.4, "fell", "lower"), (0.0, "did not move", "the same")])
def test_movement_words(delta: float, moved: str, relative: str) -> None:
    assert phrasing.moved(delta) == moved
    assert phrasing.relative(delta) == relative


def test_findings_carry_no_composite_score_or_ranking() -> None:
    import json

    document = json.loads(run("--history", ROOT / "history", "check", "--json").stdout)

    def keys(value: object) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    assert not [k for k in keys(document) if re.search(r"rank|composite|overall|score|best|winner", k)]
