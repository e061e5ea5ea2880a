"""The merge plan: which incoming rows are added, skipped or in conflict.

`plan_merge` is a pure function of the store rows it is shown and the
incoming files: no I/O, nothing mutated. The caller reads the files the plan
needs (`files_touched`) and commits what the plan says to write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ingest, schema
from ..errors import Problem
from ..inputs import InputFile
from ..schema import Kind
from . import corrections, tables
from .files import Records, canonical_records, csv_bytes

Row = dict[str, str]
# Takes a planned file of answers (store path, bytes, rows); gives what the plan holds in its place.
Keep = Callable[[str, bytes, int], Any]


@dataclass(frozen=True)
class MergePlan:
    """The outcome of merging incoming files into the store rows given."""

    added: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, int] = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()  # corrections that name no row, or a replace that nothing replaces
    # Store path -> (canonical bytes, or where `keep` put them, row count) of every file to rewrite, and
    # the records of the registry and log files among them (files of answers are read back as planned).
    files: Mapping[str, tuple[Any, int]] = field(default_factory=dict)
    records: Mapping[str, Records] = field(default_factory=dict)
    # Of the skipped rows, those a correction retracted or replaced earlier, per kind.
    withheld: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Incoming:
    path: str
    line: int
    row: Row


ANSWER_KINDS = (schema.OBSERVATIONS, schema.COUNTS)


def answer_file(name: str) -> bool:
    """Whether a store file holds answers, compared and written as a table (`tables`), not as rows."""
    return schema.kind_of_store_file(name) in ANSWER_KINDS


def _by_store_file(files: Sequence[InputFile]) -> dict[str, tuple[Kind, list[_Incoming]]]:
    """Incoming rows other than answers, grouped by the store file they go to, in the order given."""
    grouped: dict[str, tuple[Kind, list[_Incoming]]] = {}
    for f in files:
        assert f.kind is not None, "only valid files are merged"
        if f.kind in ANSWER_KINDS:
            continue
        for line, row in f.rows:
            name = schema.store_file_of(f.kind, row)
            grouped.setdefault(name, (f.kind, []))[1].append(_Incoming(f.path, line, row))
    return grouped


@dataclass(frozen=True)
class _Answers:
    """One incoming file of answers as a table, and which of its rows go to which store file."""

    file: InputFile
    table: Any
    lines: np.ndarray
    codes: np.ndarray  # per row, the index of its store file in `names`
    names: tuple[str, ...]

    def batch(self, name: str) -> tables.Batch | None:
        """This file's rows bound for store file `name` (the whole table when all are)."""
        if name not in self.names:
            return None
        table, lines = self.table, self.lines
        if len(self.names) > 1:
            mine = self.codes == self.names.index(name)
            table, lines = table.filter(mine), lines[mine]
        if "key" not in table.column_names:
            table = ingest.with_keys(table, self.file.sha256, lines)
        return tables.Batch(self.file.path, lines, table)


def _answer_tables(files: Sequence[InputFile]) -> list[_Answers]:
    """Each incoming file of answers as a table (a file the row path read, as one too)."""
    found = []
    for f in files:
        if f.kind not in ANSWER_KINDS:
            continue
        assert f.kind is not None
        table, lines = f.table, f.lines
        if table is None:  # a small file, or one holding what the columns do not type
            table = tables.from_rows(f.kind, [row for _line, row in f.rows])
            lines = np.array([line for line, _row in f.rows], np.int64)
        if f.kind is schema.COUNTS:
            found.append(_Answers(f, table, lines, np.zeros(table.num_rows, np.int64), (corrections.COUNTS_FILE,)))
            continue
        encoded = table.column("generation").combine_chunks().dictionary_encode()
        names = tuple(schema.store_file_of(f.kind, {"generation": g}) for g in encoded.dictionary.to_pylist())
        found.append(_Answers(f, table, lines, encoded.indices.to_numpy(), names))
    return found


def _answer_files(answers: list[_Answers]) -> list[str]:
    """The store files incoming answers go to: counts.csv, one observations file per generation."""
    return sorted({name for a in answers for name in a.names}, key=_order)


def _batches(name: str, answers: list[_Answers]) -> list[tables.Batch]:
    """The incoming answers bound for store file `name`, in the order given."""
    return [b for b in (a.batch(name) for a in answers) if b is not None]


def files_touched(files: Sequence[InputFile]) -> list[str]:
    """The store files a merge of `files` reads and may rewrite (a correction rewrites its generation's answers)."""
    grouped = _by_store_file(files)
    touched = set(grouped) | set(_answer_files(_answer_tables(files)))
    # Every merge of answers reads the corrections: rows a correction took out never come back.
    if any(name.startswith(f"{schema.OBSERVATIONS_DIR}/") or name == corrections.COUNTS_FILE for name in touched):
        touched.add(corrections.CORRECTIONS_FILE)
    if corrections.CORRECTIONS_FILE in grouped:
        touched |= {name for i in grouped[corrections.CORRECTIONS_FILE][1] for name in corrections.rows_of(i.row["generation"])}
    return sorted(touched)


@dataclass
class _Tally:
    """What a merge does to each kind of row, as it is planned."""

    added: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    withheld: Counter[str] = field(default_factory=Counter)
    conflicts: list[str] = field(default_factory=list)

    def count(self, kind: Kind, fresh: int, same: int, held: int) -> None:
        self.added[kind.name] += fresh
        if same + held:
            self.skipped[kind.name] += same + held
        if held:
            self.withheld[kind.name] += held


def _in_memory(name: str, data: bytes, rows: int) -> bytes:
    return data


def plan_merge(existing: Mapping[str, Any], files: Sequence[InputFile], keep: Keep = _in_memory) -> MergePlan:
    """Classify every incoming row against `existing` (store path -> rows, or a table for a file of
    answers; a missing path has none). A file of answers is looked up only when it is planned, so a
    mapping that reads it then holds one at a time; `keep` takes each planned file of answers (the
    store stages it on disk, so the plan never holds them all).

    New corrections apply first, to the rows already in the store; then rows are
    added, skipped (identical, or retracted by an earlier correction) or in conflict.
    """
    tally = _Tally()
    grouped = _by_store_file(files)
    working: dict[str, Any] = {name: list(existing[name]) for name in existing if not answer_file(name)}
    recorded = working.get(corrections.CORRECTIONS_FILE, [])
    incoming_corrections = grouped.pop(corrections.CORRECTIONS_FILE, (schema.CORRECTIONS, []))[1]
    outcome = _apply_corrections(working, existing, recorded, incoming_corrections)
    retracted = corrections.retracted(recorded)
    changed = set(outcome.changed)
    new_files, fresh_rows = _plan_answers(existing, working, _answer_tables(files), retracted, outcome, tally, keep)
    changed -= set(new_files)
    for name, (kind, incoming) in sorted(grouped.items(), key=lambda item: _order(item[0])):
        current = working.get(name, [])
        fresh, same, held = _classify(kind, current, incoming, retracted, tally.conflicts)
        tally.count(kind, len(fresh), same, held)
        if fresh:
            working[name] = current + fresh
            changed.add(name)
    if outcome.replacing:
        corrections.record_replacements(outcome, fresh_rows)
    if outcome.lines:
        working[corrections.CORRECTIONS_FILE] = recorded + outcome.lines
        changed.add(corrections.CORRECTIONS_FILE)
    if incoming_corrections:
        tally.added["corrections"] += outcome.applied
        if outcome.skipped:
            tally.skipped["corrections"] += outcome.skipped
    counts = (dict(tally.added), dict(tally.skipped))
    if tally.conflicts or outcome.problems:
        return MergePlan(*counts, tuple(tally.conflicts), tuple(outcome.problems), withheld=dict(tally.withheld))
    records = {name: canonical_records(schema.kind_of_store_file(name), working[name]) for name in sorted(changed)}
    new_files |= {name: (csv_bytes(r), len(r) - 1) for name, r in records.items()}
    return MergePlan(*counts, files=dict(sorted(new_files.items())), records=records, withheld=dict(tally.withheld))


def _plan_answers(existing: Mapping[str, Any], working: dict[str, Any], answers: list[_Answers], retracted: Any,
                  outcome: corrections.Outcome, tally: _Tally,
                  keep: Keep) -> tuple[dict[str, tuple[Any, int]], dict[str, list[Row]]]:
    """The files of answers to write (bytes, rows), one store file at a time, and the rows each
    adds where a replacement needs them: a million answers are held as a table once, not once per step."""
    new_files: dict[str, tuple[Any, int]] = {}
    fresh_rows: dict[str, list[Row]] = {}

    def kept(name: str, written: tuple[bytes, int]) -> tuple[Any, int]:
        return keep(name, *written), written[1]

    for name in _answer_files(answers):
        kind = schema.kind_of_store_file(name)
        current = working.pop(name) if name in working else _as_table(name, existing.get(name, []))
        result = tables.classify(kind, current, _batches(name, answers), retracted)
        tally.conflicts += result.conflicts
        tally.count(kind, result.fresh.num_rows, result.same, result.held)
        if result.fresh.num_rows and not tally.conflicts:
            if outcome.replacing:
                fresh_rows[name] = result.fresh.to_pylist()
            new_files[name] = kept(name, tables.written(kind, name, current, result.fresh))
        elif name in outcome.changed:
            working[name] = current
    for name in sorted(set(outcome.changed) - set(new_files)):  # corrected, with nothing new
        if answer_file(name) and not tally.conflicts:
            new_files[name] = kept(name, tables.written(schema.kind_of_store_file(name), name, working.pop(name), None))
    return new_files, fresh_rows


def _as_table(name: str, rows: Any) -> Any:
    kind = schema.kind_of_store_file(name)
    return tables.aligned(kind, rows) if not isinstance(rows, list) else tables.from_rows(kind, rows)


def _apply_corrections(working: dict[str, Any], existing: Mapping[str, Any], recorded: list[Row],
                       incoming: list[_Incoming]) -> corrections.Outcome:
    """Apply new corrections to the store's answers; they are few, so the rows they may name go through
    as dicts, and come back as tables."""
    if not incoming:
        return corrections.Outcome()
    touched = {name for i in incoming for name in corrections.rows_of(i.row["generation"]) if name in existing}
    rows = {name: _as_table(name, existing[name]).to_pylist() for name in touched}
    outcome = corrections.apply(rows, recorded, [corrections.IncomingCorrection(i.path, i.line, i.row)
                                                 for i in incoming])
    for name in outcome.changed:
        working[name] = tables.from_rows(schema.kind_of_store_file(name), rows[name])
    return outcome


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

