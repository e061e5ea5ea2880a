"""The manifest: the SHA-256 and row count of every store file, and the merge log.

`verify` recomputes every hash against it; `init_store` writes the first one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import schema
from ..errors import StoreError
from .files import canonical_csv, sha256_bytes, write_atomic
from .transaction import LOCK_FILE, STAGING_DIR

STORE_SCHEMA = "welfare-report/store/1"
# Version control ignores what only a running or interrupted merge leaves.
GITIGNORE_TEXT = f"{LOCK_FILE}\n{STAGING_DIR}/\n"
NOT_HASHED = frozenset({LOCK_FILE, STAGING_DIR, ".gitignore", schema.MANIFEST})


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    rows: int


@dataclass(frozen=True)
class Manifest:
    """`manifest.json` as typed data; `merges` is the log, oldest first."""

    files: Mapping[str, FileEntry]
    merges: tuple[Mapping[str, Any], ...]

    @classmethod
    def parse(cls, text: str, where: Path) -> Manifest:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("schema") != STORE_SCHEMA:
                raise ValueError
            files = {str(name): FileEntry(str(e["sha256"]), int(e["rows"])) for name, e in data["files"].items()}
            merges = tuple(dict(m) for m in data["merges"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise StoreError(f"{where}: not a welfare-report manifest") from None
        return cls(files, merges)

    def with_merge(self, files: Mapping[str, tuple[bytes, int]], entry: Mapping[str, Any]) -> Manifest:
        """The manifest after a merge that rewrote `files` (store path -> bytes, rows)."""
        entries = dict(self.files) | {name: FileEntry(sha256_bytes(data), rows) for name, (data, rows) in files.items()}
        return Manifest(entries, (*self.merges, dict(entry)))

    def to_bytes(self) -> bytes:
        document = {
            "schema": STORE_SCHEMA,
            "files": {name: {"sha256": e.sha256, "rows": e.rows} for name, e in self.files.items()},
            "merges": list(self.merges),
        }
        return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def now_text() -> str:
    """The time a merge is logged at; SOURCE_DATE_EPOCH keeps a build that records one reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def verify_files(root: Path, manifest: Manifest) -> list[str]:
    """Every file changed, added or removed outside `merge`, as messages."""
    present = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not (set(p.relative_to(root).parts) & NOT_HASHED)
    }
    problems = []
    for name in sorted(set(manifest.files) | present):
        if name not in manifest.files:
            problems.append(f"{name}: not recorded in the manifest (added outside merge)")
        elif name not in present:
            problems.append(f"{name}: missing (removed outside merge)")
        # A matching hash implies the recorded row count too.
        elif sha256_bytes((root / name).read_bytes()) != manifest.files[name].sha256:
            problems.append(f"{name}: SHA-256 differs from the manifest (changed outside merge)")
    return problems


def init_store(
    root: str | Path, files: Mapping[str, tuple[bytes, int]] | None = None, log: Sequence[Mapping[str, Any]] = ()
) -> Path:
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
    for name, (data, _rows) in sorted(contents.items()):
        write_atomic(root / name, data)
    (root / ".gitignore").write_text(GITIGNORE_TEXT, encoding="utf-8")
    entries = {name: FileEntry(sha256_bytes(data), rows) for name, (data, rows) in sorted(contents.items())}
    write_atomic(root / schema.MANIFEST, Manifest(entries, tuple(log)).to_bytes())
    return root
