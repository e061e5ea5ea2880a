"""Bytes on disk: the store's canonical CSV, safe reads, atomic writes, SHA-256 and fsync.

Everything that writes a file the tool promises to be whole (store files,
reports, quarterly folders) goes through `write_atomic`, so a reader never
sees half a file. Everything that reads a store file goes through
`read_store_file`, which accepts only a regular file at a known path reached
without a symlink, so a history checked out from an untrusted branch cannot
point a reader (or a writer) outside the store.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
from pathlib import Path
from typing import Any

from .. import schema
from ..errors import StoreError
from ..schema import Kind

Records = list[list[str]]  # a header and one list of cells per row, as a CSV reader returns them


def canonical_records(kind: Kind, rows: list[dict[str, str]]) -> Records:
    """A store file's records: the contract's columns in order, then the rows in canonical order."""
    names = list(kind.store_names)
    return [names, *([row.get(n, "") for n in names] for row in sorted(rows, key=schema.sort_key(kind)))]


def csv_bytes(records: Records) -> bytes:
    """Records as the store writes them: LF, minimal quoting.

    Text never holds a CR (inputs store CR and CRLF as LF), so no record can
    be split by a reader that treats a lone CR as a line end.
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(records)
    return buffer.getvalue().encode("utf-8")


def canonical_csv(kind: Kind, rows: list[dict[str, str]]) -> bytes:
    """The store's form of a file: contract column order, LF, minimal quoting, sorted."""
    return csv_bytes(canonical_records(kind, rows))


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """Rows of a store file's bytes, as canonical strings."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def allowed_name(name: str) -> bool:
    """Whether `name` is a path the store may hold: a registry file, the manifest, or observations/<id>.csv."""
    if name in schema.STORE_FILES.values() or name == schema.MANIFEST:
        return True
    folder, _, file_name = name.partition("/")
    generation = file_name.removesuffix(".csv")
    return (
        folder == schema.OBSERVATIONS_DIR
        and file_name.endswith(".csv")
        and len(generation) <= schema.ID_MAX_LENGTH
        and schema.ID_PATTERN.match(generation) is not None
    )


def require_folder(path: Path, shown: str) -> None:
    """`path` must be a real folder, not a symlink to one elsewhere or a file."""
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        raise StoreError(f"{shown}: refused: not a folder of the store (a symlink or a file)")


def require_real_folders(root: Path) -> None:
    """The observations folder, where there is one, must be a folder of the store."""
    if os.path.lexists(root / schema.OBSERVATIONS_DIR):
        require_folder(root / schema.OBSERVATIONS_DIR, schema.OBSERVATIONS_DIR)


def read_store_file(root: Path, name: str, first_line: bool = False) -> bytes | None:
    """The bytes of store file `name` (or its first line), None when it does not exist.

    Refused with a StoreError: a name the store may not hold, a symlink, a
    FIFO, a folder or a device. No byte of a refused file is read.
    """
    if not allowed_name(name):
        raise StoreError(f"{name}: refused: not a file a history holds")
    require_real_folders(root)
    return read_regular(root / name, name, first_line)


def read_regular(path: Path, shown: str, first_line: bool = False) -> bytes | None:
    """The bytes of `path` if it is a regular file reached without a symlink at its end; None when absent.

    `first_line`: only up to its first line break (a header, without reading the answers under it).
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise StoreError(f"{shown}: refused: not a regular file ({os.strerror(err.errno or 0).lower()})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise StoreError(f"{shown}: refused: not a regular file (a folder, FIFO or device)")
        return handle.readline() if first_line else handle.read()


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of bytes, as hex."""
    return hashlib.sha256(data).hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable: the directory entry is data too."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Write a new file `path` and fsync it; for files that are not visible until a later rename."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that no reader ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        write_durably(temporary, data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_dir(path.parent)


def arrow_csv(data: bytes, column_types: dict[str, Any], columns: list[str] | None = None) -> Any:
    """A store file's bytes as a pyarrow table: the analysis's reader, typed as the caller asks.

    Empty cells are empty strings, never nulls, as in the csv reader; text may
    hold a line break inside quotes.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(
        column_types=column_types,
        include_columns=columns,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        true_values=["true"],
        false_values=["false"],
    )
    # Only a quoted value can hold a line break; without quotes the reader may split the file freely.
    parse = pacsv.ParseOptions(newlines_in_values=b'"' in data)
    return pacsv.read_csv(pa.py_buffer(data), convert_options=convert, parse_options=parse)


def reads_back(data: bytes, records: Records) -> str | None:
    """Why `data` would not read back as `records` through both store readers; None when it does."""
    import pyarrow as pa

    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    if parsed != records:
        return f"the csv reader reads {len(parsed) - 1} rows, not {len(records) - 1}, or other values"
    header, rows = records[0], records[1:]
    try:
        table = arrow_csv(data, dict.fromkeys(header, pa.string()))
    except pa.ArrowInvalid as err:
        return f"the pyarrow reader fails: {err}"
    if table.num_rows != len(rows) or table.column_names != header:
        return f"the pyarrow reader reads {table.num_rows} rows, not {len(rows)}"
    for index, name in enumerate(header):
        # Python lists on both sides: pa.array() of a list would import pandas, which costs more than this.
        if table.column(index).to_pylist() != [row[index] for row in rows]:
            return f"the pyarrow reader reads other values in column {name}"
    return None
