"""The merge plan: which incoming rows are added, skipped or in conflict.

`plan_merge` is a pure function of the store rows it is shown and the
incoming files: no I/O, nothing mutated. The caller reads the files the plan
needs (`files_touched`) and commits what the plan says to write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .. import schema
from ..inputs import InputFile
from ..schema import Kind
from .files import Records, canonical_records, csv_bytes

Row = dict[str, str]


@dataclass(frozen=True)
class MergePlan:
    """The outcome of merging incoming files into the store rows given."""

    added: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, int] = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()
    # Store path -> (canonical bytes, row count) of every file to rewrite, and the records they hold.
    files: Mapping[str, tuple[bytes, int]] = field(default_factory=dict)
    records: Mapping[str, Records] = field(default_factory=dict)


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
    """The store files a merge of `files` reads and may rewrite."""
    return sorted(_by_store_file(files))


def plan_merge(existing: Mapping[str, list[Row]], files: Sequence[InputFile]) -> MergePlan:
    """Classify every incoming row against `existing` (store path -> rows; a missing path has none)."""
    added: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    conflicts: list[str] = []
    new_files: dict[str, tuple[bytes, int]] = {}
    records: dict[str, Records] = {}
    for name, (kind, incoming) in sorted(_by_store_file(files).items(), key=lambda item: _order(item[0])):
        current = existing.get(name, [])
        names = [n for n in kind.store_names if n != "key"]
        index = {schema.row_key(kind, row): row for row in current}
        fresh: list[Row] = []
        for item in incoming:
            key = schema.row_key(kind, item.row)
            other = index.get(key)
            if other is None:
                index[key] = item.row
                fresh.append(item.row)
            elif all(other.get(n, "") == item.row.get(n, "") for n in names):
                skipped[kind.name] += 1
            else:
                differing = [n for n in names if other.get(n, "") != item.row.get(n, "")]
                conflicts.append(
                    f"{item.path}:{item.line}: {kind.name} key {'/'.join(key)}: differs in {', '.join(differing)}"
                )
        added[kind.name] += len(fresh)
        if fresh:
            records[name] = canonical_records(kind, current + fresh)
            new_files[name] = (csv_bytes(records[name]), len(records[name]) - 1)
    if conflicts:
        return MergePlan(dict(added), dict(skipped), tuple(conflicts))
    return MergePlan(dict(added), dict(skipped), (), new_files, records)


def _order(name: str) -> tuple[int, str]:
    """Registry and row files in the contract's order, then observation files by name."""
    files = list(schema.STORE_FILES.values())
    return (files.index(name), "") if name in files else (len(files), name)

