"""What a report used: for each store file, the SHA-256 and count of the rows dated on or before the as-of date.

The digest is taken over the canonical form of those rows (the store's own
form), so data added later with later dates leaves an old report's digests
unchanged, while any change to a row the report saw changes them.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from . import schema
from .history import History
from .store import Store, sha256_bytes
from .store.manifest import Manifest

DATE_COLUMNS = {
    "events": "date",
    "acknowledgements": "date",
    "summaries": "collected_on",
    "observations": "collected_on",
    "counts": "collected_on",
}


def _cut(data: bytes, kind: str, as_of: str, shown: dict[str, set[str]]) -> tuple[str, int]:
    text = data.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    records = list(reader)
    if kind in shown:
        # Registries: exactly the rows the report showed (a generation or metric defined later is not one).
        position = header.index(kind.removesuffix("s"))
        records = [r for r in records if r[position] in shown[kind]]
    elif kind == "corrections":
        # A correction applies whatever its date: it belongs to every report that used a row it touched.
        position = header.index("row")
        records = [r for r in records if _collected_on(r[position]) <= as_of]
    elif kind in DATE_COLUMNS:
        position = header.index(DATE_COLUMNS[kind])
        records = [r for r in records if r[position] <= as_of]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(records)
    return hashlib.sha256(buffer.getvalue().encode("utf-8")).hexdigest(), len(records)


def _collected_on(row_text: str) -> str:
    """The collection date inside a corrected row's canonical CSV."""
    fields = next(csv.reader(io.StringIO(row_text, newline="")), [])
    position = schema.OBSERVATIONS.store_names.index("collected_on")
    return fields[position] if len(fields) > position else ""


def used_inputs(store: Store, history: History, verified: Manifest | None = None) -> list[dict[str, Any]]:
    """Digests of the rows a report as of `history.as_of` used, file by file (the caller holds the lock).

    `verified` is the manifest the store was just verified against: a file used whole then has the
    digest it records, and is not read and hashed a second time (220 MB for 1M answers).
    """
    result = []
    shown = {"generations": {g.name for g in history.generations}, "metrics": set(history.metrics)}
    names = [*sorted(schema.STORE_FILES.values()), *store.observation_files()]
    for name in names:
        whole = name in history.observation_files and history.observation_files[name][1] <= history.as_of
        if whole and verified is not None and name in verified.files:
            result.append({"path": name, "sha256": verified.files[name].sha256, "rows": history.observation_files[name][0]})
            continue
        data = store.read_bytes(name)
        if data is None:
            continue
        if whole:
            # Every row is on or before the as-of date: the file is its own canonical cut.
            digest, rows = sha256_bytes(data), history.observation_files[name][0]
        else:
            digest, rows = _cut(data, schema.kind_of_store_file(name).name, history.as_of, shown)
        if rows or not name.startswith(schema.OBSERVATIONS_DIR):
            result.append({"path": name, "sha256": digest, "rows": rows})
    return result
