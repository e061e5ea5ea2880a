"""The few errors welfare-report raises; the command line turns each into one message and exit 2."""

from __future__ import annotations

from dataclasses import dataclass


class ReporterError(Exception):
    """Something the user can fix: bad input, a missing store, a refused option."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located as `file:line: column: message`."""

    path: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.column}: {self.message}"


class ValidationError(ReporterError):
    """Input files hold problems; every problem found is listed."""

    def __init__(self, problems: list[Problem], shown: int = 100) -> None:  # schema.MAX_PROBLEMS_SHOWN
        order = {path: i for i, path in reversed(list(enumerate(p.path for p in problems)))}
        self.problems = sorted(problems, key=lambda p: (order[p.path], p.line))
        problems = self.problems
        lines = [str(p) for p in problems[:shown]]
        if len(problems) > shown:
            lines.append(f"... and {len(problems) - shown} more problems")
        super().__init__("\n".join(lines))


class ConflictError(ReporterError):
    """Rows share a key with rows already in the history but differ in content."""


class StoreError(ReporterError):
    """The history folder is missing, damaged or not a store."""
