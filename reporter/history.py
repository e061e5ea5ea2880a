"""The history store: canonical CSV files, a manifest of hashes, an atomic merge.

Layout (see DESIGN.md, history/):

    generations.csv metrics.csv events.csv summaries.csv acknowledgements.csv
    observations/<generation>.csv
    manifest.json      SHA-256 and row count of every file, and the merge log

A merge never edits a file in place. It writes the new version of every file it
touches into `.staging/`, then writes `.staging/COMMIT` naming those files (one
atomic rename: the commit point), then moves each staged file over its
target. Every command first completes a committed merge or discards an
uncommitted one under the lock, so a reader sees the history as it was before
a merge or as it is after, never in between, whatever moment a process died.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import schema
from .errors import ConflictError, StoreError, ValidationError
from .load import InputFile, Registries, check_references
from .schema import Kind

LOCK_FILE = ".lock"
STAGING_DIR = ".staging"
JOURNAL = "COMMIT"
STORE_SCHEMA = "welfare-report/store/1"
# Version control ignores what only a running or interrupted merge leaves.
GITIGNORE_TEXT = f"{LOCK_FILE}\n{STAGING_DIR}/\n"
NOT_HASHED = frozenset({LOCK_FILE, STAGING_DIR, ".gitignore", schema.MANIFEST})
MAX_CONFLICTS_SHOWN = 100


def canonical_csv(kind: Kind, rows: list[dict[str, str]]) -> bytes:
    """The store's form of a file: contract column order, LF, minimal quoting, sorted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = kind.store_names
    writer.writerow(names)
    writer.writerows([row.get(n, "") for n in names] for row in sorted(rows, key=schema.sort_key(kind)))
    return buffer.getvalue().encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that no reader ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _now() -> str:
    # SOURCE_DATE_EPOCH lets a build that records a merge stay reproducible.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class MergeResult:
    added: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    files_written: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Origin:
    path: str
    line: int


class Store:
    """A history folder. Open it with `Store(path)`; every read and write goes through a lock."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # -- locking and recovery ------------------------------------------------

    def _require(self) -> None:
        if not (self.root / schema.MANIFEST).is_file():
            raise StoreError(f"{self.root} is not a history (no {schema.MANIFEST}); create one with 'welfare-report init {self.root}'")

    @contextlib.contextmanager
    def locked(self, exclusive: bool = True) -> Iterator[None]:
        """Hold the store's lock; an interrupted merge is settled first.

        fcntl locks belong to the open file, so a killed process can never
        leave the store locked.
        """
        self._require()
        handle = open(self.root / LOCK_FILE, "a+b")  # noqa: SIM115 (held for the whole block)
        try:
            while True:
                fcntl.flock(handle, fcntl.LOCK_EX)
                self._recover()
                if exclusive:
                    break
                fcntl.flock(handle, fcntl.LOCK_SH)
                # A merge may have slipped in between the two calls and died.
                if not (self.root / STAGING_DIR).exists():
                    break
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def _recover(self) -> None:
        staging = self.root / STAGING_DIR
        if not staging.exists():
            return
        journal = staging / JOURNAL
        if journal.is_file():
            for name in json.loads(journal.read_text("utf-8"))["files"]:
                staged = staging / name
                if staged.exists():
                    target = self.root / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, target)
            _fsync_dir(self.root)
            _fsync_dir(self.root / schema.OBSERVATIONS_DIR)
        shutil.rmtree(staging)
        _fsync_dir(self.root)

    def _commit(self, files: dict[str, bytes]) -> None:
        staging = self.root / STAGING_DIR
        if staging.exists():
            shutil.rmtree(staging)
        for name, data in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        _fsync_dir(staging)
        if (staging / schema.OBSERVATIONS_DIR).exists():
            _fsync_dir(staging / schema.OBSERVATIONS_DIR)
        # The rename of the journal is the commit point.
        write_atomic(staging / JOURNAL, json.dumps({"files": sorted(files)}).encode("utf-8"))
        self._recover()

    # -- reading -------------------------------------------------------------

    def manifest(self) -> dict[str, object]:
        data = json.loads((self.root / schema.MANIFEST).read_text("utf-8"))
        if not isinstance(data, dict) or data.get("schema") != STORE_SCHEMA:
            raise StoreError(f"{self.root / schema.MANIFEST}: not a welfare-report manifest")
        return data

    def path_of(self, name: str) -> Path:
        return self.root / name

    def read_rows(self, name: str) -> list[dict[str, str]]:
        """Rows of one store file as canonical strings (empty when it does not exist)."""
        path = self.root / name
        if not path.exists():
            return []
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

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

    # -- writing -------------------------------------------------------------

    def merge(self, files: list[InputFile], dry_run: bool = False) -> MergeResult:
        """Add the rows of valid input files; all or nothing."""
        with self.locked():
            problems = [p for f in files for p in f.problems]
            problems += check_references(files, self.registries())
            if problems:
                raise ValidationError(problems, schema.MAX_PROBLEMS_SHOWN)
            result, planned = self._plan(files)
            if dry_run or not planned:
                return result
            manifest = self.manifest()
            entries = manifest["files"]
            assert isinstance(entries, dict)
            new_files = {}
            for name, (data, rows) in planned.items():
                entries[name] = {"sha256": sha256_bytes(data), "rows": rows}
                new_files[name] = data
            log = manifest["merges"]
            assert isinstance(log, list)
            log.append(
                {
                    "time": _now(),
                    "inputs": [{"path": Path(f.path).name, "sha256": f.sha256} for f in files],
                    "added": dict(sorted(result.added.items())),
                    "skipped": dict(sorted(result.skipped.items())),
                }
            )
            new_files[schema.MANIFEST] = _manifest_bytes(manifest)
            self._commit(new_files)
            result.files_written = sorted(new_files)
            return result

    def _plan(self, files: list[InputFile]) -> tuple[MergeResult, dict[str, tuple[bytes, int]]]:
        """Classify every incoming row as added, skipped or conflicting."""
        result = MergeResult()
        conflicts: list[str] = []
        incoming: dict[str, list[tuple[_Origin, dict[str, str]]]] = defaultdict(list)
        for f in files:
            assert f.kind is not None
            for line, row in f.rows:
                incoming[f.kind.name].append((_Origin(f.path, line), row))

        new_files: dict[str, tuple[bytes, int]] = {}
        for kind_name, file_name in schema.STORE_FILES.items():
            if incoming.get(kind_name):
                kind = schema.KINDS[kind_name]
                existing = self.read_rows(file_name)
                rows = self._apply(kind, existing, incoming[kind_name], result, conflicts)
                if rows is not None:
                    new_files[file_name] = (canonical_csv(kind, rows), len(rows))

        by_generation: dict[str, list[tuple[_Origin, dict[str, str]]]] = defaultdict(list)
        for origin, row in incoming.get("observations", []):
            by_generation[row["generation"]].append((origin, row))
        for generation, rows_in in sorted(by_generation.items()):
            name = f"{schema.OBSERVATIONS_DIR}/{generation}.csv"
            existing = self.read_rows(name)
            rows = self._apply(schema.OBSERVATIONS, existing, rows_in, result, conflicts)
            if rows is not None:
                new_files[name] = (canonical_csv(schema.OBSERVATIONS, rows), len(rows))

        if conflicts:
            shown = conflicts[:MAX_CONFLICTS_SHOWN]
            if len(conflicts) > MAX_CONFLICTS_SHOWN:
                shown.append(f"... and {len(conflicts) - MAX_CONFLICTS_SHOWN} more conflicts")
            raise ConflictError(
                f"{len(conflicts)} rows share a key with different content; nothing was merged:\n" + "\n".join(shown)
            )
        return result, new_files

    @staticmethod
    def _apply(
        kind: Kind,
        existing: list[dict[str, str]],
        incoming: list[tuple[_Origin, dict[str, str]]],
        result: MergeResult,
        conflicts: list[str],
    ) -> list[dict[str, str]] | None:
        names = kind.store_names
        index = {schema.row_key(kind, row): row for row in existing}
        added = []
        for origin, row in incoming:
            key = schema.row_key(kind, row)
            other = index.get(key)
            if other is None:
                index[key] = row
                added.append(row)
            elif all(other.get(n, "") == row.get(n, "") for n in names if n != "key"):
                result.skipped[kind.name] += 1
            else:
                differing = [n for n in names if n != "key" and other.get(n, "") != row.get(n, "")]
                conflicts.append(
                    f"{origin.path}:{origin.line}: {kind.name} key {'/'.join(key)}: differs in {', '.join(differing)}"
                )
        result.added[kind.name] += len(added)
        return existing + added if added else None

    # -- checking ------------------------------------------------------------

    def verify(self) -> list[str]:
        """Every file changed, added or removed outside `merge`, as messages."""
        with self.locked(exclusive=False):
            entries = self.manifest().get("files", {})
            assert isinstance(entries, dict)
            problems = []
            present = {
                p.relative_to(self.root).as_posix()
                for p in self.root.rglob("*")
                if p.is_file() and not (set(p.relative_to(self.root).parts) & NOT_HASHED)
            }
            for name in sorted(set(entries) | present):
                path = self.root / name
                if name not in entries:
                    problems.append(f"{name}: not recorded in the manifest (added outside merge)")
                elif name not in present:
                    problems.append(f"{name}: missing (removed outside merge)")
                else:
                    entry = entries[name]
                    data = path.read_bytes()
                    # A matching hash implies the recorded row count too.
                    if sha256_bytes(data) != entry["sha256"]:
                        problems.append(f"{name}: SHA-256 differs from the manifest (changed outside merge)")
            return problems


def _manifest_bytes(manifest: Mapping[str, object]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def init_store(
    root: str | Path, files: dict[str, tuple[bytes, int]] | None = None, log: Sequence[object] = ()
) -> Store:
    """Create a store; `files` (store path -> canonical bytes, rows) lets `example` write one in one pass."""
    root = Path(root)
    if (root / schema.MANIFEST).exists():
        raise StoreError(f"{root} is already a history")
    if root.exists() and any(root.iterdir()):
        raise StoreError(f"{root} exists and is not empty")
    contents = {name: (canonical_csv(schema.KINDS[kind], []), 0) for kind, name in schema.STORE_FILES.items()}
    contents.update(files or {})
    root.mkdir(parents=True, exist_ok=True)
    (root / schema.OBSERVATIONS_DIR).mkdir(exist_ok=True)
    entries = {}
    for name, (data, rows) in sorted(contents.items()):
        write_atomic(root / name, data)
        entries[name] = {"sha256": sha256_bytes(data), "rows": rows}
    (root / ".gitignore").write_text(GITIGNORE_TEXT, encoding="utf-8")
    manifest = {"schema": STORE_SCHEMA, "files": entries, "merges": list(log)}
    write_atomic(root / schema.MANIFEST, _manifest_bytes(manifest))
    return Store(root)
