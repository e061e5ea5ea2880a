"""Properties of merge: no row lost, idempotent, and the order of input files does not matter."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporter.history import Store, init_store
from reporter.load import read_input

from .conftest import GOOD, snapshot

answer = st.fixed_dictionaries(
    {
        "generation": st.sampled_from(["m-1", "m-2"]),
        "metric": st.sampled_from(["mood", "joy"]),
        "day": st.integers(1, 28),
        "score": st.integers(1, 7),
        "response_id": st.one_of(st.just(""), st.text("abc123", min_size=1, max_size=3)),
        "excerpt": st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12),
    }
)
# Several files of answers; a response id is made unique by its file and row
# so that no conflict arises (conflicts have their own tests).
batches = st.lists(st.lists(answer, min_size=1, max_size=8), min_size=1, max_size=4).map(
    lambda files: [
        [{**row, "response_id": f"{row['response_id']}-{i}-{j}" if row["response_id"] else ""} for j, row in enumerate(f)]
        for i, f in enumerate(files)
    ]
)


def _write(folder: Path, files: list[list[dict[str, object]]]) -> list[Path]:
    import csv

    paths = []
    for i, rows in enumerate(files):
        path = folder / f"in{i}.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["generation", "metric", "collected_on", "score", "response_id", "excerpt"])
            for r in rows:
                writer.writerow([r["generation"], r["metric"], f"2025-06-{r['day']:02d}", r["score"], r["response_id"], r["excerpt"]])
        paths.append(path)
    return paths


def _fresh(folder: Path) -> Store:
    init_store(folder)
    store = Store(folder)
    store.merge([read_input(GOOD / "generations.csv"), read_input(GOOD / "metrics.csv")])
    return store


def _observations(folder: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(folder).items() if k.startswith("observations/")}


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_no_row_lost_idempotent_and_order_free(files: list[list[dict[str, object]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = _write(root, files)
        results = []
        for order in itertools.islice(itertools.permutations(inputs), 3):
            folder = root / f"store{len(results)}"
            store = _fresh(folder)
            added = store.merge([read_input(p) for p in order]).added.get("observations", 0)
            # Nothing lost; only a byte-identical file adds nothing a second time.
            distinct = {p.read_bytes(): len(f) for p, f in zip(inputs, files, strict=True)}
            assert added == sum(distinct.values())
            once = _observations(folder)
            store.merge([read_input(p) for p in order])
            assert _observations(folder) == once  # idempotent
            results.append(once)
        assert all(r == results[0] for r in results)
