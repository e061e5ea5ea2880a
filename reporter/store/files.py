"""Bytes on disk: the store's canonical CSV, atomic writes, SHA-256 and fsync.

Everything that writes a file the tool promises to be whole (store files,
reports, quarterly folders) goes through `write_atomic`, so a reader never
sees half a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

from .. import schema
from ..schema import Kind


def canonical_csv(kind: Kind, rows: list[dict[str, str]]) -> bytes:
    """The store's form of a file: contract column order, LF, minimal quoting, sorted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = kind.store_names
    writer.writerow(names)
    writer.writerows([row.get(n, "") for n in names] for row in sorted(rows, key=schema.sort_key(kind)))
    return buffer.getvalue().encode("utf-8")


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of one store file as canonical strings (empty when it does not exist)."""
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable: the directory entry is data too."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Write `path` and fsync it; for files that are not visible until a later rename."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that no reader ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_durably(temporary, data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_dir(path.parent)
