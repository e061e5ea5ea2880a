"""The few errors welfare-report raises; the command line turns each into one message and exit 2."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Terminal output shows every control character as an escape and cuts a quoted value.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SHOWN_CHARACTERS = 200


def escaped(text: str) -> str:
    """`text` safe for a terminal: control and bidirectional-override characters shown as escapes."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shown(text: str) -> str:
    """A value quoted in a message: escaped, and cut at 200 characters."""
    return escaped(text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + f"... ({len(text)} characters)")


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
        return shown(f"{self.path}:{self.line}: ") + shown(self.column) + ": " + shown(self.message)

    def place_of_run(self, last: int) -> str:
        """Where a run of the same problem on consecutive rows, from this one's to line `last`, lies."""
        return f"{self.path}:{self.line}-{last}"


class ValidationError(ReporterError):
    """Input files hold problems; every problem found is listed.

    Files keep the order given (the caller puts the root cause first); the
    same message on consecutive rows is one line naming the row range.
    """

    def __init__(self, problems: list[Problem], shown: int = 100) -> None:  # schema.MAX_PROBLEMS_SHOWN
        order = {path: i for i, path in reversed(list(enumerate(p.path for p in problems)))}
        self.problems = sorted(problems, key=lambda p: (order[p.path], p.line))
        lines = grouped_lines(self.problems)
        more = len(lines) - shown
        lines = lines[:shown] + ([f"... and {more} more problems"] if more > 0 else [])
        super().__init__("\n".join(lines))


def grouped_lines(problems: list[Problem]) -> list[str]:
    """One line per problem, with runs of the same message on consecutive rows folded into one."""
    runs: list[tuple[Problem, int]] = []  # first problem of a run, last line of the run
    for problem in problems:
        if runs:
            first, last = runs[-1]
            same = (first.path, first.column, first.message) == (problem.path, problem.column, problem.message)
            if same and problem.line == last + 1:
                runs[-1] = (first, problem.line)
                continue
        runs.append((problem, problem.line))
    lines = []
    for first, last in runs:
        if last == first.line:
            lines.append(str(first))
        else:
            rows = last - first.line + 1
            lines.append(shown(f"{first.place_of_run(last)}: ") + shown(first.column) + ": "
                         + shown(first.message) + f" ({rows:,} rows)")
    return lines


class ConflictError(ReporterError):
    """Rows share a key with rows already in the history but differ in content."""


class StoreError(ReporterError):
    """The history folder is missing, damaged or not a store."""
