"""The public Python surface of welfare-report; everything else in the package is internal.

    import reporter

    history = reporter.open_history("history")      # verified, or StoreError
    history.merge(frame)                            # a DataFrame, validated as a file is
    findings = history.findings(as_of="2026-06-30")
    findings.to_pandas()["stats"]                   # typed DataFrames
    reporter.rendering(findings, "build")              # the same outputs as `welfare-report render`

Each command line command that does one of these jobs is a call into this
module, so the two cannot drift. pandas is loaded only by the functions
that take or give DataFrames: `--help` and `check` never import it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConflictError, ReporterError, StoreError, ValidationError
from .findings import Findings as _Findings
from .formats import DEFAULT_FORMATS
from .schema import MAX_PROBLEMS_SHOWN
from .store import Store
from .store.folder import MergeResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ConflictError", "Findings", "MergeResult", "ReporterError", "StoreError", "ValidationError", "WelfareHistory",
    "open_history", "render",
]

Progress = Callable[[str], None]


@dataclass(frozen=True, repr=False)
class Findings(_Findings):
    """What `check` and `render` report, with the views a notebook wants: DataFrames and inline HTML."""

    def to_pandas(self) -> dict[str, pd.DataFrame]:
        """Typed DataFrames: stats, comparisons, flags, corroboration, texts (where any) and generations.

        Every number is the findings JSON's; dates are dates and a verdict is a categorical ordered
        changed, stable, inconclusive.
        """
        from .frames import findings_frames

        return findings_frames(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: the section's summary and the open flags, escaped, without scripts."""
        from .typeset import notebook_html

        return notebook_html(self)

    def __repr__(self) -> str:
        tally = self.tally()
        return (f"<Findings as of {self.as_of}, rule set {self.ruleset}: {tally.open_flags} open of {tally.flags} "
                f"flags, {tally.notes} notes, {tally.errors} errors>")


def _quiet(message: str) -> None:
    """Progress nobody asked to see."""


class WelfareHistory:
    """A history folder. Reading verifies it every time; merging goes through its lock, all or nothing."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def root(self) -> Path:
        return self._store.root

    def __repr__(self) -> str:
        return f"<WelfareHistory {self._store.root}>"

    def findings(self, as_of: str | None = None, *, excerpts: bool = True) -> Findings:
        """The analysis and the rules as of a day (default: the history's latest date).

        `excerpts=False` leaves out the quotes a report shows (`check` needs none); render such
        findings and the section has no quotes. Raises StoreError for a history that fails
        verification or holds nothing dated on or before `as_of`.
        """
        from .pipeline import findings_from_store

        found = findings_from_store(self._store, as_of, with_excerpts=excerpts)
        return Findings(**{f.name: getattr(found, f.name) for f in fields(found)})

    def trend_rows(self, metric: str | None = None, as_of: str | None = None) -> list[dict[str, Any]]:
        """`trend`'s rows as dicts: per generation statistics and each comparison with the predecessor."""
        from .pipeline import analysis_from_store
        from .trend import trend_rows

        analysis = analysis_from_store(self._store, as_of)
        if metric is not None and metric not in analysis.history.metrics:
            raise ReporterError(f"unknown metric {metric!r}; the history has "
                                f"{', '.join(analysis.history.metrics) or 'none'}")
        return trend_rows(analysis, metric)

    def trend(self, metric: str | None = None, as_of: str | None = None) -> pd.DataFrame:
        """`trend_rows` as a DataFrame, with the columns of `trend --format csv` in its order."""
        import pandas as pd
        import pyarrow as pa

        from .trend import COLUMNS

        frame = pd.DataFrame.from_records(self.trend_rows(metric, as_of), columns=list(COLUMNS))
        frame["release_date"] = frame["release_date"].replace("", None).astype(pd.ArrowDtype(pa.date32()))
        frame["verdict"] = pd.Categorical(frame["verdict"], categories=("changed", "stable", "inconclusive"),
                                          ordered=True)
        return frame

    def merge(self, *sources: str | os.PathLike[str] | pd.DataFrame, kind: str | None = None,
              dry_run: bool = False, progress: Progress = _quiet) -> MergeResult:
        """Validate every source (a path or a DataFrame) and merge them, all or nothing.

        A DataFrame is validated exactly as a file is; its problems name `frame N` (its position
        among the sources), the row's position and index label, and the column. With no source,
        an interrupted merge is settled. Raises ValidationError or ConflictError, and writes
        nothing, when anything is wrong.
        """
        from .frames import FrameInput, frame_input, is_frame
        from .inputs import read_input

        inputs, frames = [], []
        for position, source in enumerate(sources, start=1):
            if is_frame(source):
                progress(f"reading frame {position}")
                framed: FrameInput = frame_input(source, f"frame {position}", kind)
                frames.append(framed)
                inputs.append(framed.input)
            elif isinstance(source, str | os.PathLike):
                progress(f"reading {source}")
                inputs.append(read_input(Path(source), kind))
            else:
                raise ReporterError(f"source {position}: a path or a pandas DataFrame, not a {type(source).__name__}")
        progress("merging")
        try:
            return self._store.merge(inputs, dry_run=dry_run)
        except ValidationError as err:
            if not frames:
                raise
            placed = [_placed(problem, frames) for problem in err.problems]
            raise ValidationError(placed, MAX_PROBLEMS_SHOWN) from None


def _placed(problem: Any, frames: Iterable[Any]) -> Any:
    for framed in frames:
        if problem.path == framed.input.path:
            return framed.placed(problem)
    return problem


def open_history(path: str | os.PathLike[str]) -> WelfareHistory:
    """A verified history: StoreError, as every reader command refuses, when it is missing or fails `verify`."""
    store = Store(Path(path))
    with store.locked(exclusive=False):
        store.require_verified("it is not opened")
    return WelfareHistory(store)


def render(findings: Findings, out: str | os.PathLike[str], formats: Iterable[str] = DEFAULT_FORMATS, *,
           title: str = "Model welfare", notes: str | os.PathLike[str] | None = None, heading_level: int = 2,
           id_prefix: str = "wr-", section_number: str | None = None, progress: Progress = _quiet) -> list[Path]:
    """Write the section into `out` as `welfare-report render` does: the whole set, swapped in at once.

    `notes` is the author's notes file (Markdown, its images beside it), refused whole when it uses
    target, optimisation or ranking language (WR001). Returns the paths written.
    """
    from .formats import FORMATS
    from .notes import read_notes
    from .rendering import render as render_section

    chosen = tuple(formats)
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise ReporterError(f"unknown format {unknown[0]!r}; the formats are {', '.join(FORMATS)}")
    text = read_notes(Path(notes)) if notes is not None else None
    return render_section(findings, Path(out), chosen, title, text, progress=progress,
                          heading_level=heading_level, id_prefix=id_prefix, section_number=section_number)
