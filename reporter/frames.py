"""pandas in and out: a DataFrame as an input file, and findings as typed DataFrames.

A DataFrame is never validated by code of its own. It becomes the bytes
`frame.to_csv(index=False)` writes, and those go through exactly the reading
and validation a file does; only the place a problem names changes, from a
line to the frame's row and index label. Merging a frame is merging that
file: the same store bytes, and the same SHA-256 in the merge log, so the
same frame merged twice adds nothing. Cells no CSV can hold (a dict, a list)
are refused first, where pandas would write their repr.

pandas is imported here only, and only by the functions that need it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import schema
from .errors import Problem, shown

if TYPE_CHECKING:
    import pandas as pd

    from .findings import Findings
    from .inputs import InputFile

VERDICTS = ("changed", "stable", "inconclusive")


@dataclass(frozen=True, order=True)
class FrameProblem(Problem):
    """A problem in a DataFrame, placed by row position and index label instead of a line."""

    label: str = ""

    def __str__(self) -> str:
        place = self.path if self.line < 0 else f"{self.path}, row {self.line} (index {self.label})"
        return shown(f"{place}: ") + shown(self.column) + ": " + shown(self.message)

    def place_of_run(self, last: int) -> str:
        return f"{self.path}, rows {self.line}-{last} (from index {self.label})"


@dataclass(frozen=True)
class FrameInput:
    """A DataFrame read as an input file, and how to place its problems back in the frame."""

    input: InputFile
    row_lines: np.ndarray  # the CSV line each row starts on
    labels: Any  # the frame's index

    def placed(self, problem: Problem) -> Problem:
        if problem.path != self.input.path or isinstance(problem, FrameProblem):
            return problem
        if problem.line <= 1:
            return FrameProblem(problem.path, -1, problem.column, problem.message)
        row = int(np.searchsorted(self.row_lines, problem.line, side="right")) - 1
        return FrameProblem(problem.path, row, problem.column, problem.message, repr(_label(self.labels[row])))


def _label(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def is_frame(source: object) -> bool:
    """A pandas DataFrame, told without importing pandas where nobody passed one."""
    return type(source).__name__ == "DataFrame" and type(source).__module__.startswith("pandas")


def frame_input(frame: pd.DataFrame, name: str, kind: str | None = None) -> FrameInput:
    """The frame as the CSV bytes `frame.to_csv(index=False)` writes, read and validated as that file is."""
    from .inputs import InputFile, read_data

    def refused(problem: Problem) -> FrameInput:
        return FrameInput(InputFile(name, "", None, problems=[problem]), np.zeros(0, np.int64), frame.index)

    if frame.shape[1] > schema.MAX_COLUMNS:
        return refused(Problem(name, 1, "file", f"more than {schema.MAX_COLUMNS} columns"))
    if len(frame) > schema.MAX_PARQUET_ROWS:
        return refused(Problem(name, 1, "file", f"more than {schema.MAX_PARQUET_ROWS:,} rows: split it, or "
                                                "aggregate it into counts"))
    if not all(isinstance(column, str) for column in frame.columns):
        return refused(Problem(name, 1, "file", "a column's name is not text"))
    container = _first_container(frame)
    if container is not None:
        column, row, what = container
        return refused(FrameProblem(name, row, column, f"holds a {what}; a cell is text, a number, a boolean or a "
                                                       "date", repr(_label(frame.index[row]))))
    data, breaks = _csv_bytes(frame)
    return FrameInput(read_data(name, data, "csv", kind), _row_lines(breaks), frame.index)


# What no CSV cell can hold: pandas would write its repr, and the repr would pass as text.
_CONTAINERS = (dict, list, set, frozenset, tuple, bytes, bytearray)


def _first_container(frame: pd.DataFrame) -> tuple[str, int, str] | None:
    import pandas as pd

    for column, values in frame.items():
        if not pd.api.types.is_object_dtype(values.dtype) or pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            continue
        for row, value in enumerate(values.tolist()):
            if isinstance(value, _CONTAINERS):
                return str(column), row, type(value).__name__
    return None


def _row_lines(breaks: np.ndarray) -> np.ndarray:
    """The CSV line each row starts on: after the header, one line per row plus the breaks inside its cells."""
    if not len(breaks):
        return breaks
    return 2 + np.arange(len(breaks)) + np.concatenate(([0], np.cumsum(breaks)[:-1]))


def _breaks_in_cells(frame: pd.DataFrame) -> np.ndarray:
    """Line breaks inside each row's cells, for a frame pandas' writer wrote: only text holds them."""
    import pandas as pd

    breaks = np.zeros(len(frame), np.int64)
    for _, values in frame.items():
        if not (pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(values.dtype)):
            breaks += np.fromiter((v.count("\n") if isinstance(v, str) else 0 for v in values.astype(object)),
                                  np.int64, len(frame))
    return breaks


def _csv_bytes(frame: pd.DataFrame) -> tuple[bytes, np.ndarray]:
    """Exactly what `frame.to_csv(index=False)` writes, made column by column in Arrow where it can be,
    and the line breaks inside each row's cells.

    pandas' own writer formats every cell in Python (3 s a million rows); the columns a notebook of
    answers holds (text, whole and decimal numbers, booleans, days, categories) are formatted here
    as it formats them, and any other frame is handed to pandas.
    """
    columns = [_column_text(values) for _, values in frame.items()]
    if len(columns) < 2 or any(c is None for c in columns):
        written: str = frame.to_csv(index=False, lineterminator="\n")
        return written.encode("utf-8"), _breaks_in_cells(frame)
    import pyarrow as pa
    import pyarrow.compute as pc

    breaks = np.zeros(len(frame), np.int64)
    for column in columns:
        breaks += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)

    header = ",".join(_quoted_text(str(c)) for c in frame.columns) + "\n"
    lines = pc.binary_join_element_wise(*[_quoted(c) for c in columns], ",")
    lines = pc.binary_join_element_wise(lines, pa.scalar("\n"), "")
    # One contiguous array first: the chunks of a pandas column can share one buffer, copied once.
    body = _text_bytes(lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines)
    return header.encode("utf-8") + body, breaks


def _text_bytes(chunk: Any) -> bytes:
    """The characters of a text array end to end, straight from its data buffer."""
    if not len(chunk):
        return b""
    offsets = np.frombuffer(chunk.buffers()[1], np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
    data: bytes = chunk.buffers()[2].to_pybytes()
    return data[int(offsets[0]):int(offsets[-1])]


# What pandas' writer quotes (a lone carriage return it leaves as it is).
_SPECIAL = (",", '"', "\n")


def _quoted_text(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in _SPECIAL) else text


def _quoted(values: Any) -> Any:
    """Cells quoted as Python's csv writer quotes them (QUOTE_MINIMAL): only those that need it."""
    import pyarrow.compute as pc

    needs = functools.reduce(pc.or_, [pc.match_substring(values, mark) for mark in _SPECIAL])
    if not pc.any(needs).as_py():
        return values
    doubled = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, doubled, values)


def _column_text(values: pd.Series) -> Any:
    """A column as pandas writes it to CSV, as Arrow text; None where only pandas' writer can say."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _column_text(values.astype(dtype.categories.dtype))
    if pd.api.types.is_bool_dtype(dtype):
        return pc.if_else(pa.array(values, type=pa.bool_(), from_pandas=True), "True", "False").fill_null("")
    if pd.api.types.is_integer_dtype(dtype):
        return pc.cast(pa.array(values, type=pa.int64(), from_pandas=True), pa.string()).fill_null("")
    if pd.api.types.is_float_dtype(dtype):
        return _float_text(values)
    if pd.api.types.is_datetime64_dtype(dtype) and getattr(values.dt, "tz", None) is None:
        days = values.dt.normalize()
        if not bool((values.dropna() == days.dropna()).all()):
            return None  # a time of day: pandas writes it, and validation refuses it by its row
        return pa.array(values.dt.strftime("%Y-%m-%d"), type=pa.string(), from_pandas=True).fill_null("")
    if pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    if pd.api.types.is_string_dtype(dtype):
        return pa.array(values, type=pa.string(), from_pandas=True).fill_null("")
    return None


def _float_text(values: pd.Series) -> Any:
    """Python's repr of each float (4.0, 0.25) where Arrow writes the same digits; None for the rest."""
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = numbers[np.isfinite(numbers)]
    magnitude = np.abs(finite)
    # Within these bounds Python's repr and Arrow's shortest form are the same fixed-point digits.
    if len(finite) != int((~np.isnan(numbers)).sum()) or np.any((magnitude != 0) & ((magnitude < 1e-4) | (magnitude >= 1e15))) \
            or np.any(np.signbit(finite) & (finite == 0)):
        return None
    array = pa.array(numbers, from_pandas=True)
    whole = pc.equal(pc.floor(array), array)
    as_whole = pc.binary_join_element_wise(pc.cast(pc.cast(array, pa.int64(), safe=False), pa.string()), ".0", "")
    return pc.if_else(whole, as_whole, pc.cast(array, pa.string())).fill_null("")


# -- findings out -------------------------------------------------------------------------------

def findings_frames(findings: Findings) -> dict[str, pd.DataFrame]:
    """The findings as typed DataFrames: stats, comparisons, flags, corroboration, texts, generations.

    Every number is the findings JSON's (rounded to 6 significant digits), so the two agree exactly.
    Nested records are flattened into `parent_child` columns; lists stay lists.
    """
    from .findings import to_json

    document = to_json(findings)
    frames = {
        "generations": _frame(document["generations"], dates=("release_date",)),
        "stats": _frame([_flat_stat(s) for s in document["stats"]]),
        "comparisons": _frame([_flat(c, drop=("events", "tests")) for c in document["comparisons"]],
                              verdicts=("verdict", "like_for_like_verdict")),
        "flags": _frame([_flat_flag(f) for f in document["flags"]], dates=("acknowledged_date",)),
        "corroboration": _frame(document["corroboration"]),
    }
    if document.get("texts"):
        frames["texts"] = _frame([_flat(t) for t in document["texts"]])
    return frames


def _flat(record: Mapping[str, Any], drop: Sequence[str] = (), prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if key in drop:
            continue
        if isinstance(value, Mapping):
            flat |= _flat(value, (), f"{prefix}{key}_")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _flat_stat(stat: Mapping[str, Any]) -> dict[str, Any]:
    # Per-topic figures and the published summaries are tables of their own; JSON text keeps them whole.
    flat = _flat(stat, drop=("topics", "published", "shares", "elicitation"))
    for key in ("topics", "published", "shares", "elicitation"):
        flat[key] = json.dumps(stat.get(key), sort_keys=True)
    return flat


def _flat_flag(flag: Mapping[str, Any]) -> dict[str, Any]:
    acknowledged = flag.get("acknowledged") or {}
    return {"rule": flag["rule"], "severity": flag["severity"], "metric": flag["metric"],
            "generations": list(flag["generations"]), "key": flag["key"], "message": flag["message"],
            "open": flag["severity"] == "flag" and not acknowledged,
            "acknowledged_by": acknowledged.get("by"), "acknowledged_date": acknowledged.get("date"),
            "acknowledged_reason": acknowledged.get("reason"),
            "evidence": json.dumps(flag["evidence"], sort_keys=True)}


def _frame(records: list[dict[str, Any]], dates: Sequence[str] = (), verdicts: Sequence[str] = ()) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa

    frame = pd.DataFrame.from_records(records)
    # A nested record flattened into parent_child columns leaves, where it was null, an empty parent column.
    hollow = [c for c in frame.columns if frame[c].isna().all() and any(o.startswith(f"{c}_") for o in frame.columns)]
    # Nullable types: an integer column with a gap stays integers, text stays text.
    frame = frame.drop(columns=hollow).convert_dtypes()
    # A figure is a float even where every value happens to be whole (a median of 4.0), so a column's
    # type does not depend on the data.
    for column in frame.columns:
        if any(isinstance(r.get(column), float) for r in records):
            frame[column] = frame[column].astype("Float64")
    for column in dates:
        if column in frame:
            frame[column] = frame[column].replace("", None).astype(pd.ArrowDtype(pa.date32()))
    for column in verdicts:
        if column in frame:
            frame[column] = pd.Categorical(frame[column], categories=VERDICTS, ordered=True)
    return frame
