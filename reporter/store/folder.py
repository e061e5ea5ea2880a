"""A history folder: the one object commands open to read, merge or verify a store.

Layout (see DESIGN.md, history/):

    generations.csv metrics.csv events.csv summaries.csv acknowledgements.csv
    observations/<generation>.csv
    manifest.json      SHA-256 and row count of every file, and the merge log
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import schema
from ..errors import ConflictError, StoreError, ValidationError
from ..inputs import InputFile, Registries, check_references
from . import transaction
from .files import read_csv_rows
from .manifest import Manifest, now_text, verify_files
from .merge import files_touched, plan_merge

MAX_CONFLICTS_SHOWN = 100


@dataclass(frozen=True)
class MergeResult:
    added: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, int] = field(default_factory=dict)
    files_written: tuple[str, ...] = ()


class Store:
    """A history folder. Open it with `Store(path)`; every read and write goes through a lock."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _require(self) -> None:
        if not (self.root / schema.MANIFEST).is_file():
            raise StoreError(f"{self.root} is not a history (no {schema.MANIFEST}); create one with 'welfare-report init {self.root}'")

    @contextlib.contextmanager
    def locked(self, exclusive: bool = True) -> Iterator[None]:
        self._require()
        with transaction.locked(self.root, exclusive):
            yield

    # -- reading (the caller holds the lock) ---------------------------------

    def manifest(self) -> Manifest:
        path = self.root / schema.MANIFEST
        return Manifest.parse(path.read_text("utf-8"), path)

    def path_of(self, name: str) -> Path:
        return self.root / name

    def read_rows(self, name: str) -> list[dict[str, str]]:
        return read_csv_rows(self.root / name)

    def table(self, kind_name: str) -> list[dict[str, str]]:
        return self.read_rows(schema.STORE_FILES[kind_name])

    def observation_files(self) -> list[str]:
        folder = self.root / schema.OBSERVATIONS_DIR
        return sorted(f"{schema.OBSERVATIONS_DIR}/{p.name}" for p in folder.glob("*.csv"))

    def registries(self) -> Registries:
        return Registries(
            {r["generation"]: r for r in self.table("generations")},
            {r["metric"]: r for r in self.table("metrics")},
        )

    # -- writing and checking ------------------------------------------------

    def merge(self, files: list[InputFile], dry_run: bool = False) -> MergeResult:
        """Add the rows of valid input files; all or nothing."""
        with self.locked():
            problems = [p for f in files for p in f.problems]
            problems += check_references(files, self.registries())
            if problems:
                raise ValidationError(problems, schema.MAX_PROBLEMS_SHOWN)
            plan = plan_merge({name: self.read_rows(name) for name in files_touched(files)}, files)
            if plan.conflicts:
                raise ConflictError(_conflict_message(plan.conflicts))
            result = MergeResult(plan.added, plan.skipped)
            if dry_run or not plan.files:
                return result
            entry = {
                "time": now_text(),
                "inputs": [{"path": Path(f.path).name, "sha256": f.sha256} for f in files],
                "added": dict(sorted(plan.added.items())),
                "skipped": dict(sorted(plan.skipped.items())),
            }
            manifest = self.manifest().with_merge(plan.files, entry)
            new_files = {name: data for name, (data, _rows) in plan.files.items()}
            new_files[schema.MANIFEST] = manifest.to_bytes()
            transaction.commit(self.root, new_files)
            return MergeResult(plan.added, plan.skipped, tuple(sorted(new_files)))

    def verify(self) -> list[str]:
        """Every file changed, added or removed outside `merge`, as messages."""
        with self.locked(exclusive=False):
            return verify_files(self.root, self.manifest())


def registries_of(root: Path) -> Registries:
    """The generations and metrics of the store at `root`; none when there is no store yet."""
    if not (root / schema.MANIFEST).is_file():
        return Registries()
    store = Store(root)
    with store.locked(exclusive=False):
        return store.registries()


def _conflict_message(conflicts: tuple[str, ...]) -> str:
    shown = list(conflicts[:MAX_CONFLICTS_SHOWN])
    if len(conflicts) > MAX_CONFLICTS_SHOWN:
        shown.append(f"... and {len(conflicts) - MAX_CONFLICTS_SHOWN} more conflicts")
    return f"{len(conflicts)} rows share a key with different content; nothing was merged:\n" + "\n".join(shown)
