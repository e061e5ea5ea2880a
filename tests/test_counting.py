"""The count-table engine against sums written out answer by answer."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from reporter.counting import Tally
from reporter.history import load_history
from reporter.store import Store

from .scenario import Scenario


def _history(tmp_path: Path) -> Tally:
    """Two generations and two metrics; answers in interviews of uneven size, some alone, three topics."""
    rng = np.random.default_rng(11)
    scenario = Scenario(tmp_path, metrics={"mood": (1, 7), "joy": (1, 10)})
    scenario.generation("g1", "2026-01-01").generation("g2", "2026-02-01", predecessor="g1")
    for generation in ("g1", "g2"):
        for metric in ("mood", "joy"):
            interviews = rng.integers(0, 9, 60)
            scenario.scores(generation, [int(x) for x in rng.integers(1, 8, 60)], metric,
                            interview_id=lambda i, ids=interviews, g=generation: "" if ids[i] == 0 else f"{g}-{ids[i]}",
                            topic=lambda i: ("work", "self", "users")[i % 3])
    store = Store(scenario.write())
    with store.locked():
        return Tally(load_history(store))


def _reference(tally: Tally, mask: np.ndarray, group: np.ndarray | None, width: int) -> dict[str, np.ndarray]:
    """The same sums by loops: an answer without an interview is a cluster of its own."""
    size = tally.cells * width
    interview = tally.answers.codes["interview_id"]
    n, total, squares = np.zeros(size), np.zeros(size), np.zeros(size)
    clusters: dict[tuple[int, object], list[float]] = defaultdict(list)
    for i in np.flatnonzero(mask):
        index = int(tally.cell[i]) * width + (0 if group is None else int(group[i]))
        y = float(tally.answers.score[i])
        n[index] += 1
        total[index] += y
        squares[index] += y * y
        clusters[(index, int(interview[i]) if tally.in_interview[i] else ("alone", i))].append(y)
    cluster_squares, cross, sizes, count = np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size)
    for (index, _), values in clusters.items():
        cluster_squares[index] += sum(values) ** 2
        cross[index] += sum(values) * len(values)
        sizes[index] += len(values) ** 2
        count[index] += 1
    return {"n": n, "total": total, "values_squared": squares, "squares": cluster_squares, "cross": cross,
            "sizes": sizes, "clusters": count}


@pytest.mark.parametrize("width", [None, 3, 50_000])  # 50,000: the few (cell, group, interview) present are numbered
def test_cluster_sums_equal_the_answer_by_answer_sums(tmp_path: Path, width: int | None) -> None:
    tally = _history(tmp_path)
    mask = tally.valid & tally.scored
    group = None if width is None else tally.answers.codes["topic"].astype(np.int64)
    table = tally.moments(mask, group=group, width=width or 1)
    expected = _reference(tally, mask, group, width or 1)
    assert expected["clusters"].sum() < expected["n"].sum()  # interviews do hold several answers
    for name, values in expected.items():
        np.testing.assert_allclose(getattr(table, name), values, err_msg=name)


def test_moments_of_a_second_mask_are_not_the_first_ones(tmp_path: Path) -> None:
    """The gathered answers of one mask are reused only for an equal mask."""
    tally = _history(tmp_path)
    everything = tally.valid & tally.scored
    first_metric = everything & (tally.cell % len(tally.metric_names) == 0)
    assert tally.moments(everything).n.sum() == everything.sum()
    assert tally.moments(first_metric).n.sum() == first_metric.sum() < everything.sum()
