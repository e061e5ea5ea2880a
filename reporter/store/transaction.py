"""The store's lock and its all-or-nothing commit.

A merge never edits a file in place. It writes the new version of every file
it touches into `.staging/`, then writes `.staging/COMMIT` naming those files
with their SHA-256 and a checksum of its own (one atomic rename: the commit
point), then moves each staged file over its target.

Only a write (`merge`, with or without files) completes a committed merge or
discards an uncommitted one. Readers change no byte: they refuse a store
with a pending `.staging`, so a crafted journal in an untrusted checkout is
never acted on by `verify`, `check` or `render`. Even a write acts on a
journal only when every name in it is a file the store may hold, its
checksum holds, every staged file has the digest the journal names, and no
symlink lies on the way; otherwise it refuses and leaves everything alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .. import schema
from ..errors import StoreError
from .files import (
    allowed_name,
    fsync_dir,
    read_regular,
    read_store_file,
    require_folder,
    require_real_folders,
    sha256_bytes,
    write_atomic,
    write_durably,
)

LOCK_FILE = ".lock"  # kept out of version control and verify; older versions locked this file
STAGING_DIR = ".staging"
JOURNAL = "COMMIT"
JOURNAL_SCHEMA = "welfare-report/journal/2"

Recovery = Literal["none", "completed", "discarded"]


@contextlib.contextmanager
def locked(root: Path, exclusive: bool) -> Iterator[None]:
    """Hold the store's lock: exclusive for a write, shared for a read.

    The lock is an flock on the store folder itself, opened read-only: it
    needs no file (so a read-only store can be read and verified), cannot be
    redirected by a symlink, and dies with its process.
    """
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if not exclusive:
            require_settled(root)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def pending(root: Path) -> bool:
    """Whether an interrupted merge left its staging folder."""
    return os.path.lexists(root / STAGING_DIR)


def require_settled(root: Path) -> None:
    """Refuse to read a store whose interrupted merge only a write may complete or discard."""
    if pending(root):
        raise StoreError(
            f"a merge into {root} was interrupted and is pending in {STAGING_DIR}; run "
            f"'welfare-report --history {root} merge' with no files to complete or discard it"
        )


def _checksum(digests: Mapping[str, str]) -> str:
    return sha256_bytes(json.dumps(digests, sort_keys=True, separators=(",", ":")).encode())


def journal_bytes(files: Mapping[str, bytes], known: Mapping[str, str] | None = None,
                  staged: Mapping[str, str] | None = None) -> bytes:
    """The commit record: every staged file with its digest, and a checksum over that list.

    `known`: digests the caller computed already (the manifest's), so a large file is hashed once;
    `staged`: files staged earlier, by digest.
    """
    known = known or {}
    digests = dict(sorted(({name: known.get(name) or sha256_bytes(data) for name, data in files.items()}
                           | dict(staged or {})).items()))
    return json.dumps({"schema": JOURNAL_SCHEMA, "files": digests, "checksum": _checksum(digests)}).encode()


def _parse_journal(data: bytes) -> dict[str, str]:
    try:
        journal = json.loads(data)
        digests = journal["files"]
        valid = (
            journal.get("schema") == JOURNAL_SCHEMA
            and isinstance(digests, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in digests.items())
            and journal.get("checksum") == _checksum(digests)
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise StoreError(f"{STAGING_DIR}/{JOURNAL}: refused: not a journal this tool wrote (its checksum does not hold)")
    refused = sorted(name for name in digests if not allowed_name(name))
    if refused:
        raise StoreError(f"{STAGING_DIR}/{JOURNAL}: refused: names files a history does not hold: {', '.join(refused[:5])}")
    return dict(digests)


def _staged_bytes(staging: Path, name: str) -> bytes | None:
    return read_regular(staging / name, f"{STAGING_DIR}/{name}")


def recover(root: Path) -> Recovery:
    """Complete a committed merge, or discard one that never reached its commit point.

    The caller holds the exclusive lock. Everything is checked before
    anything moves, so a refused journal leaves the store as it was.
    """
    staging = root / STAGING_DIR
    if not pending(root):
        return "none"
    require_folder(staging, STAGING_DIR)
    journal = _staged_bytes(staging, JOURNAL)
    if journal is None:
        shutil.rmtree(staging)  # removes links inside it, never what they point at
        fsync_dir(root)
        return "discarded"
    digests = _parse_journal(journal)
    require_real_folders(root)
    moves = []
    for name, digest in sorted(digests.items()):
        if "/" in name:
            require_folder(staging / schema.OBSERVATIONS_DIR, f"{STAGING_DIR}/{schema.OBSERVATIONS_DIR}")
        staged = _staged_bytes(staging, name)
        if staged is None:
            # Moved before an earlier recovery was interrupted: it must be in place already.
            current = read_store_file(root, name)
            if current is None or sha256_bytes(current) != digest:
                raise StoreError(f"{STAGING_DIR}/{JOURNAL}: refused: {name} is neither staged nor in place")
            continue
        if sha256_bytes(staged) != digest:
            raise StoreError(f"{STAGING_DIR}/{name}: refused: its SHA-256 differs from the journal's")
        moves.append(name)
    (root / schema.OBSERVATIONS_DIR).mkdir(exist_ok=True)
    for name in moves:
        os.replace(staging / name, root / name)  # replaces a symlink at the target, never follows it
    fsync_dir(root)
    fsync_dir(root / schema.OBSERVATIONS_DIR)
    shutil.rmtree(staging)
    fsync_dir(root)
    return "completed"


@dataclass(frozen=True)
class Staged:
    """A store file written into the staging folder as soon as it was planned: its digest and rows,
    not its bytes, so a merge into many generations holds one generation's file at a time."""

    sha256: str
    rows: int


class Stager:
    """Writes planned files into `.staging/` before the commit point; `discard` removes them unless a
    journal was written (then they are the commit, and the next write completes it)."""

    def __init__(self, root: Path) -> None:
        self.root, self.names = root, set[str]()

    def __call__(self, name: str, data: bytes, rows: int) -> Staged:
        staging = self.root / STAGING_DIR
        if not self.names:
            if pending(self.root):
                raise StoreError(f"{STAGING_DIR} exists; an interrupted merge must be settled first")
            staging.mkdir()
        if not allowed_name(name):
            raise StoreError(f"{name}: not a file a history holds")
        target = staging / name
        target.parent.mkdir(exist_ok=True)
        self.names.add(name)
        write_durably(target, data)
        return Staged(sha256_bytes(data), rows)

    def discard(self) -> None:
        staging = self.root / STAGING_DIR
        if self.names and not os.path.lexists(staging / JOURNAL):
            shutil.rmtree(staging, ignore_errors=True)  # before the commit point: as if nothing happened
            self.names.clear()


def commit(root: Path, files: Mapping[str, bytes], digests: Mapping[str, str] | None = None,
           staged: Mapping[str, str] | None = None) -> None:
    """Replace the named store files all at once; the caller holds the exclusive lock.

    `staged`: files a `Stager` already wrote into the staging folder (name -> SHA-256).
    """
    staging = root / STAGING_DIR
    if not staged:
        if pending(root):
            raise StoreError(f"{STAGING_DIR} exists; an interrupted merge must be settled first")
        staging.mkdir()
    try:
        for name, data in files.items():
            if not allowed_name(name):
                raise StoreError(f"{name}: not a file a history holds")
            target = staging / name
            target.parent.mkdir(exist_ok=True)
            write_durably(target, data)
        fsync_dir(staging)
        if (staging / schema.OBSERVATIONS_DIR).exists():
            fsync_dir(staging / schema.OBSERVATIONS_DIR)
        # The rename of the journal is the commit point.
        write_atomic(staging / JOURNAL, journal_bytes(files, digests, staged))
    except BaseException:
        if not (staging / JOURNAL).exists():
            shutil.rmtree(staging, ignore_errors=True)  # before the commit point: as if nothing happened
        raise
    recover(root)
