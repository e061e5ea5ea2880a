"""The manifest: the SHA-256 and row count of every store file, and the hash-chained merge log.

Each merge-log entry holds the SHA-256 of the entry before it and the SHA-256
of every store file after that merge, so the log is a hash chain whose head
(the SHA-256 of its last entry) fingerprints the whole history. The first
chained entry of a store made before the chain existed holds the SHA-256 of
the whole log before it: one logged step anchors such a store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import schema
from ..errors import StoreError
from .files import allowed_name, canonical_csv, read_store_file, sha256_bytes, write_atomic
from .transaction import LOCK_FILE, STAGING_DIR

STORE_SCHEMA = "welfare-report/store/2"
# Stores written before the merge log was a chain; one logged step anchors them.
UNCHAINED_SCHEMA = "welfare-report/store/1"
# Version control ignores what only a running or interrupted merge leaves.
GITIGNORE_TEXT = f"{LOCK_FILE}\n{STAGING_DIR}/\n"
NOT_HASHED = frozenset({LOCK_FILE, STAGING_DIR, ".gitignore", schema.MANIFEST})
# What every chained merge-log entry carries; no entry of an unchained log has either.
CHAIN_FIELDS = frozenset({"previous", "files"})
# Readers refuse an unchained store until one explicit merge with no files adopts it.
UNANCHORED = ("manifest.json: the merge log is not anchored as a hash chain, so no edit to it can be detected; "
              "run 'welfare-report merge' with no files to adopt it, and publish the chain head it prints")


def canonical_json(value: object) -> bytes:
    """JSON with sorted keys and no spaces: the bytes a digest is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_digest(entry: Mapping[str, Any]) -> str:
    """The SHA-256 of a merge-log entry, which the next entry chains to."""
    return sha256_bytes(canonical_json(entry))


@dataclass(frozen=True)
class FileEntry:
    """One store file's SHA-256 and row count in the manifest."""

    sha256: str
    rows: int


@dataclass(frozen=True)
class Manifest:
    """`manifest.json` as typed data; `merges` is the log, oldest first."""

    files: Mapping[str, FileEntry]
    merges: tuple[Mapping[str, Any], ...]
    chained: bool = True  # False for a store made before the chain existed

    @classmethod
    def parse(cls, text: str | bytes, where: str) -> Manifest:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("schema") not in (STORE_SCHEMA, UNCHAINED_SCHEMA):
                raise ValueError
            files = {str(name): FileEntry(str(e["sha256"]), int(e["rows"])) for name, e in data["files"].items()}
            merges = tuple(dict(m) for m in data["merges"])
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise StoreError(f"{where}: not a welfare-report manifest") from None
        chained = data["schema"] == STORE_SCHEMA
        # Once chained, a store can never read as unchained: relabelling it as the old schema and
        # dropping the links would otherwise let an edited row pass as an old, unanchored history.
        if not chained and any(CHAIN_FIELDS & set(entry) for entry in merges):
            raise StoreError(f"{where}: claims the unchained store schema while its merge log is chained "
                             "(a downgrade that would hide edits); refused")
        return cls(files, merges, chained)

    @property
    def chain_start(self) -> int | None:
        return next((i for i, entry in enumerate(self.merges) if "previous" in entry), None)

    @property
    def head(self) -> str | None:
        """The chain head: the SHA-256 of the last entry, once the log is a chain."""
        return entry_digest(self.merges[-1]) if self.chain_start is not None else None

    def heads(self) -> list[str]:
        """Every head the chain has had, oldest first (a published head must be one of them)."""
        start = self.chain_start
        return [] if start is None else [entry_digest(e) for e in self.merges[start:]]

    def with_merge(self, files: Mapping[str, tuple[bytes | str, int]], entry: Mapping[str, Any]) -> Manifest:
        """The manifest after a merge that rewrote `files` (store path -> bytes or, for a file staged
        already, its SHA-256, and rows), with its chained entry."""
        entries = dict(self.files) | {name: FileEntry(data if isinstance(data, str) else sha256_bytes(data), rows)
                                      for name, (data, rows) in files.items()}
        if self.chain_start is None:
            previous = sha256_bytes(canonical_json(list(self.merges)))
        else:
            previous = entry_digest(self.merges[-1])
        chained = dict(entry) | {
            "previous": previous,
            "files": {name: e.sha256 for name, e in sorted(entries.items())},
        }
        return Manifest(entries, (*self.merges, chained), True)

    def chain_problems(self) -> list[str]:
        """Where the log is not an unbroken chain ending at the files the manifest records."""
        start = self.chain_start
        if start is None:
            return ["manifest.json: the merge log is not a hash chain (erased or edited outside merge)"
                    if self.chained else UNANCHORED]
        problems = []
        expected = sha256_bytes(canonical_json(list(self.merges[:start])))
        for index in range(start, len(self.merges)):
            if self.merges[index].get("previous") != expected:
                problems.append(f"manifest.json: merge-log entry {index + 1} does not follow the one before it "
                                "(the log was edited outside merge)")
                break
            expected = entry_digest(self.merges[index])
        if self.merges[-1].get("files") != {name: e.sha256 for name, e in sorted(self.files.items())}:
            problems.append("manifest.json: the file hashes differ from the last logged merge "
                            "(the manifest was edited outside merge)")
        return problems

    def to_bytes(self) -> bytes:
        document = {
            "schema": STORE_SCHEMA if self.chained else UNCHAINED_SCHEMA,
            "files": {name: {"sha256": e.sha256, "rows": e.rows} for name, e in self.files.items()},
            "merges": list(self.merges),
        }
        return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def read_manifest(root: Path) -> Manifest:
    """The store's manifest, read and typed."""
    data = read_store_file(root, schema.MANIFEST)
    if data is None:
        raise StoreError(f"{root} is not a history (no {schema.MANIFEST}); create one with 'welfare-report init {root}'")
    return Manifest.parse(data, str(root / schema.MANIFEST))


def now_text() -> str:
    """The time a merge is logged at; SOURCE_DATE_EPOCH keeps a build that records one reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _present(root: Path) -> tuple[set[str], list[str]]:
    """Regular files in the store (by relative path) and the entries that are anything else."""
    files, refused = set(), []
    for entry in os.scandir(root):
        if entry.name in NOT_HASHED:
            continue
        if entry.name == schema.OBSERVATIONS_DIR and entry.is_dir(follow_symlinks=False):
            for inner in os.scandir(entry.path):
                name = f"{schema.OBSERVATIONS_DIR}/{inner.name}"
                (files.add(name) if inner.is_file(follow_symlinks=False) else refused.append(name))
        elif entry.is_file(follow_symlinks=False):
            files.add(entry.name)
        else:
            refused.append(entry.name)
    return files, refused


def _hashes(root: Path, names: list[str]) -> dict[str, str | None]:
    """Each file's SHA-256 (None when it cannot be read as a regular file), on every core: reading and
    hashing let go of the interpreter, and a history of 1M answers is 220 MB to hash."""
    def digest(name: str) -> str | None:
        data = read_store_file(root, name)
        return None if data is None else sha256_bytes(data)

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return dict(zip(names, pool.map(digest, names), strict=True))


def verify_files(root: Path, manifest: Manifest) -> list[str]:
    """Every file changed, added or removed outside `merge`, and every break in the chain, as messages."""
    present, refused = _present(root)
    problems = [f"{name}: not a regular file (a symlink, folder, FIFO or device); refused" for name in sorted(refused)]
    hashed = _hashes(root, sorted(name for name in present if name in manifest.files and allowed_name(name)))
    for name in sorted(set(manifest.files) | present):
        if name not in manifest.files:
            problems.append(f"{name}: not recorded in the manifest (added outside merge)")
        elif name not in present:
            if name not in refused:
                problems.append(f"{name}: missing (removed outside merge)")
        elif not allowed_name(name):
            problems.append(f"{name}: not a file a history holds")
        elif hashed[name] != manifest.files[name].sha256:  # a matching hash implies the row count too
                problems.append(f"{name}: SHA-256 differs from the manifest (changed outside merge)")
    return problems + manifest.chain_problems()


def init_store(
    root: str | Path, files: Mapping[str, tuple[bytes, int]] | None = None, entry: Mapping[str, Any] | None = None,
) -> Path:
    """Create a store; `files` (store path -> canonical bytes, rows) lets `example` write one in one pass."""
    root = Path(root)
    if os.path.lexists(root / schema.MANIFEST):
        raise StoreError(f"{root} already holds a history (it has a {schema.MANIFEST}); nothing was created")
    if root.exists() and (not stat.S_ISDIR(os.lstat(root).st_mode) or any(root.iterdir())):
        raise StoreError(f"{root} exists and is not an empty folder")
    contents = {name: (canonical_csv(schema.KINDS[kind], []), 0) for kind, name in schema.STORE_FILES.items()}
    contents.update(files or {})
    root.mkdir(parents=True, exist_ok=True)
    (root / schema.OBSERVATIONS_DIR).mkdir(exist_ok=True)
    for name, (data, _rows) in sorted(contents.items()):
        write_atomic(root / name, data)
    (root / ".gitignore").write_text(GITIGNORE_TEXT, encoding="utf-8")
    first = entry or {"time": now_text(), "command": "init", "inputs": [], "added": {}, "skipped": {}}
    manifest = Manifest({}, ()).with_merge(dict(sorted(contents.items())), first)
    write_atomic(root / schema.MANIFEST, manifest.to_bytes())
    return root
