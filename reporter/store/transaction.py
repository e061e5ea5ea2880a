"""The store's lock and its all-or-nothing commit.

A merge never edits a file in place. It writes the new version of every file
it touches into `.staging/`, then writes `.staging/COMMIT` naming those files
(one atomic rename: the commit point), then moves each staged file over its
target. Every command first completes a committed merge or discards an
uncommitted one under the lock, so a reader sees the history as it was
before a merge or as it is after, never in between, whatever moment a
process died.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

from .. import schema
from .files import fsync_dir, write_atomic, write_durably

LOCK_FILE = ".lock"
STAGING_DIR = ".staging"
JOURNAL = "COMMIT"


@contextlib.contextmanager
def locked(root: Path, exclusive: bool = True) -> Iterator[None]:
    """Hold the store's lock; an interrupted merge is settled first.

    fcntl locks belong to the open file, so a killed process can never leave
    the store locked.
    """
    handle = open(root / LOCK_FILE, "a+b")  # noqa: SIM115 (held for the whole block)
    try:
        while True:
            fcntl.flock(handle, fcntl.LOCK_EX)
            recover(root)
            if exclusive:
                break
            fcntl.flock(handle, fcntl.LOCK_SH)
            # A merge may have slipped in between the two calls and died.
            if not (root / STAGING_DIR).exists():
                break
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def recover(root: Path) -> None:
    """Complete a committed merge, or discard one that never reached its commit point."""
    staging = root / STAGING_DIR
    if not staging.exists():
        return
    journal = staging / JOURNAL
    if journal.is_file():
        for name in json.loads(journal.read_text("utf-8"))["files"]:
            staged = staging / name
            if staged.exists():
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, target)
        fsync_dir(root)
        fsync_dir(root / schema.OBSERVATIONS_DIR)
    shutil.rmtree(staging)
    fsync_dir(root)


def commit(root: Path, files: Mapping[str, bytes]) -> None:
    """Replace the named store files all at once; the caller holds the exclusive lock."""
    staging = root / STAGING_DIR
    if staging.exists():
        shutil.rmtree(staging)
    for name, data in files.items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_durably(target, data)
    fsync_dir(staging)
    if (staging / schema.OBSERVATIONS_DIR).exists():
        fsync_dir(staging / schema.OBSERVATIONS_DIR)
    # The rename of the journal is the commit point.
    write_atomic(staging / JOURNAL, json.dumps({"files": sorted(files)}).encode("utf-8"))
    recover(root)
