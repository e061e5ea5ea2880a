"""Reading and validating input files (CSV, JSON Lines, Parquet) into canonical rows.

Validation collects every problem before it gives up, so a user fixes a file in
one pass. A valid row comes out as a dict of canonical strings, the form the
store writes, so that 'identical' is a plain comparison.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import ingest, schema
from .errors import Problem
from .schema import Kind

csv.field_size_limit(1 << 30)  # the 64 KiB rule is ours to report, with a line number


@dataclass(frozen=True)
class RawRow:
    """One row of an input file as text, with the line it came from."""

    line: int
    values: dict[str, object]


@dataclass
class InputFile:
    """One input file, read and typed; `rows` holds only the rows without problems.

    A valid file of answers read by columns (`ingest`) holds them in `table` (canonical text; the `key`
    of each row is made from `lines` when it is written); `rows` makes the dicts only when asked.
    """

    path: str
    sha256: str
    kind: Kind | None
    problems: list[Problem] = field(default_factory=list)
    # The kind the file was meant to be, even when its header is wrong: a broken
    # registry is the root cause of every reference to it that fails.
    meant: Kind | None = None
    table: Any = None
    lines: Any = None
    _rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    @property
    def rows(self) -> list[tuple[int, dict[str, str]]]:
        if self.table is not None and not self._rows:
            self._rows = [(line, row | {"key": f"{self.sha256}:{line}"})
                          for line, row in zip(self.lines.tolist(), self.table.to_pylist(), strict=True)]
        return self._rows

    @property
    def row_count(self) -> int:
        return self.table.num_rows if self.table is not None else len(self._rows)


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _read_csv(path: str, data: bytes, problems: list[Problem]) -> tuple[list[str], list[RawRow]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = _line_of_offset(data, err.start)
        problems.append(
            Problem(path, line, "row", f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})")
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
                if len(record) > schema.MAX_COLUMNS:
                    problems.append(Problem(path, 1, "file", f"{len(record)} columns; at most {schema.MAX_COLUMNS}"))
                    return [], []
                header = [h.strip().lower() for h in record]
                continue
            if not record or record == [""]:
                continue  # a blank line carries nothing
            if len(record) != len(header):
                problems.append(
                    Problem(path, start, "row", f"expected {len(header)} fields, found {len(record)}")
                )
                continue
            rows.append(RawRow(start, dict(zip(header, record, strict=True))))
    except csv.Error as err:
        problems.append(Problem(path, reader.line_num, "row", f"malformed CSV: {err}"))
    return header, rows


class _JsonProblem(ValueError):
    pass


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are unique ignoring case and whose values are not nested."""
    values: dict[str, object] = {}
    for key, value in pairs:
        name = key.strip().lower()
        if name in values:
            raise _JsonProblem(f"the key {key!r} appears more than once (keys are compared ignoring case)")
        values[name] = value
    return values


def _json_row(raw: bytes, first: bool) -> dict[str, object]:
    try:
        value = json.loads(raw.decode("utf-8-sig" if first else "utf-8"), object_pairs_hook=_object)
    except UnicodeDecodeError as err:
        raise _JsonProblem(f"not UTF-8 text (byte at column {err.start + 1})") from None
    except json.JSONDecodeError as err:
        raise _JsonProblem(f"not a JSON object: {err.msg} at column {err.colno}") from None
    except RecursionError:
        raise _JsonProblem("nested too deeply") from None
    except ValueError as err:  # an integer beyond Python's digit limit, among others
        raise _JsonProblem(f"not a JSON object: {err}") from None
    if not isinstance(value, dict):
        raise _JsonProblem("not a JSON object")
    if len(value) > schema.MAX_COLUMNS:
        raise _JsonProblem(f"{len(value)} keys; at most {schema.MAX_COLUMNS}")
    nested = sorted(k for k, v in value.items() if isinstance(v, dict | list))
    if nested:
        raise _JsonProblem(f"the value of {nested[0]!r} is nested (an object or a list); only plain values are read")
    return {k: ingest.scalar_text(v) for k, v in value.items()}


def _read_jsonl(path: str, data: bytes, problems: list[Problem]) -> tuple[list[str], list[RawRow]]:
    header: dict[str, None] = {}
    rows: list[RawRow] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            values = _json_row(raw, number == 1)
        except _JsonProblem as err:
            problems.append(Problem(path, number, "row", str(err)))
            continue
        header.update(dict.fromkeys(values))
        if len(header) > schema.MAX_COLUMNS:
            problems.append(Problem(path, number, "row", f"more than {schema.MAX_COLUMNS} distinct keys"))
            return [], []
        rows.append(RawRow(number, values))
    return list(header), rows


def _read_parquet(path: str, data: bytes, problems: list[Problem]) -> tuple[list[str], Iterable[RawRow]]:
    """Rows of a Parquet file, its size checked from the metadata first and read in batches on one thread."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        metadata = parquet.metadata
        size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    except Exception as err:  # pyarrow raises several types for a broken file
        problems.append(Problem(path, 1, "file", f"not a readable Parquet file: {err}"))
        return [], []
    if metadata.num_columns > schema.MAX_COLUMNS:
        problems.append(Problem(path, 1, "file", f"{metadata.num_columns} columns; at most {schema.MAX_COLUMNS}"))
        return [], []
    if metadata.num_rows > schema.MAX_PARQUET_ROWS or size > schema.MAX_PARQUET_BYTES:
        problems.append(Problem(
            path, 1, "file",
            f"{metadata.num_rows:,} rows and {size:,} bytes uncompressed; at most {schema.MAX_PARQUET_ROWS:,} rows "
            f"and {schema.MAX_PARQUET_BYTES >> 30} GiB: split the file, or aggregate it into counts",
        ))
        return [], []
    header = [name.strip().lower() for name in parquet.schema_arrow.names]
    return header, _parquet_rows(path, parquet, header, problems)


def _parquet_rows(path: str, parquet: Any, header: list[str], problems: list[Problem]) -> Iterator[RawRow]:
    """The rows one batch at a time, so a file whose rows are refused is never held whole."""
    line = 2
    try:
        for batch in parquet.iter_batches(batch_size=10_000, use_threads=False):
            columns = [_parquet_column(batch.column(i)) for i in range(len(header))]
            for j, values in enumerate(zip(*columns, strict=True)):
                yield RawRow(line + j, dict(zip(header, values, strict=True)))
            line += batch.num_rows
    except Exception as err:  # a damaged page surfaces only when it is read
        problems.append(Problem(path, line, "row", f"not a readable Parquet file: {err}"))


def _parquet_column(column: Any) -> list[object]:
    """One batch of one column as plain values; a value Python cannot hold is marked, to be reported at its row."""
    try:
        return [ingest.scalar_text(v) for v in column.to_pylist()]
    except (ValueError, OverflowError):
        values: list[object] = []
        for index in range(len(column)):
            try:
                values.append(ingest.scalar_text(column[index].as_py()))
            except (ValueError, OverflowError) as err:
                values.append(schema.Unreadable(f"a value that cannot be read ({err})"))
        return values


def _format_of(path: str, head: bytes) -> str:
    lower = path.lower()
    if lower.endswith(".parquet") or head[:4] == b"PAR1":
        return "parquet"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return "csv"


CHUNK = 1 << 20


def _read_bounded(path: str) -> tuple[bytes, str] | Problem:
    """The bytes and format of a regular input file, or the problem that refuses it.

    A text file is read a chunk at a time and refused at its first line over
    the limit, so a huge line never has to fit in memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        return Problem(path, 1, "file", f"cannot read: {err.strerror}")
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return Problem(path, 1, "file", "not a regular file (a device, FIFO or folder)")
        first = handle.read(CHUNK)
        fmt = _format_of(path, first)
        if fmt == "parquet":
            return first + handle.read(), fmt
        import numpy as np

        chunks, line, length, chunk = [], 1, 0, first
        too_long = f"a line longer than {schema.MAX_LINE_BYTES >> 20} MiB"
        while chunk:
            breaks = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
            if len(breaks):
                # The length of every line this chunk ends: the first carries on from the chunk before.
                lengths = np.diff(breaks, prepend=-1 - length) - 1
                over = np.flatnonzero(lengths > schema.MAX_LINE_BYTES)
                if len(over):
                    return Problem(path, line + int(over[0]), "row", too_long)
                line, length = line + len(breaks), len(chunk) - int(breaks[-1]) - 1
            else:
                length += len(chunk)
            if length > schema.MAX_LINE_BYTES:
                return Problem(path, line, "row", too_long)
            chunks.append(chunk)
            chunk = handle.read(CHUNK)
    return b"".join(chunks), fmt


def _not_text(name: str, data: bytes) -> Problem | None:
    """Why a CSV or JSON Lines file is not UTF-8 text, if it is not."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # A spreadsheet's "Unicode text" export: every other byte is NUL, so say what it is.
        return Problem(name, 1, "file", "the file is UTF-16: save it as UTF-8")
    if b"\x00" in data:
        return Problem(name, _line_of_offset(data, data.index(b"\x00")), "row", "binary data (NUL byte)")
    return None


def read_input(path: str | Path, kind_name: str | None = None) -> InputFile:
    """Read one input file and type its rows; problems are collected, never raised."""
    name = str(path)
    read = _read_bounded(name)
    if isinstance(read, Problem):
        return InputFile(name, "", None, problems=[read])
    data, fmt = read
    return read_data(name, data, fmt, kind_name)


def read_data(name: str, data: bytes, fmt: str, kind_name: str | None = None) -> InputFile:
    """Type the rows of an input's bytes, named `name` in every problem; a DataFrame's CSV comes in here too."""
    result = InputFile(name, hashlib.sha256(data).hexdigest(), None)
    problems = result.problems
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        problems.append(Problem(name, 1, "file", "empty file"))
        return result
    not_text = _not_text(name, data) if fmt != "parquet" else None
    if not_text is not None:
        problems.append(not_text)
        return result
    if fmt == "csv" and _csv_by_columns(result, data, kind_name):
        return result
    reader = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt]
    header, raw_rows = reader(name, data, problems)
    if problems and not header:
        return result
    result.meant = schema.KINDS[kind_name] if kind_name else schema.detect_kind(header) or schema.closest_kind(header)
    kind = _resolve_kind(name, header, kind_name, problems)
    if kind is None:
        return result
    result.kind = kind
    if fmt == "parquet" and kind in ANSWER_KINDS:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = ingest.parquet_table(pq.ParquetFile(pa.BufferReader(data)), header)
        if columns is not None and _by_columns(result, kind, columns):
            return result
    if not _typed_rows(result, kind, raw_rows) and not problems:
        problems.append(Problem(name, 1, "file", "no rows after the header"))
        return result
    _check_duplicate_keys(result)
    return result


ANSWER_KINDS = (schema.OBSERVATIONS, schema.COUNTS)


def _csv_by_columns(result: InputFile, data: bytes, kind_name: str | None) -> bool:
    """Read a valid CSV file of answers by columns; False (nothing recorded) when the row path must read it."""
    end = data.find(b"\n")
    try:
        first = data[: end if end >= 0 else len(data)].decode("utf-8-sig")
        record = next(csv.reader([first], strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return False
    header = [h.strip().lower() for h in record]
    if len(header) > schema.MAX_COLUMNS:
        return False
    kind = _resolve_kind(result.path, header, kind_name, [])
    if kind not in ANSWER_KINDS:
        return False
    columns = ingest.csv_table(data, header)
    return columns is not None and _by_columns(result, kind, columns)


def _by_columns(result: InputFile, kind: Kind, columns: tuple[dict[str, Any], Any]) -> bool:
    raw, lines = columns
    table = ingest.typed_answers(kind, raw, lines, result.sha256)
    if table is None:
        return False
    result.meant = result.kind = kind
    result.table, result.lines = table, lines
    return True


def _typed_rows(result: InputFile, kind: Kind, raw_rows: Iterable[RawRow]) -> bool:
    """Type the rows into `result`, reading no further once problems would only repeat; whether any row came."""
    name, problems, read_any = result.path, result.problems, False
    for raw in raw_rows:
        read_any = True
        if len(problems) >= schema.MAX_PROBLEMS_READ:
            # Past this many the rest would only repeat them, at the cost of reading the whole file.
            problems.append(Problem(name, raw.line, "file", f"stopped reading after {len(problems):,} problems: "
                                                            "fix these first"))
            break
        row = _type_row(name, kind, raw, problems)
        if row is not None:
            if kind in (schema.OBSERVATIONS, schema.COUNTS):
                # Every row records the file and line it came from, so `<file SHA-256>:*` can
                # correct all the rows one file added; response_id, where given, stays the key.
                row["key"] = f"{result.sha256}:{raw.line}"
            result._rows.append((raw.line, row))
    return read_any


def _resolve_kind(path: str, header: list[str], kind_name: str | None, problems: list[Problem]) -> Kind | None:
    targets = [h for h in header if schema.target_column(h)]
    for name in targets:
        problems.append(
            Problem(path, 1, name, "a target, goal, threshold, objective or KPI column is refused (WR001): self-reports are never targets")
        )
    duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
    for name in duplicates:
        problems.append(Problem(path, 1, name, "column appears more than once"))
    if targets or duplicates:
        return None
    if len(header) == 1 and any(mark in header[0] for mark in ";\t|"):
        mark = next(m for m in ";\t|" if m in header[0])
        problems.append(Problem(path, 1, "file", f"the header is one column whose names are separated by {mark!r}; "
                                                 "welfare-report reads comma-separated files"))
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
            row[column.name] = schema.type_cell(kind, column, raw.values.get(column.name, ""))
        except schema.ValueProblem as err:
            found.append(Problem(path, raw.line, column.name, str(err)))
    if not found:
        found = [Problem(path, raw.line, column, message) for column, message in _row_problems(kind, row)]
    problems.extend(found)
    return None if found else row


def _row_problems(kind: Kind, row: dict[str, str]) -> list[tuple[str, str]]:
    """Problems that need two cells of one row to see, as (column, message)."""
    if kind in (schema.OBSERVATIONS, schema.COUNTS) and row["score"] == "" and row["declined"] != "true":
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
        if key in first and result.kind is schema.PHRASES:
            result.problems.append(Problem(result.path, line, "phrase",
                                           f"the same words as line {first[key]}'s phrase of {key[0]} once normalised"))
        elif key in first:
            result.problems.append(
                Problem(result.path, line, result.kind.key[0], f"duplicate key {'/'.join(key)} (first on line {first[key]})")
            )
        else:
            first[key] = line


@dataclass
class Registries:
    """Generations and metrics known to one call: the store's plus the call's own files."""

    generations: dict[str, dict[str, str]] = field(default_factory=dict)
    metrics: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, kind: Kind, row: dict[str, str]) -> None:
        table = self.generations if kind is schema.GENERATIONS else self.metrics
        table.setdefault(row[kind.key[0]], row)


def file_problems(files: list[InputFile]) -> list[Problem]:
    """Every file's own problems, registry files first: a broken registry is the root cause of what follows."""
    def registry_first(f: InputFile) -> int:
        return 0 if f.meant is not None and f.meant.name in schema.REGISTRY_KINDS else 1

    return [p for f in sorted(files, key=registry_first) for p in f.problems]


def check_references(files: list[InputFile], known: Registries) -> list[Problem]:
    """Problems that need more than one file to see: unknown ids, scales, id case clashes.

    When a generations or metrics file of the same call has problems of its own, an unknown id of
    that kind may well be one of its broken rows: such rows are counted in one line, not listed.
    """
    problems: list[Problem] = []
    registries = _registries_with(files, known, problems)
    broken = {f.meant.key[0]: f.path for f in files
              if f.problems and f.meant is not None and f.meant.name in schema.REGISTRY_KINDS}
    for f in files:
        if f.kind is None or (f.table is not None and ingest.references_hold(f.kind, f.table, registries)):
            continue
        unchecked: dict[str, list[int]] = {}
        for line, row in f.rows:
            for column, what, value in _unknown_ids(f.kind, row, registries):
                if what in broken:
                    unchecked.setdefault(what, []).append(line)
                else:
                    problems.append(Problem(f.path, line, column, f"unknown {what} {value!r}"))
            problems += _row_problems_across_files(f, line, row, registries)
        for what, lines in unchecked.items():
            problems.append(Problem(f.path, lines[0], what, f"{len(lines):,} rows name a {what} that is not known; "
                                    f"not listed one by one, because {broken[what]} has problems: fix it first"))
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
    "metrics": (("corroborates", "metric"),),
    "corrections": (("generation", "generation"), ("metric", "metric")),
    "counts": (("generation", "generation"), ("metric", "metric")),
}


def _unknown_ids(kind: Kind, row: dict[str, str], registries: Registries) -> Iterator[tuple[str, str, str]]:
    """(column, 'generation' or 'metric', value) for every id the row names that no registry knows."""
    for column, what in _REFERENCES.get(kind.name, ()):
        table = registries.generations if what == "generation" else registries.metrics
        for value in row[column].split(";"):
            if value and value not in table:
                yield column, what, value


def _row_problems_across_files(f: InputFile, line: int, row: dict[str, str], registries: Registries) -> list[Problem]:
    """Rule ids, self-predecessors and scales: what a row can get wrong besides an unknown id."""
    problems: list[Problem] = []
    if f.kind is schema.ACKNOWLEDGEMENTS and row["rule"] not in schema.RULE_IDS:
        problems.append(Problem(f.path, line, "rule", f"unknown rule {row['rule']!r}; the rule set has "
                                                      f"{schema.RULE_IDS[0]} to {schema.RULE_IDS[-1]}"))
    if f.kind is schema.GENERATIONS and row["predecessor"] == row["generation"]:
        problems.append(Problem(f.path, line, "predecessor", "a generation cannot be its own predecessor"))
    if f.kind in (schema.OBSERVATIONS, schema.SUMMARIES, schema.COUNTS) and row["metric"] in registries.metrics:
        _check_scale(f, line, row, registries.metrics[row["metric"]], problems)
    if f.kind is schema.METRICS:
        problems += _measure_problems(f, line, row, registries)
    return problems


def _measure_problems(f: InputFile, line: int, row: dict[str, str], registries: Registries) -> list[Problem]:
    """A probe or behaviour metric corroborates a self-report metric; direction only goes with corroborates."""
    problems = []
    target = row.get("corroborates", "")
    if target and schema.measure_of(row) == "self_report":
        problems.append(Problem(f.path, line, "corroborates", "only a probe or behaviour metric corroborates "
                                "a self-report; this metric is a self-report itself"))
    elif target and target in registries.metrics and schema.measure_of(registries.metrics[target]) != "self_report":
        problems.append(Problem(f.path, line, "corroborates", f"{target!r} is a "
                                f"{schema.measure_of(registries.metrics[target])} metric; corroborates names a self-report metric"))
    if row.get("direction") and not target:
        problems.append(Problem(f.path, line, "direction", "a direction only goes with corroborates"))
    return problems


def _check_scale(f: InputFile, line: int, row: dict[str, str], metric: dict[str, str], problems: list[Problem]) -> None:
    low, high = int(metric["scale_min"]), int(metric["scale_max"])
    column = "mean" if f.kind is schema.SUMMARIES else "score"
    value = row[column]
    if value and not low <= float(value) <= high:
        problems.append(Problem(f.path, line, column, f"{value} is outside the scale {low}-{high} of {row['metric']!r}"))
    elif value and column == "score" and schema.measure_of(metric) == "self_report" and not float(value).is_integer():
        problems.append(Problem(f.path, line, column, f"{value} is not a whole number; {row['metric']!r} is a "
                                "self-report rated on whole points (probe and behaviour metrics take real numbers)"))


def validate_files(paths: list[Path], kind: str | None, known: Registries) -> list[Problem]:
    """`validate`: file-local problems first, then references against `known` and the files themselves."""
    files = [read_input(p, kind) for p in paths]
    return file_problems(files) + check_references(files, known)
