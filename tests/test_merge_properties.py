"""Properties of the merge plan, in memory: no row lost, idempotent, and the order of input files does not matter."""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from reporter.inputs import read_input
from reporter.schema import OBSERVATIONS
from reporter.store.files import canonical_csv, reads_back
from reporter.store.merge import plan_merge

answer = st.fixed_dictionaries(
    {
        "generation": st.sampled_from(["m-1", "m-2"]),
        "metric": st.sampled_from(["mood", "joy"]),
        "day": st.integers(1, 28),
        "score": st.integers(1, 7),
        "response_id": st.one_of(st.just(""), st.text("abc123", min_size=1, max_size=3)),
        # Every character but NUL (refused as binary) and lone surrogates (not UTF-8).
        "excerpt": st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12),
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


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


@given(batches)
def test_no_row_lost_idempotent_and_order_free(files: list[list[dict[str, object]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        inputs = [read_input(p) for p in _write(Path(tmp), files)]
    # Nothing lost; only a byte-identical file adds nothing a second time.
    distinct = {f.sha256: len(f.rows) for f in inputs}
    plans = [plan_merge({}, list(order)) for order in itertools.islice(itertools.permutations(inputs), 3)]
    for plan in plans:
        assert plan.conflicts == ()
        for name, (data, count) in plan.files.items():
            if name not in plan.records:  # files of answers are planned as tables and read back as planned
                assert data == canonical_csv(OBSERVATIONS, _rows(data))
                assert count == len(_rows(data))
            else:
                assert count == len(plan.records[name]) - 1
                assert reads_back(data, plan.records[name]) is None, name
        assert plan.added.get("observations", 0) == sum(distinct.values())
        assert plan.files == plans[0].files  # the order of input files does not matter
    merged = {name: _rows(data) for name, (data, _count) in plans[0].files.items()}
    again = plan_merge(merged, inputs)
    assert again.files == {}  # idempotent
    assert again.added.get("observations", 0) == 0
    assert again.skipped.get("observations", 0) == sum(len(f.rows) for f in inputs)
