"""Files of answers (observations/<generation>.csv, counts.csv) as Arrow tables of canonical text.

A merge of a million answers never turns them into a million dicts: the
store file and the incoming rows are compared by key as columns, the new file
is sorted and written as CSV by Arrow's compute kernels, and the bytes are
read back by the reader every command uses. What comes out is byte for byte
what the row path (`files.canonical_csv`) writes; a property test holds them
to it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import ingest, schema
from ..errors import StoreError
from ..schema import Kind
from .files import arrow_csv

Row = dict[str, str]
# What makes Python's csv writer quote a field (QUOTE_MINIMAL with LF line ends).
_QUOTED = (",", '"', "\r", "\n")


@dataclass(frozen=True)
class Batch:
    """Incoming rows of one input file bound for one store file, with the line each came from."""

    path: str
    lines: np.ndarray
    table: Any


@dataclass(frozen=True)
class Classified:
    fresh: Any  # the rows to add, as a table
    same: int  # identical to a row already there: skipped
    held: int  # taken out by an earlier correction: skipped and counted as withheld
    conflicts: list[str]


def empty(kind: Kind) -> Any:
    import pyarrow as pa

    return pa.table({name: pa.array([], pa.string()) for name in kind.store_names})


def from_rows(kind: Kind, rows: list[Row]) -> Any:
    """Rows as a table with every store column (a missing column is empty, as in `canonical_records`)."""
    import pyarrow as pa

    if not rows:
        return empty(kind)
    return pa.table({name: pa.array([r.get(name, "") for r in rows], pa.string()) for name in kind.store_names})


def read(kind: Kind, data: bytes | None) -> Any:
    """A store file of answers as a table of text; a column added to the contract later reads as empty."""
    import pyarrow as pa

    if data is None:
        return empty(kind)
    table = arrow_csv(data, dict.fromkeys(data[: data.find(b"\n")].decode("utf-8").split(","), pa.string()))
    return aligned(kind, table)


def aligned(kind: Kind, table: Any) -> Any:
    """Exactly the store's columns in the contract's order, as plain (not large) strings."""
    import pyarrow as pa

    columns = [table.column(n).cast(pa.string()) if n in table.column_names else pa.repeat("", table.num_rows)
               for n in kind.store_names]
    return pa.table(columns, names=list(kind.store_names))


def classify(kind: Kind, current: Any, batches: list[Batch], retracted: tuple[set[Any], set[Any]]) -> Classified:
    """The incoming rows to add to `current`, as `merge._classify` decides them one by one.

    A row whose key is in the store is skipped when identical and a conflict otherwise. Among the
    others, rows a correction took out are withheld; the first remaining row of each key is new, and a
    later one with its key is skipped when identical to it, withheld when taken out, else a conflict.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not batches:
        return Classified(empty(kind), 0, 0, [])
    if current.num_rows == 0 and len(batches) == 1 and not any(retracted):
        # Into an empty file, from one file whose keys are unique (checked as it was read): all new.
        return Classified(aligned(kind, batches[0].table), 0, 0, [])
    incoming = pa.concat_tables([aligned(kind, b.table) for b in batches]).combine_chunks()
    paths = [b.path for b in batches]
    origin = np.repeat(np.arange(len(batches)), [b.table.num_rows for b in batches])
    lines = np.concatenate([b.lines for b in batches])
    keys = _array(ingest.key_column(kind, incoming))
    compared = [n for n in kind.store_names if n != "key"]
    found = pc.index_in(keys, value_set=_array(ingest.key_column(kind, current)))
    stored = pc.is_valid(found).to_numpy(zero_copy_only=False)
    store_index = found.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    taken_out = _taken_out(kind, incoming, retracted)
    same = np.zeros(len(keys), bool)
    if stored.any():
        same[stored] = _identical(compared, incoming.take(np.flatnonzero(stored)),
                                  current.take(store_index[stored]))
    codes = keys.dictionary_encode().indices.to_numpy()
    candidates = np.flatnonzero(~stored & ~taken_out)
    first = np.full(len(keys), -1, np.int64)
    first[codes[candidates[::-1]]] = candidates[::-1]  # the first candidate row of each key
    first_of_row = first[codes]
    fresh = np.zeros(len(keys), bool)
    fresh[candidates] = first_of_row[candidates] == candidates
    later = ~stored & ~fresh & (first_of_row >= 0) & (first_of_row < np.arange(len(keys)))
    if later.any():
        rows = np.flatnonzero(later)
        same[rows] = _identical(compared, incoming.take(rows), incoming.take(first_of_row[rows]))
    held = ~stored & ~fresh & ~same & taken_out
    conflict = ~fresh & ~same & ~held
    messages = []
    for row in np.flatnonzero(conflict):
        other = current.slice(int(store_index[row]), 1) if stored[row] else incoming.slice(int(first_of_row[row]), 1)
        mine = incoming.slice(int(row), 1)
        differing = [n for n in compared if mine.column(n)[0] != other.column(n)[0]]
        key = keys[int(row)].as_py().split("\x00")
        messages.append(f"{paths[origin[row]]}:{lines[row]}: {kind.name} key {'/'.join(key)}: "
                        f"differs in {', '.join(differing)}")
    return Classified(incoming.filter(pa.array(fresh)), int(same.sum()), int(held.sum()), messages)


def _array(values: Any) -> Any:
    """One contiguous array, as the kernels that take a value set need."""
    return values.combine_chunks() if hasattr(values, "combine_chunks") else values


def _identical(names: list[str], one: Any, other: Any) -> np.ndarray:
    import pyarrow.compute as pc

    equal = np.ones(one.num_rows, bool)
    for name in names:
        equal &= pc.equal(one.column(name), other.column(name)).to_numpy(zero_copy_only=False)
    return equal


def _taken_out(kind: Kind, table: Any, retracted: tuple[set[Any], set[Any]]) -> np.ndarray:
    """corrections.is_retracted of every row: named by its key, or by the input file it came from."""
    import pyarrow.compute as pc

    keys, whole_files = retracted
    result = np.zeros(table.num_rows, bool)
    if (not keys and not whole_files) or table.num_rows == 0:
        return result
    generation, metric = table.column("generation"), table.column("metric")
    own_key = ingest.observation_keys(table) if kind is schema.OBSERVATIONS else table.column("key")
    if keys:
        named = pc.binary_join_element_wise(generation, metric, own_key, "\x00")
        result |= pc.is_in(named, value_set=_joined(keys)).to_numpy(zero_copy_only=False)
    if whole_files:
        source = pc.list_element(pc.split_pattern(table.column("key"), ":", max_splits=1), 0)
        named = pc.binary_join_element_wise(generation, metric, source, "\x00")
        sourced = pc.and_(pc.not_equal(source, ""), pc.is_in(named, value_set=_joined(whole_files)))
        result |= sourced.to_numpy(zero_copy_only=False)
    return result


def _joined(parts: set[tuple[str, str, str]]) -> Any:
    import pyarrow as pa

    return pa.array(sorted("\x00".join(p) for p in parts), pa.string())


def sorted_rows(kind: Kind, table: Any) -> Any:
    """The rows in the store's order (schema.sort_key), as Python would sort them.

    A column of few distinct values (metric, date, the columns of a counts key) is sorted by its rank
    among them, which Python orders for Arrow; only the answer's own key is compared as text, and
    UTF-8 byte order is code point order, Python's order for text.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    table = table.combine_chunks()
    if kind is schema.OBSERVATIONS:
        order = {"metric": _rank(table.column("metric")), "collected_on": _rank(table.column("collected_on")),
                 "own": ingest.observation_keys(table)}
    else:
        order = {name: _rank(table.column(name)) for name in kind.key}
    return table.take(pc.sort_indices(pa.table(order), sort_keys=[(n, "ascending") for n in order]))


def _rank(column: Any) -> Any:
    """Each value's place among the column's distinct values in Python's order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    distinct = pa.array(sorted(pc.unique(column).to_pylist()), pa.string())
    return pc.index_in(column, value_set=distinct)


def csv_bytes(kind: Kind, table: Any) -> bytes:
    """Sorted rows as the store writes them (files.csv_bytes): LF, minimal quoting."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    header = (",".join(kind.store_names) + "\n").encode("utf-8")
    if table.num_rows == 0:
        return header
    columns = [table.column(name).combine_chunks() for name in kind.store_names]
    quoting = [[c for c in _QUOTED if (ingest.value_bytes(column) == ord(c)).any()] for column in columns]
    if not any(quoting):
        # Nothing to quote (no excerpt with a comma, say): Arrow's own writer writes what Python's would.
        out = pa.BufferOutputStream()
        pacsv.write_csv(pa.table(columns, names=list(kind.store_names)), out,
                        pacsv.WriteOptions(include_header=False, quoting_style="none"))
        return b"".join((header, out.getvalue()))
    # Plain strings hold up to 2 GiB of text; a larger file is built with 64-bit offsets.
    size = sum(c.nbytes for c in columns) + 4 * table.num_rows * len(columns)
    text = pa.large_string() if size >= 1 << 30 else pa.string()
    mark, nothing, comma = (pa.scalar(c, text) for c in ('"', "", ","))
    cells = []
    for column, found in zip(columns, quoting, strict=True):
        column = column.cast(text)
        if found:
            needs = functools.reduce(pc.or_, [pc.match_substring(column, c) for c in found])
            quoted = pc.binary_join_element_wise(mark, pc.replace_substring(column, '"', '""'), mark, nothing)
            column = pc.if_else(needs, quoted, column)
        cells.append(column)
    lines = pc.binary_join_element_wise(*cells, comma)
    del cells
    lines = pc.binary_join_element_wise(lines, nothing, pa.scalar("\n", text))  # each line ends in LF
    return header + ingest.value_bytes(lines).tobytes()


def written(kind: Kind, name: str, current: Any, fresh: Any | None) -> tuple[bytes, int]:
    """The bytes and row count of a store file of answers holding `current` and `fresh`, once they read
    back as meant (a StoreError names the file otherwise; nothing is written)."""
    import pyarrow as pa

    table = current if fresh is None else pa.concat_tables([current, fresh]) if current.num_rows else fresh
    table = sorted_rows(kind, table)
    data = csv_bytes(kind, table)
    problem = reads_back(data, table)
    if problem is not None:
        raise StoreError(f"{name}: would not read back as written ({problem}); nothing was merged")
    return data, table.num_rows


def reads_back(data: bytes, table: Any) -> str | None:
    """Why `data` would not read back as `table` through the store's reader; None when it does."""
    import pyarrow as pa

    try:
        parsed = arrow_csv(data, dict.fromkeys(table.column_names, pa.string()))
    except pa.ArrowInvalid as err:
        return f"the pyarrow reader fails: {err}"
    if parsed.num_rows != table.num_rows or parsed.column_names != table.column_names:
        return f"the pyarrow reader reads {parsed.num_rows} rows, not {table.num_rows}"
    for name in table.column_names:
        if not parsed.column(name).equals(table.column(name)):
            return f"the pyarrow reader reads other values in column {name}"
    return None
