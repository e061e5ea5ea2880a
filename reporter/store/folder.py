"""A history folder: the one object commands open to read, merge or verify a store.

Layout (see DESIGN.md, history/):

    generations.csv metrics.csv events.csv summaries.csv acknowledgements.csv
    observations/<generation>.csv
    manifest.json      SHA-256 and row count of every file, and the hash-chained merge log
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import schema
from ..errors import ConflictError, StoreError, ValidationError
from ..inputs import InputFile, Registries, check_references, file_problems
from . import tables, transaction
from .files import csv_rows, read_store_file, reads_back, require_real_folders
from .manifest import UNANCHORED, Manifest, now_text, read_manifest, verify_files
from .merge import answer_file, files_touched, plan_merge

MAX_CONFLICTS_SHOWN = 100
Settled = Literal["none", "completed", "discarded", "anchored"]


def _counted(name: str, data: bytes, rows: int) -> None:
    """A dry run keeps nothing of a planned file: only its counts are reported."""


@dataclass(frozen=True)
class MergeResult:
    """Rows added and skipped per kind, and how an interrupted merge was settled."""

    added: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, int] = field(default_factory=dict)
    files_written: tuple[str, ...] = ()
    settled: Settled = "none"
    head: str | None = None  # the chain head an adoption made, to publish
    # Incoming rows left out because a correction retracted or replaced them, per kind.
    withheld: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Verification:
    """What `verify` found: the problems, the chain head, and whether the log is a chain yet."""

    problems: tuple[str, ...]
    head: str | None
    heads: tuple[str, ...]


class Store:
    """A history folder. Open it with `Store(path)`; every read and write goes through a lock."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _require(self) -> None:
        if not (self.root / schema.MANIFEST).is_file():
            raise StoreError(f"{self.root} is not a history (no {schema.MANIFEST}); create one with 'welfare-report init {self.root}'")

    @contextlib.contextmanager
    def locked(self, exclusive: bool = False) -> Iterator[None]:
        """Shared by default: readers never change a byte; `merge` takes the lock exclusively."""
        self._require()
        with transaction.locked(self.root, exclusive):
            yield

    # -- reading (the caller holds the lock) ---------------------------------

    def manifest(self) -> Manifest:
        return read_manifest(self.root)

    def read_bytes(self, name: str) -> bytes | None:
        return read_store_file(self.root, name)

    def read_header(self, name: str) -> list[str] | None:
        """A store file's column names, read from its first line alone."""
        line = read_store_file(self.root, name, first_line=True)
        return None if line is None else line.rstrip(b"\r\n").decode("utf-8", "replace").split(",")

    def read_rows(self, name: str) -> list[dict[str, str]]:
        data = read_store_file(self.root, name)
        return csv_rows(data) if data is not None else []

    def read_table(self, name: str) -> Any:
        """A store file of answers as a table of text (`tables.read`)."""
        return tables.read(schema.kind_of_store_file(name), read_store_file(self.root, name))

    def table(self, kind_name: str) -> list[dict[str, str]]:
        return self.read_rows(schema.STORE_FILES[kind_name])

    def observation_files(self) -> list[str]:
        require_real_folders(self.root)
        folder = self.root / schema.OBSERVATIONS_DIR
        if not folder.exists():
            return []
        return sorted(f"{schema.OBSERVATIONS_DIR}/{p.name}" for p in folder.iterdir() if p.name.endswith(".csv"))

    def registries(self) -> Registries:
        return Registries(
            {r["generation"]: r for r in self.table("generations")},
            {r["metric"]: r for r in self.table("metrics")},
        )

    def verification(self) -> Verification:
        manifest = self.manifest()
        return Verification(tuple(verify_files(self.root, manifest)), manifest.head, tuple(manifest.heads()))

    # -- writing and checking ------------------------------------------------

    def merge(self, files: list[InputFile], dry_run: bool = False) -> MergeResult:
        """Add the rows of valid input files, all or nothing; with no files, settle the store only."""
        with self.locked(exclusive=True):
            if dry_run:
                transaction.require_settled(self.root)
            settled: Settled = "none" if dry_run else transaction.recover(self.root)
            # A merge never blesses an edit made outside it; only the explicit adoption (a merge
            # with no files) reads an unanchored store, and an ordinary merge never anchors one.
            manifest = self.require_verified("nothing was merged", adopting=not files and not dry_run)
            if not files:
                if manifest.chain_start is None and not dry_run:
                    adopted = manifest.with_merge({}, {"time": now_text(), "command": "anchor", "inputs": []})
                    self._commit(adopted, {})
                    return MergeResult(settled="anchored", head=adopted.head)
                # A completed merge may have been the adoption itself: its head is the one to publish.
                return MergeResult(settled=settled, head=manifest.head if settled == "completed" else None)
            problems = file_problems(files)
            problems += check_references(files, self.registries())
            if problems:
                raise ValidationError(problems, schema.MAX_PROBLEMS_SHOWN)
            # Each planned file of answers goes to disk as soon as it is made (a dry run keeps none):
            # at 10M answers the files of eight generations are 1.2 GB that need not be held together.
            stager = transaction.Stager(self.root)
            try:
                return self._merge_planned(manifest, files, settled, stager if not dry_run else _counted, dry_run)
            finally:
                stager.discard()

    def _merge_planned(self, manifest: Manifest, files: list[InputFile], settled: Settled, keep: Any,
                       dry_run: bool) -> MergeResult:
        """Plan the merge and commit it; the caller holds the exclusive lock and discards what was staged."""
        plan = plan_merge(_StoreFiles(self, files_touched(files)), files, keep)
        if plan.problems:
            raise ValidationError(list(plan.problems), schema.MAX_PROBLEMS_SHOWN)
        if plan.conflicts:
            raise ConflictError(_conflict_message(plan.conflicts))
        if dry_run or not plan.files:
            return MergeResult(plan.added, plan.skipped, settled=settled, withheld=plan.withheld)
        entry = {
            "time": now_text(),
            "inputs": [{"path": Path(f.path).name, "sha256": f.sha256} for f in files],
            "added": dict(sorted(plan.added.items())),
            "skipped": dict(sorted(plan.skipped.items())),
        }
        for name, records in plan.records.items():  # files of answers were read back as planned
            problem = reads_back(plan.files[name][0], records)
            if problem is not None:
                raise StoreError(f"{name}: would not read back as written ({problem}); nothing was merged")
        recorded = {name: (data.sha256 if isinstance(data, transaction.Staged) else data, rows)
                    for name, (data, rows) in plan.files.items()}
        written = self._commit(manifest.with_merge(recorded, entry), plan.files)
        return MergeResult(plan.added, plan.skipped, written, settled, withheld=plan.withheld)

    def require_verified(self, consequence: str, adopting: bool = False) -> Manifest:
        """The manifest, once the whole store verifies; otherwise refused, naming the first problem.

        `adopting`: the one step that anchors an unchained store may read it unanchored.
        """
        manifest = self.manifest()
        problems = [p for p in verify_files(self.root, manifest) if not (adopting and p == UNANCHORED)]
        if problems:
            more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
            raise StoreError(f"{self.root} fails verification ({problems[0]}{more}), so {consequence}; "
                             f"run 'welfare-report --history {self.root} verify' to see every problem")
        return manifest

    def _commit(self, manifest: Manifest, files: Mapping[str, tuple[Any, int]]) -> tuple[str, ...]:
        """Commit the files with the new manifest, all at once (files of answers are staged already)."""
        staged = {name: data.sha256 for name, (data, _rows) in files.items() if isinstance(data, transaction.Staged)}
        new_files = {name: data for name, (data, _rows) in files.items() if name not in staged}
        new_files[schema.MANIFEST] = manifest.to_bytes()
        transaction.commit(self.root, new_files, {name: manifest.files[name].sha256 for name in files if name not in staged},
                           staged)
        return tuple(sorted({*new_files, *staged}))

class _StoreFiles(Mapping[str, Any]):
    """The store files a merge reads, each read when the plan asks for it (files of answers as tables),
    so a merge into many generations holds one generation's answers at a time."""

    def __init__(self, store: Store, names: list[str]) -> None:
        self.store, self.names = store, names

    def __getitem__(self, name: str) -> Any:
        if name not in self.names:
            raise KeyError(name)
        return self.store.read_table(name) if answer_file(name) else self.store.read_rows(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def registries_of(root: Path) -> Registries:
    """The generations and metrics of the store at `root`; none when there is no store yet."""
    if not (root / schema.MANIFEST).is_file():
        return Registries()
    store = Store(root)
    with store.locked():
        return store.registries()


def _conflict_message(conflicts: tuple[str, ...]) -> str:
    shown = list(conflicts[:MAX_CONFLICTS_SHOWN])
    if len(conflicts) > MAX_CONFLICTS_SHOWN:
        shown.append(f"... and {len(conflicts) - MAX_CONFLICTS_SHOWN} more conflicts")
    return f"{len(conflicts)} rows share a key with different content; nothing was merged:\n" + "\n".join(shown)
