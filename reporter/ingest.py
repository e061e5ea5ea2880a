"""Typing a large file of answers by columns: the happy path of a warehouse export, no Python loop per row.

An export of a million answers is read into Arrow columns of text. A column
whose values repeat (dates, scores, topics, methods: a few dozen distinct
values) is typed by the row path's own parser, once per distinct value; a
column of mostly distinct text (response and interview ids, excerpts) by
vectorised checks that find every value that parser would change or refuse.

Whenever anything in the file might be a problem, `typed_answers` returns
None and the caller reads the file row by row, so every message (file:line:
column) and every limit stays exactly what the row path says. The columns are
an optimisation of the valid case, never a second set of rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from . import schema
from .schema import Kind

# Python's str.isspace characters (what `str.strip` removes), as RE2 classes: a value made only of
# them is empty to the row path.
_BLANK = (r"^[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
          r"\x{202f}\x{205f}\x{3000}]*$")
# What the row path refuses in a label or escapes in free text (schema.UNSAFE_CHARACTERS), and CR,
# which it rewrites: a column holding none of them passes through unchanged.
_CHANGED = r"[\x00-\x08\x0b-\x1f\x7f-\x{9f}\x{202a}-\x{202e}\x{2066}-\x{2069}\r]"
# A line both CSV readers split alike: unquoted fields without a quote, quoted fields closed before the
# next delimiter. Python's strict reader refuses some lines pyarrow reads on (`"a"b`, a quote left open);
# a quoted line that is not of this form goes to the row path, which names the problem.
_CLEAN_LINE = r'^(?:[^",\n]*|"(?:[^"\n]|"")*")(?:,(?:[^",\n]*|"(?:[^"\n]|"")*"))*\r?\n?$'
# Columns typed by vectorised checks rather than once per distinct value: text passed through as it is.
_PASS_THROUGH = (schema._label, schema._text)


def scalar_text(value: object) -> object:
    """A JSON or Parquet value as the text a CSV cell would hold (5.0 is 5, a timestamp its date); a
    value of another type comes back as it is, for the typing to refuse."""
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


def csv_table(data: bytes, header: list[str]) -> tuple[dict[str, Any], np.ndarray] | None:
    """A CSV file's columns of text by name and the line each row starts on; None when only the row path
    reads it alike.

    Taken only when every record is one line (no line break inside quotes), so lines are counted from
    the bytes, and no quoted field is one Python's strict reader would refuse.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    carriage_returns = b"\r" in data
    if carriage_returns and data.count(b"\r") != data.count(b"\r\n"):
        return None  # a lone CR ends a line for one reader and not the other
    records = _record_lines(data, carriage_returns)
    if b'"' in data:
        # Only the lines that hold a quote can hold a bad one: look at those.
        starts = _line_starts(data)
        quotes = np.flatnonzero(np.frombuffer(data, np.uint8) == 34)
        quoted = np.unique(np.searchsorted(starts, quotes, side="right") - 1)
        ends = np.append(starts[1:], len(data))
        offsets = np.stack([starts[quoted], ends[quoted]], axis=1).ravel()
        pieces = pa.LargeStringArray.from_buffers(2 * len(quoted) - 1, pa.py_buffer(offsets), pa.py_buffer(data))
        # Every other piece (even index) is a quoted line; the odd ones are the gaps between them.
        if not pc.all(pc.match_substring_regex(pieces[::2], _CLEAN_LINE)).as_py():
            return None
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # a row of another width, a broken quote: the row path names its line
    if table.num_rows != len(records) - 1:
        return None
    return {name: table.column(name) for name in header}, records[1:]


def _line_starts(data: bytes) -> np.ndarray:
    return np.append(0, np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1)


def _record_lines(data: bytes, carriage_returns: bool = True) -> np.ndarray:
    """The 1-based number of every line that is not blank (both readers skip blank lines)."""
    if not data:
        return np.zeros(0, np.int64)
    blank = b"\n\n" in data or data.startswith((b"\n", b"\r\n"))
    if not blank and not (carriage_returns and b"\n\r\n" in data):
        # No blank line: every line holds a record, and counting line breaks is enough.
        return np.arange(1, data.count(b"\n") + (not data.endswith(b"\n")) + 1, dtype=np.int64)
    starts = _line_starts(data)
    ends = np.append(starts[1:] - 1, len(data))
    if data.endswith(b"\n"):
        starts, ends = starts[:-1], ends[:-1]  # nothing after the last line break
    crlf = np.frombuffer(data, np.uint8)[np.maximum(ends - 1, 0)] == 13
    return np.flatnonzero(ends - starts - crlf > 0) + 1


def parquet_table(parquet: Any, header: list[str]) -> tuple[dict[str, Any], np.ndarray] | None:
    """A Parquet file's columns as the text the row path would make of them; None for a value it might refuse."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        table = parquet.read(use_threads=False)
        columns = []
        for column in table.columns:
            column = column.combine_chunks()
            if pa.types.is_dictionary(column.type):
                column = column.dictionary_decode()
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                columns.append(column.cast(pa.string()).fill_null(""))
                continue
            # Every other type once per distinct value, as the row path turns each value into text.
            distinct = pc.unique(column)
            text = [scalar_text(v) for v in distinct.to_pylist()]
            if not all(isinstance(t, str) for t in text):
                return None
            columns.append(pc.take(pa.array(text, pa.string()), pc.index_in(column, value_set=distinct)))
    except (pa.ArrowException, ValueError, OverflowError, TypeError):
        return None  # a value Python cannot hold, a nested type: the row path names its row
    return dict(zip(header, columns, strict=True)), np.arange(table.num_rows, dtype=np.int64) + 2


def typed_answers(kind: Kind, raw: dict[str, Any], lines: np.ndarray, sha256: str) -> Any | None:
    """Observations or counts as the store's canonical text, without their `key` (`with_keys`); None
    when any row may be a problem.

    `raw` holds the file's columns of text; each is taken out of it as it is typed, so the file is
    never held twice.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = len(lines)
    if rows == 0:
        return None
    typed: dict[str, Any] = {}
    # A column the file does not have holds its default in every row: one array per default value,
    # shared by every such column (at 10M rows each copy would be 40 MB of offsets).
    defaults: dict[str, Any] = {}
    for column in kind.columns:
        if column.name not in raw:
            if column.default not in defaults:
                defaults[column.default] = pa.repeat(pa.scalar(column.default, pa.string()), rows)
            typed[column.name] = defaults[column.default]
            continue
        values = raw.pop(column.name)
        if pc.max(pc.binary_length(values)).as_py() > schema.FIELD_MAX_BYTES:
            return None
        result = (_passed_through(kind, column, values) if column.parse in _PASS_THROUGH
                  else _per_distinct(kind, column, values))
        if result is None:
            return None
        typed[column.name] = result
    if pc.any(pc.and_(pc.equal(typed["score"], ""), pc.not_equal(typed["declined"], "true"))).as_py():
        return None  # an empty score is allowed only when declined
    table = pa.table(typed)
    return table if _keys_unique(kind, table, sha256, lines) else None  # a key twice: the row path names both


def with_keys(table: Any, sha256: str, lines: np.ndarray) -> Any:
    """The rows with their `key` column, `<file SHA-256>:<line>`: built when a merge writes them, not
    held for a whole file from the moment it is read."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return table.append_column("key", pc.binary_join_element_wise(sha256, pa.array(lines).cast(pa.string()), ":"))


def _keys_unique(kind: Kind, table: Any, sha256: str, lines: np.ndarray) -> bool:
    """Whether no two rows share a store key. Rows keyed by their own line are unique by construction,
    so observations without a response_id cost no look-up."""
    import pyarrow.compute as pc

    if kind is schema.OBSERVATIONS:
        identified = pc.not_equal(table.column("response_id"), "")
        if not pc.any(identified).as_py():
            return True
        if pc.all(identified).as_py() and _distinct_within_generations(table):
            return True  # every row has its own response_id in its generation
        # A mix: a response_id could spell another row's `<SHA-256>:<line>`, so every key is compared.
    return bool(pc.count_distinct(key_column(kind, with_keys(table, sha256, lines))).as_py() == table.num_rows)


def _distinct_within_generations(table: Any) -> bool:
    """Whether no response_id repeats within a generation, counted one generation at a time: a store key
    holds the generation, and a set of 10M ids at once costs 1.2 GB where one generation's costs an eighth."""
    import pyarrow.compute as pc

    generations = table.column("generation").combine_chunks().dictionary_encode()
    ids = table.column("response_id")
    if len(generations.dictionary) == 1:
        return bool(pc.count_distinct(ids).as_py() == table.num_rows)
    codes = generations.indices
    for code in range(len(generations.dictionary)):
        mine = ids.filter(pc.equal(codes, code))
        if pc.count_distinct(mine).as_py() != len(mine):
            return False
    return True


def key_column(kind: Kind, table: Any) -> Any:
    """Each row's store key (schema.row_key) as one text: values joined by NUL, which no id or label holds."""
    import pyarrow.compute as pc

    if kind is schema.OBSERVATIONS:
        parts = [table.column("generation"), table.column("metric"), observation_keys(table)]
    else:
        parts = [table.column(name) for name in kind.key]
    return pc.binary_join_element_wise(*parts, "\x00")


def observation_keys(table: Any) -> Any:
    """schema.observation_key of every row: its response_id, else its `<file SHA-256>:<line>` key."""
    import pyarrow.compute as pc

    response_id = table.column("response_id")
    return pc.if_else(pc.equal(response_id, ""), table.column("key"), response_id)


def references_hold(kind: Kind, table: Any, registries: Any) -> bool:
    """Whether every row names a known generation and metric and scores on its scale (whole points for a
    self-report); when not, the row path lists the rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    generations = pc.unique(table.column("generation")).to_pylist()
    metrics = pc.unique(table.column("metric")).to_pylist()
    if any(g not in registries.generations for g in generations) or any(m not in registries.metrics for m in metrics):
        return False
    scored = pa.table({"metric": table.column("metric"), "score": table.column("score")})
    scored = scored.filter(pc.not_equal(scored.column("score"), ""))
    scores = scored.column("score").cast(pa.float64())
    for metric in metrics:
        row = registries.metrics[metric]
        mine = scores.filter(pc.equal(scored.column("metric"), metric))
        if len(mine) == 0:
            continue
        low, high = pc.min_max(mine).values()
        if low.as_py() < int(row["scale_min"]) or high.as_py() > int(row["scale_max"]):
            return False
        if schema.measure_of(row) == "self_report" and not pc.all(pc.equal(pc.floor(mine), mine)).as_py():
            return False
    return True


def value_bytes(values: Any) -> np.ndarray:
    """The UTF-8 bytes of every value of a string array one after another, read in place from its buffer."""
    import pyarrow as pa

    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    wide = pa.types.is_large_string(values.type)
    offsets = np.frombuffer(values.buffers()[1], np.int64 if wide else np.int32)
    start, end = offsets[values.offset], offsets[values.offset + len(values)]
    data = values.buffers()[2]
    return np.zeros(0, np.uint8) if data is None else np.frombuffer(data, np.uint8)[start:end]


def _may_change(values: Any) -> bool:
    """Whether any value holds a byte that starts a character the parser changes or refuses (a quick
    look at the bytes before the exact regular expression): C0 but TAB and LF, DEL, and the lead bytes
    of C1 controls (0xC2) and of the bidirectional overrides (0xE2)."""
    for chunk in getattr(values, "chunks", [values]):
        raw = value_bytes(chunk)
        if ((raw < 32) & (raw != 9) & (raw != 10) | (raw == 127) | (raw == 0xC2) | (raw == 0xE2)).any():
            return True
    return False


def _blank(values: Any) -> Any:
    """Which values are empty to the row path (only whitespace); the regular expression only when some
    value starts with a character Python reads as whitespace."""
    import pyarrow.compute as pc

    starts = pc.unique(pc.utf8_slice_codeunits(values, 0, 1)).to_pylist()
    if any(s.isspace() for s in starts):
        return pc.match_substring_regex(values, _BLANK)
    return pc.equal(values, "")


def _passed_through(kind: Kind, column: schema.Column, values: Any) -> Any | None:
    """Mostly distinct text: unchanged, blank values as the column's default; None when the parser would act."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _may_change(values) and pc.any(pc.match_substring_regex(values, _CHANGED)).as_py():
        return None
    blank = _blank(values)
    if not pc.any(blank).as_py():
        return values
    if column in kind.required:
        return None
    return pc.if_else(blank, pa.scalar(column.default), values)


def _per_distinct(kind: Kind, column: schema.Column, values: Any) -> Any | None:
    """Each distinct value through the row path's own typing; None at the first it refuses.

    A column the typing leaves as it is (the usual case: `g1`, `2026-03-01`, `5`) is kept as read.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    distinct = pc.unique(values)
    as_read = distinct.to_pylist()
    try:
        text = [schema.type_cell(kind, column, value) for value in as_read]
    except schema.ValueProblem:
        return None
    if text == as_read:
        return values
    return pc.take(pa.array(text, pa.string()), pc.index_in(values, value_set=distinct))
