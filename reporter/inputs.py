"""Reading and validating input files (CSV, JSON Lines, Parquet) into canonical rows.

Validation collects every problem before it gives up, so a user fixes a file in
one pass. A valid row comes out as a dict of canonical strings, the form the
store writes, so that 'identical' is a plain comparison.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import schema
from .errors import Problem
from .schema import Kind

csv.field_size_limit(1 << 30)  # the 64 KiB rule is ours to report, with a line number


@dataclass(frozen=True)
class RawRow:
    line: int
    values: dict[str, object]


@dataclass
class InputFile:
    """One input file, read and typed; `rows` holds only the rows without problems."""

    path: str
    sha256: str
    kind: Kind | None
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _read_csv(path: str, data: bytes, problems: list[Problem]) -> tuple[list[str], list[RawRow]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = _line_of_offset(data, err.start)
        problems.append(
            Problem(path, line, "-", f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})")
        )
        return [], []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] = []
    rows: list[RawRow] = []
    previous_end = 0
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not header:
                header = [h.strip().lower() for h in record]
                continue
            if not record or record == [""]:
                continue  # a blank line carries nothing
            if len(record) != len(header):
                problems.append(
                    Problem(path, start, "-", f"expected {len(header)} fields, found {len(record)}")
                )
                continue
            rows.append(RawRow(start, dict(zip(header, record, strict=True))))
    except csv.Error as err:
        problems.append(Problem(path, reader.line_num, "-", f"malformed CSV: {err}"))
    return header, rows


def _scalar(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _read_jsonl(path: str, data: bytes, problems: list[Problem]) -> tuple[list[str], list[RawRow]]:
    header: list[str] = []
    seen: set[str] = set()
    rows: list[RawRow] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as err:
            problems.append(Problem(path, number, "-", f"not UTF-8 text (byte at column {err.start + 1})"))
            continue
        except json.JSONDecodeError as err:
            problems.append(Problem(path, number, "-", f"not a JSON object: {err.msg} at column {err.colno}"))
            continue
        if not isinstance(value, dict):
            problems.append(Problem(path, number, "-", "not a JSON object"))
            continue
        values = {str(k).strip().lower(): _scalar(v) for k, v in value.items()}
        for name in values:
            if name not in seen:
                seen.add(name)
                header.append(name)
        rows.append(RawRow(number, values))
    return header, rows


def _read_parquet(path: str, data: bytes, problems: list[Problem]) -> tuple[list[str], list[RawRow]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as err:  # pyarrow raises several types for a broken file
        problems.append(Problem(path, 1, "-", f"not a readable Parquet file: {err}"))
        return [], []
    header = [name.strip().lower() for name in table.column_names]
    rows = [
        RawRow(index + 2, {name: _scalar(v) for name, v in zip(header, record.values(), strict=True)})
        for index, record in enumerate(table.to_pylist())
    ]
    return header, rows


def _format_of(path: str, data: bytes) -> str:
    lower = path.lower()
    if lower.endswith(".parquet") or data[:4] == b"PAR1":
        return "parquet"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return "csv"


def read_input(path: str | Path, kind_name: str | None = None) -> InputFile:
    """Read one input file and type its rows; problems are collected, never raised."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        return InputFile(name, "", None, problems=[Problem(name, 1, "-", f"cannot read: {err.strerror}")])
    result = InputFile(name, hashlib.sha256(data).hexdigest(), None)
    problems = result.problems
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        problems.append(Problem(name, 1, "-", "empty file"))
        return result
    fmt = _format_of(name, data)
    if fmt != "parquet" and b"\x00" in data:
        problems.append(Problem(name, _line_of_offset(data, data.index(b"\x00")), "-", "binary data (NUL byte)"))
        return result
    reader = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt]
    header, raw_rows = reader(name, data, problems)
    if problems and not header:
        return result
    kind = _resolve_kind(name, header, kind_name, problems)
    if kind is None:
        return result
    result.kind = kind
    if not raw_rows and not problems:
        problems.append(Problem(name, 1, "-", "no rows after the header"))
        return result
    for raw in raw_rows:
        row = _type_row(name, kind, raw, problems)
        if row is not None:
            if kind is schema.OBSERVATIONS:
                row["key"] = "" if row["response_id"] else f"{result.sha256}:{raw.line}"
            result.rows.append((raw.line, row))
    _check_duplicate_keys(result)
    return result


def _resolve_kind(path: str, header: list[str], kind_name: str | None, problems: list[Problem]) -> Kind | None:
    targets = [h for h in header if schema.target_column(h)]
    for name in targets:
        problems.append(
            Problem(path, 1, name, "a target, goal, threshold, objective or KPI column is refused (WR001): self-reports are never targets")
        )
    duplicates = sorted({h for h in header if header.count(h) > 1})
    for name in duplicates:
        problems.append(Problem(path, 1, name, "column appears more than once"))
    if targets or duplicates:
        return None
    if kind_name is not None:
        kind = schema.KINDS[kind_name]
    else:
        detected = schema.detect_kind(header)
        if detected is not None:
            return detected
        kind = schema.closest_kind(header)
    missing = [c for c in kind.required_names if c not in header]
    unknown = [h for h in header if h not in kind.names]
    for name in missing:
        problems.append(Problem(path, 1, name, f"required column of {kind.name} is missing"))
    for name in unknown:
        problems.append(Problem(path, 1, name or "(empty)", f"unknown column for {kind.name}"))
    return None if (missing or unknown) else kind


def _type_row(path: str, kind: Kind, raw: RawRow, problems: list[Problem]) -> dict[str, str] | None:
    """The row as canonical strings, or None after adding its problems: cells first, then across columns."""
    row: dict[str, str] = {}
    found = []
    for column in kind.columns:
        try:
            row[column.name] = _type_cell(kind, column, raw.values.get(column.name, ""))
        except schema.ValueProblem as err:
            found.append(Problem(path, raw.line, column.name, str(err)))
    if not found:
        found = [Problem(path, raw.line, column, message) for column, message in _row_problems(kind, row)]
    problems.extend(found)
    return None if found else row


def _type_cell(kind: Kind, column: schema.Column, value: object) -> str:
    if not isinstance(value, str):
        raise schema.ValueProblem(f"unsupported value {value!r}")
    if len(value.encode("utf-8")) > schema.FIELD_MAX_BYTES:
        raise schema.ValueProblem("field longer than 64 KiB")
    if value.strip():
        return column.parse(value)
    # An empty score is checked across columns: it is allowed when declined.
    if column in kind.required and not (kind is schema.OBSERVATIONS and column.name == "score"):
        raise schema.ValueProblem("required value is empty")
    return column.default


def _row_problems(kind: Kind, row: dict[str, str]) -> list[tuple[str, str]]:
    """Problems that need two cells of one row to see, as (column, message)."""
    if kind is schema.OBSERVATIONS and row["score"] == "" and row["declined"] != "true":
        return [("score", "empty score is allowed only when declined is true")]
    if kind is schema.METRICS and int(row["scale_min"]) >= int(row["scale_max"]):
        return [("scale_max", "must be greater than scale_min")]
    if kind is schema.METRICS and int(row["scale_max"]) - int(row["scale_min"]) + 1 > schema.MAX_SCALE_POINTS:
        return [("scale_max", f"a scale of at most {schema.MAX_SCALE_POINTS} points")]
    if kind is schema.SUMMARIES and row["ci_low"] and row["ci_high"]:
        low, high, mean = float(row["ci_low"]), float(row["ci_high"]), float(row["mean"])
        if not low <= mean <= high:
            return [("ci_low", "the interval must contain the mean")]
    return []


def _check_duplicate_keys(result: InputFile) -> None:
    assert result.kind is not None
    first: dict[tuple[str, ...], int] = {}
    casefold_kind = result.kind in (schema.GENERATIONS, schema.METRICS)
    for line, row in result.rows:
        key = schema.row_key(result.kind, row)
        if casefold_kind:
            key = tuple(k.lower() for k in key)
        if key in first:
            result.problems.append(
                Problem(result.path, line, result.kind.key[0], f"duplicate key {'/'.join(key)} (first on line {first[key]})")
            )
        else:
            first[key] = line


def iter_problems(files: Iterable[InputFile]) -> Iterator[Problem]:
    for f in files:
        yield from f.problems


@dataclass
class Registries:
    """Generations and metrics known to one call: the store's plus the call's own files."""

    generations: dict[str, dict[str, str]] = field(default_factory=dict)
    metrics: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, kind: Kind, row: dict[str, str]) -> None:
        table = self.generations if kind is schema.GENERATIONS else self.metrics
        table.setdefault(row[kind.key[0]], row)


def check_references(files: list[InputFile], known: Registries) -> list[Problem]:
    """Problems that need more than one file to see: unknown ids, scales, id case clashes."""
    problems: list[Problem] = []
    registries = _registries_with(files, known, problems)
    for f in files:
        for line, row in f.rows if f.kind is not None else ():
            problems += _reference_problems(f, line, row, registries)
    return problems


def _registries_with(files: list[InputFile], known: Registries, problems: list[Problem]) -> Registries:
    """`known` plus the generations and metrics of `files`; an id that differs only in case is a problem."""
    registries = Registries(dict(known.generations), dict(known.metrics))
    folded = {
        kind: {name.lower(): name for name in table}
        for kind, table in (("generation", registries.generations), ("metric", registries.metrics))
    }
    for f in files:
        if f.kind is None or f.kind.name not in schema.REGISTRY_KINDS:
            continue
        column = f.kind.key[0]
        for line, row in f.rows:
            name = row[column]
            other = folded[column].get(name.lower())
            if other is not None and other != name:
                problems.append(Problem(f.path, line, column, f"{name!r} differs only in case from {other!r}"))
                continue
            folded[column][name.lower()] = name
            registries.add(f.kind, row)
    return registries


# Which columns of each kind name a generation or a metric (';'-separated lists included).
_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "generations": (("predecessor", "generation"),),
    "acknowledgements": (("generations", "generation"), ("metric", "metric")),
    "events": (("generation", "generation"), ("metric", "metric")),
    "observations": (("generation", "generation"), ("metric", "metric")),
    "summaries": (("generation", "generation"), ("metric", "metric")),
}


def _reference_problems(f: InputFile, line: int, row: dict[str, str], registries: Registries) -> list[Problem]:
    assert f.kind is not None
    problems = []
    for column, what in _REFERENCES.get(f.kind.name, ()):
        table = registries.generations if what == "generation" else registries.metrics
        for value in row[column].split(";"):
            if value and value not in table:
                problems.append(Problem(f.path, line, column, f"unknown {what} {value!r}"))
    if f.kind is schema.GENERATIONS and row["predecessor"] == row["generation"]:
        problems.append(Problem(f.path, line, "predecessor", "a generation cannot be its own predecessor"))
    if f.kind in (schema.OBSERVATIONS, schema.SUMMARIES) and row["metric"] in registries.metrics:
        _check_scale(f, line, row, registries.metrics[row["metric"]], problems)
    return problems


def _check_scale(f: InputFile, line: int, row: dict[str, str], metric: dict[str, str], problems: list[Problem]) -> None:
    low, high = int(metric["scale_min"]), int(metric["scale_max"])
    column = "score" if f.kind is schema.OBSERVATIONS else "mean"
    value = row[column]
    if value and not low <= float(value) <= high:
        problems.append(Problem(f.path, line, column, f"{value} is outside the scale {low}-{high} of {row['metric']!r}"))


def validate_files(paths: list[Path], kind: str | None, known: Registries) -> list[Problem]:
    """`validate`: file-local problems first, then references against `known` and the files themselves."""
    files = [read_input(p, kind) for p in paths]
    problems = [p for f in files for p in f.problems]
    return problems + check_references(files, known)
