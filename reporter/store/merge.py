"""The merge plan: which incoming rows are added, skipped or in conflict.

`plan_merge` is a pure function of the store rows it is shown and the
incoming files: no I/O, nothing mutated. The caller reads the files the plan
needs (`files_touched`) and commits what the plan says to write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import schema
from ..errors import Problem
from ..inputs import InputFile
from ..schema import Kind
from . import corrections
from .files import Records, canonical_records, csv_bytes

Row = dict[str, str]


@dataclass(frozen=True)
class MergePlan:
    """The outcome of merging incoming files into the store rows given."""

    added: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, int] = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()  # corrections that name no row, or a replace that nothing replaces
    # Store path -> (canonical bytes, row count) of every file to rewrite, and the records they hold.
    files: Mapping[str, tuple[bytes, int]] = field(default_factory=dict)
    records: Mapping[str, Records] = field(default_factory=dict)
    # Of the skipped rows, those a correction retracted or replaced earlier, per kind.
    withheld: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Incoming:
    path: str
    line: int
    row: Row


def _by_store_file(files: Sequence[InputFile]) -> dict[str, tuple[Kind, list[_Incoming]]]:
    """Incoming rows grouped by the store file they go to, in the order given."""
    grouped: dict[str, tuple[Kind, list[_Incoming]]] = {}
    for f in files:
        assert f.kind is not None, "only valid files are merged"
        for line, row in f.rows:
            name = schema.store_file_of(f.kind, row)
            grouped.setdefault(name, (f.kind, []))[1].append(_Incoming(f.path, line, row))
    return grouped


def files_touched(files: Sequence[InputFile]) -> list[str]:
    """The store files a merge of `files` reads and may rewrite (a correction rewrites its generation's answers)."""
    grouped = _by_store_file(files)
    touched = set(grouped)
    # Every merge of answers reads the corrections: rows a correction took out never come back.
    if any(name.startswith(f"{schema.OBSERVATIONS_DIR}/") or name == corrections.COUNTS_FILE for name in touched):
        touched.add(corrections.CORRECTIONS_FILE)
    if corrections.CORRECTIONS_FILE in grouped:
        touched |= {name for i in grouped[corrections.CORRECTIONS_FILE][1] for name in corrections.rows_of(i.row["generation"])}
    return sorted(touched)


def plan_merge(existing: Mapping[str, list[Row]], files: Sequence[InputFile]) -> MergePlan:
    """Classify every incoming row against `existing` (store path -> rows; a missing path has none).

    New corrections apply first, to the rows already in the store; then rows are
    added, skipped (identical, or retracted by an earlier correction) or in conflict.
    """
    added: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    withheld: Counter[str] = Counter()
    conflicts: list[str] = []
    grouped = _by_store_file(files)
    working = {name: list(rows) for name, rows in existing.items()}
    recorded = working.get(corrections.CORRECTIONS_FILE, [])
    incoming_corrections = grouped.pop(corrections.CORRECTIONS_FILE, (schema.CORRECTIONS, []))[1]
    outcome = corrections.apply(
        working, recorded, [corrections.IncomingCorrection(i.path, i.line, i.row) for i in incoming_corrections])
    retracted = corrections.retracted(recorded)
    changed = set(outcome.changed)
    fresh_rows: dict[str, list[Row]] = {}
    for name, (kind, incoming) in sorted(grouped.items(), key=lambda item: _order(item[0])):
        current = working.get(name, [])
        fresh, same, held = _classify(kind, current, incoming, retracted, conflicts)
        if same + held:
            skipped[kind.name] += same + held
        if held:
            withheld[kind.name] += held
        added[kind.name] += len(fresh)
        if fresh:
            working[name] = current + fresh
            fresh_rows[name] = fresh
            changed.add(name)
    corrections.record_replacements(outcome, fresh_rows)
    if outcome.lines:
        working[corrections.CORRECTIONS_FILE] = recorded + outcome.lines
        changed.add(corrections.CORRECTIONS_FILE)
    if incoming_corrections:
        added["corrections"] += outcome.applied
        if outcome.skipped:
            skipped["corrections"] += outcome.skipped
    counts = (dict(added), dict(skipped))
    if conflicts or outcome.problems:
        return MergePlan(*counts, tuple(conflicts), tuple(outcome.problems), withheld=dict(withheld))
    records = {name: canonical_records(schema.kind_of_store_file(name), working[name]) for name in sorted(changed)}
    new_files = {name: (csv_bytes(r), len(r) - 1) for name, r in records.items()}
    return MergePlan(*counts, (), (), new_files, records, dict(withheld))


def _classify(kind: Kind, current: list[Row], incoming: list[_Incoming], retracted: Any,
              conflicts: list[str]) -> tuple[list[Row], int, int]:
    """The incoming rows to add, how many are skipped as identical, and how many an earlier correction took out."""
    index = {schema.row_key(kind, row): row for row in current}
    fresh: list[Row] = []
    skipped = withheld = 0
    for item in incoming:
        key = schema.row_key(kind, item.row)
        other = index.get(key)
        if other is not None and _identical(kind, other, item.row):
            skipped += 1  # a replacement merged again is the row itself, not a withheld one
        elif kind in (schema.OBSERVATIONS, schema.COUNTS) and corrections.is_retracted(item.row, *retracted):
            withheld += 1
        elif other is None:
            index[key] = item.row
            fresh.append(item.row)
        else:
            conflicts.append(_conflict(kind, key, other, item))
    return fresh, skipped, withheld


def _identical(kind: Kind, one: Row, other: Row) -> bool:
    return all(one.get(n, "") == other.get(n, "") for n in kind.store_names if n != "key")


def _conflict(kind: Kind, key: tuple[str, ...], other: Row, item: _Incoming) -> str:
    differing = [n for n in kind.store_names if n != "key" and other.get(n, "") != item.row.get(n, "")]
    return f"{item.path}:{item.line}: {kind.name} key {'/'.join(key)}: differs in {', '.join(differing)}"


def _order(name: str) -> tuple[int, str]:
    """Registry and row files in the contract's order, then observation files by name."""
    files = list(schema.STORE_FILES.values())
    return (files.index(name), "") if name in files else (len(files), name)

